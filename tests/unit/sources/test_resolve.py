# ruff: noqa: F811  (pytest fixtures imported from fakeindex are parameters by design)
"""--resolve against a fake index on 127.0.0.1: wheel metadata only, sdists refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from fakeindex import FakeFile, FakeIndex, FakeProject, cache_dir, fake_index  # noqa: F401
from pipvet.index.client import IndexClient
from pipvet.models import Resolved, Skipped
from pipvet.sources import requirements
from pipvet.sources.markers import TargetEnvironment
from pipvet.sources.resolve import needs_resolution, resolve_source

LINUX = TargetEnvironment.for_target(python_version="3.11", platform="linux")


def _metadata(name: str, version: str, *requires: str) -> bytes:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    return ("\n".join(lines) + "\n").encode()


def _wheel(
    name: str, version: str, *requires: str, pep658: bool = True, python: str | None = None
) -> FakeFile:
    meta = _metadata(name, version, *requires)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(f"{name}/__init__.py", "")
        zf.writestr(f"{name}-{version}.dist-info/METADATA", meta)
    return FakeFile(
        filename=f"{name.replace('-', '_')}-{version}-py3-none-any.whl",
        data=buffer.getvalue(),
        metadata=meta if pep658 else None,
        requires_python=python,
    )


def _project(fake: FakeIndex, name: str, *files: FakeFile) -> None:
    fake.add(FakeProject(name=name, files=list(files)))


def _resolve(fake: FakeIndex, cache: Path, text: str) -> dict[str, Resolved | Skipped]:
    source = requirements.parse(text, path="requirements.in", target=LINUX)
    assert needs_resolution(source)
    with IndexClient(fake.index(), cache_dir=cache) as client:
        resolved = resolve_source(source, client, LINUX, index_url=fake.url)
    return {str(d.name): d for d in resolved.dependencies}


def test_ranges_become_the_newest_matching_versions_with_dependencies(
    fake_index: FakeIndex, cache_dir: Path
) -> None:
    _project(
        fake_index,
        "app",
        _wheel("app", "1.0", "lib<2", "tool>=1; extra == 'cli'", "winonly; sys_platform == 'win32'"),
    )
    _project(fake_index, "lib", _wheel("lib", "1.0"), _wheel("lib", "1.5", "leaf"), _wheel("lib", "2.0"))
    _project(fake_index, "leaf", _wheel("leaf", "3.0", pep658=False), _wheel("leaf", "4.0", python=">=3.12"))
    _project(fake_index, "tool", _wheel("tool", "1.2"))
    got = _resolve(fake_index, cache_dir, "app[cli]>=0.5\n")
    versions = {n: getattr(d, "version", None) for n, d in got.items()}
    # lib<2 from app's metadata; leaf 4.0 needs Python 3.12; winonly is Windows-only
    assert versions == {"app": "1.0", "lib": "1.5", "leaf": "3.0", "tool": "1.2"}
    app = got["app"]
    assert isinstance(app, Resolved)
    assert app.extras == ("cli",)
    assert app.origin.path == "requirements.in"
    assert app.origin.line == 1
    assert app.hashes
    assert got["leaf"].origin.line == 1  # pulled in through line 1


def test_an_sdist_only_release_is_refused_not_built(fake_index: FakeIndex, cache_dir: Path) -> None:
    _project(fake_index, "app", _wheel("app", "1.0", "built-at-install"))
    _project(
        fake_index, "built-at-install", FakeFile(filename="built_at_install-0.1.tar.gz", data=b"setup.py")
    )
    got = _resolve(fake_index, cache_dir, "app\n")
    refused = got["built-at-install"]
    assert isinstance(refused, Skipped)
    assert "no wheel" in refused.reason
    assert "runs its code" in refused.reason
    assert isinstance(got["app"], Resolved)


def test_pins_are_kept_and_conflicts_reported(fake_index: FakeIndex, cache_dir: Path) -> None:
    _project(fake_index, "app", _wheel("app", "1.0", "lib>=2"))
    _project(fake_index, "lib", _wheel("lib", "1.0"), _wheel("lib", "2.0"))
    source = requirements.parse("lib==1.0\napp>=1\n", path="r.in", target=LINUX)
    with IndexClient(fake_index.index(), cache_dir=cache_dir) as client:
        resolved = resolve_source(source, client, LINUX)
    pinned = {str(d.name): d.version for d in resolved.dependencies if isinstance(d, Resolved)}
    assert pinned == {"lib": "1.0", "app": "1.0"}
    (conflict,) = [d for d in resolved.dependencies if isinstance(d, Skipped)]
    assert conflict.requirement == "lib>=2"
    assert "conflicts with lib 1.0" in conflict.reason
    assert conflict.origin.line == 2


def test_nothing_matches(fake_index: FakeIndex, cache_dir: Path) -> None:
    _project(fake_index, "lib", _wheel("lib", "1.0"))
    got = _resolve(fake_index, cache_dir, "lib>=5\n")
    assert isinstance(got["lib"], Skipped)
    assert "no release on the index matches >=5" in got["lib"].reason


@pytest.mark.parametrize("text", ["six==1.16.0\n"])
def test_fully_pinned_inputs_need_no_resolution(text: str) -> None:
    assert not needs_resolution(requirements.parse(text, path="r.txt", target=LINUX))


def test_unknown_projects_and_unreadable_wheels_are_reported(fake_index: FakeIndex, cache_dir: Path) -> None:
    _project(fake_index, "app", _wheel("app", "1.0", "ghost", "broken"))
    _project(fake_index, "broken", FakeFile(filename="broken-1.0-py3-none-any.whl", data=b"not a zip"))
    got = _resolve(fake_index, cache_dir, "app\n")
    assert isinstance(got["app"], Resolved)
    ghost, broken = got["ghost"], got["broken"]
    assert isinstance(ghost, Skipped)
    assert ghost.reason == "not found on the index"
    assert isinstance(broken, Skipped)
    assert "could not be read" in broken.reason


def test_a_pinned_requirement_keeps_its_extras(fake_index: FakeIndex, cache_dir: Path) -> None:
    _project(fake_index, "app", _wheel("app", "1.0", "socks-lib; extra == 'socks'"))
    _project(fake_index, "socks-lib", _wheel("socks-lib", "2.0"))
    _project(fake_index, "other", _wheel("other", "1.0"))
    got = _resolve(fake_index, cache_dir, "app[socks]==1.0\nother\n")
    assert getattr(got["socks-lib"], "version", None) == "2.0"
