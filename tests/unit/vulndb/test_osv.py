from __future__ import annotations

from typing import Any

import pytest

from pipvet.models import Severity
from pipvet.vulndb.osv import Event, parse_record


def record(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "PYSEC-2099-1",
        "modified": "2024-01-01T00:00:00Z",
        "details": "First line of the details.\nMore text.",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "Some_Package"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2"}]}],
                "versions": ["1.0", "1.1.0"],
            }
        ],
    }
    base.update(overrides)
    return base


def test_parses_a_plain_record() -> None:
    result = parse_record(record(aliases=["CVE-2099-1"]))
    assert result.warnings == ()
    r = result.record
    assert r is not None
    assert r.id == "PYSEC-2099-1"
    assert r.aliases == ("CVE-2099-1",)
    assert r.summary == "First line of the details."
    assert r.severity is Severity.MEDIUM  # no severity given: medium
    assert not r.malicious
    assert r.prefix == "PYSEC"
    (affected,) = r.affected
    assert affected.name == "some-package"  # PEP 503 normalised
    assert affected.versions == ("1", "1.1")  # canonical forms
    assert affected.ranges[0].events == (
        Event(kind="introduced", version="0"),
        Event(kind="fixed", version="1.2"),
    )


def test_mal_records_are_malicious_and_critical() -> None:
    r = parse_record(record(id="MAL-2099-7", summary="Malicious code in x")).record
    assert r is not None
    assert r.malicious
    assert r.severity is Severity.CRITICAL
    assert r.summary == "Malicious code in x"


def test_cvss_v3_severity_takes_the_highest() -> None:
    raw = record(
        severity=[
            {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N"},
            {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
        ]
    )
    r = parse_record(raw).record
    assert r is not None
    assert r.severity is Severity.CRITICAL


def test_bad_cvss_vector_warns_and_falls_back() -> None:
    result = parse_record(record(severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/nonsense"}]))
    assert result.record is not None
    assert result.record.severity is Severity.MEDIUM
    assert any("severity ignored" in w for w in result.warnings)


def test_github_style_severity_word() -> None:
    r = parse_record(record(id="GHSA-xxxx", database_specific={"severity": "MODERATE"})).record
    assert r is not None
    assert r.severity is Severity.MEDIUM
    r = parse_record(record(id="GHSA-yyyy", database_specific={"severity": "HIGH"})).record
    assert r is not None
    assert r.severity is Severity.HIGH


def test_events_are_sorted_whatever_their_order() -> None:
    events = [
        {"introduced": "4.2"},
        {"fixed": "4.2.3"},
        {"introduced": "4.0"},
        {"fixed": "4.1.10"},
        {"introduced": "3.2"},
        {"fixed": "3.2.20"},
    ]
    raw = record(
        affected=[
            {
                "package": {"ecosystem": "PyPI", "name": "django"},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
            }
        ]
    )
    r = parse_record(raw).record
    assert r is not None
    versions = [e.version for e in r.affected[0].ranges[0].events]
    assert versions == ["3.2", "3.2.20", "4.0", "4.1.10", "4.2", "4.2.3"]


def test_withdrawn_is_kept_as_a_flag() -> None:
    r = parse_record(record(withdrawn="2024-02-02T00:00:00Z")).record
    assert r is not None
    assert r.withdrawn == "2024-02-02T00:00:00Z"


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ([1, 2], "not a JSON object"),
        ({"affected": []}, "without an id"),
        ({"id": "X-1"}, "no affected list"),
        ({"id": "X-1", "affected": []}, "no usable"),
        (
            {"id": "X-1", "affected": [{"package": {"ecosystem": "PyPI"}, "versions": ["1"]}]},
            "without a name",
        ),
        ({"id": "X-1", "affected": ["nope"]}, "not an object"),
    ],
)
def test_bad_records_are_skipped_with_a_warning(raw: object, needle: str) -> None:
    result = parse_record(raw)
    assert result.record is None
    assert any(needle in w for w in result.warnings), result.warnings


def test_unknown_range_type_is_skipped_but_versions_still_count() -> None:
    raw = record(
        affected=[
            {
                "package": {"ecosystem": "PyPI", "name": "x"},
                "ranges": [
                    {"type": "SEMVER", "events": [{"introduced": "0"}]},
                    {"type": "GIT", "repo": "https://example.invalid/x", "events": [{"introduced": "abc"}]},
                ],
                "versions": ["2.0"],
            }
        ]
    )
    result = parse_record(raw)
    assert result.record is not None
    assert result.record.affected[0].ranges == ()
    assert result.record.affected[0].versions == ("2",)
    assert sum("unsupported range type" in w for w in result.warnings) == 1  # GIT is silent


def test_invalid_version_in_range_drops_that_range() -> None:
    raw = record(
        affected=[
            {
                "package": {"ecosystem": "PyPI", "name": "steam"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2019-09-12"}]}],
            }
        ]
    )
    result = parse_record(raw)
    assert result.record is None
    assert any("'2019-09-12' is not PEP 440" in w for w in result.warnings)


def test_range_without_introduced_or_with_bad_events_is_dropped() -> None:
    for events in ([{"fixed": "1.0"}], [{"introduced": "0", "fixed": "1"}], [{"bogus": "1"}], []):
        raw = record(
            affected=[
                {
                    "package": {"ecosystem": "PyPI", "name": "x"},
                    "ranges": [{"type": "ECOSYSTEM", "events": events}],
                },
            ]
        )
        result = parse_record(raw)
        assert result.record is None, events
        assert result.warnings


def test_invalid_explicit_versions_are_kept_verbatim() -> None:
    raw = record(affected=[{"package": {"ecosystem": "PyPI", "name": "x"}, "versions": ["v_05", "1.0", 3]}])
    result = parse_record(raw)
    assert result.record is not None
    assert result.record.affected[0].versions == ("v_05", "1")
    assert any("not a string" in w for w in result.warnings)


def test_other_ecosystems_are_ignored() -> None:
    raw = record(
        affected=[
            {"package": {"ecosystem": "npm", "name": "left-pad"}, "versions": ["1.0.0"]},
            {"package": {"ecosystem": "PyPI", "name": "x"}, "versions": ["1.0"]},
        ]
    )
    r = parse_record(raw).record
    assert r is not None
    assert [a.name for a in r.affected] == ["x"]
