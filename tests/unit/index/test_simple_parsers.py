from __future__ import annotations

import json

import pytest

from pipvet.errors import NetworkError
from pipvet.index.simple import parse_html, parse_json, parse_page, version_of

BASE = "http://127.0.0.1:1/simple/demo/"
SHA = "a" * 64


def test_html_page_reads_hashes_yanked_requires_python_metadata_and_status() -> None:
    body = f"""<!DOCTYPE html><html><head>
    <meta name="pypi:repository-version" content="1.1">
    <meta name="pypi:project-status" content="quarantined">
    <meta name="pypi:project-status-reason" content="malware report">
    </head><body>
    <a href="../../files/demo-1.0.tar.gz#sha256={SHA}" data-requires-python="&gt;=3.8">demo-1.0.tar.gz</a>
    <a href="/files/demo-1.1-py3-none-any.whl#sha256={SHA}" data-yanked="bad build"
       data-dist-info-metadata="sha256={"b" * 64}">demo-1.1-py3-none-any.whl</a>
    <a href="https://files.example.invalid/demo-1.2.zip" data-yanked
       data-core-metadata="true">demo-1.2.zip</a>
    </body></html>""".encode()
    page = parse_html(body, BASE, name="demo")
    assert page.status == "quarantined"
    assert page.status_reason == "malware report"
    assert page.api_version == "1.1"
    first, second, third = page.files
    assert first.url == "http://127.0.0.1:1/files/demo-1.0.tar.gz"
    assert first.sha256 == SHA
    assert first.requires_python == ">=3.8"
    assert not first.yanked
    assert not first.metadata
    assert second.url == "http://127.0.0.1:1/files/demo-1.1-py3-none-any.whl"
    assert second.yanked
    assert second.yanked_reason == "bad build"
    assert second.metadata
    assert second.metadata_hashes == {"sha256": "b" * 64}
    assert third.yanked
    assert third.yanked_reason is None
    assert third.metadata
    assert third.metadata_hashes == {}
    assert third.sha256 is None
    assert page.versions == ("1.0", "1.1", "1.2")
    assert [f.filename for f in page.files_for("1.1")] == ["demo-1.1-py3-none-any.whl"]


def test_json_page_reads_every_field() -> None:
    doc = {
        "meta": {"api-version": "1.4"},
        "name": "demo",
        "project-status": {"status": "archived", "reason": "unmaintained"},
        "versions": ["1.0", "2.0"],
        "files": [
            {
                "filename": "demo-1.0.tar.gz",
                "url": "../../files/demo-1.0.tar.gz",
                "hashes": {"sha256": SHA.upper()},
                "requires-python": ">=3.9",
                "yanked": "reason here",
                "core-metadata": {"sha256": "c" * 64},
                "size": 10,
                "upload-time": "2024-01-01T00:00:00.000000Z",
            },
            {
                "filename": "demo-2.0-py3-none-any.whl",
                "url": "x.whl",
                "hashes": {},
                "dist-info-metadata": True,
            },
            {"filename": "broken entry"},
        ],
    }
    page = parse_json(json.dumps(doc).encode(), BASE)
    assert page.status == "archived"
    assert page.status_reason == "unmaintained"
    assert page.versions == ("1.0", "2.0")
    one, two = page.files
    assert one.sha256 == SHA
    assert one.yanked
    assert one.yanked_reason == "reason here"
    assert one.metadata_hashes == {"sha256": "c" * 64}
    assert one.size == 10
    assert one.upload_time == "2024-01-01T00:00:00.000000Z"
    assert one.url == "http://127.0.0.1:1/files/demo-1.0.tar.gz"
    assert two.metadata
    assert not two.yanked


def test_parse_page_dispatches_on_content_type() -> None:
    doc = json.dumps({"meta": {"api-version": "1.0"}, "name": "demo", "files": []}).encode()
    assert (
        parse_page(doc, "application/vnd.pypi.simple.v1+json; charset=utf-8", BASE, name="demo").files == ()
    )
    html = b'<a href="demo-1.0.tar.gz">demo-1.0.tar.gz</a>'
    assert len(parse_page(html, "text/html", BASE, name="demo").files) == 1


def test_invalid_json_is_a_network_error() -> None:
    with pytest.raises(NetworkError, match="invalid JSON"):
        parse_json(b"{not json", BASE)


@pytest.mark.parametrize(
    ("filename", "version"),
    [
        ("demo-1.0.tar.gz", "1.0"),
        ("Demo_Pkg-2.0rc1-py3-none-any.whl", "2.0rc1"),
        ("demo-0.1.zip", "0.1"),
        ("demo-1.0-py2.7.egg", "1.0"),
        ("garbage", None),
    ],
)
def test_version_of_file_names(filename: str, version: str | None) -> None:
    assert version_of(filename) == version
