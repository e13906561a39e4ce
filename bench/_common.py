"""Helpers shared by the benchmark scripts (they print figures; nothing here asserts)."""

from __future__ import annotations

import json
import resource
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


CPU_TIMES: list[float] = []
"""CPU seconds (user + system) of each timed child, in the order of the wall-clock figures."""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_runs(argv: Sequence[str], *, runs: int, env: dict[str, str], warmup: int = 2) -> list[float]:
    """Wall-clock seconds of ``runs`` whole-process runs, after ``warmup`` untimed ones.

    The CPU time of each timed run goes to :data:`CPU_TIMES` (a steadier figure on a busy machine).
    """
    times: list[float] = []
    CPU_TIMES.clear()
    for i in range(warmup + runs):
        cpu = _children_cpu()
        start = time.perf_counter()
        subprocess.run(list(argv), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if i >= warmup:
            times.append(time.perf_counter() - start)
            CPU_TIMES.append(_children_cpu() - cpu)
    return times


def describe(times: list[float]) -> str:
    spread = f"min {min(times):.3f}, max {max(times):.3f}, n={len(times)}"
    cpu = f"; CPU median {statistics.median(CPU_TIMES):.3f} s" if len(CPU_TIMES) == len(times) else ""
    return f"wall median {statistics.median(times):.3f} s ({spread}){cpu}"
