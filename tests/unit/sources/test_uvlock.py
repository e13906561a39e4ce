"""uv.lock: the real lock uv wrote for the fixture project, and small inline locks."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipvet.errors import InputError
from pipvet.models import Resolved, Skipped
from pipvet.sources import ParsedSource, uvlock
from pipvet.sources.findings import DIRECT_REF, INDEX_MIXING, NO_HASH
from pipvet.sources.markers import TargetEnvironment

LOCKS = Path(__file__).resolve().parents[2] / "fixtures" / "lockfiles"
LINUX = TargetEnvironment.for_target(python_version="3.11", platform="linux")
WINDOWS = TargetEnvironment.for_target(python_version="3.11", platform="windows")
PUBLIC = "http://127.0.0.1:38741/simple"
PRIVATE = "http://127.0.0.1:38741/private/simple"


def _parse(
    target: TargetEnvironment = LINUX,
) -> tuple[dict[str, Resolved], dict[str, Skipped], ParsedSource]:
    text = (LOCKS / "uv" / "uv.lock").read_text()
    parsed = uvlock.parse(text, path="uv.lock", target=target)
    resolved = {str(d.name): d for d in parsed.dependencies if isinstance(d, Resolved)}
    skipped = {str(d.name): d for d in parsed.dependencies if isinstance(d, Skipped)}
    return resolved, skipped, parsed


def test_real_lock_versions_hashes_and_sources() -> None:
    resolved, skipped, parsed = _parse()
    assert parsed.format == "uv.lock"
    assert {n: d.version for n, d in resolved.items()} == {
        "colorama": "0.4.6",
        "idna": "3.6",
        "iniconfig": "2.0.0",
        "pysocks": "1.7.1",
        "six": "1.16.0",
        "urllib3": "1.26.5",
    }
    # the project itself (source virtual ".") is not a dependency
    assert "demo-app" not in resolved
    assert "demo-app" not in skipped
    idna = resolved["idna"]
    assert idna.hashes == (
        "sha256:9ecdbbd083b06798ae1e86adcbfe8ab1479cf864e4ee30fe4e46a003d12491ca",
        "sha256:c05567e9c24a6b9faaa835c4821bad0590fbb9d5779e7caa6e1cc4978e7eb24f",
    )
    assert {f.filename for f in idna.files} == {"idna-3.6.tar.gz", "idna-3.6-py3-none-any.whl"}
    assert idna.index_url == PUBLIC
    assert idna.upload_time == "2024-01-02T03:04:05Z"
    assert resolved["six"].index_url == PRIVATE
    assert parsed.index_urls == (PUBLIC, PRIVATE)
    text = (LOCKS / "uv" / "uv.lock").read_text().splitlines()
    assert text[idna.origin.line - 1] == "[[package]]"  # type: ignore[operator]
    assert text[idna.origin.line] == 'name = "idna"'  # type: ignore[index]


def test_marker_is_evaluated_for_the_target() -> None:
    linux, _, _ = _parse(LINUX)
    windows, _, _ = _parse(WINDOWS)
    assert linux["colorama"].marker == 'sys_platform == "win32"'
    assert linux["colorama"].applies is False
    assert windows["colorama"].applies is True
    assert linux["idna"].applies is True
    assert linux["idna"].marker is None
    # reached only through the 'socks' extra and the dev group: still installed, still audited
    assert linux["pysocks"].applies is True
    assert linux["iniconfig"].applies is True


def test_git_dependency_is_reported_not_fetched() -> None:
    _, skipped, parsed = _parse()
    git = skipped["localgit"]
    assert "git dependency" in git.reason
    assert "not fetched" in git.reason
    assert "file:///tmp/pipvet-lockfixtures/localgit" in git.requirement
    direct = [f for f in parsed.findings if f.rule == DIRECT_REF]
    assert len(direct) == 1
    assert direct[0].path == "uv.lock"
    assert direct[0].line == git.origin.line


def test_two_registries_are_index_mixing_with_line() -> None:
    resolved, _, parsed = _parse()
    (mixing,) = [f for f in parsed.findings if f.rule == INDEX_MIXING]
    assert PRIVATE in mixing.message
    assert PUBLIC in mixing.message
    assert "six" in mixing.message
    assert mixing.line == resolved["six"].origin.line
    assert not [f for f in parsed.findings if f.rule == NO_HASH]


INLINE = """\
version = 1
requires-python = ">=3.10"
resolution-markers = ["python_full_version >= '3.11'", "python_full_version < '3.11'"]

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [
    { name = "tomli", version = "2.0.1", marker = "python_full_version < '3.11'" },
    { name = "tomli", version = "2.2.1", marker = "python_full_version >= '3.11'" },
    { name = "nohash" },
]

[[package]]
name = "tomli"
version = "2.0.1"
source = { registry = "http://127.0.0.1:1/simple" }
resolution-markers = ["python_full_version < '3.11'"]
wheels = [{ url = "http://127.0.0.1:1/f/tomli-2.0.1-py3-none-any.whl", hash = "sha256:aa" }]

[[package]]
name = "tomli"
version = "2.2.1"
source = { registry = "http://127.0.0.1:1/simple" }
resolution-markers = ["python_full_version >= '3.11'"]
wheels = [{ url = "http://127.0.0.1:1/f/tomli-2.2.1-py3-none-any.whl", hash = "sha256:bb" }]

[[package]]
name = "nohash"
version = "1.0"
source = { registry = "http://127.0.0.1:1/simple" }

[[package]]
name = "orphan"
version = "1.0"
source = { path = "../orphan" }
"""


def test_forked_resolution_applies_per_python_version() -> None:
    for version, applying in (("3.10", "2.0.1"), ("3.12", "2.2.1")):
        target = TargetEnvironment.for_target(python_version=version, platform="linux")
        parsed = uvlock.parse(INLINE, path="x/uv.lock", target=target)
        tomli = {d.version: d for d in parsed.dependencies if isinstance(d, Resolved) and d.name == "tomli"}
        assert {v for v, d in tomli.items() if d.applies} == {applying}
        assert tomli["2.0.1"].marker == 'python_full_version < "3.11"'


def test_missing_hash_and_path_source_findings() -> None:
    parsed = uvlock.parse(INLINE, path="x/uv.lock", target=LINUX)
    (nohash,) = [f for f in parsed.findings if f.rule == NO_HASH]
    assert nohash.line == 29
    assert "nohash 1.0" in nohash.message
    (path_ref,) = [f for f in parsed.findings if f.rule == DIRECT_REF]
    assert path_ref.line == 34
    assert path_ref.evidence == "../orphan"
    assert not any(d.name == "app" for d in parsed.dependencies)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ('version = 1\n[[package]]\nname = "a"\nversion = 1\n', 2, "version: expected a string"),
        (
            'version = 1\n\n[[package]]\nname = "a"\nversion = "1"\nsource = "x"\n',
            3,
            "source: expected a table",
        ),
        ("version = 1\n[[package]\n", 2, "not valid TOML"),
        ('version = 1\n[[package]]\nversion = "1"\n', 2, "package name"),
        (
            'version = 1\n[[package]]\nname = "a"\nversion = "1"\nsource = { virtual = "." }\n'
            'dependencies = [{ name = "b", marker = "os_name ==" }]\n'
            '[[package]]\nname = "b"\nversion = "1"\n',
            2,
            "marker",
        ),
    ],
)
def test_errors_name_file_and_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(InputError) as err:
        uvlock.parse(text, path="proj/uv.lock", target=LINUX)
    assert err.value.path == "proj/uv.lock"
    assert err.value.line == line
    assert fragment in str(err.value)
    assert str(err.value).startswith(f"proj/uv.lock:{line}: ")


@pytest.mark.parametrize(("python", "applying"), [("3.10", "1.1.1"), ("3.11", "2.0.0"), ("3.13", "2.0.0")])
def test_real_forked_lock_applies_one_pin_per_python(python: str, applying: str) -> None:
    text = (LOCKS / "uv-fork" / "uv.lock").read_text()
    target = TargetEnvironment.for_target(python_version=python, platform="linux")
    parsed = uvlock.parse(text, path="uv.lock", target=target)
    pins = {d.version: d for d in parsed.dependencies if isinstance(d, Resolved)}
    assert set(pins) == {"1.1.1", "2.0.0"}
    assert {v for v, d in pins.items() if d.applies} == {applying}
    assert pins["1.1.1"].marker == 'python_full_version < "3.11"'
