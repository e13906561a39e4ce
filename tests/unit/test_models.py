from __future__ import annotations

import pytest

from pipvet.errors import ExitCode, exit_code_for
from pipvet.models import Decision, Result, Severity, Verdict, normalize_name, summarize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Foo.Bar_baz", "foo-bar-baz"),
        ("requests", "requests"),
        ("A__-.b", "a-b"),
        (" PyYAML ", "pyyaml"),
    ],
)
def test_normalize_name(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


def test_severity_order() -> None:
    assert Severity.CRITICAL > Severity.HIGH > Severity.MEDIUM > Severity.LOW > Severity.INFO
    assert max([Severity.LOW, Severity.CRITICAL, Severity.MEDIUM]) is Severity.CRITICAL


def test_exit_code_operational_wins_over_findings() -> None:
    blocked = Result(target="a", verdict=Verdict.MALICIOUS, decision=Decision.BLOCK)
    failed = Result(target="b", verdict=Verdict.ERROR, decision=Decision.BLOCK)
    warned = Result(target="c", verdict=Verdict.SUSPICIOUS, decision=Decision.WARN)
    assert exit_code_for([]) is ExitCode.OK
    assert exit_code_for([warned]) is ExitCode.OK
    assert exit_code_for([warned, blocked]) is ExitCode.FINDINGS
    assert exit_code_for([blocked, failed]) is ExitCode.OPERATIONAL


def test_summary_counts() -> None:
    results = [
        Result(target="a", verdict=Verdict.MALICIOUS, decision=Decision.BLOCK),
        Result(target="b", verdict=Verdict.CLEAN),
        Result(target="c", verdict=Verdict.CLEAN),
    ]
    assert summarize(results) == {
        "malicious": 1,
        "suspicious": 0,
        "clean": 2,
        "error": 0,
        "blocked": 1,
    }
