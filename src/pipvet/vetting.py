"""The one place that turns what pipvet knows into results and decisions.

``audit`` (and later ``inspect`` and the vetting index) call these functions, so a dependency
gets the same verdict whichever command looks at it. :class:`ArtifactVetter` is the same for
downloaded artifacts (the vetting index behind ``pipvet install``): analysis, database, names
and policy in one decision.

Verdict semantics for dependencies:

* a match with a known-malicious record (``MAL-``) -> verdict ``malicious`` (always blocks);
* vulnerabilities only -> verdict stays ``clean``: the verdict is about malice; the decision
  carries the block when a vulnerability is at or above the policy's threshold;
* a dependency pipvet could not pin (a range, a direct URL, an editable install, ...) -> verdict
  ``error`` with the reason and where it was declared; it blocks (fail closed) unless the user
  allows unpinned dependencies, which turns the block into a warning;
* a dependency whose environment marker is false for the target is still looked up and reported,
  but cannot block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pipvet.models import (
    Advisory,
    Artifact,
    Decision,
    Dependency,
    Finding,
    NormalizedName,
    PackageRef,
    Resolved,
    Result,
    Verdict,
)
from pipvet.policy import Evaluation, Policy, evaluate, evaluate_all
from pipvet.sources.findings import HASH_MISMATCH

if TYPE_CHECKING:
    from pipvet.analysis.names import Popular
    from pipvet.config import Settings

MALICIOUS_SCORE = 100
"""Score of a release a known-malicious record names: as certain as pipvet gets."""


class AdvisoryLookup(Protocol):
    """What vetting needs from the vulnerability database."""

    def lookup_many(
        self, pairs: Iterable[tuple[str, str]]
    ) -> Mapping[tuple[str, str], tuple[Advisory, ...]]: ...


def _is_pep440(version: str) -> bool:
    from pipvet.vulndb.versions import parse_version

    return parse_version(version) is not None


def _target(dep: Dependency) -> str:
    return str(dep.origin) if dep.origin.path else dep.name


def dependency_result(dep: Dependency, advisories: tuple[Advisory, ...] = ()) -> Result:
    """The undecided result for one dependency (no policy applied yet), given what matched it."""
    reasons: tuple[str, ...] = ()
    if not dep.applies:
        reasons = (f"environment marker {dep.marker!r} is false for the target",)
    if not isinstance(dep, Resolved):
        return Result(
            target=_target(dep),
            package=PackageRef(name=dep.name),
            verdict=Verdict.ERROR,
            reasons=reasons,
            error=f"{dep.origin}: {dep.reason}: {dep.requirement}",
        )
    if not _is_pep440(dep.version):
        reasons = (*reasons, f"version {dep.version!r} is not PEP 440: only exact matches were checked")
    malicious = any(a.malicious for a in advisories)
    return Result(
        target=_target(dep),
        package=PackageRef(name=dep.name, version=dep.version),
        verdict=Verdict.MALICIOUS if malicious else Verdict.CLEAN,
        score=MALICIOUS_SCORE if malicious else 0,
        vulnerabilities=advisories,
        reasons=reasons,
    )


def vet_dependencies(
    dependencies: Iterable[Dependency],
    db: AdvisoryLookup,
    policy: Policy,
    *,
    allow_unpinned: bool = False,
    today: date | None = None,
    extra_findings: Callable[[Dependency], Sequence[Finding]] | None = None,
) -> Evaluation:
    """Look every dependency up, then decide with ``policy``; results keep the input order.

    ``extra_findings`` adds signals per dependency (look-alike names, confusion markers, index
    metadata: :func:`pipvet.index.signals.dependency_signals`); they are scored with the result.
    """
    deps = list(dependencies)
    found = db.lookup_many((d.name, d.version) for d in deps if isinstance(d, Resolved))
    undecided = [
        (
            dependency_result(d, found.get((d.name, d.version), ()) if isinstance(d, Resolved) else ()),
            d.applies,
        )
        for d in deps
    ]
    if extra_findings is not None:
        from pipvet.analysis.combine import with_findings

        undecided = [
            (with_findings(r, extra_findings(d)), a) for (r, a), d in zip(undecided, deps, strict=True)
        ]
    evaluation = evaluate_all(undecided, policy, today=today)
    if not allow_unpinned:
        return evaluation
    relaxed = tuple(
        _relax_unpinned(r) if not isinstance(d, Resolved) else r
        for r, d in zip(evaluation.results, deps, strict=True)
    )
    return replace(evaluation, results=relaxed)


def _relax_unpinned(result: Result) -> Result:
    if result.decision is not Decision.BLOCK or result.vulnerabilities:
        return result
    return replace(
        result,
        decision=Decision.WARN,
        reasons=(*result.reasons, "not pinned: allowed by --allow-unpinned"),
    )


def with_input_findings(
    results: Iterable[Result], dependencies: Iterable[Dependency], findings: Iterable[Finding]
) -> tuple[Result, ...]:
    """Attach input-level findings (``PV-INPUT-*``: missing hashes, index mixing, direct references,
    hashes that differ between lockfiles) to the result of the dependency declared at the same
    file and line; a finding about a whole file becomes a result of its own.

    They warn (a lock without hashes is weaker, not vulnerable); a hash that differs between two
    lockfiles blocks, since one of them does not describe the bytes that will be installed.
    """
    decided = list(results)
    at: dict[tuple[str | None, int | None], int] = {}
    for i, dep in enumerate(dependencies):
        at.setdefault((dep.origin.path, dep.origin.line), i)
    extra: list[Result] = []
    for finding in findings:
        index = at.get((finding.path, finding.line))
        if index is None or index >= len(decided):
            where = f"{finding.path or '<input>'}" + (f":{finding.line}" if finding.line else "")
            extra.append(_flag(Result(target=where), finding))
        else:
            decided[index] = _flag(decided[index], finding)
    return (*decided, *extra)


def _flag(result: Result, finding: Finding) -> Result:
    decision = result.decision
    if finding.rule == HASH_MISMATCH:
        decision = Decision.BLOCK
    elif decision is Decision.ALLOW:
        decision = Decision.WARN
    return replace(
        result,
        findings=(*result.findings, finding),
        decision=decision,
        reasons=(*result.reasons, f"{finding.rule}: {finding.title}"),
    )


class AffectedVersions(Protocol):
    """What the unpinned-requirement note needs from the database."""

    def affected_versions(self, name: str) -> list[tuple[str, str]]: ...


NEWEST_AFFECTED = 3


def note_affected_unpinned(
    results: Iterable[Result], dependencies: Iterable[Dependency], db: AffectedVersions
) -> tuple[Result, ...]:
    """For a requirement that is only a range, name the newest versions it allows that a known
    advisory lists as affected, so a reader sees what the range lets in (no resolution needed)."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.version import InvalidVersion, Version

    out: list[Result] = []
    for result, dep in zip(results, dependencies, strict=True):
        if isinstance(dep, Resolved) or not dep.reason.startswith(("not pinned", "no version")):
            out.append(result)
            continue
        try:
            spec = Requirement(dep.requirement).specifier
        except InvalidRequirement:
            out.append(result)
            continue
        by_version: dict[Version, set[str]] = {}
        for version, vuln_id in db.affected_versions(dep.name):
            try:
                parsed = Version(version)
            except InvalidVersion:
                continue
            if spec.contains(parsed, prereleases=True):
                by_version.setdefault(parsed, set()).add(vuln_id)
        newest = sorted(by_version, reverse=True)[:NEWEST_AFFECTED]
        if not newest:
            out.append(result)
            continue
        listed = ", ".join(f"{v} ({', '.join(sorted(by_version[v]))})" for v in newest)
        out.append(
            replace(
                result, reasons=(*result.reasons, f"newest matching versions known to be affected: {listed}")
            )
        )
    return tuple(out)


# --- artifacts: what the vetting index (``pipvet install``, ``pipvet serve``) asks ------------------


class ArtifactVetter:
    """Decides about releases and downloaded artifacts: database + analysis + names + policy.

    Thread-safe: the vetting index calls it from worker threads. Unused and expired ignores are
    collected across every artifact and reported by :meth:`notes`.
    """

    def __init__(
        self,
        db: AdvisoryLookup,
        policy: Policy,
        *,
        popular: Popular | Callable[[], Popular] | None = None,
        today: date | None = None,
        startup_notes: tuple[str, ...] = (),
    ) -> None:
        import threading

        self.db = db
        self.policy = policy
        self._popular = popular
        self.today = today or date.today()
        self._lock = threading.Lock()
        self._used: set[str] = set()
        self._names: dict[str, tuple[Finding, ...]] = {}
        self._startup_notes = startup_notes

    def _lookup(self, name: str, versions: Iterable[str]) -> Mapping[tuple[str, str], tuple[Advisory, ...]]:
        pairs = [(name, v) for v in versions if _is_pep440(v)]
        if not pairs:
            return {}
        with self._lock:  # one SQLite connection, shared by the vetting index's worker threads
            return self.db.lookup_many(pairs)

    def malicious_versions(self, name: NormalizedName, versions: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """Known-malicious record ids per version (only versions that have any)."""
        found: dict[str, tuple[str, ...]] = {}
        for (_, version), advisories in self._lookup(name, versions).items():
            ids = tuple(sorted(a.id for a in advisories if a.malicious))
            if ids:
                found[version] = ids
        return found

    @property
    def popular(self) -> Popular | None:
        """The popular-names list, loaded on first use (a loader keeps start-up short)."""
        with self._lock:
            if callable(self._popular):
                self._popular = self._popular()
            return self._popular

    def name_findings(self, name: NormalizedName) -> tuple[Finding, ...]:
        popular = self.popular
        if popular is None:
            return ()
        with self._lock:
            cached = self._names.get(name)
        if cached is None:
            from pipvet.analysis.names import name_findings

            cached = tuple(name_findings(name, popular))
            with self._lock:
                self._names[name] = cached
        return cached

    def vet_artifact(
        self,
        *,
        name: NormalizedName,
        version: str | None,
        path: Path,
        artifact: Artifact,
        context: Sequence[Finding] = (),
    ) -> Result:
        """Analyse the file at ``path``, look the release up, and decide with the policy.

        ``context`` holds findings only the caller can see (e.g. dependency confusion between
        the user's indexes); they are judged like name signals.
        """
        from pipvet.analysis.engine import analyze

        analysed = analyze(path, filename=artifact.filename, label=artifact.filename).result
        advisories: tuple[Advisory, ...] = ()
        if version:
            advisories = self._lookup(name, [version]).get((name, version), ())
        verdict, score = analysed.verdict, analysed.score
        if any(a.malicious for a in advisories):
            verdict, score = Verdict.MALICIOUS, MALICIOUS_SCORE
        result = replace(
            analysed,
            target=artifact.filename,
            package=PackageRef(name=name, version=version),
            artifact=replace(artifact, sha256=_sha256(path), size=path.stat().st_size),
            verdict=verdict,
            score=score,
            findings=(*analysed.findings, *self.name_findings(name), *context),
            vulnerabilities=advisories,
            decision=Decision.ALLOW,
            reasons=(),
        )
        used: set[str] = set()
        decided = evaluate(result, self.policy, today=self.today, used=used)
        with self._lock:
            self._used |= used
        return decided

    def notes(self) -> tuple[str, ...]:
        """A stale database used anyway, expired ignores, and ignores no artifact of this run needed."""
        with self._lock:
            used = set(self._used)
        out: list[str] = list(self._startup_notes)
        for ignore in self.policy.ignores:
            if ignore.expired(self.today):
                out.append(f"ignore {ignore.describe()} has expired and no longer applies")
            elif ignore.id.upper() not in used:
                out.append(f"ignore {ignore.describe()} matched nothing; remove it if it is obsolete")
        return tuple(out)


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def open_artifact_vetter(settings: Settings, policy: Policy) -> Iterator[ArtifactVetter]:
    """The vetter for a gate run; the database must exist and be fresh (fail closed)."""
    from pipvet.analysis.names import load_popular
    from pipvet.vulndb.store import Database

    with Database.open(settings.db_path) as db:
        note = db.check_fresh(settings.max_db_age, allow_stale=settings.allow_stale)
        yield ArtifactVetter(
            db,
            policy,
            popular=lambda: load_popular(settings.cache_dir),
            startup_notes=(note,) if note else (),
        )
