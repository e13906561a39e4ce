"""Fixtures for end-to-end tests: the shared OSV export served on 127.0.0.1, a built database."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from integration.osv_helpers import OSV_ZIP, Export, Runner, cache_dir


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    return ("127.0.0.1", 0)


@pytest.fixture
def osv_export(httpserver: HTTPServer) -> Export:
    if not OSV_ZIP.is_file():
        pytest.skip(f"shared OSV export not found at {OSV_ZIP}")
    data = OSV_ZIP.read_bytes()
    export = Export(server=httpserver, data=data, etag='"' + hashlib.sha256(data).hexdigest()[:16] + '"')
    httpserver.expect_request(export.path).respond_with_handler(export.handle)
    return export


@pytest.fixture(scope="session")
def built_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared export built once per session (copied into each test's cache by ``real_db``)."""
    if not OSV_ZIP.is_file():
        pytest.skip(f"shared OSV export not found at {OSV_ZIP}")
    from pipvet.vulndb.update import update_database

    path = tmp_path_factory.mktemp("built") / "osv.sqlite3"
    update_database(path, str(OSV_ZIP))
    return path


@pytest.fixture
def real_db(built_db: Path) -> Path:
    """This test's cache dir, holding a fresh copy of the database built from the shared export."""
    target = cache_dir() / "osv.sqlite3"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(built_db, target)
    from pipvet.vulndb.store import Database

    with Database.open(target) as db:
        db.touch()  # the copy is "updated now", whatever the session's age
    return target


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Runner:
    """Run ``pipvet.cli.main`` in-process; returns (exit code, stdout, stderr)."""
    from pipvet.cli import main

    def runner(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return runner
