"""The vetting index in-process (httpx.ASGITransport) in front of a real local upstream index."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from integration.gate_upstream import Upstream, make_wheel, osv_zip, scenario, scenario_osv, serve_upstream
from pipvet.analysis.names import load_popular
from pipvet.index.locate import make_index
from pipvet.policy import GATE_FAIL_ON_NAMES, Policy
from pipvet.proxy import VettingIndex, create_app
from pipvet.proxy.pages import JSON_TYPE
from pipvet.proxy.upstream import IndexUpstream
from pipvet.vetting import ArtifactVetter
from pipvet.vulndb.store import Database
from pipvet.vulndb.update import update_database

NOW = datetime.now(timezone.utc)


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[Upstream]:
    with serve_upstream(scenario(tmp_path / "marker", 9, now=NOW)) as up:
        yield up


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    folder = tmp_path_factory.mktemp("osv")
    update_database(folder / "osv.sqlite3", str(osv_zip(folder / "osv.zip", scenario_osv())))
    with Database.open(folder / "osv.sqlite3") as db:
        yield db


def _service(upstream_urls: str | list[str], cache: Path, db: Database) -> VettingIndex:
    policy = Policy(fail_on_names=GATE_FAIL_ON_NAMES)
    vetter = ArtifactVetter(db, policy, popular=load_popular(None))
    urls = [upstream_urls] if isinstance(upstream_urls, str) else upstream_urls
    upstreams = [IndexUpstream(make_index(u, source="test"), cache_dir=cache) for u in urls]
    return VettingIndex(upstreams, vetter, policy)


def _client(service: VettingIndex) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(service)), base_url="http://vetting"
    )


def test_pages_are_filtered_and_point_at_the_vetting_index(
    upstream: Upstream, tmp_path: Path, database: Database
) -> None:
    service = _service(upstream.url, tmp_path / "cache", database)

    async def go() -> tuple[httpx.Response, httpx.Response, httpx.Response, httpx.Response]:
        async with _client(service) as client:
            j = await client.get("/simple/goodold/", headers={"Accept": JSON_TYPE})
            h = await client.get("/simple/GoodOld/", headers={"Accept": "text/html"})
            fresh = await client.get("/simple/freshlib/", headers={"Accept": JSON_TYPE})
            missing = await client.get("/simple/nosuchthing/")
            return j, h, fresh, missing

    j, h, fresh, missing = asyncio.run(go())
    assert j.status_code == 200
    assert j.headers["content-type"] == JSON_TYPE
    assert j.headers["cache-control"] == "no-store"
    files = json.loads(j.content)["files"]
    assert [f["filename"] for f in files] == ["goodold-1.0-py3-none-any.whl"]
    assert files[0]["url"] == "/files/0/goodold/goodold-1.0-py3-none-any.whl"
    assert h.status_code == 200
    assert "goodold-1.1" not in h.text
    assert "goodold-1.0-py3-none-any.whl" in h.text
    assert [f["filename"] for f in json.loads(fresh.content)["files"]] == ["freshlib-1.0-py3-none-any.whl"]
    assert missing.status_code == 404
    reasons = {o.filename: o.reason for o in service.omissions()}
    assert reasons["goodold-1.1-py3-none-any.whl"] == "known malicious release: MAL-2026-0001"
    assert "minimum release age" in reasons["freshlib-2.0-py3-none-any.whl"]


def test_artifacts_are_vetted_once_and_served_only_when_allowed(
    upstream: Upstream, tmp_path: Path, database: Database
) -> None:
    service = _service(upstream.url, tmp_path / "cache", database)
    good = next(d for d in upstream.dists if d.filename == "goodold-1.0-py3-none-any.whl")

    async def go() -> list[httpx.Response]:
        async with _client(service) as client:
            same = [client.get("/files/0/goodold/goodold-1.0-py3-none-any.whl") for _ in range(6)]
            others = [
                client.get("/files/0/reqeusts/reqeusts-2.99-py3-none-any.whl"),
                client.get("/files/0/goodold/goodold-1.1-py3-none-any.whl"),
                client.get("/files/0/goodold/nothere-1.0.whl"),
            ]
            return list(await asyncio.gather(*same, *others))

    *same, lookalike, mal, unknown = asyncio.run(go())
    assert all(r.status_code == 200 and r.content == good.data for r in same)
    assert upstream.requests.count(f"/files/{good.filename}") == 1
    assert lookalike.status_code == 403
    assert "pipvet blocked reqeusts-2.99-py3-none-any.whl" in lookalike.text
    assert "name signal: Name looks like the popular project 'requests'" in lookalike.text
    assert mal.status_code == 403
    assert "known malicious release: MAL-2026-0001" in mal.text
    assert "/files/goodold-1.1-py3-none-any.whl" not in upstream.requests
    assert unknown.status_code == 404
    decided = {r.target: r for r in service.results()}
    vetted = decided[good.filename].artifact
    assert vetted is not None
    assert vetted.sha256 == good.sha256
    assert decided["reqeusts-2.99-py3-none-any.whl"].decision.value == "block"


def test_a_hash_mismatch_or_dead_upstream_fails_closed(tmp_path: Path, database: Database) -> None:
    tampered = make_wheel("tamper", "1.0", {"tamper/__init__.py": ""})
    with serve_upstream([tampered]) as up:
        service = _service(up.url, tmp_path / "cache", database)

        async def go() -> tuple[httpx.Response, httpx.Response]:
            async with _client(service) as client:
                await client.get("/simple/tamper/")
                # the page (and its hash) was read; now the served bytes change
                up.dists[0] = replace(tampered, data=tampered.data + b"x")
                first = await client.get("/files/0/tamper/tamper-1.0-py3-none-any.whl")
                after = await client.get("/simple/tamper/")
                return first, after

        first, after = asyncio.run(go())
    assert first.status_code == 502
    assert "the index says" in first.text
    assert after.status_code == 503
    assert service.failed

    dead = _service("http://127.0.0.1:9/simple/", tmp_path / "cache2", database)

    async def dead_go() -> httpx.Response:
        async with _client(dead) as client:
            return await client.get("/simple/anything/")

    assert asyncio.run(dead_go()).status_code == 502
    assert dead.failed


def test_the_same_name_with_different_files_on_two_indexes_is_blocked(
    tmp_path: Path, database: Database
) -> None:
    mine = make_wheel("corp-utils", "1.0", {"corp_utils/__init__.py": "A = 1\n"})
    theirs = make_wheel("corp-utils", "99.0", {"corp_utils/__init__.py": "import os\n"})
    with serve_upstream([mine]) as private, serve_upstream([theirs]) as public:
        service = _service([private.url, public.url], tmp_path / "cache", database)

        async def go() -> tuple[httpx.Response, httpx.Response]:
            async with _client(service) as client:
                page = await client.get("/extra/1/simple/corp-utils/")
                file = await client.get("/files/1/corp-utils/corp_utils-99.0-py3-none-any.whl")
                return page, file

        page, file = asyncio.run(go())
    assert page.status_code == 200
    assert file.status_code == 403
    assert "The same name lives on more than one index" in file.text


def test_prefetch_vets_ahead_but_reports_only_what_was_asked_for(
    upstream: Upstream, tmp_path: Path, database: Database
) -> None:
    service = _service(upstream.url, tmp_path / "cache", database)
    service.prefetch(0, ["tidylib", "reqeusts", "not a requirement !!"])
    assert service.drain(timeout=60)  # tidylib, then its dependency helperlib, and reqeusts
    fetched = {r for r in upstream.requests if r.startswith("/files/")}
    assert fetched == {
        "/files/tidylib-1.0-py3-none-any.whl",
        "/files/helperlib-1.0-py3-none-any.whl",
        "/files/reqeusts-2.99-py3-none-any.whl",
    }
    assert service.results() == ()
    assert service.omissions() == ()

    async def go() -> httpx.Response:
        async with _client(service) as client:
            return await client.get("/files/0/helperlib/helperlib-1.0-py3-none-any.whl")

    assert asyncio.run(go()).status_code == 200
    assert [r.target for r in service.results()] == ["helperlib-1.0-py3-none-any.whl"]
    assert sum(r == "/files/helperlib-1.0-py3-none-any.whl" for r in upstream.requests) == 1
    service.close()


def test_unused_and_expired_ignores_are_reported(database: Database) -> None:
    from datetime import date

    from pipvet.policy import Ignore

    policy = Policy(
        ignores=(
            Ignore(id="GHSA-unused", reason="kept from last year"),
            Ignore(id="GHSA-old", reason="temporary", expires=date(2020, 1, 1)),
        )
    )
    notes = ArtifactVetter(database, policy, popular=None).notes()
    assert any("GHSA-unused" in n and "matched nothing" in n for n in notes)
    assert any("GHSA-old" in n and "expired" in n for n in notes)
