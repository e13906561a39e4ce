"""A small fake package index served on 127.0.0.1 by pytest-httpserver (fixtures to import).

It speaks the simple API in both forms (PEP 691 JSON when asked for, PEP 503 HTML otherwise),
serves PEP 658 metadata files, answers ETag revalidation with 304, and optionally a project
JSON API. Tests can make a path fail (status codes) or hang (until the test ends).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pipvet.index.locate import Index


@dataclass
class FakeFile:
    filename: str
    data: bytes
    upload_time: str = "2024-01-02T03:04:05.123456Z"
    yanked: str | bool = False
    requires_python: str | None = None
    metadata: bytes | None = None
    tampered: bool = False
    """Serve different bytes than the hash on the page says."""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class FakeProject:
    name: str
    files: list[FakeFile] = field(default_factory=list)
    info: dict[str, object] = field(default_factory=dict)
    ownership: dict[str, object] | None = None
    status: str | None = None


@dataclass
class FakeIndex:
    server: HTTPServer
    projects: dict[str, FakeProject] = field(default_factory=dict)
    json_api: bool = True
    html_only: bool = False
    failures: dict[str, list[int]] = field(default_factory=dict)
    """path -> statuses to answer first, one per request (then the normal answer)."""
    hang: set[str] = field(default_factory=set)
    extra: dict[str, bytes] = field(default_factory=dict)
    """Other paths to serve as they are (e.g. a popular-names list)."""
    hits: dict[str, int] = field(default_factory=dict)
    seen_headers: list[dict[str, str]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return self.server.url_for("/simple/")

    def index(self, **kw: object) -> Index:
        return Index(url=self.url, source="test", **kw)  # type: ignore[arg-type]

    def add(self, project: FakeProject) -> FakeProject:
        self.projects[project.name] = project
        return project

    # -- rendering

    def _file_url(self, f: FakeFile) -> str:
        return self.server.url_for(f"/files/{f.filename}")

    def page_json(self, p: FakeProject) -> bytes:
        files = []
        for f in p.files:
            entry: dict[str, object] = {
                "filename": f.filename,
                "url": f"../../files/{f.filename}",
                "hashes": {"sha256": f.sha256},
                "size": len(f.data),
                "upload-time": f.upload_time,
                "yanked": f.yanked,
            }
            if f.requires_python:
                entry["requires-python"] = f.requires_python
            if f.metadata is not None:
                entry["core-metadata"] = {"sha256": hashlib.sha256(f.metadata).hexdigest()}
            files.append(entry)
        doc: dict[str, object] = {"meta": {"api-version": "1.4"}, "name": p.name, "files": files}
        if p.status:
            doc["project-status"] = {"status": p.status, "reason": "test"}
        return json.dumps(doc).encode()

    def page_html(self, p: FakeProject) -> bytes:
        rows = []
        for f in p.files:
            attrs = ""
            if f.requires_python:
                attrs += (
                    f' data-requires-python="{f.requires_python.replace(">", "&gt;").replace("<", "&lt;")}"'
                )
            if f.yanked:
                attrs += f' data-yanked="{f.yanked if isinstance(f.yanked, str) else ""}"'
            if f.metadata is not None:
                attrs += f' data-core-metadata="sha256={hashlib.sha256(f.metadata).hexdigest()}"'
            rows.append(f'<a href="../../files/{f.filename}#sha256={f.sha256}"{attrs}>{f.filename}</a><br/>')
        status = f'<meta name="pypi:project-status" content="{p.status}">' if p.status else ""
        return (
            '<!DOCTYPE html><html><head><meta name="pypi:repository-version" content="1.4">'
            f"{status}</head><body>{''.join(rows)}</body></html>"
        ).encode()

    def project_json(self, p: FakeProject) -> bytes:
        releases: dict[str, list[dict[str, object]]] = {}
        from pipvet.index.simple import version_of

        for f in p.files:
            releases.setdefault(version_of(f.filename) or "?", []).append(
                {
                    "filename": f.filename,
                    "url": self._file_url(f),
                    "digests": {"sha256": f.sha256},
                    "size": len(f.data),
                    "upload_time_iso_8601": f.upload_time,
                    "yanked": bool(f.yanked),
                    "yanked_reason": f.yanked if isinstance(f.yanked, str) else None,
                    "packagetype": "bdist_wheel" if f.filename.endswith(".whl") else "sdist",
                    "requires_python": f.requires_python,
                }
            )
        info = {"name": p.name, "version": max(releases) if releases else None, **p.info}
        doc: dict[str, object] = {"info": info, "releases": releases, "vulnerabilities": []}
        if p.ownership is not None:
            doc["ownership"] = p.ownership
        return json.dumps(doc).encode()

    # -- serving

    def handle(self, request: Request) -> Response:
        path = request.path
        self.hits[path] = self.hits.get(path, 0) + 1
        self.seen_headers.append(dict(request.headers))
        if path in self.hang:
            self.release.wait(10)
            return Response(b"late", status=200)
        if path in self.extra:
            return Response(self.extra[path])
        pending = self.failures.get(path)
        if pending:
            return Response(b"failure", status=pending.pop(0))
        m = re.fullmatch(r"/simple/([^/]+)/", path)
        if m:
            project = self.projects.get(m.group(1))
            if project is None:
                return Response(b"not found", status=404)
            if (
                "application/vnd.pypi.simple.v1+json" in request.headers.get("Accept", "")
                and not self.html_only
            ):
                return self._cached(request, self.page_json(project), "application/vnd.pypi.simple.v1+json")
            return self._cached(request, self.page_html(project), "text/html")
        m = re.fullmatch(r"/pypi/([^/]+)/json", path)
        if m:
            project = self.projects.get(m.group(1))
            if project is None or not self.json_api:
                return Response(b"not found", status=404)
            return self._cached(request, self.project_json(project), "application/json")
        m = re.fullmatch(r"/files/(.+)", path)
        if m:
            wanted = m.group(1)
            for project in self.projects.values():
                for f in project.files:
                    if f.filename == wanted:
                        return Response(f.data + b"!" if f.tampered else f.data)
                    if f.metadata is not None and f"{f.filename}.metadata" == wanted:
                        return Response(f.metadata)
        return Response(b"not found", status=404)

    def _cached(self, request: Request, body: bytes, ctype: str) -> Response:
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(body, content_type=ctype, headers={"ETag": etag})


@pytest.fixture
def fake_index(httpserver: HTTPServer) -> Iterator[FakeIndex]:
    fake = FakeIndex(server=httpserver)
    httpserver.expect_request(re.compile(".*")).respond_with_handler(fake.handle)
    yield fake
    fake.release.set()


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def demo(fake_index: FakeIndex) -> FakeProject:
    """A project with an sdist and a wheel for 1.0 (the wheel has a metadata file) and a yanked 1.1."""
    return fake_index.add(_demo())


def _demo() -> FakeProject:
    return FakeProject(
        name="demo",
        files=[
            FakeFile(filename="demo-1.0.tar.gz", data=b"sdist bytes 1.0", upload_time="2023-01-01T00:00:00Z"),
            FakeFile(
                filename="demo-1.0-py3-none-any.whl",
                data=b"wheel bytes 1.0",
                upload_time="2023-01-01T00:01:00Z",
                metadata=b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
                requires_python=">=3.8",
            ),
            FakeFile(
                filename="demo-1.1.tar.gz",
                data=b"sdist bytes 1.1",
                upload_time="2024-05-01T00:00:00Z",
                yanked="broken build",
            ),
        ],
        info={
            "summary": "A demo",
            "project_urls": {"Source": "https://example.invalid/acme/demo"},
            "author": "A. Person",
        },
        ownership={"roles": [{"role": "Owner", "user": "alice"}]},
    )
