# ruff: noqa: F811  (pytest fixtures imported from fakeindex are parameters by design)
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fakeindex import FakeFile, FakeIndex, FakeProject, cache_dir, demo, fake_index  # noqa: F401

from pipvet.analysis.names import load_popular
from pipvet.config import load_settings
from pipvet.errors import IntegrityError, NetworkError, UsageError
from pipvet.index.client import IndexClient
from pipvet.index.factory import client_for
from pipvet.index.locate import IndexConfig, make_index
from pipvet.index.popular import refresh_popular
from pipvet.index.presence import presences_sync
from pipvet.index.release import fetch_release, parse_target, pick_version


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("requests", ("requests", None)),
        ("Foo_Bar==1.0rc1", ("foo-bar", "1.0rc1")),
        ("foo == 2", ("foo", "2")),
        ("dist/foo-1.0.tar.gz", None),
        ("./folder", None),
    ],
)
def test_parse_target(text: str, expected: tuple[str, str | None] | None) -> None:
    assert parse_target(text) == expected


def test_fetch_release_downloads_every_file(
    fake_index: FakeIndex, demo: FakeProject, cache_dir: Path
) -> None:
    with IndexClient(fake_index.index(), cache_dir=cache_dir, backoff=0.0) as c:
        got = fetch_release(c, "demo", "1.0")
        assert [f.filename for f, _ in got.files] == ["demo-1.0.tar.gz", "demo-1.0-py3-none-any.whl"]
        assert all(d.verified and d.path.is_file() for _, d in got.files)
        # Without a version: the newest release that is not yanked (1.1 is yanked).
        assert fetch_release(c, "demo").version == "1.0"
        with pytest.raises(UsageError, match=r"no release 9\.9"):
            fetch_release(c, "demo", "9.9")


def test_pick_version_prefers_final_releases(fake_index: FakeIndex, cache_dir: Path) -> None:
    fake_index.add(
        FakeProject(
            name="pre",
            files=[
                FakeFile(filename="pre-1.0.tar.gz", data=b"a"),
                FakeFile(filename="pre-2.0b1.tar.gz", data=b"b"),
            ],
        )
    )
    with IndexClient(fake_index.index(), cache_dir=cache_dir, backoff=0.0) as c:
        info = c.project_info("pre")
    assert pick_version(info, None) == "1.0"
    assert pick_version(info, "2.0b1") == "2.0b1"


def test_tampered_release_file_fails_the_fetch(
    fake_index: FakeIndex, demo: FakeProject, cache_dir: Path
) -> None:
    demo.files[1].tampered = True
    with (
        IndexClient(fake_index.index(), cache_dir=cache_dir, backoff=0.0) as c,
        pytest.raises(IntegrityError),
    ):
        fetch_release(c, "demo", "1.0")


def test_presence_distinguishes_mirrors_from_shadows(
    fake_index: FakeIndex, demo: FakeProject, cache_dir: Path, tmp_path: Path
) -> None:
    local = tmp_path / "local" / "simple"
    for name, data in (("demo", demo.files[0].data), ("acme-internal", b"internal")):
        (local / name).mkdir(parents=True)
        digest = hashlib.sha256(data).hexdigest()
        (local / name / "index.html").write_text(
            f'<a href="../../f/{name}-1.0.tar.gz#sha256={digest}">{name}-1.0.tar.gz</a>'
        )
    fake_index.add(
        FakeProject(
            name="acme-internal", files=[FakeFile(filename="acme-internal-99.0.tar.gz", data=b"evil")]
        )
    )
    config = IndexConfig(primary=fake_index.index(), extras=(make_index(str(local), source="test"),))
    assert config.remote_count == 1
    found = presences_sync(config, ["demo", "acme-internal", "absent"], cache_dir=cache_dir)
    assert len(found["demo"]) == 2
    assert found["absent"] == []
    from pipvet.analysis.names import shadow_findings

    assert shadow_findings("demo", found["demo"]) == []  # same file on both: a mirror
    (finding,) = shadow_findings("acme-internal", found["acme-internal"])
    assert "99.0" in (finding.evidence or "")


def test_refresh_popular_from_a_server_and_from_a_file(fake_index: FakeIndex, tmp_path: Path) -> None:
    names = [f"project-{i}" for i in range(5)]
    doc = '{"rows": [' + ",".join(f'{{"project": "{n}"}}' for n in names) + "]}"
    fake_index.extra["/top.json"] = doc.encode()
    cache = tmp_path / "c"
    assert refresh_popular(cache, fake_index.server.url_for("/top.json"), min_names=5) == 5
    assert load_popular(cache).names[:2] == ("project-0", "project-1")
    source = tmp_path / "names.txt"
    source.write_text("\n".join(["one", "two"]))
    with pytest.raises(NetworkError, match="only 2 names"):
        refresh_popular(cache, str(source), min_names=5)
    assert len(load_popular(cache).names) == 5  # the earlier list is kept
    assert refresh_popular(cache, source.as_uri(), min_names=2) == 2


def test_client_for_settings_and_json_api_switch(
    fake_index: FakeIndex, demo: FakeProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(cache_dir=tmp_path / "c", index_url=fake_index.url, cwd=tmp_path)
    env = {"HOME": str(tmp_path), "PIP_CONFIG_FILE": "/dev/null", "UV_NO_CONFIG": "1"}
    with client_for(settings, env=env) as c:
        assert c.project_info("demo").source == "json"
    env["PIPVET_JSON_API_URL"] = "none"
    with client_for(settings, env=env) as c:
        assert c.project_info("demo").source == "simple"
