"""Pipfile.lock: the real lock pipenv wrote for the fixture project, and inline cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipvet.errors import InputError
from pipvet.models import Resolved, Skipped
from pipvet.sources import pipfilelock
from pipvet.sources.findings import DIRECT_REF, INDEX_MIXING, NO_HASH
from pipvet.sources.markers import TargetEnvironment

LOCKS = Path(__file__).resolve().parents[2] / "fixtures" / "lockfiles"
LINUX = TargetEnvironment.for_target(python_version="3.11", platform="linux")
PUBLIC = "http://127.0.0.1:38741/simple"
PRIVATE = "http://127.0.0.1:38741/private/simple"


def test_real_lock_default_and_develop() -> None:
    text = (LOCKS / "pipenv" / "Pipfile.lock").read_text()
    parsed = pipfilelock.parse(text, path="Pipfile.lock", target=LINUX)
    resolved = {str(d.name): d for d in parsed.dependencies if isinstance(d, Resolved)}
    assert {n: d.version for n, d in resolved.items()} == {
        "colorama": "0.4.6",
        "idna": "3.6",
        "iniconfig": "2.0.0",
        "pysocks": "1.7.1",
        "six": "1.16.0",
        "urllib3": "1.26.5",
    }
    assert resolved["six"].index_url == PRIVATE
    assert resolved["idna"].index_url == PUBLIC
    assert resolved["urllib3"].index_url == PUBLIC  # no "index": the first source
    assert resolved["urllib3"].extras == ("socks",)
    assert resolved["colorama"].marker == 'sys_platform == "win32"'
    assert not resolved["colorama"].applies
    assert len(resolved["idna"].hashes) == 2
    assert parsed.index_urls == (PUBLIC, PRIVATE)
    lines = text.splitlines()
    for dep in resolved.values():
        assert lines[dep.origin.line - 1].strip().startswith(f'"{dep.name}"')  # type: ignore[operator]
    (git,) = [d for d in parsed.dependencies if isinstance(d, Skipped)]
    assert git.name == "localgit"
    assert sorted(f.rule for f in parsed.findings) == [DIRECT_REF, INDEX_MIXING]


def _lock(default: dict[str, object], sources: list[dict[str, object]] | None = None) -> str:
    meta = {
        "sources": sources if sources is not None else [{"name": "one", "url": "http://127.0.0.1:1/simple"}]
    }
    return json.dumps({"_meta": meta, "default": default, "develop": {}}, indent=4)


def test_unpinned_missing_hash_and_path_entries() -> None:
    text = _lock(
        {
            "loose": {"version": ">=1"},
            "nohash": {"version": "==2.0"},
            "local": {"path": ".", "editable": True},
            "star": {"version": "*"},
        }
    )
    parsed = pipfilelock.parse(text, path="Pipfile.lock", target=LINUX)
    by_name = {str(d.name): d for d in parsed.dependencies}
    assert isinstance(by_name["loose"], Skipped)
    assert "not pinned" in by_name["loose"].reason
    assert isinstance(by_name["star"], Skipped)
    assert isinstance(by_name["nohash"], Resolved)
    rules = {f.rule: f for f in parsed.findings}
    assert rules[NO_HASH].line == text.splitlines().index('        "nohash": {') + 1
    assert rules[DIRECT_REF].evidence == "."


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ('{\n  "default": [1,\n', 3, "not valid JSON"),
        ("[]", 1, "expected a table"),
        (_lock({"a": {"version": "==1", "index": "nope"}}), 11, "index 'nope'"),
        (_lock({"a": {"version": "==1", "hashes": [3]}}), 11, "hash"),
        (_lock({"a": {"version": "==1", "markers": "os_name =="}}), 11, "marker"),
    ],
)
def test_errors_name_file_and_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(InputError) as err:
        pipfilelock.parse(text, path="app/Pipfile.lock", target=LINUX)
    assert err.value.path == "app/Pipfile.lock"
    assert err.value.line == line
    assert fragment in str(err.value)
