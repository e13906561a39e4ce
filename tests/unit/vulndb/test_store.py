from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from pipvet.errors import DatabaseError, ExitCode
from pipvet.models import Severity
from pipvet.vulndb.build import Builder
from pipvet.vulndb.osv import parse_record
from pipvet.vulndb.store import Database

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)

RECORDS: list[dict[str, Any]] = [
    {
        "id": "MAL-2024-1545",
        "summary": "Malicious code in Costrar (PyPI)",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "Costrar"}, "versions": ["8.0"]}],
    },
    {
        "id": "MAL-2026-4750",
        "withdrawn": "2026-05-26T13:04:03Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "fastapi"}, "versions": ["0.136.3"]}],
    },
    {
        "id": "PYSEC-2099-1",
        "aliases": ["CVE-2099-1", "GHSA-1111"],
        "details": "A flaw.",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "Web_Framework"},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [
                            {"introduced": "2.0"},
                            {"fixed": "2.0.5"},
                            {"introduced": "1.0"},
                            {"fixed": "1.9"},
                        ],
                    }
                ],
            }
        ],
    },
    {
        "id": "GHSA-1111",
        "aliases": ["CVE-2099-1"],
        "database_specific": {"severity": "HIGH"},
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "web-framework"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.0"}, {"fixed": "2.0.6"}]}],
            }
        ],
    },
]


def build(path: Path, records: list[dict[str, Any]], meta: dict[str, str] | None = None) -> Path:
    builder = Builder.create(path)
    for raw in records:
        result = parse_record(raw)
        if result.record is None:
            builder.skip(result.warnings)
        else:
            builder.warn(result.warnings)
            builder.add(result.record)
    builder.finish(
        meta or {"source": "test", "built_at": "2026-11-25T11:00:00Z", "updated_at": "2026-11-25T11:00:00Z"}
    )
    return path


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database.open(build(tmp_path / "osv.sqlite3", [*RECORDS, {"id": "BAD"}]))


def test_lookup_normalises_names_on_both_sides(db: Database) -> None:
    for name in ("Costrar", "costrar", "COSTRAR"):
        (hit,) = db.lookup(name, "8.0.0")
        assert hit.id == "MAL-2024-1545"
        assert hit.malicious
        assert hit.severity is Severity.CRITICAL
    assert db.lookup("web_framework", "2.0.1")
    assert db.lookup("WEB.framework", "1.5")


def test_withdrawn_record_never_matches(db: Database) -> None:
    assert db.lookup("fastapi", "0.136.3") == ()


def test_aliases_merged_with_fixes(db: Database) -> None:
    (hit,) = db.lookup("web-framework", "2.0.1")
    assert hit.id == "PYSEC-2099-1"
    assert hit.aliases == ("CVE-2099-1", "GHSA-1111")
    assert hit.severity is Severity.HIGH
    assert hit.fixed_in == ("2.0.5", "2.0.6")
    (older,) = db.lookup("web-framework", "1.5")
    assert older.fixed_in == ("1.9", "2.0.5")  # fixes above 1.5 in the only matching record


def test_unaffected_and_unknown(db: Database) -> None:
    assert db.lookup("web-framework", "1.9") == ()
    assert db.lookup("web-framework", "not-a-version") == ()
    assert db.lookup("nobody", "1.0") == ()


def test_lookup_many_matches_lookup(db: Database) -> None:
    pairs = [
        ("Costrar", "8.0"),
        ("web_framework", "2.0.1"),
        ("nobody", "1"),
        ("costrar", "9"),
        ("Costrar", "8.0"),
    ]
    assert db.known_names(n for n, _ in pairs) == {"costrar", "web-framework"}
    found = db.lookup_many(pairs)
    assert set(found) == set(pairs)
    for name, version in pairs:
        assert found[(name, version)] == db.lookup(name, version)
    many = db.lookup_many([(f"name{i}", "1.0") for i in range(1200)] + [("costrar", "8")])
    assert many[("costrar", "8")][0].id == "MAL-2024-1545"


def test_meta_counts(db: Database) -> None:
    assert db.by_prefix == {"GHSA": 1, "MAL": 2, "PYSEC": 1}
    assert db.meta["withdrawn"] == "1"
    assert db.meta["skipped"] == "1"
    assert db.meta["source"] == "test"


def test_age_is_time_of_local_update_not_record_dates(db: Database) -> None:
    assert db.age(NOW) == timedelta(hours=1)
    assert not db.is_stale(timedelta(days=7), NOW)
    later = NOW + timedelta(days=8)
    with pytest.raises(DatabaseError) as info:
        db.check_fresh(timedelta(days=7), allow_stale=False, now=later)
    assert info.value.exit_code is ExitCode.OPERATIONAL
    assert "pipvet db update" in (info.value.hint or "")
    assert "--allow-stale" in (info.value.hint or "")
    note = db.check_fresh(timedelta(days=7), allow_stale=True, now=later)
    assert note is not None
    assert "stale" in note


def test_touch_refreshes_the_age(db: Database) -> None:
    db.touch(NOW)
    assert db.age(NOW) == timedelta(0)
    again = Database.open(db.path)
    assert again.updated_at == NOW


def test_missing_database_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError) as info:
        Database.open(tmp_path / "none.sqlite3")
    assert "no vulnerability database" in info.value.message
    hint = info.value.hint or ""
    assert "pipvet db update" in hint
    assert "--osv-url" in hint
    assert "PIPVET_OSV_URL" in hint


def test_corrupt_or_foreign_database_is_an_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseError, match="cannot be read"):
        Database.open(junk)
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE meta(key TEXT, value TEXT)")
        conn.execute("INSERT INTO meta VALUES ('schema', '0')")
    conn.close()
    with pytest.raises(DatabaseError, match="layout"):
        Database.open(other)


def test_duplicate_ids_keep_the_first(tmp_path: Path) -> None:
    db = Database.open(build(tmp_path / "d.sqlite3", [RECORDS[0], RECORDS[0]]))
    assert db.meta["records"] == "1"
    assert db.meta["skipped"] == "1"


def test_describe_age() -> None:
    from pipvet.vulndb.store import describe_age

    assert describe_age(timedelta(days=7)) == "7 days"
    assert describe_age(timedelta(hours=12)) == "12 hours"
    assert describe_age(timedelta(days=1)) == "1 day"
    assert describe_age(timedelta(minutes=90)) == "90 minutes"
    assert describe_age(timedelta(seconds=1)) == "1 second"
    assert describe_age(timedelta(days=3, hours=5)) == "3 days"
