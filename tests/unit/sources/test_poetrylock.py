"""poetry.lock: real locks from poetry 2.5 (lock-version 2.1) and poetry 1.2 (lock-version 1.1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipvet.errors import InputError
from pipvet.models import Resolved, Skipped
from pipvet.sources import poetrylock
from pipvet.sources.findings import DIRECT_REF, INDEX_MIXING, NO_HASH
from pipvet.sources.markers import TargetEnvironment

LOCKS = Path(__file__).resolve().parents[2] / "fixtures" / "lockfiles"
LINUX = TargetEnvironment.for_target(python_version="3.11", platform="linux")
WINDOWS = TargetEnvironment.for_target(python_version="3.11", platform="windows")
PRIVATE = "http://127.0.0.1:38741/private/simple"
EXPECTED = {
    "colorama": "0.4.6",
    "idna": "3.6",
    "iniconfig": "2.0.0",
    "pysocks": "1.7.1",
    "six": "1.16.0",
    "urllib3": "1.26.5",
}


@pytest.mark.parametrize("tool", ["poetry-1", "poetry-2"])
def test_real_locks_both_formats(tool: str) -> None:
    text = (LOCKS / tool / "poetry.lock").read_text()
    parsed = poetrylock.parse(text, path="poetry.lock", target=LINUX)
    resolved = {str(d.name): d for d in parsed.dependencies if isinstance(d, Resolved)}
    assert {n: d.version for n, d in resolved.items()} == EXPECTED
    assert resolved["idna"].hashes == (
        "sha256:9ecdbbd083b06798ae1e86adcbfe8ab1479cf864e4ee30fe4e46a003d12491ca",
        "sha256:c05567e9c24a6b9faaa835c4821bad0590fbb9d5779e7caa6e1cc4978e7eb24f",
    )
    assert {f.filename for f in resolved["idna"].files} == {"idna-3.6.tar.gz", "idna-3.6-py3-none-any.whl"}
    assert resolved["six"].index_url == PRIVATE
    (git,) = [d for d in parsed.dependencies if isinstance(d, Skipped)]
    assert git.name == "localgit"
    assert "206e96758bed4a949a67f192462d192aa7c162b1" in git.requirement
    rules = sorted(f.rule for f in parsed.findings)
    assert rules == [DIRECT_REF, INDEX_MIXING]
    lines = text.splitlines()
    assert lines[resolved["six"].origin.line - 1] == "[[package]]"  # type: ignore[operator]
    assert lines[resolved["six"].origin.line] == 'name = "six"'  # type: ignore[index]


def test_poetry2_markers_evaluated() -> None:
    text = (LOCKS / "poetry-2" / "poetry.lock").read_text()
    linux = poetrylock.parse(text, path="poetry.lock", target=LINUX)
    windows = poetrylock.parse(text, path="poetry.lock", target=WINDOWS)
    colorama_linux = next(d for d in linux.dependencies if d.name == "colorama")
    colorama_windows = next(d for d in windows.dependencies if d.name == "colorama")
    assert isinstance(colorama_linux, Resolved)
    assert isinstance(colorama_windows, Resolved)
    assert colorama_linux.marker == 'sys_platform == "win32"'
    assert colorama_linux.applies is False
    assert colorama_windows.applies is True


GROUP_MARKERS = """\
[[package]]
name = "a"
version = "1.0"
optional = false
python-versions = "*"
groups = ["main", "dev"]
markers = {main = "sys_platform == 'win32'", dev = "python_version < '3.9'"}
files = []

[metadata]
lock-version = "2.1"
python-versions = "*"
content-hash = "0"
"""


def test_markers_per_group_and_missing_hash() -> None:
    parsed = poetrylock.parse(GROUP_MARKERS, path="poetry.lock", target=LINUX)
    (a,) = parsed.dependencies
    assert isinstance(a, Resolved)
    assert a.marker == 'sys_platform == "win32" or python_version < "3.9"'
    assert a.applies is False
    assert a.index_url is None  # no [package.source]: the default index
    (finding,) = parsed.findings
    assert finding.rule == NO_HASH
    assert finding.line == 1


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ('[[package]]\nname = "a"\n', 1, "a: version"),
        ('\n[[package]]\nname = "a"\nversion = "1"\nfiles = "x"\n', 2, "files: expected an array"),
        ('[[package]]\nname = "a"\nversion = "1"\nmarkers = 3\n', 1, "markers"),
        ('[[package]]\nname = "a"\nversion = "1"\nmarkers = "os_name =="\n', 1, "invalid environment marker"),
        ('[metadata]\nlock-version = "9.0"\n', None, "lock-version"),
        ("[[package]\n", 1, "not valid TOML"),
    ],
)
def test_errors_name_file_and_line(text: str, line: int | None, fragment: str) -> None:
    with pytest.raises(InputError) as err:
        poetrylock.parse(text, path="p/poetry.lock", target=LINUX)
    assert err.value.path == "p/poetry.lock"
    assert err.value.line == line
    assert fragment in str(err.value)
