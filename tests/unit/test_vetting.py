from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from pipvet.models import (
    Advisory,
    Decision,
    Origin,
    Resolved,
    Severity,
    Skipped,
    Verdict,
    VulnerabilityID,
    normalize_name,
)
from pipvet.policy import Ignore, Policy
from pipvet.vetting import vet_dependencies

TODAY = date(2026, 11, 25)


class FakeDB:
    """A real lookup table, not a mock: name/version -> advisories."""

    def __init__(self, table: dict[tuple[str, str], tuple[Advisory, ...]]) -> None:
        self.table = table

    def lookup_many(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[Advisory, ...]]:
        return {p: self.table.get(p, ()) for p in pairs}


MAL = Advisory(id=VulnerabilityID("MAL-2025-6794"), severity=Severity.CRITICAL, malicious=True)
VULN = Advisory(
    id=VulnerabilityID("PYSEC-2021-1"), severity=Severity.MEDIUM, fixed_in=("3.2.5",), aliases=("CVE-1",)
)
DB = FakeDB({("num2words", "0.5.15"): (MAL,), ("django", "3.2.0"): (VULN,)})


def pin(name: str, version: str, *, applies: bool = True, line: int = 1) -> Resolved:
    return Resolved(
        name=normalize_name(name), version=version, applies=applies, origin=Origin(path="r.txt", line=line)
    )


def test_malicious_match_is_a_malicious_verdict_and_blocks() -> None:
    (r,) = vet_dependencies([pin("num2words", "0.5.15")], DB, Policy(), today=TODAY).results
    assert r.verdict is Verdict.MALICIOUS
    assert r.decision is Decision.BLOCK
    assert r.score == 100
    assert r.target == "r.txt:1"


def test_vulnerability_keeps_verdict_clean_but_blocks() -> None:
    (r,) = vet_dependencies([pin("django", "3.2.0")], DB, Policy(), today=TODAY).results
    assert r.verdict is Verdict.CLEAN
    assert r.decision is Decision.BLOCK
    assert r.vulnerabilities == (VULN,)
    (r,) = vet_dependencies([pin("django", "3.2.0")], DB, Policy(fail_on=Severity.HIGH), today=TODAY).results
    assert r.decision is Decision.WARN


def test_ignore_by_alias() -> None:
    ev = vet_dependencies(
        [pin("django", "3.2.0")], DB, Policy(ignores=(Ignore(id="cve-1", reason="n/a"),)), today=TODAY
    )
    (r,) = ev.results
    assert r.decision is Decision.ALLOW
    assert "ignored PYSEC-2021-1: n/a" in r.reasons


def test_marker_false_is_reported_but_cannot_block() -> None:
    (r,) = vet_dependencies([pin("num2words", "0.5.15", applies=False)], DB, Policy(), today=TODAY).results
    assert r.verdict is Verdict.MALICIOUS
    assert r.decision is Decision.WARN
    assert any("marker" in reason for reason in r.reasons)


def test_skipped_is_an_error_that_fails_closed_unless_allowed() -> None:
    skipped = Skipped(
        name=normalize_name("requests"),
        requirement="requests>=2",
        reason="not pinned to one exact version (>=2)",
        origin=Origin(path="r.txt", line=7),
    )
    (r,) = vet_dependencies([skipped], DB, Policy(), today=TODAY).results
    assert r.verdict is Verdict.ERROR
    assert r.decision is Decision.BLOCK
    assert r.error == "r.txt:7: not pinned to one exact version (>=2): requests>=2"
    assert r.package is not None
    assert r.package.version is None
    (r,) = vet_dependencies([skipped], DB, Policy(), allow_unpinned=True, today=TODAY).results
    assert r.decision is Decision.WARN
    assert "not pinned: allowed by --allow-unpinned" in r.reasons


def test_results_keep_input_order() -> None:
    ev = vet_dependencies(
        [pin("b", "1"), pin("django", "3.2.0", line=2), pin("a", "1", line=3)], DB, Policy(), today=TODAY
    )
    assert [r.package.name for r in ev.results if r.package] == ["b", "django", "a"]


def test_non_pep440_version_is_noted() -> None:
    (r,) = vet_dependencies([pin("legacy", "2013-01-21")], DB, Policy(), today=TODAY).results
    assert r.decision is Decision.ALLOW
    assert any("not PEP 440" in reason for reason in r.reasons)
