"""``pipvet install`` as a real process, with real pip and real uv, into fresh virtual environments.

The upstream is a local index built from hand-written archives (see ``gate_upstream``); the
database is built by ``pipvet db update`` from an OSV zip made here. Nothing reaches beyond
127.0.0.1.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from integration.gate_upstream import (
    Dist,
    Upstream,
    osv_zip,
    phone_home_listener,
    scenario,
    scenario_osv,
    serve_upstream,
)

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
PIPVET = str(BIN / "pipvet")
INSTALLERS = ["pip", "uv"]


@dataclass
class World:
    upstream: Upstream
    marker: Path
    calls: list[bytes]
    tmp: Path
    env: dict[str, str]

    def dist(self, filename: str) -> Dist:
        return next(d for d in self.upstream.dists if d.filename == filename)

    def venv(self, installer: str) -> Path:
        target = self.tmp / f"venv-{installer}"
        if installer == "pip":
            subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
        else:
            subprocess.run(
                [str(BIN / "uv"), "venv", "-q", "--python", sys.executable, str(target)], check=True
            )
        return target / "bin" / "python"

    def pipvet(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PIPVET, *args], env=env or self.env, capture_output=True, text=True, check=False, cwd=self.tmp
        )

    def install(
        self, installer: str, python: Path, *args: str, index: str | None = None, fmt: str = "json"
    ) -> subprocess.CompletedProcess[str]:
        return self.pipvet(
            "install", "--installer", installer, "--python", str(python),
            "--index-url", index or self.upstream.url, "--format", fmt, "--", *args,
        )  # fmt: skip


def _clean_env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "PIPVET_", "VIRTUAL_ENV"))}
    env["PIP_CONFIG_FILE"] = os.devnull  # the machine's own pip configuration stays out of the tests
    env["UV_NO_CONFIG"] = "1"
    env["PIPVET_CACHE_DIR"] = str(cache)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["NO_COLOR"] = "1"
    return env


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    marker = tmp_path / "owned-marker"
    env = _clean_env(tmp_path / "pipvet-cache")
    with phone_home_listener() as (port, calls):
        dists = scenario(marker, port, now=datetime.now(timezone.utc))
        with serve_upstream(dists) as upstream:
            w = World(upstream=upstream, marker=marker, calls=calls, tmp=tmp_path, env=env)
            feed = osv_zip(tmp_path / "osv.zip", scenario_osv())
            done = w.pipvet("db", "update", "--osv-url", str(feed), "--quiet")
            assert done.returncode == 0, done.stderr
            yield w


def _site(python: Path) -> Path:
    return next((python.parent.parent / "lib").glob("python3*/site-packages"))


def _report(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """With --format json, stdout is the report alone (the installer's output goes to stderr)."""
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def _needs_rules(world: World, filename: str) -> None:
    """The refusal tests rely on the analysis rules calling this fixture malicious: check that first,
    so a rule regression fails here with a clear message instead of somewhere in pip's output."""
    from pipvet.analysis.engine import analyze_bytes
    from pipvet.models import Verdict

    verdict = analyze_bytes(world.dist(filename).data, filename).result.verdict
    assert verdict is Verdict.MALICIOUS, f"the analysis rules no longer flag {filename} ({verdict.value})"


@pytest.mark.parametrize("installer", INSTALLERS)
def test_clean_install_installs_exactly_the_vetted_bytes(world: World, installer: str) -> None:
    python = world.venv(installer)
    done = world.install(installer, python, "tidylib")
    assert done.returncode == 0, done.stdout + done.stderr
    report = _report(done)
    vetted = {r["artifact"]["filename"]: r for r in report["results"]}
    assert set(vetted) == {"tidylib-1.0-py3-none-any.whl", "helperlib-1.0-py3-none-any.whl"}
    site = _site(python)
    for filename, result in vetted.items():
        dist = world.dist(filename)
        assert result["decision"] == "allow"
        assert result["artifact"]["sha256"] == dist.sha256
        with zipfile.ZipFile(io.BytesIO(dist.data)) as zf:
            for member in zf.namelist():
                if member.endswith("/RECORD"):
                    continue
                installed = hashlib.sha256((site / member).read_bytes()).hexdigest()
                assert installed == hashlib.sha256(zf.read(member)).hexdigest(), member


@pytest.mark.parametrize("installer", INSTALLERS)
def test_resolver_falls_back_to_the_older_good_version(world: World, installer: str) -> None:
    python = world.venv(installer)
    done = world.install(installer, python, "goodold", "freshlib", fmt="table")
    assert done.returncode == 0, done.stdout + done.stderr
    site = _site(python)
    assert (site / "goodold-1.0.dist-info").is_dir()
    assert (site / "freshlib-1.0.dist-info").is_dir()
    notes = done.stdout
    assert "goodold-1.1-py3-none-any.whl left out: known malicious release: MAL-2026-0001" in notes
    assert "freshlib-2.0-py3-none-any.whl left out: uploaded 1h ago" in notes
    assert "/files/goodold-1.1-py3-none-any.whl" not in world.upstream.requests


@pytest.mark.parametrize("installer", INSTALLERS)
@pytest.mark.parametrize(
    ("filename", "reason"),
    [
        ("evilsetup-1.0.tar.gz", "analysis verdict malicious"),
        ("pthlib-1.0-py3-none-any.whl", "analysis verdict malicious"),
        ("reqeusts-2.99-py3-none-any.whl", "name signal: Name looks like the popular project 'requests'"),
    ],
)
def test_malicious_packages_are_refused_and_never_run(
    world: World, installer: str, filename: str, reason: str
) -> None:
    if "verdict" in reason:
        _needs_rules(world, filename)
    package = filename.split("-", 1)[0]
    python = world.venv(installer)
    done = world.install(installer, python, package, "helperlib")
    assert done.returncode == 1, done.stdout + done.stderr
    blocked = [r for r in _report(done)["results"] if r["decision"] == "block"]
    assert [r["package"]["name"] for r in blocked] == [package]
    assert any(reason in x for x in blocked[0]["reasons"]), blocked[0]["reasons"]
    assert not world.marker.exists()
    assert world.calls == []
    site = _site(python)
    assert not (site / "pthlib_init.pth").exists()
    assert not list(site.glob(f"{package}*"))
    assert not list(site.glob("helperlib*")), "nothing is installed when anything is refused"


@pytest.mark.parametrize("installer", INSTALLERS)
def test_blocked_file_gets_403_naming_the_reason_in_the_table(world: World, installer: str) -> None:
    python = world.venv(installer)
    done = world.install(installer, python, "reqeusts", fmt="table")
    assert done.returncode == 1
    assert "403" in done.stdout + done.stderr
    assert "reqeusts-2.99-py3-none-any.whl" in done.stdout
    assert "block" in done.stdout
    assert "looks like the popular project 'requests'" in done.stdout


@pytest.mark.parametrize("installer", INSTALLERS)
def test_stale_database_refuses_with_exit_3_before_anything_runs(world: World, installer: str) -> None:
    python = world.venv(installer)
    done = world.pipvet(
        "install", "--installer", installer, "--python", str(python), "--index-url", world.upstream.url,
        "--max-db-age", "0s", "--", "tidylib",
    )  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    assert "stale" in done.stderr
    assert world.upstream.requests == []
    assert not list(_site(python).glob("tidylib*"))


def test_missing_database_refuses_with_exit_3(world: World, tmp_path: Path) -> None:
    python = world.venv("uv")
    env = {**world.env, "PIPVET_CACHE_DIR": str(tmp_path / "empty-cache")}
    args = ["install", "--installer", "uv", "--python", str(python), "--index-url", world.upstream.url]
    done = world.pipvet(*args, "--", "tidylib", env=env)
    assert done.returncode == 3
    assert "no vulnerability database" in done.stderr
    assert not list(_site(python).glob("tidylib*"))


@pytest.mark.parametrize("installer", INSTALLERS)
def test_unreachable_upstream_refuses_with_exit_3(world: World, installer: str) -> None:
    python = world.venv(installer)
    done = world.install(installer, python, "tidylib", index="http://127.0.0.1:9/simple/", fmt="table")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "failure: project page for tidylib" in done.stdout or "failure:" in done.stdout
    assert not list(_site(python).glob("tidylib*"))


@pytest.mark.parametrize("installer", INSTALLERS)
def test_dry_run_vets_but_installs_nothing(world: World, installer: str) -> None:
    python = world.venv(installer)
    done = world.pipvet(
        "install", "--installer", installer, "--python", str(python), "--index-url", world.upstream.url,
        "--dry-run", "--format", "json", "--", "tidylib",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert {r["artifact"]["filename"] for r in _report(done)["results"]} >= {"tidylib-1.0-py3-none-any.whl"}
    assert not list(_site(python).glob("tidylib*"))


def test_usage_errors_exit_2_and_name_the_problem(tmp_path: Path) -> None:
    from pipvet.cli import main

    policy = tmp_path / "pipvet.toml"
    policy.write_text('min-release-age = "soon"\n', encoding="utf-8")
    index = ["--index-url", "http://127.0.0.1:9/simple/", "--python", sys.executable]
    assert main(["install", *index, "--policy", str(policy), "--", "foo"]) == 2
    assert main(["install", *index, "--", "--find-links", "dist/", "foo"]) == 2


def test_policy_error_message_names_key_and_file(tmp_path: Path) -> None:
    policy = tmp_path / "pipvet.toml"
    policy.write_text('deny = "evil"\n', encoding="utf-8")
    env = _clean_env(tmp_path / "cache")
    done = subprocess.run(
        [PIPVET, "install", "--policy", str(policy), "--index-url", "http://127.0.0.1:9/simple/", "--", "x"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert f"{policy}: deny" in done.stderr
