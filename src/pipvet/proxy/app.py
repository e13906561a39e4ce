"""The vetting index over HTTP: a small plain-ASGI application around :class:`VettingIndex`.

Routes (``<n>`` is the upstream number; 0, the default index, also answers without a prefix)::

    GET /simple/                          project list (PEP 691 JSON or PEP 503 HTML)
    GET /simple/<project>/                filtered project page
    GET /extra/<n>/simple/...             the same for the n-th extra index
    GET /files/<n>/<project>/<filename>   the vetted artifact, or 403 with the reason

Blocking work (upstream fetches, vetting) runs in worker threads; the service makes sure each
artifact is downloaded and vetted once even when it is requested concurrently.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from pipvet.errors import PipvetError
from pipvet.index.simple import DistFile
from pipvet.models import normalize_name
from pipvet.proxy.pages import JSON_TYPE, negotiate, render_project, render_root
from pipvet.proxy.service import Blocked, Refused, VettingIndex

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

CHUNK = 1 << 20


def page_url(index: int, project: str | None = None) -> str:
    """The path of a simple page on the vetting index (relative to its root)."""
    base = "/simple/" if index == 0 else f"/extra/{index}/simple/"
    return base if project is None else f"{base}{quote(project)}/"


def file_url(index: int, project: str, filename: str) -> str:
    return f"/files/{index}/{quote(project)}/{quote(filename)}"


class VettingApp:
    """ASGI application serving a :class:`VettingIndex`."""

    def __init__(self, service: VettingIndex) -> None:
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method = scope.get("method", "GET")
        if method not in ("GET", "HEAD"):
            await _text(send, 405, "method not allowed", head=False)
            return
        head = method == "HEAD"
        path = unquote(scope.get("path", "/"))
        parts = [p for p in path.split("/") if p]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        media = negotiate(headers.get("accept"), (query.get("format") or [None])[0])
        try:
            if parts[:1] == ["simple"]:
                await self._simple(send, 0, parts[1:], media, head)
            elif len(parts) >= 3 and parts[0] == "extra" and parts[2] == "simple" and parts[1].isdigit():
                await self._simple(send, int(parts[1]), parts[3:], media, head)
            elif len(parts) == 4 and parts[0] == "files" and parts[1].isdigit():
                await self._file(send, int(parts[1]), parts[2], parts[3], head)
            else:
                await _text(send, 404, "not found", head=head)
        except Blocked as exc:
            reasons = "; ".join(exc.result.reasons) or "blocked by policy"
            await _text(send, 403, f"pipvet blocked {exc.result.target}: {reasons}\n", head=head)
        except Refused as exc:
            await _text(send, exc.status, f"pipvet: {exc.message}\n", head=head)
        except PipvetError as exc:
            await _text(send, 502, f"pipvet: {exc.message}\n", head=head)

    async def _simple(self, send: Send, index: int, rest: list[str], media: str, head: bool) -> None:
        from anyio import to_thread

        if not rest:
            names = await to_thread.run_sync(self.service.project_names, index)
            body = render_root(names, media, lambda n: page_url(index, normalize_name(n)))
            await _send(send, 200, body, _page_type(media), head=head)
            return
        if len(rest) != 1:
            await _text(send, 404, "not found", head=head)
            return
        project = rest[0]
        name = normalize_name(project)
        page = await to_thread.run_sync(self.service.page, index, name)
        if page is None:
            await _text(send, 404, f"pipvet: {name}: no such project on the upstream index\n", head=head)
            return

        def url_for(f: DistFile) -> str:
            return file_url(index, name, f.filename)

        body = render_project(page, media, url_for)
        await _send(send, 200, body, _page_type(media), head=head)

    async def _file(self, send: Send, index: int, project: str, filename: str, head: bool) -> None:
        from anyio import to_thread

        served = await to_thread.run_sync(self.service.artifact, index, project, filename)
        await _send_file(send, served.path, head=head)


def _page_type(media: str) -> str:
    return media if media == JSON_TYPE else f"{media}; charset=utf-8"


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _send(send: Send, status: int, body: bytes, content_type: str, *, head: bool) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                # Pages change with the policy and the database: no installer may cache them.
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else body})


async def _text(send: Send, status: int, text: str, *, head: bool) -> None:
    await _send(send, status, text.encode(), "text/plain; charset=utf-8", head=head)


async def _send_file(send: Send, path: Path, *, head: bool) -> None:
    from anyio import to_thread

    size = path.stat().st_size
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/octet-stream"),
                (b"content-length", str(size).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    if head:
        await send({"type": "http.response.body", "body": b""})
        return
    with path.open("rb") as handle:
        while True:
            chunk = await to_thread.run_sync(handle.read, CHUNK)
            more = len(chunk) == CHUNK
            await send({"type": "http.response.body", "body": chunk, "more_body": more})
            if not more:
                break


def create_app(service: VettingIndex) -> VettingApp:
    return VettingApp(service)
