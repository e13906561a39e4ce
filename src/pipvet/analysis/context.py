"""What a rule gets to look at: one file of a package, and the package around it.

The engine (``analysis/engine.py``) reads an archive through the read-only view
(``analysis/archive.py``), decides for every member *when* it would run (:class:`~pipvet.models.Stage`)
and what kind of file it is, parses Python once, and hands each rule these objects. Rules are
pure: they read a context and return findings; they never touch the file system or network.
"""

from __future__ import annotations

import ast
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pipvet.models import Finding, Severity, Stage


class FileKind(enum.Enum):
    PYTHON = "python"
    PTH = "pth"
    NATIVE = "native"
    """ELF, PE, Mach-O and other executable or shared-object formats."""
    PICKLE = "pickle"
    MEDIA = "media"
    TEXT = "text"
    BINARY = "binary"
    METADATA = "metadata"
    """PKG-INFO, METADATA, RECORD, WHEEL, entry_points.txt and friends."""


@dataclass(frozen=True, kw_only=True, slots=True)
class FileContext:
    """One member of a package, as data."""

    path: str
    """POSIX path inside the archive, e.g. ``foo-1.0/setup.py``."""
    data: bytes
    """The member's bytes (already bounded by the archive limits)."""
    kind: FileKind
    stage: Stage
    text: str | None = None
    """Decoded source for text-like files (UTF-8 with replacement), else ``None``."""
    tree: ast.Module | None = None
    """The parsed module for Python files that parse, else ``None``."""
    parse_error: str | None = None
    """Why a Python file did not parse; rules then fall back to text-level checks."""
    cache: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    """Per-file memo for facts several rules share (filled lazily by rules)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PackageContext:
    """Facts about the whole archive that single-file rules need."""

    filename: str
    """The archive's file name (or folder name)."""
    name: str | None = None
    version: str | None = None
    is_wheel: bool = False
    pure_python: bool = True
    """True when nothing says the package ships compiled code (wheel tag ``none-any``,
    no C sources or extension build configuration in an sdist)."""
    members: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    """Core metadata fields (lower-cased keys) from PKG-INFO / METADATA when present."""


class Rule(Protocol):
    """A detection rule: identity and explanation as data, detection as a pure function."""

    # Read-only, so frozen dataclasses satisfy the protocol.
    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def rationale(self) -> str: ...

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]: ...
