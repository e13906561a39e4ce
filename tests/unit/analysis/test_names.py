from __future__ import annotations

from pathlib import Path

import pytest

from pipvet.analysis.names import (
    ESTABLISHED_RATIO,
    REVIEWED_TWINS,
    Popular,
    Presence,
    absurd_version,
    fold,
    load_popular,
    lookalikes,
    name_findings,
    parse_popular,
    popular_pairs,
    shadow_findings,
    unpinned_findings,
    version_findings,
)
from pipvet.models import Severity, Stage

POPULAR_JSON = (
    Path(__file__).resolve().parents[3].parent / "shared" / "data" / "popular" / "top-pypi-packages.json"
)


@pytest.fixture(scope="module")
def popular() -> Popular:
    return load_popular()


@pytest.mark.parametrize(
    ("name", "target", "technique"),
    [
        ("reqeusts", "requests", "typo"),  # adjacent swap
        ("requestss", "requests", "typo"),  # doubled letter
        ("requets", "requests", "typo"),  # dropped letter
        ("requesrs", "requests", "typo"),  # neighbouring key
        ("requset", "requests", "typo"),  # swap plus a dropped letter
        ("urlib3", "urllib3", "typo"),
        ("PyYMAL", "pyyaml", "typo"),
        ("djang0", "django", "confusable"),  # o -> 0
        ("dj4ngo", "django", "typo"),
        ("nurnpy", "numpy", "confusable"),  # rn -> m
        ("py-yaml", "pyyaml", "confusable"),  # separators
        ("python3-dateutil", "python-dateutil", "typo"),
        ("python3-requests", "requests", "affix"),
        ("requests-dev", "requests", "affix"),
        ("pandas-lite", "pandas", "affix"),
        ("ultrarequests", "requests", "affix"),
        ("urllib3installer", "urllib3", "affix"),
        ("dateutil-python", "python-dateutil", "reordered"),
        ("s3tranfer", "s3transfer", "typo"),
        ("colourama", "colorama", "typo"),
    ],
)
def test_lookalikes_are_caught(popular: Popular, name: str, target: str, technique: str) -> None:
    matches = {str(m.target): m for m in lookalikes(name, popular)}
    assert target in matches, f"{name} should resemble {target}"
    assert matches[target].technique == technique


@pytest.mark.parametrize(
    "name",
    [
        "requests",
        "Django",
        "python_dateutil",
        "PyYAML",
        "typing_extensions",
        "ruamel.yaml",
        "boto3",
        "urllib3",
    ],
)
def test_popular_names_themselves_are_never_flagged(popular: Popular, name: str) -> None:
    assert lookalikes(name, popular) == []
    assert name_findings(name, popular) == []


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("oauthlib", "authlib"),
        ("pymysql", "pymssql"),
        ("scipy", "scapy"),
        ("pyyaml", "pyaml"),
        ("psycopg", "psycopg2"),
        ("boto", "boto3"),
        ("pillow", "willow"),
        ("uvicorn", "gunicorn"),
        ("websocket", "websockets"),
        ("fastapi", "fastai"),
    ],
)
def test_legitimate_twins_are_not_flagged_either_way(popular: Popular, a: str, b: str) -> None:
    assert a in popular
    assert b in popular
    assert lookalikes(a, popular) == []
    assert lookalikes(b, popular) == []


def test_every_popular_pair_is_reviewed(popular: Popular) -> None:
    """Precision over the popular list: with the established-name rule, the only popular names that
    still resemble a far more popular one are the reviewed near-twins, listed with reasons in
    ``REVIEWED_TWINS``. A new pair (after a list refresh or a matcher change) fails here until a
    human reviews it."""
    raw = {(a, b) for a, b, _ in popular_pairs(popular, reviewed=False)}
    assert raw == set(REVIEWED_TWINS)
    assert popular_pairs(popular) == []
    for candidate, target in REVIEWED_TWINS:
        assert popular.rank[candidate] >= ESTABLISHED_RATIO * popular.rank[target]


def test_unknown_short_names_are_not_matched_by_distance(popular: Popular) -> None:
    # "siz" is one edit from "six", but three-letter names have too many honest neighbours.
    assert [m for m in lookalikes("siz", popular) if m.technique == "typo"] == []


def test_family_siblings_are_not_typos(popular: Popular) -> None:
    assert lookalikes("mypy-boto3-xyz", popular) == []
    assert lookalikes("nvidia-cublas-cu14", popular) == []


def test_name_findings_carry_evidence_and_severity(popular: Popular) -> None:
    (first, *_) = name_findings("reqeusts", popular)
    assert first.rule == "PV-NAME-LOOKALIKE"
    assert first.stage is Stage.METADATA
    assert first.severity is Severity.HIGH
    assert first.evidence is not None
    assert "requests" in first.evidence
    assert "swapped" in first.evidence
    affix = name_findings("requests-api", popular)
    assert affix[0].severity is Severity.LOW


def test_fold_maps_look_alike_characters() -> None:
    assert fold("Dj4ng0") == fold("dj4ngo")
    assert fold("rnatplot1ib") == fold("matplotlib")
    assert fold("vvheel") == fold("wheel")


def test_parse_popular_accepts_the_json_and_the_names_file() -> None:
    doc = '{"rows": [{"project": "Foo_Bar", "download_count": 3}, {"project": "baz"}]}'
    assert parse_popular(doc) == ["foo-bar", "baz"]
    assert parse_popular("# comment\nfoo\nFoo\nbar\n") == ["foo", "bar"]


def test_bundled_list_matches_the_shared_copy() -> None:
    if not POPULAR_JSON.is_file():
        pytest.skip("shared popular list not present")
    shared = parse_popular(POPULAR_JSON.read_text())
    assert list(load_popular().names) == shared


def test_refreshed_list_in_the_cache_wins(tmp_path: Path) -> None:
    (tmp_path / "popular.txt").write_text("alpha-project\nbeta-project\n")
    popular = load_popular(tmp_path)
    assert popular.names == ("alpha-project", "beta-project")
    assert popular.source.endswith("popular.txt")
    assert lookalikes("alpha-projcet", popular)[0].target == "alpha-project"
    (tmp_path / "popular.txt").write_text("")
    assert load_popular(tmp_path).source == "bundled"


@pytest.mark.parametrize(
    ("version", "absurd"),
    [
        ("99.0.0", True),
        ("1000.1", True),
        ("9999", True),
        ("2024.1.1", False),
        ("20240131", False),
        ("3.1", False),
    ],
)
def test_absurd_versions(version: str, absurd: bool) -> None:
    assert absurd_version(version) is absurd


def test_version_findings_depend_on_release_count(popular: Popular) -> None:
    assert version_findings("acme-internal", "99.0.0", release_count=1)[0].severity is Severity.HIGH
    assert version_findings("acme-internal", "99.0.0")[0].severity is Severity.LOW
    assert version_findings("acme-internal", "1.0.0", release_count=1) == []


def test_shadow_needs_different_files() -> None:
    mirror = [
        Presence(index="private", versions=("1.0",), sha256s=frozenset({"a"})),
        Presence(index="public", versions=("1.0",), sha256s=frozenset({"a"})),
    ]
    assert shadow_findings("acme", mirror) == []
    shadow = [
        Presence(index="private", versions=("1.0", "1.1"), sha256s=frozenset({"a", "b"})),
        Presence(index="public", versions=("99.0",), sha256s=frozenset({"z"})),
    ]
    (finding,) = shadow_findings("acme", shadow)
    assert finding.severity is Severity.HIGH
    assert finding.evidence is not None
    assert finding.evidence.startswith("public: 99.0")
    assert shadow_findings("acme", shadow[:1]) == []


def test_unpinned_only_with_several_remote_indexes() -> None:
    assert unpinned_findings("x", hashes=(), remote_indexes=1, pinned_index=False) == []
    assert unpinned_findings("x", hashes=("sha256:ab",), remote_indexes=2, pinned_index=False) == []
    assert unpinned_findings("x", hashes=(), remote_indexes=2, pinned_index=True) == []
    assert unpinned_findings("x", hashes=(), remote_indexes=2, pinned_index=False)[0].severity is Severity.LOW
