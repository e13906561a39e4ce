# ruff: noqa: F811  (pytest fixtures imported from fakeindex are parameters by design)
"""The same project in every input format gives the same audit result (real lockfiles, real DB).

The fixture project (tests/fixtures/lockfiles/generate.py) pins idna 3.6 and urllib3 1.26.5 (both
with known vulnerabilities), six from a second index, colorama for Windows only, pysocks through
an extra, iniconfig in a dev group and a git dependency. Every tool's lock of it, pip's report,
uv's requirements export and the pyproject itself must agree on what is vulnerable and on the
exit code.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from fakeindex import FakeFile, FakeIndex, FakeProject, fake_index  # noqa: F401
from integration.osv_helpers import REPO, Runner

LOCKS = REPO / "tests" / "fixtures" / "lockfiles"
FORMATS = {
    "uv.lock": LOCKS / "uv" / "uv.lock",
    "pylock.toml": LOCKS / "uv" / "pylock.toml",
    "requirements": LOCKS / "uv" / "requirements.txt",
    "pyproject.toml": LOCKS / "uv" / "pyproject.toml",
    "poetry.lock 1.x": LOCKS / "poetry-1" / "poetry.lock",
    "poetry.lock 2.x": LOCKS / "poetry-2" / "poetry.lock",
    "Pipfile.lock": LOCKS / "pipenv" / "Pipfile.lock",
    "pip-report": LOCKS / "pip-report.json",
}
TARGET = ("--python-version", "3.11", "--platform", "linux")


def _audit(run: Runner, *argv: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run("audit", *argv, *TARGET, "--format", "json")
    assert out.strip(), err
    return code, json.loads(out)


def _summary(report: dict[str, Any]) -> tuple[set[tuple[str, str, tuple[str, ...]]], set[str], set[str]]:
    """(vulnerable name/version/ids, audited name==version, names that could not be pinned)."""
    vulnerable, audited, skipped = set(), set(), set()
    for r in report["results"]:
        pkg = r["package"]
        if pkg is None:
            continue
        if pkg["version"] is None:
            skipped.add(pkg["name"])
            continue
        audited.add(f"{pkg['name']}=={pkg['version']}")
        if r["vulnerabilities"]:
            ids = tuple(sorted(v["id"] for v in r["vulnerabilities"]))
            vulnerable.add((pkg["name"], pkg["version"], ids))
    return vulnerable, audited, skipped


def test_same_project_in_every_format_gives_the_same_audit(run: Runner, real_db: Path) -> None:
    seen: dict[str, tuple[int, Any]] = {}
    for label, path in FORMATS.items():
        code, report = _audit(run, str(path), "--allow-unpinned")
        vulnerable, audited, skipped = _summary(report)
        # pip evaluated markers on Linux itself, so its report has no colorama (Windows only)
        audited.discard("colorama==0.4.6")
        seen[label] = (code, (vulnerable, audited, skipped))
    reference = seen["uv.lock"]
    assert reference[0] == 1  # known vulnerabilities block
    vulnerable, audited, skipped = reference[1]
    assert {v[0] for v in vulnerable} == {"idna", "urllib3"}
    assert audited == {"idna==3.6", "urllib3==1.26.5", "six==1.16.0", "pysocks==1.7.1", "iniconfig==2.0.0"}
    assert skipped == {"localgit"}
    for label, outcome in seen.items():
        assert outcome == reference, label


def test_windows_only_dependency_counts_only_for_windows(run: Runner, real_db: Path) -> None:
    def colorama_reasons(platform: str) -> list[str]:
        code, out, _ = run(
            "audit", str(FORMATS["uv.lock"]), "--allow-unpinned", "--platform", platform, "--format", "json"
        )
        assert code == 1
        report = json.loads(out)
        result = next(r for r in report["results"] if r["package"] and r["package"]["name"] == "colorama")
        return list(result["reasons"])

    assert any("environment marker" in reason for reason in colorama_reasons("linux"))
    assert not any("environment marker" in reason for reason in colorama_reasons("windows"))


def test_folder_argument_reads_the_lockfile(run: Runner, real_db: Path, tmp_path: Path) -> None:
    for name in ("uv.lock", "pyproject.toml", "requirements.txt"):
        shutil.copyfile(LOCKS / "uv" / name, tmp_path / name)
    code, report = _audit(run, str(tmp_path), "--allow-unpinned")
    assert code == 1
    targets = {r["target"].split(":")[0] for r in report["results"]}
    assert targets == {str(tmp_path / "uv.lock")}


def test_input_findings_are_reported_with_file_and_line(run: Runner, real_db: Path) -> None:
    _, report = _audit(run, str(FORMATS["poetry.lock 2.x"]), "--allow-unpinned")
    findings = {f["rule"]: (f["path"], f["line"]) for r in report["results"] for f in r["findings"]}
    path = str(FORMATS["poetry.lock 2.x"])
    text = FORMATS["poetry.lock 2.x"].read_text().splitlines()
    assert findings["PV-INPUT-INDEX-MIXING"][0] == path
    assert text[findings["PV-INPUT-INDEX-MIXING"][1]] == 'name = "six"'
    assert text[findings["PV-INPUT-DIRECT-REF"][1]] == 'name = "localgit"'


def test_two_lockfiles_that_disagree_on_a_hash_block(run: Runner, real_db: Path, tmp_path: Path) -> None:
    good = "c05567e9c24a6b9faaa835c4821bad0590fbb9d5779e7caa6e1cc4978e7eb24f"
    tampered = tmp_path / "uv.lock"
    tampered.write_text(FORMATS["uv.lock"].read_text().replace(good, "f" * 64))
    code, report = _audit(run, str(FORMATS["pylock.toml"]), str(tampered), "--allow-unpinned")
    assert code == 1
    mismatches = [
        f for r in report["results"] for f in r["findings"] if f["rule"] == "PV-INPUT-HASH-MISMATCH"
    ]
    assert len(mismatches) == 1
    assert mismatches[0]["path"] == str(tampered)


@pytest.mark.parametrize("fmt", ["uv.lock", "Pipfile.lock"])
def test_format_in_on_a_misnamed_file(run: Runner, real_db: Path, tmp_path: Path, fmt: str) -> None:
    source = FORMATS[fmt]
    odd = tmp_path / "deps.txt"
    shutil.copyfile(source, odd)
    code, report = _audit(run, str(odd), "--format-in", fmt, "--allow-unpinned")
    assert code == 1
    assert {r["package"]["name"] for r in report["results"] if r["package"]} >= {"idna", "urllib3"}


def test_unreadable_lockfile_names_file_and_line(run: Runner, real_db: Path, tmp_path: Path) -> None:
    broken = tmp_path / "uv.lock"
    broken.write_text('version = 1\n\n[[package]]\nname = "a"\nversion = [\n')
    code, _, err = run("audit", str(broken))
    assert code == 2
    assert f"{broken}:5: not valid TOML" in err


def test_resolve_pins_loose_requirements_from_the_index(
    run: Runner, real_db: Path, tmp_path: Path, fake_index: FakeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = (LOCKS / "pip-report.json").read_bytes()  # any bytes: only the metadata file is read
    meta = b"Metadata-Version: 2.1\nName: urllib3\nVersion: 1.26.5\nRequires-Dist: idna<4\n"
    fake_index.add(
        FakeProject(
            name="urllib3",
            files=[FakeFile(filename="urllib3-1.26.5-py2.py3-none-any.whl", data=wheel, metadata=meta)],
        )
    )
    fake_index.add(
        FakeProject(
            name="idna",
            files=[
                FakeFile(
                    filename="idna-3.6-py3-none-any.whl",
                    data=wheel + b"x",
                    metadata=b"Metadata-Version: 2.1\nName: idna\nVersion: 3.6\n",
                ),
                FakeFile(filename="idna-3.99.tar.gz", data=b"an sdist"),
            ],
        )
    )
    monkeypatch.setenv("PIPVET_INDEX_URL", fake_index.url)
    req = tmp_path / "requirements.in"
    req.write_text("urllib3>=1.26,<2\n")
    code, report = _audit(run, str(req))
    assert code == 3  # without --resolve the range cannot be vetted
    code, report = _audit(run, str(req), "--resolve")
    assert code == 3  # idna could not be vetted (below), and that fails closed
    results = {r["package"]["name"]: r for r in report["results"]}
    assert results["urllib3"]["package"]["version"] == "1.26.5"
    assert results["urllib3"]["vulnerabilities"]
    assert results["urllib3"]["decision"] == "block"
    # idna 3.99 is the newest match but only an sdist: refused (never built), reported as error
    assert results["idna"]["verdict"] == "error"
    assert "no wheel" in results["idna"]["error"]


def test_unpinned_requirements_name_the_newest_affected_versions(
    run: Runner, real_db: Path, tmp_path: Path
) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("requests>=2.0,<2.32\nsix\n")
    code, report = _audit(run, str(req))
    assert code == 3
    results = {r["package"]["name"]: r for r in report["results"]}
    (note,) = [n for n in results["requests"]["reasons"] if n.startswith("newest matching versions known")]
    assert "2.30 (PYSEC-2023-74)" in note  # the newest explicitly listed release under 2.32
    assert not any("known to be affected" in n for n in results["six"]["reasons"])


def test_pip_report_on_stdin_as_a_process(real_db: Path) -> None:
    """`pip install --dry-run --report - ... | pipvet audit -`, here with the report pip wrote."""
    import os
    import subprocess
    import sys

    pipvet = Path(sys.executable).parent / "pipvet"
    done = subprocess.run(
        [str(pipvet), "audit", "-", "--allow-unpinned", *TARGET, "--format", "json"],
        input=FORMATS["pip-report"].read_bytes(),
        capture_output=True,
        env={**os.environ},
        check=False,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    targets = {r["target"].split(":")[0] for r in report["results"]}
    assert targets == {"-"}
    assert {r["package"]["name"] for r in report["results"] if r["vulnerabilities"]} == {"idna", "urllib3"}
