"""``pipvet audit`` reports the offline name signals (look-alikes, confusion markers) per dependency."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from integration.osv_helpers import Runner


@pytest.fixture
def no_installer_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "xdg"))
    for var in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "UV_INDEX", "UV_EXTRA_INDEX_URL", "UV_DEFAULT_INDEX"):
        monkeypatch.delenv(var, raising=False)


def audit(run: Runner, path: Path) -> tuple[int, dict[str, dict[str, object]]]:
    code, out, _ = run("audit", str(path), "--format", "json")
    report = json.loads(out)
    return code, {r["package"]["name"]: r for r in report["results"]}


def rules(result: dict[str, object]) -> set[str]:
    findings = result["findings"]
    assert isinstance(findings, list)
    return {f["rule"] for f in findings}


def test_lookalike_and_absurd_version_are_reported_offline(
    run: Runner, real_db: Path, tmp_path: Path, no_installer_config: None
) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("requests==2.32.3\nreqeusts==1.0\nacme-internal==99.0.0\npyaml==23.12.0\nscapy==2.6.1\n")
    code, results = audit(run, req)
    assert rules(results["requests"]) == set()
    assert rules(results["reqeusts"]) == {"PV-NAME-LOOKALIKE"}
    assert results["reqeusts"]["verdict"] == "suspicious"
    assert results["reqeusts"]["decision"] == "warn"
    assert rules(results["acme-internal"]) == {"PV-CONFUSION-VERSION"}
    # Legitimate near-twins of popular projects are not flagged.
    assert rules(results["pyaml"]) == set()
    assert rules(results["scapy"]) == set()
    assert code == 0  # name signals warn; they do not block by themselves


def test_unpinned_with_several_remote_indexes(
    run: Runner, real_db: Path, tmp_path: Path, no_installer_config: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/public/simple")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "http://127.0.0.1:9/private/simple")
    req = tmp_path / "requirements.txt"
    digest = "a" * 64
    req.write_text(f"idna==3.10\njinja2==3.1.4 --hash=sha256:{digest}\n")
    _, results = audit(run, req)
    # idna is unpinned by hash (and so, in a file that uses --hash, also missing its hash).
    assert rules(results["idna"]) == {"PV-CONFUSION-UNPINNED", "PV-INPUT-NO-HASH"}
    assert rules(results["jinja2"]) == set()


def test_db_update_refreshes_the_popular_list_softly(run: Runner, tmp_path: Path) -> None:
    from integration.osv_helpers import OSV_ZIP, cache_dir
    from pipvet.analysis.names import load_popular

    if not OSV_ZIP.is_file():
        pytest.skip("shared OSV export not present")
    names = tmp_path / "top.txt"
    names.write_text("\n".join(f"project-{i}" for i in range(1500)) + "\n")
    code, out, _ = run("db", "update", "--osv-url", str(OSV_ZIP), "--popular-url", str(names))
    assert code == 0
    assert "loaded 1,500 popular project names" in out
    assert load_popular(cache_dir()).names[0] == "project-0"
    # A broken source keeps the list and the update still succeeds.
    code, out, _ = run("db", "update", "--osv-url", str(OSV_ZIP), "--popular-url", str(tmp_path / "missing"))
    assert code == 0
    assert "popular names not refreshed" in out
    assert "previous list" in out
    # A local OSV file and no popular source: no refresh is attempted at all.
    code, out, _ = run("db", "update", "--osv-url", str(OSV_ZIP))
    assert code == 0
    assert "popular" not in out
