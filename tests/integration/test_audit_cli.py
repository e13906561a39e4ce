"""`pipvet audit` end to end (in-process) on a database built from the shared OSV export."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from integration.osv_helpers import REPO, Runner

DEMO = REPO / "examples" / "requirements-demo.txt"


def write(tmp_path: Path, text: str, name: str = "requirements.txt") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def audit_json(run: Runner, *argv: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = run("audit", *argv, "--format", "json")
    return code, (json.loads(out) if out.strip() else {}), err


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["package"]["name"]: r for r in report["results"]}


def test_clean_file_exits_0(run: Runner, real_db: Path, tmp_path: Path) -> None:
    req = write(tmp_path, "idna==3.10\njinja2==3.1.4\nfastapi==0.136.3  # withdrawn MAL record\n")
    code, report, _ = audit_json(run, str(req))
    assert code == 0
    assert report["summary"] == {"malicious": 0, "suspicious": 0, "clean": 3, "error": 0, "blocked": 0}
    assert all(r["vulnerabilities"] == [] and r["decision"] == "allow" for r in report["results"])


def test_demo_file_json_contract(run: Runner, real_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    code, stdout, _ = run("audit", str(DEMO), "--format", "json", "--output", str(out))
    assert code == 1
    assert stdout == ""
    report = json.loads(out.read_text())
    assert report["schema_version"] == 1
    assert report["command"] == "audit"
    assert report["tool"]["name"] == "pipvet"
    results = by_name(report)
    n2w = results["num2words"]
    assert n2w["verdict"] == "malicious"
    assert n2w["decision"] == "block"
    assert n2w["target"] == f"{DEMO}:6"
    (mal,) = n2w["vulnerabilities"]
    assert mal["id"] == "MAL-2025-6794"
    assert mal["severity"] == "critical"
    assert mal["malicious"] is True
    assert "PYSEC-2025-72" in mal["aliases"]
    django = results["django"]
    assert django["verdict"] == "clean"  # vulnerabilities are not malice...
    assert django["decision"] == "block"  # ...but they block
    ids = {v["id"] for v in django["vulnerabilities"]}
    assert len(ids) >= 20
    assert all(i.startswith("PYSEC-") for i in ids)
    cve = next(v for v in django["vulnerabilities"] if v["id"] == "PYSEC-2023-100")
    assert cve["fixed_in"] == ["3.2.20", "4.1.10", "4.2.3"]
    assert results["requests"]["decision"] == "block"
    assert results["idna"]["decision"] == "allow"
    assert report["summary"]["malicious"] == 1
    assert report["summary"]["blocked"] == 4


def test_table_output(run: Runner, real_db: Path) -> None:
    code, out, _ = run("audit", str(DEMO))
    assert code == 1
    assert "MALICIOUS MAL-2025-6794" in out
    assert "num2words" in out
    assert "6 checked: 1 malicious" in out


def test_name_normalisation_against_real_data(run: Runner, real_db: Path, tmp_path: Path) -> None:
    req = write(tmp_path, "Costrar==8.0.0\nCOSTRAR==8.0\n")
    code, report, _ = audit_json(run, str(req))
    assert code == 1
    assert [r["vulnerabilities"][0]["id"] for r in report["results"]] == ["MAL-2024-1545", "MAL-2024-1545"]


def test_fail_on_threshold(run: Runner, real_db: Path, tmp_path: Path) -> None:
    req = write(tmp_path, "pyyaml==5.3\n")
    assert audit_json(run, str(req))[0] == 1
    code, report, _ = audit_json(run, str(req), "--fail-on", "critical")
    assert code == 0
    assert report["results"][0]["decision"] == "warn"
    malicious = write(tmp_path, "num2words==0.5.16\n", "m.txt")
    assert audit_json(run, str(malicious), "--fail-on", "critical")[0] == 1


def test_ignore_with_reason_and_unused_note(run: Runner, real_db: Path, tmp_path: Path) -> None:
    req = write(tmp_path, "requests==2.19.1\n")
    code, report, err = audit_json(
        run,
        str(req),
        "--ignore",
        "PYSEC-2018-28:not reachable",
        "--ignore",
        "CVE-2023-32681",
        "--ignore",
        "GHSA-none",
    )
    assert code == 0
    (r,) = report["results"]
    assert r["vulnerabilities"] == []
    assert "ignored PYSEC-2018-28: not reachable" in r["reasons"]
    assert "ignored PYSEC-2023-74: no reason given" in r["reasons"]
    assert "GHSA-none" in err
    assert "matched nothing" in err


def test_markers_use_the_target(run: Runner, real_db: Path, tmp_path: Path) -> None:
    req = write(tmp_path, 'num2words==0.5.15 ; python_version < "3.0"\nidna==3.10\n')
    code, report, _ = audit_json(run, str(req))
    assert code == 0
    n2w = report["results"][0]
    assert n2w["verdict"] == "malicious"  # still reported...
    assert n2w["decision"] == "warn"  # ...but not installed on this target
    assert audit_json(run, str(req), "--python-version", "2.7")[0] == 1


def test_lockfile_duplicates_only_the_applicable_pin_counts(run: Runner, real_db: Path) -> None:
    code, report, _ = audit_json(run, str(REPO / "requirements" / "lock.txt"), "--allow-stale")
    assert code == 0
    hyp = [r for r in report["results"] if r["package"]["name"] == "hypothesis"]
    assert len(hyp) == 2
    assert any("marker" in " ".join(r["reasons"]) for r in hyp)


def test_unpinned_fails_closed_unless_allowed(run: Runner, real_db: Path, tmp_path: Path) -> None:
    req = write(tmp_path, "idna==3.10\nrequests>=2\n")
    code, report, _ = audit_json(run, str(req))
    assert code == 3
    err = by_name(report)["requests"]
    assert err["verdict"] == "error"
    assert err["error"].startswith(f"{req}:2: not pinned")
    code, report, _ = audit_json(run, str(req), "--allow-unpinned")
    assert code == 0
    assert by_name(report)["requests"]["decision"] == "warn"


def test_directory_argument(run: Runner, real_db: Path, tmp_path: Path) -> None:
    write(tmp_path, "num2words==0.5.15\n")
    code, report, _ = audit_json(run, str(tmp_path))
    assert code == 1
    assert report["results"][0]["target"] == f"{tmp_path / 'requirements.txt'}:1"


def test_installed_environment(run: Runner, real_db: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (site,) = list((venv / "lib").glob("python*/site-packages"))
    meta = site / "num2words-0.5.15.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: num2words\nVersion: 0.5.15\n")
    code, report, _ = audit_json(run, "--env", str(venv / "bin" / "python"))
    assert code == 1
    (r,) = report["results"]
    assert r["verdict"] == "malicious"
    assert r["target"] == str(meta)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("six==1.16.0\nnot a valid line!!\n", ":2: invalid requirement"),
        ("six==1\n--bogus\n", ":2: unknown option"),
    ],
)
def test_unreadable_line_exits_2_with_file_and_line(
    run: Runner, real_db: Path, tmp_path: Path, text: str, needle: str
) -> None:
    req = write(tmp_path, text)
    out = tmp_path / "out.json"
    code, stdout, err = run("audit", str(req), "--output", str(out))
    assert code == 2
    assert f"{req}{needle}" in err
    assert stdout == ""
    assert not out.exists()


def test_missing_input_file(run: Runner, real_db: Path, tmp_path: Path) -> None:
    code, _, err = run("audit", str(tmp_path / "nope.txt"))
    assert code == 2
    assert f"{tmp_path / 'nope.txt'}: no such file" in err


def test_usage_errors_exit_2(run: Runner, real_db: Path, tmp_path: Path) -> None:
    req = write(tmp_path, "six==1\n")
    assert run("audit", str(req), "--fail-on", "extreme")[0] == 2
    assert run("audit", str(req), "--python-version", "three")[0] == 2
    assert run("audit", str(req), "--no-such-flag")[0] == 2


def test_missing_database_exits_3_with_the_fix(run: Runner, tmp_path: Path) -> None:
    req = write(tmp_path, "six==1\n")
    out = tmp_path / "out.json"
    code, _, err = run("audit", str(req), "--output", str(out))
    assert code == 3
    assert "no vulnerability database" in err
    assert "pipvet db update" in err
    assert "--osv-url /path/to/all.zip" in err
    assert "PIPVET_OSV_URL" in err
    assert not out.exists()
    code, _, err = run("audit", str(req), "--osv-url", "/data/all.zip")
    assert code == 3
    assert "pipvet db update --osv-url /data/all.zip" in err


def test_stale_database_exits_3_unless_allowed(run: Runner, real_db: Path, tmp_path: Path) -> None:
    with sqlite3.connect(real_db) as conn:
        conn.execute("UPDATE meta SET value = '2026-01-01T00:00:00Z' WHERE key = 'updated_at'")
    conn.close()
    req = write(tmp_path, "num2words==0.5.15\n")
    code, _, err = run("audit", str(req))
    assert code == 3
    assert "stale" in err
    assert "--allow-stale" in err
    code, _, err = audit_json(run, str(req), "--allow-stale")
    assert code == 1
    assert "used anyway" in err
    code, out, _ = run("audit", str(req), "--allow-stale")
    assert "note: the vulnerability database is stale" in out
    assert audit_json(run, str(req), "--max-db-age", "1000d")[0] == 1


def test_env_without_value_is_the_running_environment(
    run: Runner, real_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    code, report, _ = audit_json(run, "--env")
    names = {r["package"]["name"] for r in report["results"]}
    assert {"pytest", "click", "packaging"} <= names
    # The locked packages are clean, but the pip/setuptools a venv was seeded with may not be.
    blocked = [r for r in report["results"] if r["decision"] == "block"]
    assert all(r["package"]["name"] in ("pip", "setuptools", "wheel") for r in blocked)
    assert code == (1 if blocked else 0)


def test_ignores_from_the_environment(
    run: Runner, real_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    req = write(tmp_path, "requests==2.19.1\n")
    monkeypatch.setenv("PIPVET_IGNORE", "PYSEC-2018-28:accepted CVE-2023-32681")
    code, report, _ = audit_json(run, str(req))
    assert code == 0
    assert "ignored PYSEC-2018-28: accepted" in report["results"][0]["reasons"]
