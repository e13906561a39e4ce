"""The SQLite database: its layout and a read-only view for lookups (:mod:`.build` writes it).

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
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import TracebackType

from pipvet.errors import DatabaseError
from pipvet.models import Advisory, NormalizedName, Severity, VulnerabilityID, normalize_name
from pipvet.vulndb.matching import Events, fixes_after, in_range, merge_aliases
from pipvet.vulndb.versions import canonical, parse_version

SCHEMA = "1"

UPDATE_HINT = (
    "run `pipvet db update`; without access to the OSV export, load a local copy with "
    "`pipvet db update --osv-url /path/to/all.zip` (or set PIPVET_OSV_URL)"
)

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
