"""Time to build the vulnerability database from the shared OSV export (target <= 10 s).

Each run is a new `pipvet db update --osv-url <zip>` process into an empty cache dir, so nothing
is cached between runs. Usage: .venv/bin/python bench/db_build.py [--runs N] [--zip PATH]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
from pathlib import Path

from _common import CPU_TIMES, OSV_ZIP, PIPVET, describe, timed_runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--zip", type=Path, default=OSV_ZIP)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pipvet-bench-") as tmp:
        times: list[float] = []
        cpu: list[float] = []
        for i in range(args.runs):
            cache = Path(tmp) / f"run{i}"
            env = {**os.environ, "PIPVET_CACHE_DIR": str(cache)}
            argv = [str(PIPVET), "db", "update", "--osv-url", str(args.zip), "--quiet"]
            times.extend(timed_runs(argv, runs=1, env=env, warmup=0))
            cpu.extend(CPU_TIMES)
        db = Path(tmp) / "run0" / "osv.sqlite3"
        with sqlite3.connect(db) as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        conn.close()
        size = db.stat().st_size
    print(f"OSV export: {args.zip} ({args.zip.stat().st_size / 1e6:.1f} MB zipped)")
    print(f"records: {meta['records']} {meta['by_prefix']}; skipped {meta['skipped']}")
    print(f"database: {size / 1e6:.1f} MB")
    CPU_TIMES[:] = cpu
    print(f"db build (whole process, empty cache dir): {describe(times)}; target <= 10 s")


if __name__ == "__main__":
    main()
