"""The policy: what pipvet does about what it found. ``evaluate`` is pure.

A :class:`Policy` says which severities fail the run, what is ignored (always with a reason and
an optional expiry), and how to treat suspicious and unvettable results. ``evaluate`` turns a
result without a decision into one with a decision and the reasons for it; ``evaluate_all`` also
reports ignores that expired or were never used, so stale exceptions do not linger.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date

from pipvet.models import Advisory, Decision, NormalizedName, Result, Severity, Verdict


@dataclass(frozen=True, kw_only=True, slots=True)
class Ignore:
    """An accepted risk: an advisory id (or alias), optionally for one package, until a date."""

    id: str
    reason: str | None = None
    expires: date | None = None
    package: NormalizedName | None = None

    def matches(self, advisory: Advisory, package: NormalizedName | None) -> bool:
        if self.package is not None and package is not None and self.package != package:
            return False
        wanted = self.id.upper()
        return advisory.id.upper() == wanted or any(a.upper() == wanted for a in advisory.aliases)

    def expired(self, today: date) -> bool:
        return self.expires is not None and today > self.expires

    def describe(self) -> str:
        text = self.id
        if self.reason:
            text += f" ({self.reason})"
        if self.expires:
            text += f" until {self.expires.isoformat()}"
        return text


@dataclass(frozen=True, kw_only=True, slots=True)
class Policy:
    fail_on: Severity = Severity.LOW
    """The lowest vulnerability severity that blocks."""
    ignores: tuple[Ignore, ...] = ()
    block_suspicious: bool = False
    """Treat a ``suspicious`` verdict as a block instead of a warning."""
    allow_errors: bool = False
    """Relax fail-closed: a result that could not be vetted only warns."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Evaluation:
    results: tuple[Result, ...]
    notes: tuple[str, ...] = ()
    used_ignores: frozenset[str] = field(default_factory=frozenset)


def evaluate(
    result: Result,
    policy: Policy,
    *,
    today: date | None = None,
    applies: bool = True,
    used: set[str] | None = None,
) -> Result:
    """Decide allow/warn/block for one result and explain why.

    ``applies=False`` marks a dependency whose environment marker is false for the target: it is
    still reported, but it cannot block (it would not be installed there).
    """
    today = today or date.today()
    kept: list[Advisory] = []
    reasons: list[str] = []
    name = result.package.name if result.package else None
    for adv in result.vulnerabilities:
        ignore = next(
            (i for i in policy.ignores if not i.expired(today) and i.matches(adv, name)),
            None,
        )
        if ignore is None:
            kept.append(adv)
            continue
        if used is not None:
            used.add(ignore.id.upper())
        reasons.append(f"ignored {adv.id}: {ignore.reason or 'no reason given'}")

    decision = Decision.ALLOW
    if result.verdict is Verdict.ERROR:
        decision = Decision.WARN if policy.allow_errors else Decision.BLOCK
        reasons.append(f"could not be vetted: {result.error or 'unknown error'}")
    malicious = [a for a in kept if a.malicious]
    if malicious:
        decision = Decision.BLOCK
        reasons.append("known malicious release: " + ", ".join(a.id for a in malicious))
    if result.verdict is Verdict.MALICIOUS and not malicious:
        decision = Decision.BLOCK
        reasons.append(f"analysis verdict malicious (score {result.score})")
    if result.verdict is Verdict.SUSPICIOUS:
        if policy.block_suspicious:
            decision = Decision.BLOCK
        elif decision is Decision.ALLOW:
            decision = Decision.WARN
        reasons.append(f"analysis verdict suspicious (score {result.score})")
    failing = [a for a in kept if not a.malicious and a.severity >= policy.fail_on]
    if failing:
        decision = Decision.BLOCK
        reasons.append(
            f"{len(failing)} known vulnerabilit{'y' if len(failing) == 1 else 'ies'} at or above "
            f"{policy.fail_on.value}"
        )
    below = [a for a in kept if not a.malicious and a.severity < policy.fail_on]
    if below and decision is Decision.ALLOW:
        decision = Decision.WARN
        reasons.append(f"{len(below)} known vulnerabilities below the fail threshold")
    if not applies and decision is Decision.BLOCK:
        decision = Decision.WARN
        reasons.append("not installed on the target (environment marker is false): not enforced")
    return replace(
        result, vulnerabilities=tuple(kept), decision=decision, reasons=(*result.reasons, *reasons)
    )


def evaluate_all(
    results: Iterable[tuple[Result, bool]],
    policy: Policy,
    *,
    today: date | None = None,
) -> Evaluation:
    """Evaluate ``(result, applies)`` pairs; report expired and unused ignores as notes."""
    today = today or date.today()
    used: set[str] = set()
    decided = tuple(evaluate(r, policy, today=today, applies=a, used=used) for r, a in results)
    notes: list[str] = []
    for ignore in policy.ignores:
        if ignore.expired(today):
            notes.append(f"ignore {ignore.describe()} has expired and no longer applies")
        elif ignore.id.upper() not in used:
            notes.append(f"ignore {ignore.describe()} matched nothing; remove it if it is obsolete")
    return Evaluation(results=decided, notes=tuple(notes), used_ignores=frozenset(used))
