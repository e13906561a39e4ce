from __future__ import annotations

from pipvet.analysis.score import MALICIOUS_AT, score
from pipvet.models import Finding, Severity, Stage, Verdict


def _f(rule: str, severity: Severity, stage: Stage | None) -> Finding:
    return Finding(rule=rule, severity=severity, title="t", message="m", stage=stage)


def test_no_findings_is_clean() -> None:
    assert score([]).verdict is Verdict.CLEAN


def test_single_weak_signal_stays_below_malicious() -> None:
    assert score([_f("A", Severity.MEDIUM, Stage.INSTALL)]).verdict is not Verdict.MALICIOUS
    assert score([_f("A", Severity.HIGH, Stage.RUNTIME)]).verdict is Verdict.SUSPICIOUS


def test_stage_weighs_install_above_runtime() -> None:
    install = score([_f("A", Severity.HIGH, Stage.INSTALL)]).score
    runtime = score([_f("A", Severity.HIGH, Stage.RUNTIME)]).score
    assert install > runtime


def test_combination_reaches_malicious_and_repeats_add_little() -> None:
    combo = score([_f("EXEC", Severity.HIGH, Stage.INSTALL), _f("NET", Severity.HIGH, Stage.INSTALL)])
    assert combo.verdict is Verdict.MALICIOUS
    assert combo.score >= MALICIOUS_AT
    repeated = score([_f("NET", Severity.MEDIUM, Stage.RUNTIME)] * 5)
    single = score([_f("NET", Severity.MEDIUM, Stage.RUNTIME)])
    assert repeated.score < single.score * 2
