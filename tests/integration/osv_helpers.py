"""Helpers for the end-to-end tests: the shared OSV export served over HTTP, small exports."""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

REPO = Path(__file__).resolve().parents[2]
OSV_ZIP = REPO.parent / "shared" / "data" / "osv" / "PyPI-all.zip"
LAST_MODIFIED = "Wed, 25 Nov 2026 10:00:00 GMT"

Runner = Callable[..., tuple[int, str, str]]
"""``run(*argv) -> (exit code, stdout, stderr)``: ``pipvet.cli.main`` in-process."""


@dataclass
class Export:
    """The shared export served over HTTP with an ETag; records what the server saw and sent."""

    server: HTTPServer
    data: bytes
    etag: str
    path: str = "/PyPI/all.zip"
    statuses: list[int] = field(default_factory=list)
    conditional: list[dict[str, str]] = field(default_factory=list)
    mode: str = "ok"
    """``ok``; ``cut`` (close the connection halfway); ``truncated`` (a shorter, complete response)."""

    @property
    def url(self) -> str:
        return self.server.url_for(self.path)

    def handle(self, request: Request) -> Response:
        self.conditional.append(
            {k: v for k, v in request.headers.items() if k.lower() in ("if-none-match", "if-modified-since")}
        )
        if self.mode == "ok" and request.headers.get("If-None-Match") == self.etag:
            self.statuses.append(304)
            return Response(status=304, headers={"ETag": self.etag})
        headers = {"ETag": self.etag, "Last-Modified": LAST_MODIFIED, "Content-Type": "application/zip"}
        if self.mode == "cut":
            half = self.data[: len(self.data) // 2]
            self.statuses.append(200)
            return Response(
                iter([half]),
                status=200,
                headers={**headers, "Content-Length": str(len(self.data))},
                direct_passthrough=True,
            )
        body = self.data[: len(self.data) * 2 // 3] if self.mode == "truncated" else self.data
        self.statuses.append(200)
        return Response(body, status=200, headers=headers)


def cache_dir() -> Path:
    return Path(os.environ["PIPVET_CACHE_DIR"])


def make_export(path: Path, records: Iterable[dict[str, Any] | str]) -> Path:
    """A small OSV export zip: dicts become ``<id>.json``; strings are written raw (bad JSON)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i, rec in enumerate(records):
            if isinstance(rec, str):
                zf.writestr(f"broken-{i}.json", rec)
            else:
                zf.writestr(f"{rec.get('id', f'noid-{i}')}.json", json.dumps(rec))
    return path
