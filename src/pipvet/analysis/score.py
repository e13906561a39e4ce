"""From findings to a verdict. Every threshold and weight lives here, documented.

How a score is built
--------------------
1. Each finding weighs ``SEVERITY_WEIGHT[severity] * STAGE_FACTOR[stage] / 100``: the same call
   matters more where it runs without anyone asking (install, interpreter start-up, import) than
   inside a function a user may never call.
2. Per file, per rule, the strongest finding counts fully and every repeat adds a tenth of its
   weight (fifty copies of one weak signal must not add up to a strong one); a file's score is
   the sum over its rules.
3. Findings in files that no user ever runs (tests, docs, examples, maintainer tools; see
   ``analysis/where.py``) weigh ``NOT_RUN_FACTOR`` percent: they ship in sdists but are neither
   installed nor imported.
4. The package score adds the files' scores, strongest first, each further file at half the
   weight of the one before (``FILE_DECAY``): signals that meet in one file (download *and*
   execute, secrets *and* a webhook) tell one story, while the same signals scattered over a
   large package's unrelated modules are usually several innocent ones. Capped at ``MAX_SCORE``.

Resulting weights (rounded down)::

                 install/startup  import  runtime  data
    critical          120           96      64      64
    high               52           42      28      28
    medium             22           18      12      12
    low                 7            6       4       4

Thresholds
----------
- ``malicious`` at ``MALICIOUS_AT`` = 70. Reached by one critical finding where code runs on its
  own (a critical finding is itself a combination the rule checked: decode *and* execute,
  download *and* run, network *and* host identity), by two high findings of different rules in
  one install- or import-time file, or by a critical finding in a function plus one more
  independent signal in the same file.
- ``suspicious`` at ``SUSPICIOUS_AT`` = 20: one high finding anywhere, one medium finding at
  install time, or a few weaker signals together. A single medium or low signal in ordinary
  code stays ``clean`` (popular packages are full of them).

A single weak signal therefore never reaches ``malicious``: low and medium findings cannot,
alone, and high findings need a second, different rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from pipvet.analysis.where import imported_by_users
from pipvet.models import Finding, Severity, Stage, Verdict

#: Base weight per severity.
SEVERITY_WEIGHT: dict[Severity, int] = {
    Severity.INFO: 0,
    Severity.LOW: 5,
    Severity.MEDIUM: 15,
    Severity.HIGH: 35,
    Severity.CRITICAL: 80,
}

#: Multiplier per stage (percent). Install and start-up code runs without the user asking;
#: import-time code runs in every program that imports the package; run-time code only when
#: a function is called; data and metadata are inert unless something else reads them.
STAGE_FACTOR: dict[Stage | None, int] = {
    Stage.INSTALL: 150,
    Stage.STARTUP: 150,
    Stage.IMPORT: 120,
    Stage.RUNTIME: 80,
    Stage.DATA: 80,
    Stage.METADATA: 100,
    None: 100,
}

#: Score at or above which the verdict is ``malicious`` / ``suspicious``. Capped at 100.
MALICIOUS_AT = 70
SUSPICIOUS_AT = 20
MAX_SCORE = 100
#: Share (1/n) of a repeated finding's weight that a repeat of the same rule adds.
REPEAT_DIVISOR = 10
#: Weight of each further file relative to the previous one (files sorted by their own score).
FILE_DECAY = 0.5
#: Multiplier (percent) for findings in files no user runs: test suites, docs, examples, tools
#: (see ``analysis/where.py``), and an sdist's Python files that no build backend would install
#: (``rules._base.importable``). They ship in sdists but are neither installed nor imported.
NOT_RUN_FACTOR = 30


# eq=False: never compared, so no __eq__/__hash__ to generate at import
@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class Scored:
    """The verdict, its score, and the findings with their weights, strongest first."""

    verdict: Verdict
    score: int
    findings: tuple[Finding, ...]


def weigh(
    finding: Finding, own: frozenset[str] = frozenset(), not_installed: frozenset[str] = frozenset()
) -> int:
    """``own``: the project's own package folders (:func:`pipvet.analysis.where.own_names`);
    ``not_installed``: Python files of an sdist that installing it leaves behind (a loose
    script in a folder no build backend installs), which run only when a developer runs them."""
    weight = SEVERITY_WEIGHT[finding.severity] * STAGE_FACTOR[finding.stage] // 100
    path = finding.path
    if (
        path
        and finding.stage not in (Stage.INSTALL, Stage.STARTUP)
        # a data file only takes the import stage from package code that runs it as it loads
        # (a program it starts, a pickle it unpickles): wherever it sits, users run it
        and not (finding.stage is Stage.IMPORT and not path.endswith((".py", ".pyw")))
        and (not imported_by_users(path, own) or path in not_installed)
    ):
        weight = weight * NOT_RUN_FACTOR // 100
    return weight


def _combine(weighed: Iterable[Finding]) -> int:
    """Sum over rules: each rule's strongest finding fully, its repeats a tenth."""
    best: dict[str, int] = {}
    extra = 0
    for f in weighed:
        if f.score > best.get(f.rule, -1):
            extra += best.get(f.rule, 0) // REPEAT_DIVISOR
            best[f.rule] = f.score
        else:
            extra += f.score // REPEAT_DIVISOR
    return sum(best.values()) + extra


def score(
    findings: Iterable[Finding],
    own: frozenset[str] = frozenset(),
    not_installed: frozenset[str] = frozenset(),
) -> Scored:
    """Combine findings into a verdict; each returned finding carries its own contribution."""
    weighed = tuple(replace(f, score=weigh(f, own, not_installed)) for f in findings)
    by_file: dict[str, list[Finding]] = {}
    for f in weighed:
        by_file.setdefault(f.path or "", []).append(f)
    # Signals that meet in one file are one story; the same signals scattered over a big
    # package's unrelated files are usually several innocent ones. Files count in decreasing
    # order of their own score, each at FILE_DECAY times the weight of the one before.
    total = 0.0
    factor = 1.0
    for file_score in sorted((_combine(fs) for fs in by_file.values()), reverse=True):
        total += file_score * factor
        factor *= FILE_DECAY
    total = min(MAX_SCORE, int(total))
    if total >= MALICIOUS_AT:
        verdict = Verdict.MALICIOUS
    elif total >= SUSPICIOUS_AT:
        verdict = Verdict.SUSPICIOUS
    else:
        verdict = Verdict.CLEAN
    ordered = tuple(sorted(weighed, key=lambda f: (-f.score, f.rule, f.path or "", f.line or 0)))
    return Scored(verdict=verdict, score=total, findings=ordered)
