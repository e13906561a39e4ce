"""``pipvet db update``: fetch an OSV export, build a new database beside the old one, swap it in.

The source is an ``http(s)://`` URL (downloaded conditionally on ETag/Last-Modified, with a
progress bar on a terminal), a ``file://`` URL or a plain local path (rebuilt only when its size
or modification time changed). The new database is written to a temporary file in the cache
directory and renamed over the old one with :func:`os.replace`, so a failed or interrupted
download or build leaves the previous database exactly as it was, and the error says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from urllib.request import url2pathname

from pipvet.errors import DatabaseError, NetworkError, OperationalError, PipvetError, UsageError
from pipvet.vulndb.build import Builder, BuildStats
from pipvet.vulndb.osv import parse_record
from pipvet.vulndb.store import Database, format_time, utcnow

if TYPE_CHECKING:
    import httpx

LOCAL_EXPORT_HINT = (
    "if this machine cannot reach the OSV export, download all.zip for PyPI elsewhere and load it "
    "with `pipvet db update --osv-url /path/to/all.zip` (or set PIPVET_OSV_URL to that path)"
)
CHUNK = 1 << 16


@dataclass(frozen=True, kw_only=True, slots=True)
class UpdateResult:
    changed: bool
    """False when the source was unchanged (HTTP 304 or same local file) and nothing was rebuilt."""
    source: str
    stats: BuildStats | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Source:
    kind: str
    """``http`` or ``file``."""
    location: str
    """The URL, or the absolute path of a local file."""


def classify_source(source: str) -> Source:
    """``https://...`` -> http; ``file:///x`` and ``/x`` or ``x.zip`` -> file (absolute path)."""
    text = source.strip()
    if not text:
        raise UsageError("--osv-url is empty", hint="give a URL, a file:// URL or a local path")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return Source(kind="http", location=text)
    if scheme == "file":
        local = url2pathname(parts.path)
        if parts.netloc and parts.netloc != "localhost":
            local = f"//{parts.netloc}{local}"
        return Source(kind="file", location=str(Path(local).expanduser().resolve()))
    if len(scheme) > 1:
        raise UsageError(
            f"--osv-url: unsupported scheme {scheme!r} in {text!r}",
            hint="use an http(s):// URL, a file:// URL or a local path",
        )
    return Source(kind="file", location=str(Path(text).expanduser().resolve()))


def _ensure_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".pipvet-probe-", dir=folder)
        os.close(fd)
        Path(probe).unlink()
    except OSError as exc:
        raise OperationalError(
            f"cannot write to the cache directory {folder}: {exc.strerror or exc}",
            hint="set PIPVET_CACHE_DIR (or --cache-dir) to a writable folder",
        ) from exc


def _open_previous(db_path: Path) -> Database | None:
    try:
        return Database.open(db_path)
    except DatabaseError:
        return None


def _state_of(previous: Database | None) -> str:
    if previous is None:
        return "no database was installed"
    updated = previous.updated_at
    when = format_time(updated) if updated else "at an unknown time"
    return f"the previous database (updated {when}) is unchanged and still usable"


def build_from_zip(
    zip_path: Path, out_path: Path, *, meta: dict[str, str], label: str | None = None
) -> BuildStats:
    """Parse every ``*.json`` member of an OSV export into a new database at ``out_path``."""
    label = label or str(zip_path)
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DatabaseError(f"{label} is not a readable zip archive ({exc})", hint=LOCAL_EXPORT_HINT) from exc
    builder = Builder.create(out_path)
    try:
        with archive:
            for info in archive.infolist():
                if info.is_dir() or not info.filename.endswith(".json"):
                    continue
                try:
                    data = archive.read(info)
                except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                    raise DatabaseError(
                        f"{label}: member {info.filename} is corrupt ({exc})", hint=LOCAL_EXPORT_HINT
                    ) from exc
                try:
                    raw = json.loads(data)
                except ValueError as exc:
                    builder.skip([f"{info.filename}: not valid JSON ({exc}); skipped"])
                    continue
                parsed = parse_record(raw)
                if parsed.record is None:
                    builder.skip(parsed.warnings)
                else:
                    builder.warn(parsed.warnings)
                    builder.add(parsed.record)
        if builder.records == 0:
            raise DatabaseError(f"{label} contains no usable OSV records", hint=LOCAL_EXPORT_HINT)
        return builder.finish(meta)
    except BaseException:
        builder.abort()
        raise


@contextlib.contextmanager
def _progress(enabled: bool, total: int | None, label: str) -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _download(
    url: str,
    folder: Path,
    previous: Database | None,
    *,
    progress: bool,
    transport: httpx.BaseTransport | None,
) -> tuple[Path, dict[str, str]] | None:
    """Download ``url`` to a temporary file; None when the server says it is unchanged (304)."""
    from pipvet.net import make_client, redact_url, translate_errors

    headers: dict[str, str] = {}
    if previous is not None and previous.meta.get("source") == url:
        if previous.meta.get("etag"):
            headers["If-None-Match"] = previous.meta["etag"]
        if previous.meta.get("last_modified"):
            headers["If-Modified-Since"] = previous.meta["last_modified"]
    fd, tmp_name = tempfile.mkstemp(prefix=".osv-download-", suffix=".zip.part", dir=folder)
    tmp = Path(tmp_name)
    try:
        with (
            os.fdopen(fd, "wb") as out,
            make_client(transport=transport) as client,
            translate_errors("downloading the OSV export", url),
            client.stream("GET", url, headers=headers) as response,
        ):
            if response.status_code == 304:
                tmp.unlink()
                return None
            response.raise_for_status()
            length = response.headers.get("content-length")
            total = int(length) if length and length.isdigit() else None
            written = 0
            with _progress(progress, total, "OSV export") as advance:
                for chunk in response.iter_raw(CHUNK):
                    out.write(chunk)
                    written += len(chunk)
                    advance(len(chunk))
            if total is not None and written != total:
                raise NetworkError(
                    f"downloading the OSV export: {redact_url(url)} sent {written} of {total} bytes",
                    hint="try again",
                )
            meta = {
                "etag": response.headers.get("etag", ""),
                "last_modified": response.headers.get("last-modified", ""),
            }
        return tmp, meta
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def update_database(
    db_path: Path,
    source: str,
    *,
    progress: bool = False,
    transport: httpx.BaseTransport | None = None,
    now: datetime | None = None,
) -> UpdateResult:
    """Bring the database at ``db_path`` up to date with ``source``; atomic, fail-safe."""
    from pipvet.net import redact_url

    where = classify_source(source)
    label = redact_url(where.location) if where.kind == "http" else where.location
    folder = db_path.parent
    _ensure_writable(folder)
    previous = _open_previous(db_path)
    state = _state_of(previous)
    new_db: Path | None = None
    download: Path | None = None
    try:
        meta: dict[str, str] = {"source": where.location}
        if where.kind == "http":
            fetched = _download(where.location, folder, previous, progress=progress, transport=transport)
            if fetched is None:
                if previous is None:
                    raise NetworkError(
                        f"downloading the OSV export: {label} answered 304 Not Modified to a plain request",
                        hint=LOCAL_EXPORT_HINT,
                    )
                previous.touch(now)
                return UpdateResult(changed=False, source=label)
            download, extra = fetched
            meta.update(extra)
            zip_path = download
        else:
            zip_path = Path(where.location)
            try:
                st = zip_path.stat()
            except OSError as exc:
                raise DatabaseError(
                    f"cannot read the OSV export {zip_path}: {exc.strerror or exc}", hint=LOCAL_EXPORT_HINT
                ) from exc
            if not zip_path.is_file():
                raise DatabaseError(f"the OSV export {zip_path} is not a file", hint=LOCAL_EXPORT_HINT)
            meta["validator"] = f"{st.st_size}:{st.st_mtime_ns}"
            if (
                previous is not None
                and previous.meta.get("source") == where.location
                and previous.meta.get("validator") == meta["validator"]
            ):
                previous.touch(now)
                return UpdateResult(changed=False, source=label)
        stamp = format_time(now or utcnow())
        meta.update(built_at=stamp, updated_at=stamp)
        fd, new_name = tempfile.mkstemp(prefix=f".{db_path.name}.new-", dir=folder)
        os.close(fd)
        new_db = Path(new_name)
        stats = build_from_zip(zip_path, new_db, meta=meta, label=label)
        if previous is not None:
            previous.close()
            previous = None
        new_db.replace(db_path)
        new_db = None
        return UpdateResult(changed=True, source=label, stats=stats)
    except PipvetError as exc:
        exc.message = f"database update failed: {exc.message}; {state}"
        exc.args = (exc.message,)
        if where.kind == "http" and isinstance(exc, NetworkError):
            exc.hint = LOCAL_EXPORT_HINT
        raise
    except KeyboardInterrupt:
        raise OperationalError(f"database update interrupted; {state}", hint="run it again") from None
    except OSError as exc:
        raise OperationalError(
            f"database update failed: {exc.strerror or exc}; {state}",
            hint="check free space and permissions of the cache directory (PIPVET_CACHE_DIR)",
        ) from exc
    finally:
        if previous is not None:
            previous.close()
        if new_db is not None:
            new_db.unlink(missing_ok=True)
        if download is not None:
            download.unlink(missing_ok=True)
