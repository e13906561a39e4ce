from __future__ import annotations

from datetime import date

from pipvet.models import (
    Advisory,
    Decision,
    PackageRef,
    Result,
    Severity,
    Verdict,
    VulnerabilityID,
    normalize_name,
)
from pipvet.policy import Ignore, Policy, evaluate, evaluate_all

TODAY = date(2026, 11, 25)


def _result(*advisories: Advisory, verdict: Verdict = Verdict.CLEAN) -> Result:
    return Result(
        target="req.txt:1",
        package=PackageRef(name=normalize_name("django"), version="3.2.0"),
        verdict=verdict,
        vulnerabilities=advisories,
    )


def _adv(
    id_: str, severity: Severity = Severity.HIGH, *, malicious: bool = False, aliases: tuple[str, ...] = ()
) -> Advisory:
    return Advisory(id=VulnerabilityID(id_), severity=severity, malicious=malicious, aliases=aliases)


def test_vulnerability_at_threshold_blocks_and_below_warns() -> None:
    policy = Policy(fail_on=Severity.HIGH)
    assert evaluate(_result(_adv("PYSEC-1", Severity.HIGH)), policy, today=TODAY).decision is Decision.BLOCK
    low = evaluate(_result(_adv("PYSEC-2", Severity.LOW)), policy, today=TODAY)
    assert low.decision is Decision.WARN
    assert evaluate(_result(), policy, today=TODAY).decision is Decision.ALLOW


def test_malicious_record_blocks_regardless_of_threshold() -> None:
    r = evaluate(
        _result(_adv("MAL-1", Severity.CRITICAL, malicious=True)),
        Policy(fail_on=Severity.CRITICAL),
        today=TODAY,
    )
    assert r.decision is Decision.BLOCK
    assert any("known malicious" in x for x in r.reasons)


def test_ignore_by_alias_with_reason_and_unused_note() -> None:
    policy = Policy(ignores=(Ignore(id="CVE-2021-1", reason="not reachable"), Ignore(id="GHSA-none")))
    ev = evaluate_all([(_result(_adv("PYSEC-1", aliases=("CVE-2021-1",))), True)], policy, today=TODAY)
    (r,) = ev.results
    assert r.decision is Decision.ALLOW
    assert r.vulnerabilities == ()
    assert "ignored PYSEC-1: not reachable" in r.reasons
    assert any("GHSA-none" in n and "matched nothing" in n for n in ev.notes)


def test_expired_ignore_no_longer_applies() -> None:
    policy = Policy(ignores=(Ignore(id="PYSEC-1", reason="waiting", expires=date(2026, 1, 1)),))
    ev = evaluate_all([(_result(_adv("PYSEC-1")), True)], policy, today=TODAY)
    assert ev.results[0].decision is Decision.BLOCK
    assert any("expired" in n for n in ev.notes)


def test_error_blocks_unless_relaxed_and_marker_false_cannot_block() -> None:
    err = Result(target="x", verdict=Verdict.ERROR, error="unreadable")
    assert evaluate(err, Policy(), today=TODAY).decision is Decision.BLOCK
    assert evaluate(err, Policy(allow_errors=True), today=TODAY).decision is Decision.WARN
    windows_only = evaluate(_result(_adv("PYSEC-1")), Policy(), today=TODAY, applies=False)
    assert windows_only.decision is Decision.WARN
