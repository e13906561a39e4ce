"""Shared test fixtures. Sockets are blocked except to loopback (see pyproject addopts)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
OSV_ZIP = SHARED / "data" / "osv" / "PyPI-all.zip"
POPULAR_JSON = SHARED / "data" / "popular" / "top-pypi-packages.json"
MALWARE_DIR = SHARED / "corpus" / "malware-dev"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-network",
        action="store_true",
        default=False,
        help="also run tests marked 'network' (they reach the real package index)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-network"):
        return
    skip = pytest.mark.skip(reason="needs --run-network")
    for item in items:
        if "network" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's own pipvet cache or configuration."""
    for var in (
        "PIPVET_CACHE_DIR",
        "PIPVET_OSV_URL",
        "PIPVET_INDEX_URL",
        "PIPVET_FORMAT",
        "PIPVET_FAIL_ON",
        "PIPVET_OFFLINE",
        "PIPVET_CONFIG",
        "NO_COLOR",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PIPVET_CACHE_DIR", str(tmp_path_factory.mktemp("pipvet-cache")))


@pytest.fixture
def osv_zip() -> Path:
    if not OSV_ZIP.is_file():
        pytest.skip(f"shared OSV export not found at {OSV_ZIP}")
    return OSV_ZIP
