"""`pipvet db update` / `db status` end to end, against the shared export served on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from integration.osv_helpers import OSV_ZIP, Export, Runner, cache_dir, make_export
from pipvet.vulndb.store import Database


def db_path() -> Path:
    return cache_dir() / "osv.sqlite3"


def leftovers() -> list[str]:
    return sorted(p.name for p in cache_dir().iterdir() if p.name != "osv.sqlite3")


def audit_num2words(run: Runner, tmp_path: Path) -> int:
    req = tmp_path / "r.txt"
    req.write_text("num2words==0.5.15\n")
    code, out, _ = run("audit", str(req), "--format", "json")
    assert json.loads(out)["results"][0]["verdict"] == "malicious"
    return code


def test_update_over_http_then_status_and_audit(osv_export: Export, run: Runner, tmp_path: Path) -> None:
    code, out, err = run("db", "update", "--osv-url", osv_export.url)
    assert code == 0, err
    assert "loaded 11,871 OSV records (MAL 9,213, PYSEC 2,658)" in out
    assert "12 withdrawn" in out
    assert "3 skipped" in out
    assert osv_export.statuses == [200]
    assert osv_export.conditional == [{}]
    code, out, _ = run("db", "status")
    assert code == 0
    assert osv_export.url in out
    assert "MAL 9,213, PYSEC 2,658" in out
    assert "fresh" in out
    code, out, _ = run("db", "status", "--format", "json")
    status = json.loads(out)
    assert status["records"] == 11871
    assert status["by_prefix"] == {"MAL": 9213, "PYSEC": 2658}
    assert status["stale"] is False
    assert status["etag"] == osv_export.etag
    assert audit_num2words(run, tmp_path) == 1
    assert leftovers() == []


def test_etag_304_does_not_rebuild(osv_export: Export, run: Runner) -> None:
    assert run("db", "update", "--osv-url", osv_export.url)[0] == 0
    before = db_path().stat()
    with Database.open(db_path()) as db:
        built_at = db.meta["built_at"]
    # Pretend the last check was long ago, so a 304 must refresh the age.
    with sqlite3.connect(db_path()) as conn:
        conn.execute("UPDATE meta SET value = '2020-01-01T00:00:00Z' WHERE key = 'updated_at'")
    conn.close()
    code, out, _ = run("db", "update", "--osv-url", osv_export.url)
    assert code == 0
    assert "unchanged" in out
    assert osv_export.statuses == [200, 304]
    assert osv_export.conditional[1] == {
        "If-None-Match": osv_export.etag,
        "If-Modified-Since": "Wed, 25 Nov 2026 10:00:00 GMT",
    }
    after = db_path().stat()
    assert after.st_ino == before.st_ino  # the same file: nothing was rebuilt
    with Database.open(db_path()) as db:
        assert db.meta["built_at"] == built_at
        assert db.meta["updated_at"] != "2020-01-01T00:00:00Z"
        assert not db.is_stale(__import__("datetime").timedelta(days=1))


@pytest.mark.parametrize(
    ("mode", "needle"), [("cut", "downloading the OSV export"), ("truncated", "not a readable zip archive")]
)
def test_interrupted_update_keeps_the_old_database(
    osv_export: Export, run: Runner, tmp_path: Path, real_db: Path, mode: str, needle: str
) -> None:
    inode = db_path().stat().st_ino
    osv_export.mode = mode
    code, _, err = run("db", "update", "--osv-url", osv_export.url)
    assert code == 3
    assert "database update failed" in err
    assert needle in err
    assert "the previous database (updated " in err
    assert "is unchanged and still usable" in err
    assert db_path().stat().st_ino == inode
    assert leftovers() == []
    assert audit_num2words(run, tmp_path) == 1


def test_unreachable_source_says_so_and_names_the_local_way(run: Runner) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, _, err = run("db", "update", "--osv-url", f"http://127.0.0.1:{port}/PyPI/all.zip")
    assert code == 3
    assert "cannot reach http://127.0.0.1" in err
    assert "no database was installed" in err
    assert "--osv-url /path/to/all.zip" in err
    assert "PIPVET_OSV_URL" in err
    assert not db_path().exists()


def test_http_error_status(osv_export: Export, run: Runner) -> None:
    code, _, err = run("db", "update", "--osv-url", osv_export.server.url_for("/missing.zip"))
    assert code == 3
    assert "HTTP 500" in err or "HTTP 404" in err


def test_local_path_and_file_url(run: Runner) -> None:
    if not OSV_ZIP.is_file():
        pytest.skip("shared OSV export missing")
    code, out, _ = run("db", "update", "--osv-url", str(OSV_ZIP))
    assert code == 0
    assert "11,871" in out
    code, out, _ = run("db", "update", "--osv-url", str(OSV_ZIP))
    assert code == 0
    assert "unchanged" in out
    code, out, _ = run("db", "update", "--osv-url", OSV_ZIP.as_uri())
    assert code == 0
    assert "unchanged" in out  # the file:// URL names the same file


def test_env_var_names_the_source(run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    export = make_export(
        tmp_path / "small.zip",
        [{"id": "MAL-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "versions": ["1"]}]}],
    )
    monkeypatch.setenv("PIPVET_OSV_URL", str(export))
    code, out, _ = run("db", "update")
    assert code == 0
    assert "loaded 1 OSV records (MAL 1)" in out


def test_missing_file(run: Runner, tmp_path: Path) -> None:
    code, _, err = run("db", "update", "--osv-url", str(tmp_path / "nope.zip"))
    assert code == 3
    assert f"cannot read the OSV export {tmp_path / 'nope.zip'}" in err
    assert "no database was installed" in err


def test_corrupt_zip_and_corrupt_member(run: Runner, tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 not really a zip" * 50)
    code, _, err = run("db", "update", "--osv-url", str(junk))
    assert code == 3
    assert "is not a readable zip archive" in err
    # A zip whose member fails its CRC check.
    good = tmp_path / "crc.zip"
    payload = json.dumps(
        {"id": "MAL-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "versions": ["1"]}]}
    )
    with zipfile.ZipFile(good, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("MAL-1.json", payload)
    data = bytearray(good.read_bytes())
    at = data.index(b'"MAL-1"')
    data[at + 1] = ord("X")
    good.write_bytes(bytes(data))
    code, _, err = run("db", "update", "--osv-url", str(good))
    assert code == 3
    assert "member MAL-1.json is corrupt" in err
    assert leftovers() == []


def test_bad_records_are_counted_not_fatal(run: Runner, tmp_path: Path) -> None:
    export = make_export(
        tmp_path / "mixed.zip",
        [
            {"id": "MAL-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "versions": ["1"]}]},
            "{ this is not json",
            {"affected": []},
            {
                "id": "PYSEC-1",
                "affected": [
                    {
                        "package": {"ecosystem": "PyPI", "name": "y"},
                        "ranges": [
                            {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "bad version!"}]}
                        ],
                    }
                ],
            },
        ],
    )
    code, out, err = run("db", "update", "--osv-url", str(export), "-v")
    assert code == 0
    assert "loaded 1 OSV records" in out
    assert "3 skipped" in out
    assert "not valid JSON" in err
    assert "'bad version!' is not PEP 440" in err


def test_export_without_records_does_not_replace_a_good_database(
    run: Runner, tmp_path: Path, real_db: Path
) -> None:
    empty = make_export(tmp_path / "empty.zip", ["not json"])
    code, _, err = run("db", "update", "--osv-url", str(empty))
    assert code == 3
    assert "contains no usable OSV records" in err
    assert "is unchanged and still usable" in err
    assert audit_num2words(run, tmp_path) == 1


def test_unwritable_cache_dir(run: Runner, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, _, err = run("db", "update", "--osv-url", str(OSV_ZIP), "--cache-dir", str(blocker / "cache"))
    assert code == 3
    assert f"cannot write to the cache directory {blocker / 'cache'}" in err
    assert "PIPVET_CACHE_DIR" in err


def test_status_without_database(run: Runner) -> None:
    code, _, err = run("db", "status")
    assert code == 3
    assert "no vulnerability database" in err
    assert "pipvet db update" in err


def test_status_reports_stale(run: Runner, real_db: Path) -> None:
    with sqlite3.connect(real_db) as conn:
        conn.execute("UPDATE meta SET value = '2026-01-01T00:00:00Z' WHERE key = 'updated_at'")
    conn.close()
    code, out, _ = run("db", "status")
    assert code == 0
    assert "STALE" in out
    assert "run `pipvet db update`" in out


def test_update_and_audit_as_subprocesses(osv_export: Export, tmp_path: Path) -> None:
    env = {**os.environ, "PIPVET_CACHE_DIR": str(tmp_path / "cache"), "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pipvet", "db", "update", "--osv-url", osv_export.url, "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    req = tmp_path / "requirements.txt"
    req.write_text("num2words==0.5.15\nidna==3.10\n")
    done = subprocess.run(
        [sys.executable, "-m", "pipvet", "audit", str(req)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "MAL-2025-6794" in done.stdout
    assert "\x1b[" not in done.stdout  # no colour when not a terminal


def test_progress_bar_path_and_unsupported_scheme(osv_export: Export, run: Runner, tmp_path: Path) -> None:
    from pipvet.vulndb.update import update_database

    outcome = update_database(tmp_path / "p" / "osv.sqlite3", osv_export.url, progress=True)
    assert outcome.changed
    assert outcome.stats is not None
    assert outcome.stats.records == 11871
    code, _, err = run("db", "update", "--osv-url", "ftp://127.0.0.1/all.zip")
    assert code == 2
    assert "unsupported scheme 'ftp'" in err


def test_credentials_in_the_source_url_are_never_printed(
    osv_export: Export, run: Runner, tmp_path: Path
) -> None:
    small = make_export(
        tmp_path / "small.zip",
        [{"id": "MAL-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "versions": ["1"]}]}],
    )
    osv_export.server.expect_request("/private/all.zip").respond_with_data(small.read_bytes())
    url = osv_export.server.url_for("/private/all.zip").replace("http://", "http://user:s3cret@")
    code, out, err = run("db", "update", "--osv-url", url)
    assert code == 0
    assert "****@127.0.0.1" in out
    code, status, _ = run("db", "status")
    code_json, status_json, _ = run("db", "status", "--format", "json")
    assert (code, code_json) == (0, 0)
    for text in (out, err, status, status_json):
        assert "s3cret" not in text


def test_unexpected_304_without_a_database(osv_export: Export, run: Runner) -> None:
    osv_export.server.expect_request("/always-304.zip").respond_with_data(b"", status=304)
    code, _, err = run("db", "update", "--osv-url", osv_export.server.url_for("/always-304.zip"))
    assert code == 3
    assert "304 Not Modified to a plain request" in err
    assert "no database was installed" in err


def test_ctrl_c_during_download_keeps_the_old_database(
    httpserver: HTTPServer, tmp_path: Path, real_db: Path
) -> None:
    """A subprocess is interrupted (SIGINT) while the server holds the download open halfway."""
    started, release = threading.Event(), threading.Event()

    def slow(request: Request) -> Response:
        def body() -> Iterator[bytes]:
            yield b"PK" + b"\0" * 65536
            started.set()
            release.wait(30)

        return Response(body(), headers={"Content-Length": "10000000"}, direct_passthrough=True)

    httpserver.expect_request("/slow.zip").respond_with_handler(slow)
    env = {**os.environ, "PIPVET_CACHE_DIR": str(cache_dir())}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipvet", "db", "update", "--osv-url", httpserver.url_for("/slow.zip")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert started.wait(30)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3
    assert "database update interrupted" in err
    assert "is unchanged and still usable" in err
    assert leftovers() == []
    with Database.open(db_path()) as db:
        assert db.lookup("num2words", "0.5.15")
