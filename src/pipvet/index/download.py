"""Artifact downloads into a content-addressed cache, verified before anything reads them.

Bytes are streamed to a temporary file beside the cache while their digests are computed; only
when the digest equals the one the index published is the file renamed to
``cache_dir/artifacts/sha256/<aa>/<digest>``. A mismatch discards the file and raises
:class:`~pipvet.errors.IntegrityError`. A file whose index publishes no hash is kept under its
computed digest and reported as unverified (:attr:`Downloaded.verified`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from pipvet.errors import IntegrityError, NetworkError
from pipvet.net import redact_url

CHUNK = 1 << 16
_SUPPORTED = ("sha256", "sha384", "sha512")


@dataclass(frozen=True, kw_only=True, slots=True)
class Downloaded:
    path: Path
    sha256: str
    size: int
    verified: bool
    """True when the bytes matched a hash the index published."""


def artifacts_root(cache_dir: Path) -> Path:
    return cache_dir / "artifacts"


def cas_path(cache_dir: Path, sha256: str) -> Path:
    digest = sha256.lower()
    return artifacts_root(cache_dir) / "sha256" / digest[:2] / digest


def cached(cache_dir: Path, sha256: str | None) -> Downloaded | None:
    """The cached file for ``sha256``, if present and still holding those bytes.

    The file is hashed again on every hit (fast next to analysing it): a cache entry that was
    altered on disk is removed and fetched again rather than trusted.
    """
    if not sha256:
        return None
    digest = sha256.lower()
    path = cas_path(cache_dir, digest)
    hasher = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK * 16):
                hasher.update(chunk)
                size += len(chunk)
    except OSError:
        return None
    if hasher.hexdigest() != digest:
        path.unlink(missing_ok=True)
        return None
    return Downloaded(path=path, sha256=digest, size=size, verified=True)


class _Sink:
    """A temporary file plus running digests; :meth:`commit` verifies and moves it into the CAS."""

    def __init__(self, cache_dir: Path, url: str, expected: Mapping[str, str]) -> None:
        self.cache_dir = cache_dir
        self.url = url
        self.expected = {k: v.lower() for k, v in expected.items() if k in _SUPPORTED and v}
        self.hashers = {name: hashlib.new(name) for name in {"sha256", *self.expected}}
        tmp_root = artifacts_root(cache_dir) / "tmp"
        tmp_root.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="dl-", dir=tmp_root)
        self.tmp = Path(name)
        self.handle = os.fdopen(fd, "wb")
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.handle.write(chunk)
        self.size += len(chunk)
        for h in self.hashers.values():
            h.update(chunk)

    def discard(self) -> None:
        self.handle.close()
        self.tmp.unlink(missing_ok=True)

    def commit(self, filename: str) -> Downloaded:
        self.handle.close()
        for algo, want in self.expected.items():
            got = self.hashers[algo].hexdigest()
            if got != want:
                self.tmp.unlink(missing_ok=True)
                raise IntegrityError(
                    f"{filename}: {algo} of the downloaded bytes is {got}, the index says {want}; "
                    "the file was discarded",
                    hint="the file on the index or on the way to you was altered; do not install it",
                )
        digest = self.hashers["sha256"].hexdigest()
        target = cas_path(self.cache_dir, digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp.replace(target)
        return Downloaded(path=target, sha256=digest, size=self.size, verified=bool(self.expected))


def _file_path(url: str) -> Path:
    parts = urlsplit(url)
    return Path(url2pathname(unquote(parts.path)))


def download_file_url(url: str, *, filename: str, hashes: Mapping[str, str], cache_dir: Path) -> Downloaded:
    """Copy a ``file://`` artifact into the cache, verified like any download."""
    sink = _Sink(cache_dir, url, hashes)
    try:
        with _file_path(url).open("rb") as source:
            while chunk := source.read(CHUNK):
                sink.write(chunk)
    except OSError as exc:
        sink.discard()
        raise NetworkError(f"{filename}: cannot read {redact_url(url)} ({exc.strerror or exc})") from exc
    return sink.commit(filename)


def _without_http(
    url: str, *, filename: str, hashes: Mapping[str, str], cache_dir: Path, offline: bool
) -> Downloaded | None:
    """What both download functions do before HTTP: a cache hit, the offline refusal, a ``file://`` copy."""
    hit = cached(cache_dir, hashes.get("sha256"))
    if hit is not None:
        return hit
    if offline:
        raise NetworkError(
            f"{filename} is not in the artifact cache and --offline forbids downloading it",
            hint="run once without --offline to fill the cache",
        )
    if url.startswith("file:"):
        return download_file_url(url, filename=filename, hashes=hashes, cache_dir=cache_dir)
    return None


def download(
    client: object,
    url: str,
    *,
    filename: str,
    hashes: Mapping[str, str],
    cache_dir: Path,
    auth: tuple[str, str] | None = None,
    offline: bool = False,
) -> Downloaded:
    """Fetch ``url`` with an ``httpx.Client`` (or reuse the cached copy) and verify it."""
    import httpx

    from pipvet.net import translate_errors

    done = _without_http(url, filename=filename, hashes=hashes, cache_dir=cache_dir, offline=offline)
    if done is not None:
        return done
    assert isinstance(client, httpx.Client)
    sink = _Sink(cache_dir, url, hashes)
    try:
        with (
            translate_errors(f"download {filename}", url),
            client.stream("GET", url, auth=auth or httpx.USE_CLIENT_DEFAULT) as response,
        ):
            response.raise_for_status()
            for chunk in response.iter_bytes(CHUNK):
                sink.write(chunk)
    except BaseException:
        sink.discard()
        raise
    return sink.commit(filename)


async def download_async(
    client: object,
    url: str,
    *,
    filename: str,
    hashes: Mapping[str, str],
    cache_dir: Path,
    auth: tuple[str, str] | None = None,
    offline: bool = False,
) -> Downloaded:
    """The asynchronous twin of :func:`download`, for an ``httpx.AsyncClient``."""
    import httpx

    from pipvet.net import translate_errors

    done = _without_http(url, filename=filename, hashes=hashes, cache_dir=cache_dir, offline=offline)
    if done is not None:
        return done
    assert isinstance(client, httpx.AsyncClient)
    sink = _Sink(cache_dir, url, hashes)
    try:
        with translate_errors(f"download {filename}", url):
            async with client.stream("GET", url, auth=auth or httpx.USE_CLIENT_DEFAULT) as response:
                response.raise_for_status()
                async for chunk in response.aiter_bytes(CHUNK):
                    sink.write(chunk)
    except BaseException:
        sink.discard()
        raise
    return sink.commit(filename)
