"""Dependency inputs: one module per format, each a pure parser (text in, dependencies out).

Every format module exposes::

    FORMAT: str                      # e.g. "requirements", "uv.lock"
    def parse(text: str, *, path: str, target: TargetEnvironment) -> ParsedSource

and raises :class:`~pipvet.errors.InputError` (naming ``path`` and the line) for input it cannot
read. File reading, format detection and includes are done by the thin readers around them.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipvet.models import Dependency, Finding


@dataclass(frozen=True, kw_only=True, slots=True)
class ParsedSource:
    """What one input declared: its dependencies, input-level findings, and the indexes it names."""

    path: str
    format: str
    dependencies: tuple[Dependency, ...] = ()
    findings: tuple[Finding, ...] = ()
    """Input-level signals: missing hashes in a lock, index mixing, direct URLs (with file and line)."""
    index_urls: tuple[str, ...] = ()
    """Indexes the input itself configures (``--index-url``, lock ``source``), in order."""
