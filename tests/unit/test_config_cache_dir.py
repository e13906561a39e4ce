"""The default cache folder: the Linux fast path gives exactly what platformdirs gives."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from platformdirs import user_cache_dir

from pipvet.config import _xdg_cache_dir, default_cache_dir

ENVIRONMENTS = [
    {"XDG_CACHE_HOME": "/srv/cache", "HOME": "/home/ann"},
    {"XDG_CACHE_HOME": "/srv/cache/", "HOME": "/home/ann"},
    {"HOME": "/home/ann"},
    {"HOME": "/home/ann/"},
    {"HOME": "/"},
    {"HOME": "//net/home"},
    {"XDG_CACHE_HOME": "", "HOME": "/home/ann"},
]


@pytest.mark.skipif(sys.platform != "linux", reason="the fast path is for Linux only")
@pytest.mark.parametrize("env", ENVIRONMENTS, ids=lambda env: repr(env))
def test_fast_path_agrees_with_platformdirs(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("XDG_CACHE_HOME", "HOME", "PIPVET_CACHE_DIR", "ANDROID_DATA"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    expected = Path(user_cache_dir("pipvet", appauthor=False))
    assert _xdg_cache_dir() == expected
    assert default_cache_dir() == expected


@pytest.mark.parametrize(
    "env",
    [
        {"XDG_CACHE_HOME": "relative/cache", "HOME": "/home/ann"},
        {"HOME": "relative"},
        {"ANDROID_DATA": "/data"},
    ],
    ids=lambda env: repr(env),
)
def test_unclear_cases_are_left_to_platformdirs(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("XDG_CACHE_HOME", "HOME", "ANDROID_DATA"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("HOME", env.get("HOME", "/home/ann"))
    assert _xdg_cache_dir() is None


def test_pipvet_cache_dir_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PIPVET_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
