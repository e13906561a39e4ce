"""Target resolution for ``inspect``: local paths now, ``name==version`` through a fetch callable."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from pipvet.errors import UsageError
from pipvet.inspection import (
    Fetched,
    IndexTarget,
    LocalTarget,
    default_jobs,
    inspect_targets,
    parse_target,
    resolve,
)
from pipvet.models import Decision, Verdict
from pipvet.policy import Policy


def test_existing_paths_are_local(tmp_path: Path) -> None:
    archive = tmp_path / "x-1.0.tar.gz"
    archive.write_bytes(b"")
    assert parse_target(str(archive)) == LocalTarget(path=archive, label=str(archive))
    assert isinstance(parse_target(str(tmp_path)), LocalTarget)


@pytest.mark.parametrize(
    ("text", "name", "version"),
    [
        ("requests", "requests", None),
        ("requests==2.32.3", "requests", "2.32.3"),
        ("Foo.Bar_baz == 1!2.0", "Foo.Bar_baz", "1!2.0"),
    ],
)
def test_names_are_index_targets(text: str, name: str, version: str | None) -> None:
    assert parse_target(text) == IndexTarget(name=name, version=version, label=text)


@pytest.mark.parametrize(
    "text", ["dist/missing-1.0.tar.gz", "missing-1.0-py3-none-any.whl", "foo>=1.0", "-x", ""]
)
def test_anything_else_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="no such file or folder"):
        parse_target(text)


def test_names_need_a_fetcher_for_now() -> None:
    with pytest.raises(UsageError, match="not available"):
        resolve(["requests==2.0"])


def test_a_fetcher_plugs_in_for_names(tmp_path: Path) -> None:
    """What the index client will provide: a callable that puts the artifact on disk."""
    store = tmp_path / "cache" / "0123abcd"
    store.parent.mkdir()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        info = tarfile.TarInfo("../escape.py")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"x"))
    store.write_bytes(buffer.getvalue())
    asked: list[IndexTarget] = []

    def fetch(target: IndexTarget) -> Fetched:
        asked.append(target)
        return Fetched(path=store, filename="evil-1.0.tar.gz")

    (result,) = inspect_targets(["evil==1.0"], Policy(), fetch=fetch)
    assert asked == [IndexTarget(name="evil", version="1.0", label="evil==1.0")]
    assert result.target == "evil==1.0"
    assert result.artifact is not None
    assert result.artifact.filename == "evil-1.0.tar.gz"
    assert result.verdict is Verdict.MALICIOUS
    assert result.decision is Decision.BLOCK


def test_default_jobs() -> None:
    assert default_jobs(1) == 1
    assert default_jobs(7) == 1
    assert default_jobs(100) >= 1
