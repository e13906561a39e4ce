"""Helpers shared by the benchmark scripts (they print figures; nothing here asserts)."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
OSV_ZIP = SHARED / "data" / "osv" / "PyPI-all.zip"
POPULAR_JSON = SHARED / "data" / "popular" / "top-pypi-packages.json"
PIPVET = Path(sys.executable).parent / "pipvet"


def popular_names(count: int) -> list[str]:
    data = json.loads(POPULAR_JSON.read_text(encoding="utf-8"))
    return [str(row["project"]) for row in data["rows"][:count]]


def timed_runs(argv: Sequence[str], *, runs: int, env: dict[str, str], warmup: int = 2) -> list[float]:
    """Wall-clock seconds of ``runs`` whole-process runs, after ``warmup`` untimed ones."""
    times: list[float] = []
    for i in range(warmup + runs):
        start = time.perf_counter()
        subprocess.run(list(argv), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return times


def describe(times: list[float]) -> str:
    spread = f"min {min(times):.3f}, max {max(times):.3f}, n={len(times)}"
    return f"median {statistics.median(times):.3f} s ({spread})"
