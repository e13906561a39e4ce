from __future__ import annotations

from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version

from pipvet.models import Advisory, Severity, VulnerabilityID
from pipvet.vulndb.matching import fixes_after, in_range, is_affected, merge_aliases
from pipvet.vulndb.osv import parse_record
from pipvet.vulndb.versions import canonical


def events_of(*raw: dict[str, str]) -> list[tuple[str, str]]:
    """Sort events the way the parser stores them."""
    rec = parse_record(
        {
            "id": "T-1",
            "affected": [
                {
                    "package": {"ecosystem": "PyPI", "name": "p"},
                    "ranges": [{"type": "ECOSYSTEM", "events": list(raw)}],
                }
            ],
        }
    ).record
    assert rec is not None
    return [(e.kind, e.version) for e in rec.affected[0].ranges[0].events]


def hit(version: str, events: list[tuple[str, str]]) -> bool:
    return in_range(Version(version), events)


def test_introduced_fixed() -> None:
    ev = events_of({"introduced": "1.0"}, {"fixed": "1.5"})
    assert not hit("0.9", ev)
    assert hit("1.0", ev)
    assert hit("1.4.99", ev)
    assert not hit("1.5", ev)
    assert not hit("2.0", ev)


def test_introduced_zero_without_fix_is_every_version() -> None:
    ev = events_of({"introduced": "0"})
    assert hit("0.0.1", ev)
    assert hit("99.0", ev)
    assert hit("1!0.1", ev)


def test_prereleases_of_the_fix_are_still_affected() -> None:
    ev = events_of({"introduced": "0"}, {"fixed": "2.0"})
    assert hit("2.0rc1", ev)
    assert hit("2.0.dev3", ev)
    assert hit("2.0a1", ev)
    assert not hit("2.0", ev)


def test_prerelease_before_introduced_is_not_affected() -> None:
    ev = events_of({"introduced": "2.0"}, {"fixed": "3.0"})
    assert not hit("2.0rc1", ev)
    assert hit("2.0", ev)
    assert hit("3.0b1", ev)


def test_post_releases() -> None:
    ev = events_of({"introduced": "1.0"}, {"fixed": "1.0.post2"})
    assert hit("1.0", ev)
    assert hit("1.0.post1", ev)
    assert not hit("1.0.post2", ev)
    ev = events_of({"introduced": "0"}, {"last_affected": "1.0"})
    assert hit("1.0", ev)
    assert not hit("1.0.post1", ev)  # post-releases sort after the release


def test_epochs() -> None:
    ev = events_of({"introduced": "0"}, {"fixed": "2.0"})
    assert not hit("1!1.0", ev)  # epoch 1 sorts after every epoch-0 version
    ev = events_of({"introduced": "1!0"}, {"fixed": "1!2.0"})
    assert hit("1!1.5", ev)
    assert not hit("5.0", ev)


def test_last_affected_is_inclusive() -> None:
    ev = events_of({"introduced": "0"}, {"last_affected": "1.11.0"})
    assert hit("1.11.0", ev)
    assert hit("1.11", ev)
    assert not hit("1.11.1", ev)


def test_limit_caps_the_range() -> None:
    ev = events_of({"introduced": "1.0"}, {"limit": "1.5"})
    assert hit("1.4", ev)
    assert not hit("1.5", ev)
    assert not hit("2.0", ev)


def test_unsorted_multiple_pairs() -> None:
    ev = events_of(
        {"introduced": "4.2"},
        {"fixed": "4.2.3"},
        {"introduced": "4.0"},
        {"fixed": "4.1.10"},
        {"introduced": "3.2"},
        {"fixed": "3.2.20"},
    )
    assert hit("3.2.0", ev)
    assert not hit("3.2.20", ev)
    assert not hit("3.3", ev)
    assert hit("4.1.9", ev)
    assert not hit("4.1.10", ev)
    assert hit("4.2.2", ev)
    assert not hit("4.2.3", ev)
    assert not hit("3.1", ev)


def test_reintroduced_at_the_fixed_version_is_affected() -> None:
    ev = events_of({"introduced": "2.0"}, {"fixed": "3.0"}, {"introduced": "1.0"}, {"fixed": "2.0"})
    assert hit("1.5", ev)
    assert hit("2.0", ev)
    assert not hit("3.0", ev)


@pytest.mark.parametrize(
    ("listed", "queried"), [("1.0", "1.0.0"), ("1.0.0", "1.0"), ("1.0.0", "1"), ("1.0rc1", "1.0.0rc1")]
)
def test_explicit_versions_compare_as_pep440(listed: str, queried: str) -> None:
    assert is_affected(queried, canonical(queried), ranges=[], versions=[canonical(listed)])


def test_explicit_versions_do_not_overmatch() -> None:
    assert not is_affected("1.0.1", canonical("1.0.1"), ranges=[], versions=[canonical("1.0")])


def test_invalid_version_matches_only_itself_in_lists() -> None:
    assert is_affected("v_05", canonical("v_05"), ranges=[], versions=["v_05"])
    ev = events_of({"introduced": "0"})
    assert not is_affected("not a version", "not a version", ranges=[ev], versions=[])


def test_withdrawn_never_matches() -> None:
    ev = events_of({"introduced": "0"})
    assert not is_affected("1.0", "1", ranges=[ev], versions=["1"], withdrawn=True)


def test_fixes_after_lists_only_later_fixes() -> None:
    ranges = [
        events_of({"introduced": "3.2"}, {"fixed": "3.2.20"}, {"introduced": "4.0"}, {"fixed": "4.1.10"}),
        events_of({"introduced": "2.0"}, {"fixed": "2.2.5"}),
    ]
    assert fixes_after(Version("3.2.1"), ranges) == ("3.2.20", "4.1.10")
    assert fixes_after(None, ranges) == ("2.2.5", "3.2.20", "4.1.10")


def adv(
    id_: str, *aliases: str, sev: Severity = Severity.MEDIUM, mal: bool = False, fixed: tuple[str, ...] = ()
) -> Advisory:
    return Advisory(id=VulnerabilityID(id_), aliases=aliases, severity=sev, malicious=mal, fixed_in=fixed)


def test_merge_aliases_reports_one_flaw_once() -> None:
    merged = merge_aliases(
        [
            adv("GHSA-aaaa", "CVE-2020-1", sev=Severity.HIGH, fixed=("2.0",)),
            adv("PYSEC-2020-1", "CVE-2020-1", fixed=("2.0", "1.9.5")),
            adv("PYSEC-2021-9"),
        ]
    )
    assert [m.id for m in merged] == ["PYSEC-2020-1", "PYSEC-2021-9"]
    first = merged[0]
    assert first.aliases == ("CVE-2020-1", "GHSA-aaaa")
    assert first.severity is Severity.HIGH
    assert first.fixed_in == ("1.9.5", "2.0")


def test_merge_prefers_the_malicious_record() -> None:
    merged = merge_aliases(
        [
            adv("PYSEC-2025-72", "MAL-2025-6794"),
            adv("MAL-2025-6794", "PYSEC-2025-72", mal=True, sev=Severity.CRITICAL),
        ]
    )
    (only,) = merged
    assert only.id == "MAL-2025-6794"
    assert only.malicious
    assert only.severity is Severity.CRITICAL
    assert only.aliases == ("PYSEC-2025-72",)


def test_merge_is_transitive_and_orders_malicious_then_severity() -> None:
    merged = merge_aliases(
        [
            adv("A-1", "X"),
            adv("B-1", "Y"),
            adv("C-1", "X", "Y"),
            adv("D-1", sev=Severity.CRITICAL),
            adv("MAL-1", mal=True),
        ]
    )
    assert [m.id for m in merged] == ["MAL-1", "D-1", "A-1"]
    assert set(merged[2].aliases) == {"B-1", "C-1", "X", "Y"}


@given(
    bounds=st.lists(st.integers(min_value=1, max_value=60), min_size=2, max_size=12, unique=True),
    probe=st.integers(min_value=0, max_value=70),
    seed=st.randoms(use_true_random=False),
)
def test_shuffled_disjoint_intervals_match_the_oracle(bounds: list[int], probe: int, seed: Random) -> None:
    """Events of disjoint [introduced, fixed) intervals, listed in any order, mean their union."""
    points = sorted(bounds)[: len(bounds) // 2 * 2]
    intervals = list(zip(points[::2], points[1::2], strict=True))
    raw = [e for lo, hi in intervals for e in ({"introduced": f"{lo}.0"}, {"fixed": f"{hi}.0"})]
    seed.shuffle(raw)
    expected = any(lo <= probe < hi for lo, hi in intervals)
    assert hit(f"{probe}.0", events_of(*raw)) is expected
