# ruff: noqa: F811  (pytest fixtures imported from fakeindex are parameters by design)
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fakeindex import FakeFile, FakeIndex, FakeProject, cache_dir, demo, fake_index  # noqa: F401

from pipvet.errors import IntegrityError, NetworkError
from pipvet.index.client import AsyncIndexClient, IndexClient, ProjectNotFound
from pipvet.index.download import cas_path


def client(fake: FakeIndex, cache_dir: Path, **kw: object) -> IndexClient:
    kw.setdefault("backoff", 0.0)
    return IndexClient(fake.index(), cache_dir=cache_dir, **kw)  # type: ignore[arg-type]


def test_json_page_is_negotiated_and_parsed(
    fake_index: FakeIndex, demo: FakeProject, cache_dir: Path
) -> None:
    with client(fake_index, cache_dir) as c:
        page = c.project_page("Demo")
    assert page.api_version == "1.4"
    assert [f.filename for f in page.files] == [f.filename for f in demo.files]
    assert page.files[1].metadata
    assert page.files[2].yanked_reason == "broken build"
    assert "application/vnd.pypi.simple.v1+json" in fake_index.seen_headers[0]["Accept"]


def test_html_fallback_when_the_index_only_speaks_html(
    fake_index: FakeIndex, demo: FakeProject, cache_dir: Path
) -> None:
    fake_index.html_only = True
    with client(fake_index, cache_dir) as c:
        page = c.project_page("demo")
    assert page.api_version == "1.4"
    assert page.files[0].sha256 == demo.files[0].sha256
    assert page.files[1].requires_python == ">=3.8"
    assert page.files[2].yanked


def test_unknown_project_is_not_found(fake_index: FakeIndex, cache_dir: Path) -> None:
    with client(fake_index, cache_dir) as c, pytest.raises(ProjectNotFound) as info:
        c.project_page("nope")
    assert info.value.exit_code == 3


def test_metadata_file(fake_index: FakeIndex, demo: FakeProject, cache_dir: Path) -> None:
    with client(fake_index, cache_dir) as c:
        page = c.project_page("demo")
        assert c.metadata(page.files[1]) == demo.files[1].metadata
        assert c.metadata(page.files[0]) is None


def test_etag_revalidation_answers_from_cache(
    fake_index: FakeIndex, demo: FakeProject, cache_dir: Path
) -> None:
    with client(fake_index, cache_dir) as c:
        first = c.project_page("demo")
    with client(fake_index, cache_dir) as c:
        second = c.project_page("demo")
    assert first == second
    assert fake_index.hits["/simple/demo/"] == 2
    assert fake_index.seen_headers[1].get("If-None-Match", "").startswith('"')


def test_offline_uses_the_cache_and_fails_clearly_otherwise(
    fake_index: FakeIndex, demo: FakeProject, cache_dir: Path
) -> None:
    with client(fake_index, cache_dir) as c:
        c.project_page("demo")
    before = dict(fake_index.hits)
    with client(fake_index, cache_dir, offline=True) as c:
        assert c.project_page("demo").files
        with pytest.raises(NetworkError, match="not in the cache") as info:
            c.project_page("other")
    assert fake_index.hits == before
    assert info.value.exit_code == 3
    assert info.value.hint
    assert "without --offline" in info.value.hint


def test_server_errors_are_retried_then_succeed(
    fake_index: FakeIndex, demo: FakeProject, cache_dir: Path
) -> None:
    fake_index.failures["/simple/demo/"] = [503, 500]
    with client(fake_index, cache_dir, retries=2) as c:
        assert c.project_page("demo").files
    assert fake_index.hits["/simple/demo/"] == 3


def test_persistent_failure_is_a_network_error(
    fake_index: FakeIndex, demo: FakeProject, cache_dir: Path
) -> None:
    fake_index.failures["/simple/demo/"] = [500, 500, 500]
    with client(fake_index, cache_dir, retries=2) as c, pytest.raises(NetworkError, match="HTTP 500") as info:
        c.project_page("demo")
    assert info.value.exit_code == 3
    assert fake_index.hits["/simple/demo/"] == 3


def test_client_errors_are_not_retried(fake_index: FakeIndex, demo: FakeProject, cache_dir: Path) -> None:
    fake_index.failures["/simple/demo/"] = [403]
    with client(fake_index, cache_dir, retries=2) as c, pytest.raises(NetworkError, match="HTTP 403"):
        c.project_page("demo")
    assert fake_index.hits["/simple/demo/"] == 1


def test_slow_index_times_out(fake_index: FakeIndex, demo: FakeProject, cache_dir: Path) -> None:
    fake_index.hang.add("/simple/demo/")
    with client(fake_index, cache_dir, retries=1, timeout=0.2) as c, pytest.raises(NetworkError) as info:
        c.project_page("demo")
    assert "timed out" in info.value.message


def test_unreachable_index_is_exit_3(cache_dir: Path) -> None:
    # A loopback port that nobody listens on: bind, read the port, close.
    import socket

    from pipvet.index.locate import Index

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    index = Index(url=f"http://user:s3cret@127.0.0.1:{port}/simple/", source="test")
    with IndexClient(index, cache_dir=cache_dir, retries=0) as c, pytest.raises(NetworkError) as info:
        c.project_page("demo")
    assert info.value.exit_code == 3
    assert "s3cret" not in info.value.diagnostics()


def test_project_info_from_json_api(fake_index: FakeIndex, demo: FakeProject, cache_dir: Path) -> None:
    with client(fake_index, cache_dir) as c:
        info = c.project_info("demo")
    assert info.source == "json"
    assert info.summary == "A demo"
    assert info.project_urls == {"Source": "https://example.invalid/acme/demo"}
    assert info.roles is not None
    assert [r.user for r in info.roles] == ["alice"]
    assert set(info.releases) == {"1.0", "1.1"}
    assert info.first_upload("1.0") == datetime(2023, 1, 1, tzinfo=timezone.utc)
    assert info.releases["1.1"][0].yanked_reason == "broken build"


def test_ownership_history_is_kept_between_runs(
    fake_index: FakeIndex, demo: FakeProject, cache_dir: Path
) -> None:
    with client(fake_index, cache_dir) as c:
        c.project_info("demo")
    demo.files.append(FakeFile(filename="demo-1.2.tar.gz", data=b"new", upload_time="2024-06-01T00:00:00Z"))
    demo.ownership = {"roles": [{"role": "Owner", "user": "mallory"}]}
    with client(fake_index, cache_dir) as c:
        info = c.project_info("demo")
    assert info.latest == "1.2"
    assert info.roles is not None
    assert [r.user for r in info.roles] == ["mallory"]
    assert [r.user for r in info.previous_roles["1.1"]] == ["alice"]


def test_project_info_degrades_to_the_simple_page_without_json_api(
    fake_index: FakeIndex, demo: FakeProject, cache_dir: Path
) -> None:
    fake_index.json_api = False
    with client(fake_index, cache_dir) as c:
        info = c.project_info("demo")
    assert info.source == "simple"
    assert info.latest == "1.1"
    assert info.summary is None
    assert info.roles is None
    assert info.first_upload("1.0") == datetime(2023, 1, 1, tzinfo=timezone.utc)


def test_download_verifies_and_stores_by_hash(
    fake_index: FakeIndex, demo: FakeProject, cache_dir: Path
) -> None:
    with client(fake_index, cache_dir) as c:
        page = c.project_page("demo")
        got = c.download(page.files[0])
        again = c.download(page.files[0])
    assert got.verified
    assert got.path == cas_path(cache_dir, demo.files[0].sha256)
    assert got.path.read_bytes() == demo.files[0].data
    assert again.path == got.path
    assert fake_index.hits["/files/demo-1.0.tar.gz"] == 1


def test_download_hash_mismatch_discards_the_file(
    fake_index: FakeIndex, demo: FakeProject, cache_dir: Path
) -> None:
    demo.files[0].tampered = True
    with client(fake_index, cache_dir) as c:
        page = c.project_page("demo")
        with pytest.raises(IntegrityError, match="discarded") as info:
            c.download(page.files[0])
    assert info.value.exit_code == 3
    stored = [p for p in (cache_dir / "artifacts").rglob("*") if p.is_file()]
    assert stored == []


def test_download_offline_needs_the_cache(fake_index: FakeIndex, demo: FakeProject, cache_dir: Path) -> None:
    with client(fake_index, cache_dir) as c:
        page = c.project_page("demo")
    with (
        client(fake_index, cache_dir, offline=True) as c,
        pytest.raises(NetworkError, match="artifact cache"),
    ):
        c.download(page.files[1])


def test_credentials_go_to_the_index_host_only_and_are_never_shown(
    fake_index: FakeIndex, demo: FakeProject, cache_dir: Path
) -> None:
    index = fake_index.index(username="alice", password="hunter2")
    with IndexClient(index, cache_dir=cache_dir, backoff=0.0) as c:
        c.project_page("demo")
    assert fake_index.seen_headers[0]["Authorization"].startswith("Basic ")
    assert "hunter2" not in repr(index)
    fake_index.failures["/simple/demo/"] = [401]
    with IndexClient(index, cache_dir=cache_dir / "b", backoff=0.0) as c, pytest.raises(NetworkError) as info:
        c.project_page("demo")
    assert "hunter2" not in info.value.diagnostics()


def test_async_batch_fetches_many_and_reports_errors_per_name(
    fake_index: FakeIndex, demo: FakeProject, cache_dir: Path
) -> None:
    for i in range(20):
        fake_index.add(FakeProject(name=f"p{i}", files=[FakeFile(filename=f"p{i}-1.0.tar.gz", data=b"x")]))

    async def run() -> dict[str, object]:
        async with AsyncIndexClient(fake_index.index(), cache_dir=cache_dir, backoff=0.0, concurrency=4) as c:
            pages = await c.pages([f"p{i}" for i in range(20)] + ["missing", "demo"])
            info = await c.project_info("demo")
            got = await c.download(info.releases["1.0"][0])
            assert got.verified
            return dict(pages)

    pages = asyncio.run(run())
    assert len(pages) == 22
    assert isinstance(pages["missing"], ProjectNotFound)
    assert all(not isinstance(pages[f"p{i}"], Exception) for i in range(20))


def test_file_index(tmp_path: Path, cache_dir: Path) -> None:
    import hashlib

    from pipvet.index.locate import make_index

    root = tmp_path / "mirror"
    (root / "simple" / "demo").mkdir(parents=True)
    (root / "files").mkdir()
    (root / "files" / "demo-1.0.tar.gz").write_bytes(b"local")
    digest = hashlib.sha256(b"local").hexdigest()
    (root / "simple" / "demo" / "index.html").write_text(
        f'<a href="../../files/demo-1.0.tar.gz#sha256={digest}">demo-1.0.tar.gz</a>'
    )
    index = make_index(str(root / "simple"), source="test")
    assert index.is_file
    with IndexClient(index, cache_dir=cache_dir) as c:
        page = c.project_page("demo")
        got = c.download(page.files[0])
        with pytest.raises(ProjectNotFound):
            c.project_page("absent")
        info = c.project_info("demo")
    assert got.path.read_bytes() == b"local"
    assert got.verified
    assert info.source == "simple"
    assert info.latest == "1.0"
