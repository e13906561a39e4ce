"""The SQLite database: a builder that writes a fresh file, and a read-only view for lookups.

Layout (``schema`` 1)::

    meta(key, value)                       source, etag, last_modified, built_at, updated_at, counts
    vulns(id, aliases, summary, severity, malicious, withdrawn, modified)
    ranges(name, vuln_id, events)          events: JSON [[kind, version], ...], already sorted
    versions(name, version, vuln_id)       explicit versions in canonical PEP 440 form

``name`` is always the PEP 503 normalised project name. Withdrawn records are kept in ``vulns``
(so ``db status`` can count them) but get no ``ranges``/``versions`` rows: they can never match.

The database's age is the time of the last successful ``db update`` on this machine
(``updated_at``), not the ``modified`` time of its newest record: an export can be current and
still have no record newer than a month.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from pipvet.errors import DatabaseError
from pipvet.models import Advisory, NormalizedName, Severity, VulnerabilityID, normalize_name
from pipvet.vulndb.matching import Events, fixes_after, in_range, merge_aliases
from pipvet.vulndb.versions import canonical, parse_version

if TYPE_CHECKING:
    from pipvet.vulndb.osv import Record

SCHEMA = "1"
MAX_KEPT_WARNINGS = 200

UPDATE_HINT = (
    "run `pipvet db update`; without access to the OSV export, load a local copy with "
    "`pipvet db update --osv-url /path/to/all.zip` (or set PIPVET_OSV_URL)"
)

_DDL = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE vulns(
    id TEXT PRIMARY KEY,
    aliases TEXT NOT NULL,
    summary TEXT NOT NULL,
    severity TEXT NOT NULL,
    malicious INTEGER NOT NULL,
    withdrawn TEXT,
    modified TEXT
) WITHOUT ROWID;
CREATE TABLE ranges(name TEXT NOT NULL, vuln_id TEXT NOT NULL, events TEXT NOT NULL);
CREATE TABLE versions(name TEXT NOT NULL, version TEXT NOT NULL, vuln_id TEXT NOT NULL);
"""
_INDEXES = """
CREATE INDEX ranges_by_name ON ranges(name);
CREATE INDEX versions_by_name ON versions(name, version);
"""


_SELECT_VULNS = (
    "SELECT id, aliases, summary, severity, malicious FROM vulns WHERE withdrawn IS NULL AND id IN ("
)


_NAMES_IN_RANGES = "SELECT name FROM ranges WHERE name IN ("
_UNION_NAMES_IN_VERSIONS = ") UNION SELECT name FROM versions WHERE name IN ("
"""Queries built from these constants and ``?`` placeholders only."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def format_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def describe_age(age: timedelta) -> str:
    """``timedelta(days=7)`` -> ``7 days``; rounded down to the largest sensible unit."""
    seconds = max(0, int(age.total_seconds()))
    for unit, size, threshold in (("day", 86400, 2 * 86400), ("hour", 3600, 7200), ("minute", 60, 120)):
        if seconds >= threshold or (seconds >= size and seconds % size == 0):
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildStats:
    records: int
    by_prefix: Mapping[str, int]
    skipped: int
    withdrawn: int
    warning_count: int
    warnings: tuple[str, ...] = ()
    """The first :data:`MAX_KEPT_WARNINGS` warnings, for ``-v``."""


@dataclass(kw_only=True, slots=True)
class Builder:
    """Writes a new database file. Use :meth:`create`, :meth:`add` each record, then :meth:`finish`."""

    path: Path
    conn: sqlite3.Connection
    records: int = 0
    skipped: int = 0
    withdrawn: int = 0
    by_prefix: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    warning_count: int = 0
    _vulns: list[tuple[object, ...]] = field(default_factory=list)
    _ranges: list[tuple[str, str, str]] = field(default_factory=list)
    _versions: list[tuple[str, str, str]] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)

    @classmethod
    def create(cls, path: Path) -> Builder:
        """Start a new database at ``path`` (which must not exist yet)."""
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.executescript(_DDL)
        conn.execute("BEGIN")
        return cls(path=path, conn=conn)

    def warn(self, messages: Iterable[str]) -> None:
        for message in messages:
            self.warning_count += 1
            if len(self.warnings) < MAX_KEPT_WARNINGS:
                self.warnings.append(message)

    def skip(self, messages: Iterable[str]) -> None:
        self.skipped += 1
        self.warn(messages)

    def add(self, record: Record) -> None:
        if record.id in self._seen:
            self.skip([f"{record.id}: duplicate id; later copy skipped"])
            return
        self._seen.add(record.id)
        self.records += 1
        self.by_prefix[record.prefix] = self.by_prefix.get(record.prefix, 0) + 1
        self._vulns.append(
            (
                record.id,
                json.dumps(record.aliases),
                record.summary,
                record.severity.value,
                int(record.malicious),
                record.withdrawn,
                record.modified,
            )
        )
        if record.withdrawn:
            self.withdrawn += 1
            return
        for affected in record.affected:
            for rng in affected.ranges:
                events = json.dumps([[e.kind, e.version] for e in rng.events], separators=(",", ":"))
                self._ranges.append((affected.name, record.id, events))
            for version in affected.versions:
                self._versions.append((affected.name, version, record.id))

    def finish(self, meta: Mapping[str, str]) -> BuildStats:
        """Write everything, index it, record ``meta`` and counts, and close the file durably."""
        stats = BuildStats(
            records=self.records,
            by_prefix=dict(sorted(self.by_prefix.items())),
            skipped=self.skipped,
            withdrawn=self.withdrawn,
            warning_count=self.warning_count,
            warnings=tuple(self.warnings),
        )
        c = self.conn
        c.executemany("INSERT INTO vulns VALUES (?,?,?,?,?,?,?)", self._vulns)
        c.executemany("INSERT INTO ranges VALUES (?,?,?)", self._ranges)
        c.executemany("INSERT INTO versions VALUES (?,?,?)", self._versions)
        c.execute("COMMIT")
        c.executescript(_INDEXES)
        c.execute("BEGIN")
        all_meta = {
            "schema": SCHEMA,
            **meta,
            "records": str(stats.records),
            "by_prefix": json.dumps(stats.by_prefix),
            "skipped": str(stats.skipped),
            "withdrawn": str(stats.withdrawn),
            "warnings": str(stats.warning_count),
        }
        c.executemany("INSERT INTO meta VALUES (?,?)", sorted(all_meta.items()))
        c.execute("COMMIT")
        c.execute("ANALYZE")
        c.close()
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return stats

    def abort(self) -> None:
        try:
            self.conn.close()
        finally:
            self.path.unlink(missing_ok=True)


class Database:
    """A read-only view of a built database file."""

    def __init__(self, path: Path, conn: sqlite3.Connection, meta: Mapping[str, str]) -> None:
        self.path = path
        self._conn = conn
        self.meta = dict(meta)

    @classmethod
    def open(cls, path: Path) -> Database:
        """Open ``path`` read-only; a missing, foreign or corrupt file is a :class:`DatabaseError`."""
        if not path.is_file():
            raise DatabaseError(f"no vulnerability database at {path}", hint=UPDATE_HINT)
        try:
            conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, check_same_thread=False)
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.Error as exc:
            raise DatabaseError(
                f"the vulnerability database at {path} cannot be read ({exc})", hint=UPDATE_HINT
            ) from exc
        if meta.get("schema") != SCHEMA:
            conn.close()
            raise DatabaseError(
                f"the vulnerability database at {path} has layout {meta.get('schema')!r}, "
                f"this pipvet needs {SCHEMA!r}",
                hint=UPDATE_HINT,
            )
        return cls(path, conn, meta)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ---- freshness -------------------------------------------------------------------------

    @property
    def updated_at(self) -> datetime | None:
        """When this machine last brought the database up to date with its source."""
        return parse_time(self.meta.get("updated_at")) or parse_time(self.meta.get("built_at"))

    def age(self, now: datetime | None = None) -> timedelta:
        updated = self.updated_at
        if updated is None:
            return timedelta.max
        return (now or utcnow()) - updated

    def is_stale(self, max_age: timedelta, now: datetime | None = None) -> bool:
        return self.age(now) > max_age

    def check_fresh(
        self, max_age: timedelta, *, allow_stale: bool, now: datetime | None = None
    ) -> str | None:
        """Raise when stale (unless allowed); return a note for the user when stale but allowed."""
        if not self.is_stale(max_age, now):
            return None
        updated = self.updated_at
        when = format_time(updated) if updated else "at an unknown time"
        age = describe_age(self.age(now)) if updated else "of unknown age"
        limit = describe_age(max_age)
        message = f"the vulnerability database is stale: updated {when} ({age} ago), the limit is {limit}"
        if allow_stale:
            return message + " (used anyway: --allow-stale)"
        raise DatabaseError(message, hint=UPDATE_HINT + "; or pass --allow-stale to use it anyway")

    @property
    def by_prefix(self) -> dict[str, int]:
        try:
            data = json.loads(self.meta.get("by_prefix", "{}"))
        except ValueError:
            return {}
        return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else {}

    # ---- lookups ---------------------------------------------------------------------------

    def lookup(self, name: str, version: str) -> tuple[Advisory, ...]:
        """Every non-withdrawn advisory affecting ``name`` at ``version``, aliases merged."""
        norm: NormalizedName = normalize_name(name)
        conn = self._conn
        matched: set[str] = {
            row[0]
            for row in conn.execute(
                "SELECT vuln_id FROM versions WHERE name = ? AND version = ?", (norm, canonical(version))
            )
        }
        ranges: dict[str, list[Events]] = {}
        for vuln_id, events in conn.execute("SELECT vuln_id, events FROM ranges WHERE name = ?", (norm,)):
            ranges.setdefault(vuln_id, []).append([(k, v) for k, v in json.loads(events)])
        parsed = parse_version(version)
        if parsed is not None:
            for vuln_id, rs in ranges.items():
                if vuln_id not in matched and any(in_range(parsed, r) for r in rs):
                    matched.add(vuln_id)
        if not matched:
            return ()
        ids = sorted(matched)
        marks = ",".join("?" * len(ids))
        query = _SELECT_VULNS + marks + ")"
        rows = conn.execute(query, ids).fetchall()
        advisories = [
            Advisory(
                id=VulnerabilityID(vid),
                aliases=tuple(json.loads(aliases)),
                summary=summary,
                severity=Severity(severity),
                fixed_in=fixes_after(parsed, ranges.get(vid, ())),
                malicious=bool(malicious),
                url=f"https://osv.dev/vulnerability/{vid}",
            )
            for vid, aliases, summary, severity, malicious in rows
        ]
        return merge_aliases(advisories)

    def known_names(self, names: Iterable[str]) -> set[str]:
        """Which of ``names`` (normalised) have any record at all: one indexed query per 500 names."""
        wanted = sorted({normalize_name(n) for n in names})
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            query = _NAMES_IN_RANGES + marks + _UNION_NAMES_IN_VERSIONS + marks + ")"
            found.update(row[0] for row in self._conn.execute(query, [*chunk, *chunk]))
        return found

    def lookup_many(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[Advisory, ...]]:
        """:meth:`lookup` for many ``(name, version)`` pairs, skipping names with no record."""
        todo = list(dict.fromkeys(pairs))
        known = self.known_names(name for name, _ in todo)
        return {
            (name, version): self.lookup(name, version) if normalize_name(name) in known else ()
            for name, version in todo
        }

    def touch(self, now: datetime | None = None) -> None:
        """Record that the source was checked and is unchanged (a conditional 304)."""
        stamp = format_time(now or utcnow())
        try:
            with sqlite3.connect(self.path) as rw:
                rw.execute("INSERT OR REPLACE INTO meta VALUES ('updated_at', ?)", (stamp,))
            rw.close()
        except sqlite3.Error as exc:
            raise DatabaseError(
                f"cannot record the update time in {self.path} ({exc})",
                hint="check that the cache directory is writable (PIPVET_CACHE_DIR)",
            ) from exc
        self.meta["updated_at"] = stamp
