"""``pipvet inspect`` end to end: JSON contract, exit codes, targets, and never running package code."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from pipvet.cli import main


def sdist(path: Path, files: dict[str, str], top: str = "demo-1.0") -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def wheel(path: Path, files: dict[str, str], trailing: bytes = b"") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text)
        zf.writestr("demo-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nTag: py3-none-any\n")
        zf.writestr("demo-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
    if trailing:
        with path.open("ab") as fh:
            fh.write(trailing)
    return path


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["inspect", "--format", "json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_json_contract_for_a_clean_sdist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = sdist(
        tmp_path / "demo-1.0.tar.gz",
        {
            "setup.py": "from setuptools import setup\nsetup(name='demo')\n",
            "PKG-INFO": "Name: demo\nVersion: 1.0\n",
        },
    )
    code, doc = run_json(capsys, str(target))
    assert code == 0
    assert doc["schema_version"] == 1
    assert doc["command"] == "inspect"
    (result,) = doc["results"]
    assert set(result) == {
        "target",
        "package",
        "artifact",
        "verdict",
        "score",
        "findings",
        "vulnerabilities",
        "decision",
        "reasons",
        "error",
    }
    assert result["target"] == str(target)
    assert result["package"] == {"name": "demo", "version": "1.0"}
    assert result["artifact"]["filename"] == "demo-1.0.tar.gz"
    assert result["artifact"]["size"] == target.stat().st_size
    assert len(result["artifact"]["sha256"]) == 64
    assert result["verdict"] == "clean"
    assert result["decision"] == "allow"
    assert doc["summary"] == {"malicious": 0, "suspicious": 0, "clean": 1, "error": 0, "blocked": 0}


def test_malicious_blocks_with_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "evil-1.0.tar.gz"
    with tarfile.open(target, "w:gz") as tf:
        info = tarfile.TarInfo("../../home/user/.bashrc")
        info.size = 4
        tf.addfile(info, io.BytesIO(b"evil"))
    code, doc = run_json(capsys, str(target))
    assert code == 1
    (result,) = doc["results"]
    assert result["verdict"] == "malicious"
    assert result["decision"] == "block"
    finding = result["findings"][0]
    assert finding["rule"] == "PV-ARCHIVE-PATH-TRAVERSAL"
    assert finding["severity"] == "critical"
    assert finding["evidence"] == "../../home/user/.bashrc"
    assert finding["message"]


def test_suspicious_warns_and_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = wheel(tmp_path / "demo-1.0-py3-none-any.whl", {"demo/__init__.py": ""}, trailing=b"\0" * 64)
    code, doc = run_json(capsys, str(target))
    assert code == 0
    assert doc["results"][0]["verdict"] == "suspicious"
    assert doc["results"][0]["decision"] == "warn"


def test_unreadable_archive_is_an_error_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "broken-1.0.tar.gz"
    target.write_bytes(b"\x1f\x8b\x08\x00" + b"not really gzip" * 4)
    code, doc = run_json(capsys, str(target))
    assert code == 3
    result = doc["results"][0]
    assert result["verdict"] == "error"
    assert result["decision"] == "block"
    assert result["error"]


def test_error_wins_over_malicious_for_the_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "x.whl"
    bad.write_bytes(b"nothing")
    evil = wheel(tmp_path / "e-1-py3-none-any.whl", {"../escape.py": "x"})
    code, doc = run_json(capsys, str(evil), str(bad))
    assert code == 3
    assert [r["verdict"] for r in doc["results"]] == ["malicious", "error"]
    assert doc["summary"]["blocked"] == 2


def test_folder_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "demo"
    (folder / "demo").mkdir(parents=True)
    (folder / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    (folder / "demo" / "__init__.py").write_text("")
    (folder / "PKG-INFO").write_text("Name: demo\nVersion: 3.1\n")
    code, doc = run_json(capsys, str(folder))
    assert code == 0
    result = doc["results"][0]
    assert result["artifact"] is None
    assert result["package"] == {"name": "demo", "version": "3.1"}


def test_unknown_target_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(tmp_path / "missing-1.0.tar.gz")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["inspect", "requests==2.0"]) == 2
    err = capsys.readouterr().err
    assert "requests==2.0" in err
    assert "not available" in err
    assert main(["inspect"]) == 2


def test_table_output_and_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = wheel(tmp_path / "demo-1.0-py3-none-any.whl", {"demo/__init__.py": ""}, trailing=b"junk")
    out = tmp_path / "report.json"
    assert main(["inspect", str(target), "--format", "json", "--output", str(out)]) == 0
    assert json.loads(out.read_text())["results"][0]["verdict"] == "suspicious"
    assert main(["inspect", str(target), "-q"]) == 0
    table = capsys.readouterr().out
    assert "PV-ARCHIVE-ZIP-TRAILING-DATA" in table
    assert "1 checked" in table


# --------------------------------------------------------------------------- never execute


def planted(tmp_path: Path) -> tuple[list[Path], Path]:
    """An sdist with a marker-writing setup.py, a wheel with an executing .pth, and a folder."""
    marker = tmp_path / "MARKER-WAS-WRITTEN"
    payload = f"import pathlib; pathlib.Path({str(marker)!r}).write_text('executed')\n"
    setup_py = payload + "from setuptools import setup\nsetup(name='planted', version='1.0')\n"
    pth = payload.replace("\n", "") + "\n"
    src = sdist(
        tmp_path / "planted-1.0.tar.gz",
        {"setup.py": setup_py, "planted.pth": pth, "planted/__init__.py": payload},
        top="planted-1.0",
    )
    whl = wheel(
        tmp_path / "planted-1.0-py3-none-any.whl",
        {"planted.pth": pth, "planted/__init__.py": payload, "sitecustomize.py": payload},
    )
    folder = tmp_path / "planted-src"
    (folder / "planted").mkdir(parents=True)
    (folder / "setup.py").write_text(setup_py)
    (folder / "planted" / "__init__.py").write_text(payload)
    (folder / "x.pth").write_text(pth)
    return [src, whl, folder], marker


def test_planted_code_would_write_the_marker(tmp_path: Path) -> None:
    """The planted payload is live: running it (our own test code, not a sample) writes the marker."""
    _, marker = planted(tmp_path)
    folder = tmp_path / "planted-src"
    subprocess.run(
        [sys.executable, "-c", (folder / "x.pth").read_text()],
        check=True,
        cwd=tmp_path,
    )
    assert marker.exists()


def test_inspecting_never_runs_setup_py_or_pth_in_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    targets, marker = planted(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, doc = run_json(capsys, *(str(t) for t in targets))
    assert code in (0, 1)
    assert len(doc["results"]) == 3
    assert not marker.exists()


def test_inspecting_never_runs_setup_py_or_pth_as_subprocess(tmp_path: Path) -> None:
    targets, marker = planted(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPVET_")}
    env["PIPVET_CACHE_DIR"] = str(tmp_path / "cache")
    proc = subprocess.run(
        [sys.executable, "-m", "pipvet", "inspect", "--format", "json", *(str(t) for t in targets)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    assert [r["package"]["name"] for r in doc["results"]] == ["planted", "demo", "planted-src"]
    assert not marker.exists()
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.py"))


def test_parallel_jobs_keep_order_and_results(tmp_path: Path) -> None:
    targets = [
        str(sdist(tmp_path / f"p{i}-1.0.tar.gz", {"setup.py": "from setuptools import setup\nsetup()\n"}))
        for i in range(5)
    ]
    bad = tmp_path / "bad.whl"
    bad.write_bytes(b"nope")
    targets.insert(2, str(bad))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPVET_")}
    env["PIPVET_CACHE_DIR"] = str(tmp_path / "cache")
    outputs = []
    for jobs in ("1", "2"):
        proc = subprocess.run(
            [sys.executable, "-m", "pipvet", "inspect", "-j", jobs, "--format", "json", *targets],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert proc.returncode == 3, proc.stderr
        outputs.append(json.loads(proc.stdout)["results"])
    assert outputs[0] == outputs[1]
    assert [r["target"] for r in outputs[1]] == targets
    assert [r["verdict"] for r in outputs[1]].count("error") == 1
