from __future__ import annotations

import pytest

from pipvet.vulndb.versions import canonical, is_valid, parse_version, sorted_versions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.0", "1"),
        ("1.0.0", "1"),
        ("1.0.0.0", "1"),
        ("01.02", "1.2"),
        ("1.10", "1.10"),
        ("0", "0"),
        ("1.0rc1", "1rc1"),
        ("1.0.0-RC1", "1rc1"),
        ("1!2.0", "1!2"),
        ("2.0.post1", "2.post1"),
        ("v1.0", "1"),
        ("v_05", "v_05"),  # not PEP 440: kept as written
        ("2.0.0-final", "2.0.0-final"),
    ],
)
def test_canonical_form(text: str, expected: str) -> None:
    assert canonical(text) == expected


def test_equal_versions_share_a_canonical_form() -> None:
    assert canonical("1.0") == canonical("1.0.0") == canonical("1")
    assert canonical("1.0") != canonical("1.0.1")


def test_invalid_versions_parse_to_none() -> None:
    assert parse_version("2019-09-12") is None
    assert not is_valid("0.2.0-n653")
    assert is_valid("1.0.post1.dev2")


def test_sorted_versions_orders_by_pep440_then_invalid_text() -> None:
    assert sorted_versions(["1.10", "1.9", "1.0rc1", "1.0", "zzz", "aaa", "1.9"]) == (
        "1.0rc1",
        "1.0",
        "1.9",
        "1.10",
        "aaa",
        "zzz",
    )


def test_canonical_agrees_with_packaging() -> None:
    from packaging.utils import canonicalize_version

    samples = ("1.0.0", "1!2.0.0rc1.post3.dev4+local.7", "2.0a0", "1.0.0.post0", "0.0", "3.10.0b2", "1.2+abc")
    for text in samples:
        assert canonical(text) == canonicalize_version(text), text
