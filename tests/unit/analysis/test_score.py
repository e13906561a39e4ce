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


def _at(rule: str, severity: Severity, stage: Stage, path: str) -> Finding:
    return Finding(rule=rule, severity=severity, title="t", message="m", stage=stage, path=path)


def test_signals_meeting_in_one_file_outweigh_the_same_signals_scattered() -> None:
    together = [_at(r, Severity.HIGH, Stage.RUNTIME, "pkg/a.py") for r in ("A", "B", "C")]
    scattered = [_at(r, Severity.HIGH, Stage.RUNTIME, f"pkg/{r}.py") for r in ("A", "B", "C")]
    assert score(together).verdict is Verdict.MALICIOUS
    assert score(scattered).verdict is Verdict.SUSPICIOUS
    assert score(scattered).score < score(together).score


def test_critical_where_code_runs_by_itself_is_malicious_but_in_a_function_needs_company() -> None:
    assert score([_at("X", Severity.CRITICAL, Stage.IMPORT, "p/__init__.py")]).verdict is Verdict.MALICIOUS
    alone = score([_at("X", Severity.CRITICAL, Stage.RUNTIME, "p/m.py")])
    assert alone.verdict is Verdict.SUSPICIOUS
    company = score(
        [
            _at("X", Severity.CRITICAL, Stage.RUNTIME, "p/m.py"),
            _at("Y", Severity.MEDIUM, Stage.RUNTIME, "p/m.py"),
        ]
    )
    assert company.verdict is Verdict.MALICIOUS


def test_weak_signals_stay_clean() -> None:
    assert score([_at("X", Severity.MEDIUM, Stage.RUNTIME, "p/m.py")]).verdict is Verdict.CLEAN
    assert score([_at("X", Severity.LOW, Stage.INSTALL, "setup.py")]).verdict is Verdict.CLEAN


def test_findings_in_test_suites_weigh_less_than_in_shipped_code() -> None:
    shipped = score([_at("X", Severity.HIGH, Stage.RUNTIME, "acme-1.0/acme/net.py")])
    in_tests = score([_at("X", Severity.HIGH, Stage.RUNTIME, "acme-1.0/tests/test_net.py")])
    assert shipped.verdict is Verdict.SUSPICIOUS
    assert in_tests.verdict is Verdict.CLEAN
    # setup.py runs at install wherever it sits.
    assert score([_at("X", Severity.HIGH, Stage.INSTALL, "acme-1.0/setup.py")]).score == 52


def test_a_data_file_that_package_code_runs_at_import_counts_wherever_it_sits() -> None:
    """A program in ``acme/bin/`` that ``acme/__init__.py`` starts runs for every user; a
    module in a top-level ``bin/`` folder of scripts does not run on import."""
    started = score([_at("PV-PAY-NATIVE", Severity.CRITICAL, Stage.IMPORT, "acme/bin/svchost.exe")])
    assert started.verdict is Verdict.MALICIOUS
    script = score([_at("X", Severity.CRITICAL, Stage.IMPORT, "acme/bin/run.py")])
    assert script.score < started.score
