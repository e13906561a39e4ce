# ruff: noqa: F811  (pytest fixtures imported from fakeindex are parameters by design)
"""``pipvet inspect name==version`` against a fake index on 127.0.0.1: every file of the release."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from fakeindex import FakeFile, FakeIndex, FakeProject, fake_index  # noqa: F401
from pipvet.cli import main


def sdist_bytes(files: dict[str, str], top: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def wheel_bytes(name: str, version: str, files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
        zf.writestr(f"{name}-{version}.dist-info/WHEEL", "Wheel-Version: 1.0\nTag: py3-none-any\n")
        zf.writestr(
            f"{name}-{version}.dist-info/METADATA",
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        )
    return buf.getvalue()


def iso(delta: timedelta) -> str:
    return (datetime.now(timezone.utc) - delta).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def env(fake_index: FakeIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeIndex:
    monkeypatch.setenv("PIPVET_INDEX_URL", fake_index.url)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("HOME", str(tmp_path))
    return fake_index


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["inspect", "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_every_file_of_the_release_is_inspected(env: FakeIndex, capsys: pytest.CaptureFixture[str]) -> None:
    clean_setup = "from setuptools import setup\nsetup(name='tidy')\n"
    env.add(
        FakeProject(
            name="tidy",
            files=[
                FakeFile(
                    filename="tidy-0.9.tar.gz",
                    data=sdist_bytes({"setup.py": clean_setup}, "tidy-0.9"),
                    upload_time=iso(timedelta(days=400)),
                ),
                FakeFile(
                    filename="tidy-1.0.tar.gz",
                    data=sdist_bytes({"setup.py": clean_setup}, "tidy-1.0"),
                    upload_time=iso(timedelta(days=60)),
                ),
                FakeFile(
                    filename="tidy-1.0-py3-none-any.whl",
                    data=wheel_bytes("tidy", "1.0", {"tidy/__init__.py": "X = 1\n"}),
                    upload_time=iso(timedelta(days=60)),
                ),
            ],
            info={
                "summary": "tidy things",
                "license": "MIT",
                "author": "someone",
                "description": "x" * 200,
                "project_urls": {"Source": "https://github.com/someone/tidy"},
            },
        )
    )
    code, doc = run(capsys, "tidy==1.0")
    assert code == 0
    files = [r["artifact"]["filename"] for r in doc["results"]]
    assert files == ["tidy-1.0.tar.gz", "tidy-1.0-py3-none-any.whl"]
    for r in doc["results"]:
        assert r["verdict"] == "clean"
        assert r["package"] == {"name": "tidy", "version": "1.0"}
        assert r["artifact"]["sha256"]
    # Without a version: the newest release.
    code, doc = run(capsys, "tidy")
    assert {r["package"]["version"] for r in doc["results"]} == {"1.0"}


def test_metadata_and_name_signals_join_the_code_findings(
    env: FakeIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    env.add(
        FakeProject(
            name="reqeusts",
            files=[
                FakeFile(
                    filename="reqeusts-99.0.0.tar.gz",
                    data=sdist_bytes(
                        {"setup.py": "from setuptools import setup\nsetup()\n"}, "reqeusts-99.0.0"
                    ),
                    upload_time=iso(timedelta(hours=3)),
                )
            ],
        )
    )
    code, doc = run(capsys, "reqeusts")
    (result,) = doc["results"]
    rules = {f["rule"] for f in result["findings"]}
    assert {
        "PV-NAME-LOOKALIKE",
        "PV-META-RELEASE-AGE",
        "PV-META-NEW-PROJECT",
        "PV-CONFUSION-VERSION",
    } <= rules
    lookalike = next(f for f in result["findings"] if f["rule"] == "PV-NAME-LOOKALIKE")
    assert "requests" in lookalike["evidence"]
    assert result["verdict"] in ("suspicious", "malicious")
    assert code in (0, 1)


def test_unknown_name_is_an_error_result(env: FakeIndex, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run(capsys, "no-such-project==1.0")
    assert code == 3
    (result,) = doc["results"]
    assert result["verdict"] == "error"
    assert "no project named" in result["error"]


def test_tampered_file_is_an_error_not_a_pass(env: FakeIndex, capsys: pytest.CaptureFixture[str]) -> None:
    env.add(
        FakeProject(
            name="tampered",
            files=[
                FakeFile(
                    filename="tampered-1.0.tar.gz",
                    data=sdist_bytes({"a.py": "x=1\n"}, "tampered-1.0"),
                    tampered=True,
                )
            ],
        )
    )
    code, doc = run(capsys, "tampered==1.0")
    assert code == 3
    assert doc["results"][0]["verdict"] == "error"
    assert "discarded" in doc["results"][0]["error"]


def test_offline_name_target_without_cache_fails_clearly(
    env: FakeIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["inspect", "--offline", "--format", "json", "tidy==1.0"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 3
    assert "not in the cache" in doc["results"][0]["error"]
