"""The domain model: frozen, typed, and free of I/O.

Everything that crosses a module boundary is one of these types. Wire formats (OSV JSON, the
index's JSON, lockfile TOML) are converted to them at the edge and never travel further.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NewType

NormalizedName = NewType("NormalizedName", str)
"""A project name in PEP 503 normal form (lowercase, runs of ``-_.`` folded to ``-``)."""

VulnerabilityID = NewType("VulnerabilityID", str)

_SEPARATORS = re.compile(r"[-_.]+")


def normalize_name(name: str) -> NormalizedName:
    """PEP 503 normalisation: ``Foo.Bar_baz`` -> ``foo-bar-baz``."""
    return NormalizedName(_SEPARATORS.sub("-", name.strip()).lower())


class Severity(enum.Enum):
    """How bad a vulnerability or finding is, ordered from least to most severe."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank


_SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}


class Verdict(enum.Enum):
    """What pipvet concluded about a package or artifact."""

    MALICIOUS = "malicious"
    SUSPICIOUS = "suspicious"
    CLEAN = "clean"
    ERROR = "error"


class Decision(enum.Enum):
    """What the policy says to do about a result."""

    ALLOW = "allow"
    WARN = "warn"
    BLOCK = "block"


class Stage(enum.Enum):
    """When a piece of code runs, which decides how much a finding in it weighs."""

    INSTALL = "install"
    STARTUP = "startup"
    IMPORT = "import"
    RUNTIME = "runtime"
    DATA = "data"
    METADATA = "metadata"


UNASKED_STAGES: frozenset[Stage] = frozenset({Stage.INSTALL, Stage.STARTUP, Stage.IMPORT})
"""Where code runs without anyone asking for it: as the package installs, at every interpreter
start-up, and as it is imported."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Origin:
    """Where something was declared: a file and, where known, a 1-based line."""

    path: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.path or "<input>"
        return f"{where}:{self.line}" if self.line is not None else where


@dataclass(frozen=True, kw_only=True, slots=True)
class Resolved:
    """A dependency whose exact version is known."""

    name: NormalizedName
    version: str
    origin: Origin = field(default_factory=Origin)
    hashes: tuple[str, ...] = ()
    """``algorithm:hexdigest`` strings, as declared."""
    index_url: str | None = None
    """The index the dependency is declared to come from, if the input says so."""
    marker: str | None = None
    """The environment marker as written, if any."""
    applies: bool = True
    """False when the marker is false for the target interpreter (reported, not enforced)."""
    extras: tuple[str, ...] = ()
    upload_time: str | None = None
    files: tuple[Artifact, ...] = ()
    """The distribution files the input lists for this version (filename, sha256, url), if any."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Skipped:
    """A dependency pipvet could not pin to an exact version, with the reason."""

    name: NormalizedName
    requirement: str
    reason: str
    origin: Origin = field(default_factory=Origin)
    marker: str | None = None
    """The environment marker as written, if any."""
    applies: bool = True
    """False when the marker is false for the target interpreter (reported, not enforced)."""


Dependency = Resolved | Skipped


@dataclass(frozen=True, kw_only=True, slots=True)
class PackageRef:
    """A project name and version."""

    name: NormalizedName
    version: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Artifact:
    """One distribution file (sdist or wheel), identified by its hash."""

    filename: str
    sha256: str | None = None
    size: int | None = None
    url: str | None = None
    upload_time: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Advisory:
    """A known vulnerability or known-malicious record that matches a package version."""

    id: VulnerabilityID
    aliases: tuple[str, ...] = ()
    summary: str = ""
    severity: Severity = Severity.MEDIUM
    fixed_in: tuple[str, ...] = ()
    malicious: bool = False
    url: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Finding:
    """One signal, explained: which rule, where, the evidence, and why it matters."""

    rule: str
    severity: Severity
    title: str
    message: str
    path: str | None = None
    line: int | None = None
    evidence: str | None = None
    stage: Stage | None = None
    score: int = 0
    """This finding's contribution to the verdict score, as decided by the scorer."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Result:
    """Everything pipvet concluded about one target."""

    target: str
    package: PackageRef | None = None
    artifact: Artifact | None = None
    verdict: Verdict = Verdict.CLEAN
    score: int = 0
    findings: tuple[Finding, ...] = ()
    vulnerabilities: tuple[Advisory, ...] = ()
    decision: Decision = Decision.ALLOW
    reasons: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Report:
    """The outcome of one command: its results, in a stable order."""

    command: str
    results: tuple[Result, ...]
    notes: tuple[str, ...] = ()
    """Run-level remarks for humans (e.g. an unused ignore)."""

    def summary(self) -> Mapping[str, int]:
        return summarize(self.results)


def summarize(results: Iterable[Result]) -> dict[str, int]:
    """Counts per verdict plus the number of blocked results, as in the JSON contract."""
    counts = {v.value: 0 for v in Verdict}
    blocked = 0
    for r in results:
        counts[r.verdict.value] += 1
        if r.decision is Decision.BLOCK:
            blocked += 1
    counts["blocked"] = blocked
    return counts
