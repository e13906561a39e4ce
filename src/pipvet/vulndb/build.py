"""Writing a new database file: :class:`Builder` takes parsed records and lays out the tables
described in :mod:`pipvet.vulndb.store`. Used by ``db update`` only (not imported by lookups)."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipvet.vulndb.store import SCHEMA

if TYPE_CHECKING:
    from pipvet.vulndb.osv import Record

MAX_KEPT_WARNINGS = 200

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
