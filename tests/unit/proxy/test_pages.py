"""Page filtering, content negotiation and rendering of the vetting index (pure)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from pipvet.index.project import parse_time
from pipvet.index.simple import DistFile, ProjectPage
from pipvet.policy import Policy, policy_from_table
from pipvet.proxy.pages import (
    HTML_TYPE,
    JSON_TYPE,
    TEXT_HTML,
    filter_page,
    negotiate,
    render_project,
    render_root,
    version_of,
    yanked_of,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
OLD = (NOW - timedelta(days=400)).isoformat()


def _file(filename: str, **kw: object) -> DistFile:
    args: dict[str, object] = {
        "filename": filename,
        "url": f"http://127.0.0.1:1/files/{filename}",
        "hashes": {"sha256": "ab" * 32},
        "upload_time": OLD,
    }
    args.update(kw)
    return DistFile(**args)  # type: ignore[arg-type]


PAGE = ProjectPage(
    name="demo",
    url="http://127.0.0.1:1/simple/demo/",
    files=(
        _file("demo-1.0-py3-none-any.whl"),
        _file("demo-1.0.tar.gz"),
        _file("demo-1.1-py3-none-any.whl"),
        _file("demo-1.2-py3-none-any.whl", yanked=True, yanked_reason="broken build"),
        _file("demo-2.0-py3-none-any.whl", upload_time=(NOW - timedelta(hours=1)).isoformat()),
        _file("demo-0.9-py3-none-any.whl", hashes={}),
        _file("demo.exe"),
    ),
)


def _decide(policy: Policy, malicious: dict[str, tuple[str, ...]]):  # type: ignore[no-untyped-def]
    def decide(f: DistFile, version: str | None) -> str | None:
        return policy.omission(
            name="demo",
            version=version,
            filename=f.filename,
            yanked=yanked_of(f),
            upload_time=parse_time(f.upload_time),
            has_sha256=f.sha256 is not None,
            malicious_ids=malicious.get(version or "", ()),
            now=NOW,
        )

    return decide


def test_filter_records_every_omission_with_its_reason() -> None:
    page = filter_page(PAGE, _decide(Policy(), {"1.1": ("MAL-1",)}))
    kept = [f.filename for f, _ in page.kept]
    assert kept == ["demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz"]
    reasons = {o.filename: o.reason for o in page.omitted}
    assert reasons["demo-1.1-py3-none-any.whl"] == "known malicious release: MAL-1"
    assert reasons["demo-1.2-py3-none-any.whl"] == "yanked: broken build"
    assert "newer than the minimum release age" in reasons["demo-2.0-py3-none-any.whl"]
    assert "sha256" in reasons["demo-0.9-py3-none-any.whl"]
    assert "readable version" in reasons["demo.exe"]
    assert page.omission("demo-1.1-py3-none-any.whl") is not None
    assert page.find("demo-1.0.tar.gz") is not None


def test_only_binary_and_deny() -> None:
    policy = policy_from_table({"only-binary": ["demo"], "deny": ["demo>=1.1"], "min-release-age": 0})
    page = filter_page(PAGE, _decide(policy, {}))
    assert [f.filename for f, _ in page.kept] == ["demo-1.0-py3-none-any.whl"]
    reasons = {o.filename: o.reason for o in page.omitted}
    assert "only-binary" in reasons["demo-1.0.tar.gz"]
    assert reasons["demo-2.0-py3-none-any.whl"].startswith("denied by policy")


def test_negotiation_follows_pep_691() -> None:
    pip_accept = f"{JSON_TYPE}, {HTML_TYPE}; q=0.1, text/html; q=0.01"
    assert negotiate(pip_accept) == JSON_TYPE
    assert negotiate(f"{HTML_TYPE}, {JSON_TYPE}; q=0.5") == HTML_TYPE
    assert negotiate("text/html") == TEXT_HTML
    assert negotiate(None) == TEXT_HTML
    assert negotiate("*/*") == TEXT_HTML
    assert negotiate("text/html", JSON_TYPE) == JSON_TYPE


def test_render_json_and_html_point_at_the_vetting_index() -> None:
    page = filter_page(PAGE, _decide(Policy(), {}))

    def url_for(f: DistFile) -> str:
        return f"/files/0/demo/{f.filename}"

    doc = json.loads(render_project(page, JSON_TYPE, url_for))
    assert doc["meta"]["api-version"] == "1.1"
    assert doc["files"][0]["url"] == "/files/0/demo/demo-1.0-py3-none-any.whl"
    assert all("core-metadata" not in f and "dist-info-metadata" not in f for f in doc["files"])
    assert doc["files"][0]["hashes"] == {"sha256": "ab" * 32}
    assert doc["versions"] == ["1.0", "1.1"]
    text = render_project(page, TEXT_HTML, url_for).decode()
    assert f'href="/files/0/demo/demo-1.1-py3-none-any.whl#sha256={"ab" * 32}"' in text
    assert "demo-1.2" not in text
    root = json.loads(render_root(["b", "a"], JSON_TYPE, lambda n: f"/simple/{n}/"))
    assert root["projects"] == [{"name": "a"}, {"name": "b"}]
    assert '<a href="/simple/a/">a</a>' in render_root(["a"], TEXT_HTML, lambda n: f"/simple/{n}/").decode()


def test_version_of() -> None:
    assert version_of("Foo_Bar-1.0.post1-py3-none-any.whl") == "1.0.post1"
    assert version_of("foo-2.0.tar.gz") == "2.0"
    assert version_of("foo.exe") is None


def test_best_candidate_prefers_the_newest_allowed_usable_file() -> None:
    from packaging.specifiers import SpecifierSet

    from pipvet.proxy.service import best_candidate

    page = filter_page(PAGE, _decide(Policy(), {"1.1": ("MAL-1",)}))
    choice = best_candidate(page, SpecifierSet())
    assert choice is not None
    assert choice[0].filename == "demo-1.0-py3-none-any.whl"  # wheel over sdist, MAL 1.1 left out
    assert best_candidate(page, SpecifierSet(">=2")) is None
    alien = ProjectPage(
        name="demo",
        url="http://127.0.0.1:1/",
        files=(_file("demo-3.0-cp27-cp27m-win32.whl"), _file("demo-2.0.tar.gz")),
    )
    only = best_candidate(filter_page(alien, _decide(Policy(), {})), SpecifierSet())
    assert only is not None
    assert only[0].filename == "demo-2.0.tar.gz"  # a wheel this interpreter cannot use is no guess
