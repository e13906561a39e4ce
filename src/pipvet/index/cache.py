"""A small HTTP cache on disk (``cache_dir/http/``): the body plus the validators (ETag,
Last-Modified) needed to revalidate it with a conditional request.

Keys are the credential-free URL plus the Accept header. Writes are atomic (temporary file,
then rename), so a crash never leaves a half-written entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, kw_only=True, slots=True)
class CacheEntry:
    url: str
    content_type: str
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    stored_at: float = 0.0


class HttpCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _paths(self, url: str, accept: str) -> tuple[Path, Path]:
        digest = hashlib.sha256(f"{accept}\n{url}".encode()).hexdigest()
        folder = self.root / digest[:2]
        return folder / f"{digest}.json", folder / f"{digest}.body"

    def load(self, url: str, accept: str) -> CacheEntry | None:
        meta_path, body_path = self._paths(url, accept)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            body = body_path.read_bytes()
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict) or meta.get("sha256") != hashlib.sha256(body).hexdigest():
            return None
        return CacheEntry(
            url=url,
            content_type=str(meta.get("content_type", "")),
            body=body,
            etag=meta.get("etag") if isinstance(meta.get("etag"), str) else None,
            last_modified=meta.get("last_modified") if isinstance(meta.get("last_modified"), str) else None,
            stored_at=float(meta.get("stored_at", 0.0)),
        )

    def store(self, entry: CacheEntry, accept: str) -> None:
        meta_path, body_path = self._paths(entry.url, accept)
        meta = {
            "content_type": entry.content_type,
            "etag": entry.etag,
            "last_modified": entry.last_modified,
            "stored_at": entry.stored_at or time.time(),
            "sha256": hashlib.sha256(entry.body).hexdigest(),
        }
        try:
            meta_path.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(body_path, entry.body)
            _atomic_write(meta_path, json.dumps(meta).encode())
        except OSError:
            return  # a cache that cannot be written is a slower run, not a failure


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
