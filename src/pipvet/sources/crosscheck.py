"""Checks across inputs: the same distribution file locked with different hashes.

Two lockfiles of one project (say ``uv.lock`` and an exported ``pylock.toml``, or the locks of two
services) should agree on the bytes of every file they both name. A file (project, version,
filename) with a different sha256 in two inputs means one of them was edited, regenerated
against another index, or points at a substituted file: ``PV-INPUT-HASH-MISMATCH``.

Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipvet.models import Finding, Origin, Resolved, Severity
from pipvet.sources import ParsedSource
from pipvet.sources.findings import HASH_MISMATCH


@dataclass(frozen=True, kw_only=True, slots=True)
class _Seen:
    sha256: str
    origin: Origin


def hash_mismatches(sources: Sequence[ParsedSource]) -> tuple[Finding, ...]:
    """One finding per (project, version, filename) whose sha256 differs between inputs."""
    seen: dict[tuple[str, str, str], _Seen] = {}
    reported: set[tuple[str, str, str]] = set()
    findings: list[Finding] = []
    for source in sources:
        for dep in source.dependencies:
            if not isinstance(dep, Resolved):
                continue
            for art in dep.files:
                if art.sha256 is None:
                    continue
                key = (str(dep.name), dep.version, art.filename.lower())
                first = seen.get(key)
                if first is None:
                    seen[key] = _Seen(sha256=art.sha256.lower(), origin=dep.origin)
                    continue
                if first.sha256 == art.sha256.lower() or key in reported:
                    continue
                reported.add(key)
                findings.append(
                    Finding(
                        rule=HASH_MISMATCH,
                        severity=Severity.HIGH,
                        title="Same file, different hashes",
                        message=(
                            f"{art.filename} ({dep.name} {dep.version}) is locked as sha256:{art.sha256} "
                            f"here and as sha256:{first.sha256} in {first.origin}. One of the locks was "
                            "edited or made against another index; find out which bytes are genuine "
                            "before installing."
                        ),
                        path=dep.origin.path,
                        line=dep.origin.line,
                        evidence=f"{art.filename}: {first.sha256} != {art.sha256}",
                    )
                )
    return tuple(findings)


__all__ = ["hash_mismatches"]
