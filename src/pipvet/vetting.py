"""The one place that turns what pipvet knows into results and decisions.

``audit`` (and later ``inspect`` and the vetting index) call these functions, so a dependency
gets the same verdict whichever command looks at it.

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

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date
from typing import Protocol

from pipvet.models import Advisory, Decision, Dependency, PackageRef, Resolved, Result, Verdict
from pipvet.policy import Evaluation, Policy, evaluate_all

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
) -> Evaluation:
    """Look every dependency up, then decide with ``policy``; results keep the input order."""
    deps = list(dependencies)
    found = db.lookup_many((d.name, d.version) for d in deps if isinstance(d, Resolved))
    undecided = [
        (
            dependency_result(d, found.get((d.name, d.version), ()) if isinstance(d, Resolved) else ()),
            d.applies,
        )
        for d in deps
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
