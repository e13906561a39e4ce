"""The gate with real pip and real uv, in fresh virtual environments, against a local upstream index."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from integration.gate_upstream import (
    Dist,
    ListVetter,
    Upstream,
    phone_home_listener,
    scenario,
    serve_upstream,
)
from pipvet.gate import GateOutcome, GateRequest, run_gate
from pipvet.index.locate import make_index
from pipvet.models import Decision
from pipvet.policy import Policy
from pipvet.proxy import VettingIndex
from pipvet.proxy.upstream import IndexUpstream

pytestmark = pytest.mark.slow

UV = Path(sys.executable).parent / "uv"


@dataclass
class World:
    upstream: Upstream
    marker: Path
    calls: list[bytes]
    tmp: Path

    def dist(self, filename: str) -> Dist:
        return next(d for d in self.upstream.dists if d.filename == filename)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    marker = tmp_path / "owned-marker"
    with phone_home_listener() as (port, calls):
        dists = scenario(marker, port, now=datetime.now(timezone.utc))
        with serve_upstream(dists) as upstream:
            yield World(upstream=upstream, marker=marker, calls=calls, tmp=tmp_path)


def _venv(tmp: Path, installer: str) -> Path:
    target = tmp / f"venv-{installer}"
    if installer == "pip":
        subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
    else:
        subprocess.run([str(UV), "venv", "-q", "--python", sys.executable, str(target)], check=True)
    return target / "bin" / "python"


def _site_packages(python: Path) -> Path:
    return next((python.parent.parent / "lib").glob("python3*/site-packages"))


def _gate(world: World, installer: str, python: Path, *args: str, url: str | None = None) -> GateOutcome:
    policy = Policy()
    vetter = ListVetter({("goodold", "1.1"): ("MAL-2026-0001",)}, policy)
    upstream = IndexUpstream(
        make_index(url or world.upstream.url, source="test"), cache_dir=world.tmp / "pipvet-cache"
    )
    service = VettingIndex([upstream], vetter, policy)
    env = {**os.environ, "PATH": f"{UV.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    request = GateRequest(installer=installer, python=str(python), args=args, cwd=world.tmp)
    return run_gate(request, service, cache_dir=world.tmp / "pipvet-cache", env=env)


INSTALLERS = ["pip", "uv"]


@pytest.mark.parametrize("installer", INSTALLERS)
def test_clean_install_installs_exactly_the_vetted_bytes(world: World, installer: str) -> None:
    python = _venv(world.tmp, installer)
    outcome = _gate(world, installer, python, "tidylib")
    assert outcome.exit_code() == 0, outcome
    vetted = {r.target: r for r in outcome.results}
    assert set(vetted) == {"tidylib-1.0-py3-none-any.whl", "helperlib-1.0-py3-none-any.whl"}
    site = _site_packages(python)
    for filename, result in vetted.items():
        dist = world.dist(filename)
        assert result.decision is Decision.ALLOW
        assert result.artifact is not None
        assert result.artifact.sha256 == dist.sha256
        with zipfile.ZipFile(io.BytesIO(dist.data)) as zf:
            for member in zf.namelist():
                if member.endswith("/RECORD"):
                    continue
                installed = site / member
                assert (
                    hashlib.sha256(installed.read_bytes()).hexdigest()
                    == hashlib.sha256(zf.read(member)).hexdigest()
                )


@pytest.mark.parametrize("installer", INSTALLERS)
def test_resolver_falls_back_to_the_older_good_version(world: World, installer: str) -> None:
    python = _venv(world.tmp, installer)
    outcome = _gate(world, installer, python, "goodold", "freshlib")
    assert outcome.exit_code() == 0, outcome
    site = _site_packages(python)
    assert (site / "goodold-1.0.dist-info").is_dir()
    assert (site / "freshlib-1.0.dist-info").is_dir()
    assert any("goodold-1.1" in o and "MAL-2026-0001" in o for o in outcome.omissions)
    assert any("freshlib-2.0" in o and "minimum release age" in o for o in outcome.omissions)
    assert "/files/goodold-1.1-py3-none-any.whl" not in world.upstream.requests


@pytest.mark.parametrize("installer", INSTALLERS)
@pytest.mark.parametrize("package", ["evilsetup", "pthlib"])
def test_malicious_packages_are_refused_and_never_run(world: World, installer: str, package: str) -> None:
    python = _venv(world.tmp, installer)
    outcome = _gate(world, installer, python, package, "helperlib")
    assert outcome.exit_code() == 1
    assert outcome.installer_status != 0
    (blocked,) = outcome.blocked
    assert blocked.package is not None
    assert blocked.package.name == package
    assert not world.marker.exists()
    assert world.calls == []
    site = _site_packages(python)
    assert not (site / "pthlib_init.pth").exists()
    assert not list(site.glob(f"{package}*"))
    assert not list(site.glob("helperlib*")), "nothing is installed when anything is refused"


@pytest.mark.parametrize("installer", INSTALLERS)
def test_unreachable_upstream_refuses_with_exit_3(world: World, installer: str) -> None:
    python = _venv(world.tmp, installer)
    outcome = _gate(world, installer, python, "tidylib", url="http://127.0.0.1:9/simple/")
    assert outcome.exit_code() == 3
    assert outcome.failures
    assert not list(_site_packages(python).glob("tidylib*"))


@pytest.mark.parametrize("installer", INSTALLERS)
def test_dry_run_vets_but_installs_nothing(world: World, installer: str) -> None:
    python = _venv(world.tmp, installer)
    request_args = ("tidylib",)
    policy = Policy()
    service = VettingIndex(
        [IndexUpstream(make_index(world.upstream.url, source="test"), cache_dir=world.tmp / "c")],
        ListVetter({}, policy),
        policy,
    )
    env = {**os.environ, "PATH": f"{UV.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    outcome = run_gate(
        GateRequest(installer=installer, python=str(python), args=request_args, dry_run=True, cwd=world.tmp),
        service,
        cache_dir=world.tmp / "c",
        env=env,
    )
    assert outcome.exit_code() == 0
    assert "tidylib-1.0-py3-none-any.whl" in {r.target for r in outcome.results}
    assert not list(_site_packages(python).glob("tidylib*"))
