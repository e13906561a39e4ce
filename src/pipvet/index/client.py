"""The index client: project pages, the project JSON API, metadata files and downloads.

One :class:`IndexClient` (synchronous) or :class:`AsyncIndexClient` (for fetching dozens of
projects at once) talks to one :class:`~pipvet.index.locate.Index`. Both share :class:`_Core`,
which decides request headers, retries and caching without doing I/O itself.

- Content negotiation: PEP 691 JSON is asked for first; an index that answers HTML is parsed as
  PEP 503.
- Caching: every page is stored under ``cache_dir/http/`` with its ETag/Last-Modified and
  revalidated with a conditional request; ``offline`` answers from the cache only and fails
  clearly for anything not cached.
- Failures: timeouts, connection errors, 429 and 5xx answers are retried a bounded number of
  times with exponential backoff, then raise :class:`~pipvet.errors.NetworkError` (exit 3).
  A missing project raises :class:`ProjectNotFound`.
- ``file://`` indexes (a folder laid out as a simple index) are read from disk.
- Credentials are sent only to the index's own host and never appear in messages.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, unquote, urlsplit
from urllib.request import url2pathname

from pipvet.errors import NetworkError, PipvetError
from pipvet.index.cache import CacheEntry, HttpCache
from pipvet.index.download import Downloaded, download, download_async
from pipvet.index.jsonapi import json_api_base, parse_project_json, project_json_url
from pipvet.index.locate import Index
from pipvet.index.project import ProjectInfo, ReleaseFile, Role, from_page
from pipvet.index.simple import ACCEPT, DistFile, ProjectPage, parse_page
from pipvet.models import normalize_name
from pipvet.net import redact_url, translate_errors

if TYPE_CHECKING:
    import httpx

_T = TypeVar("_T")

JSON_ACCEPT = "application/json"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_RETRIES = 2
DEFAULT_BACKOFF = 0.5
MAX_BACKOFF = 8.0


class ProjectNotFound(NetworkError):
    """The index has no project of that name."""


def _no_cache_hint() -> str:
    return "run once without --offline to fill the cache"


class _Core:
    """Everything but the I/O: URLs, headers, cache decisions, retry policy."""

    def __init__(
        self,
        index: Index,
        *,
        cache_dir: Path,
        offline: bool,
        json_api_url: str | None,
        retries: int,
        backoff: float,
    ) -> None:
        self.index = index
        self.cache_dir = cache_dir
        self.cache = HttpCache(cache_dir / "http")
        self.offline = offline
        # None: derive from the index address; "" (or "none"): the index has no JSON API.
        if json_api_url is None:
            self.json_base = json_api_base(index.url)
        elif json_api_url.strip().lower() in ("", "none"):
            self.json_base = None
        else:
            self.json_base = json_api_url
        self.retries = max(0, retries)
        self.backoff = max(0.0, backoff)
        self._host = urlsplit(index.url).netloc.lower()

    def page_url(self, name: str) -> str:
        return self.index.url.rstrip("/") + "/" + quote(normalize_name(name)) + "/"

    def auth_for(self, url: str) -> tuple[str, str] | None:
        if urlsplit(url).netloc.lower() != self._host:
            return None
        return self.index.auth

    def request_headers(self, accept: str, entry: CacheEntry | None) -> dict[str, str]:
        headers = {"Accept": accept}
        if entry is not None:
            if entry.etag:
                headers["If-None-Match"] = entry.etag
            if entry.last_modified:
                headers["If-Modified-Since"] = entry.last_modified
        return headers

    def delay(self, attempt: int) -> float:
        return float(min(MAX_BACKOFF, self.backoff * (2.0**attempt)))

    def offline_answer(self, url: str, entry: CacheEntry | None, what: str) -> CacheEntry:
        if entry is None:
            raise NetworkError(
                f"{what}: {redact_url(url)} is not in the cache and --offline forbids fetching it",
                hint=_no_cache_hint(),
            )
        return entry

    def finish(
        self,
        url: str,
        accept: str,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        entry: CacheEntry | None,
    ) -> CacheEntry | None:
        """Turn a final response into a cache entry; ``None`` means the resource does not exist."""
        if status == 304 and entry is not None:
            refreshed = replace(entry, stored_at=time.time())
            self.cache.store(refreshed, accept)
            return refreshed
        if status in (404, 410):
            return None
        fresh = CacheEntry(
            url=url,
            content_type=headers.get("content-type", ""),
            body=body,
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
            stored_at=time.time(),
        )
        if fresh.etag or fresh.last_modified or not self.offline:
            self.cache.store(fresh, accept)
        return fresh

    def read_file_url(self, url: str) -> CacheEntry | None:
        """A page of a ``file://`` index: the folder's ``index.html`` (or the file itself)."""
        path = Path(url2pathname(unquote(urlsplit(url).path)))
        candidates = [path / "index.html", path / "index.json"] if url.endswith("/") else [path]
        for candidate in candidates:
            try:
                body = candidate.read_bytes()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise NetworkError(f"cannot read {redact_url(url)}: {exc.strerror or exc}") from exc
            ctype = "application/vnd.pypi.simple.v1+json" if candidate.suffix == ".json" else "text/html"
            return CacheEntry(url=url, content_type=ctype, body=body)
        return None

    # -- interpretation of fetched bodies

    def page_from(self, name: str, url: str, entry: CacheEntry | None) -> ProjectPage:
        if entry is None:
            raise ProjectNotFound(
                f"no project named {name!r} on {self.index.display}",
                hint="check the spelling; a private project needs its index configured",
            )
        return parse_page(entry.body, entry.content_type, url, name=name)

    def history_path(self, name: str) -> Path:
        return self.cache_dir / "owners" / f"{normalize_name(name)}.json"

    def with_history(self, info: ProjectInfo) -> ProjectInfo:
        """Attach roles seen on earlier runs and record the current ones (local history)."""
        path = self.history_path(info.name)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raw = {}
        history: dict[str, Any] = raw if isinstance(raw, dict) else {}
        previous = {
            str(version): tuple(
                Role(role=str(r.get("role", "")), user=str(r.get("user", "")))
                for r in roles
                if isinstance(r, dict)
            )
            for version, roles in history.items()
            if isinstance(roles, list) and version != info.latest
        }
        if info.roles is not None and info.latest and not self.offline:
            history[info.latest] = [{"role": r.role, "user": r.user} for r in info.roles]
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(history, sort_keys=True), encoding="utf-8")
            except OSError:
                pass
        return replace(info, previous_roles=previous)


def _hashes(file: DistFile | ReleaseFile) -> dict[str, str]:
    if isinstance(file, DistFile):
        return dict(file.hashes)
    return {"sha256": file.sha256} if file.sha256 else {}


def _url(file: DistFile | ReleaseFile) -> str:
    if not file.url:
        raise NetworkError(f"{file.filename}: the index gives no address for this file")
    return file.url


class IndexClient:
    """Synchronous client for one index. Use as a context manager."""

    def __init__(
        self,
        index: Index,
        *,
        cache_dir: Path,
        offline: bool = False,
        json_api_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float | None = None,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
    ) -> None:
        from pipvet.net import make_client

        self.core = _Core(
            index,
            cache_dir=cache_dir,
            offline=offline,
            json_api_url=json_api_url,
            retries=retries,
            backoff=backoff,
        )
        self.http = make_client(transport=transport, timeout=timeout)

    def __enter__(self) -> IndexClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    @property
    def index(self) -> Index:
        return self.core.index

    def _get(self, url: str, accept: str, what: str) -> CacheEntry | None:
        core = self.core
        entry = core.cache.load(url, accept)
        if url.startswith("file:"):
            return core.read_file_url(url)
        if core.offline:
            return core.offline_answer(url, entry, what)
        attempt = 0
        while True:
            try:
                with translate_errors(what, url):
                    response = self.http.get(
                        url, headers=core.request_headers(accept, entry), auth=core.auth_for(url)
                    )
                    if response.status_code in RETRY_STATUSES and attempt < core.retries:
                        raise _Retry
                    if response.status_code >= 400 and response.status_code not in (404, 410):
                        response.raise_for_status()
            except _Retry:
                pass
            except NetworkError as exc:
                if attempt >= core.retries or not _transient(exc):
                    raise
            else:
                return core.finish(
                    url, accept, response.status_code, response.headers, response.content, entry
                )
            time.sleep(core.delay(attempt))
            attempt += 1

    def project_page(self, name: str) -> ProjectPage:
        """The project's simple page (JSON form preferred)."""
        url = self.core.page_url(name)
        return self.core.page_from(name, url, self._get(url, ACCEPT, f"project {name}"))

    def project_info(self, name: str) -> ProjectInfo:
        """The project's releases and metadata: the JSON API, or the simple page without one."""
        base = self.core.json_base
        if base is not None:
            url = project_json_url(base, name)
            entry = self._get(url, JSON_ACCEPT, f"project {name} (JSON API)")
            if entry is not None:
                return self.core.with_history(parse_project_json(entry.body, url))
        return from_page(self.project_page(name))

    def metadata(self, file: DistFile) -> bytes | None:
        """The PEP 658 core metadata file, if the index serves one."""
        if not file.metadata:
            return None
        url = file.url + ".metadata"
        entry = self._get(url, "*/*", f"metadata of {file.filename}")
        return None if entry is None else entry.body

    def download(self, file: DistFile | ReleaseFile) -> Downloaded:
        url = _url(file)
        return download(
            self.http,
            url,
            filename=file.filename,
            hashes=_hashes(file),
            cache_dir=self.core.cache_dir,
            auth=self.core.auth_for(url),
            offline=self.core.offline,
        )


class AsyncIndexClient:
    """Asynchronous client for one index, with batch helpers bounded by ``concurrency``."""

    def __init__(
        self,
        index: Index,
        *,
        cache_dir: Path,
        offline: bool = False,
        json_api_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | None = None,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        concurrency: int = 16,
    ) -> None:
        import httpx

        from pipvet.net import make_async_client

        self.core = _Core(
            index,
            cache_dir=cache_dir,
            offline=offline,
            json_api_url=json_api_url,
            retries=retries,
            backoff=backoff,
        )
        self.concurrency = max(1, concurrency)
        self.http = make_async_client(
            transport=transport,
            timeout=timeout,
            limits=httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency),
        )

    async def __aenter__(self) -> AsyncIndexClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _get(self, url: str, accept: str, what: str) -> CacheEntry | None:
        core = self.core
        entry = core.cache.load(url, accept)
        if url.startswith("file:"):
            return core.read_file_url(url)
        if core.offline:
            return core.offline_answer(url, entry, what)
        attempt = 0
        while True:
            try:
                with translate_errors(what, url):
                    response = await self.http.get(
                        url, headers=core.request_headers(accept, entry), auth=core.auth_for(url)
                    )
                    if response.status_code in RETRY_STATUSES and attempt < core.retries:
                        raise _Retry
                    if response.status_code >= 400 and response.status_code not in (404, 410):
                        response.raise_for_status()
            except _Retry:
                pass
            except NetworkError as exc:
                if attempt >= core.retries or not _transient(exc):
                    raise
            else:
                return core.finish(
                    url, accept, response.status_code, response.headers, response.content, entry
                )
            await asyncio.sleep(core.delay(attempt))
            attempt += 1

    async def project_page(self, name: str) -> ProjectPage:
        url = self.core.page_url(name)
        return self.core.page_from(name, url, await self._get(url, ACCEPT, f"project {name}"))

    async def project_info(self, name: str) -> ProjectInfo:
        base = self.core.json_base
        if base is not None:
            url = project_json_url(base, name)
            entry = await self._get(url, JSON_ACCEPT, f"project {name} (JSON API)")
            if entry is not None:
                return self.core.with_history(parse_project_json(entry.body, url))
        return from_page(await self.project_page(name))

    async def download(self, file: DistFile | ReleaseFile) -> Downloaded:
        url = _url(file)
        return await download_async(
            self.http,
            url,
            filename=file.filename,
            hashes=_hashes(file),
            cache_dir=self.core.cache_dir,
            auth=self.core.auth_for(url),
            offline=self.core.offline,
        )

    async def pages(self, names: Iterable[str]) -> dict[str, ProjectPage | PipvetError]:
        """Many project pages at once; each name maps to its page or to the error it raised."""
        return await self._many(names, self.project_page)

    async def infos(self, names: Iterable[str]) -> dict[str, ProjectInfo | PipvetError]:
        """Many projects' :class:`ProjectInfo` at once; errors are returned, not raised."""
        return await self._many(names, self.project_info)

    async def _many(
        self, names: Iterable[str], fetch: Callable[[str], Awaitable[_T]]
    ) -> dict[str, _T | PipvetError]:
        gate = asyncio.Semaphore(self.concurrency)
        unique = list(dict.fromkeys(names))

        async def one(name: str) -> _T | PipvetError:
            async with gate:
                try:
                    return await fetch(name)
                except PipvetError as exc:
                    return exc

        results = await asyncio.gather(*(one(n) for n in unique))
        return dict(zip(unique, results, strict=True))


class _Retry(Exception):
    """Internal signal: the answer was a retryable status."""


def _transient(exc: NetworkError) -> bool:
    """Timeouts and connection failures are worth another try; HTTP 4xx answers are not."""
    import httpx

    cause = exc.__cause__
    if isinstance(cause, httpx.HTTPStatusError):
        return cause.response.status_code in RETRY_STATUSES
    return isinstance(cause, httpx.TransportError)
