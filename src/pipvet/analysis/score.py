"""From findings to a verdict. Every threshold and weight lives here, documented.

A finding's weight is its severity's base weight times a multiplier for *where the code runs*:
code that runs at install time or interpreter start-up is far more dangerous than the same call
inside a function body. ``malicious`` needs a strong combined score, so a single weak signal
stays at ``suspicious`` or below.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from pipvet.models import Finding, Severity, Stage, Verdict

#: Base weight per severity.
SEVERITY_WEIGHT: dict[Severity, int] = {
    Severity.INFO: 0,
    Severity.LOW: 5,
    Severity.MEDIUM: 15,
    Severity.HIGH: 35,
    Severity.CRITICAL: 70,
}

#: Multiplier per stage (percent). Install and start-up code runs without the user asking.
STAGE_FACTOR: dict[Stage | None, int] = {
    Stage.INSTALL: 150,
    Stage.STARTUP: 150,
    Stage.IMPORT: 120,
    Stage.RUNTIME: 70,
    Stage.DATA: 80,
    Stage.METADATA: 100,
    None: 100,
}

#: Score at or above which the verdict is ``malicious`` / ``suspicious``. Capped at 100.
MALICIOUS_AT = 70
SUSPICIOUS_AT = 20
MAX_SCORE = 100


@dataclass(frozen=True, kw_only=True, slots=True)
class Scored:
    verdict: Verdict
    score: int
    findings: tuple[Finding, ...]


def weigh(finding: Finding) -> int:
    return SEVERITY_WEIGHT[finding.severity] * STAGE_FACTOR[finding.stage] // 100


def score(findings: Iterable[Finding]) -> Scored:
    """Combine findings into a verdict; each returned finding carries its own contribution."""
    weighed = tuple(replace(f, score=weigh(f)) for f in findings)
    # Repeats of one rule add little: the strongest instance counts fully, the rest a tenth.
    best: dict[str, int] = {}
    extra = 0
    for f in weighed:
        if f.score > best.get(f.rule, -1):
            extra += best.get(f.rule, 0) // 10
            best[f.rule] = f.score
        else:
            extra += f.score // 10
    total = min(MAX_SCORE, sum(best.values()) + extra)
    if total >= MALICIOUS_AT:
        verdict = Verdict.MALICIOUS
    elif total >= SUSPICIOUS_AT:
        verdict = Verdict.SUSPICIOUS
    else:
        verdict = Verdict.CLEAN
    ordered = tuple(sorted(weighed, key=lambda f: (-f.score, f.rule, f.path or "", f.line or 0)))
    return Scored(verdict=verdict, score=total, findings=ordered)
