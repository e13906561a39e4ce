"""Whole-process time of `pipvet audit` on 1,000 pinned requirements, warm (target <= 0.3 s).

Builds a database from the shared OSV export in a temporary cache dir, writes a requirements
file with the 1,000 most-downloaded project names pinned to made-up versions (each line with a
sha256 hash option, as in a real lock; a few known-vulnerable pins included), then runs
`pipvet audit` several times as a new process and prints the median.

Usage: .venv/bin/python bench/audit_speed.py [--runs N] [--count N]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
from pathlib import Path

from _common import OSV_ZIP, PIPVET, describe, popular_names, timed_runs

from pipvet.vulndb.update import update_database

KNOWN = ["django==3.2.0", "requests==2.19.1", "pyyaml==5.3", "num2words==0.5.15"]


def requirements(count: int) -> str:
    lines = list(KNOWN)
    for i, name in enumerate(popular_names(count)):
        if len(lines) >= count:
            break
        if any(line.split("==")[0] == name.lower() for line in KNOWN):
            continue
        version = f"{1 + i % 7}.{i % 13}.{i % 5}"
        digest = hashlib.sha256(f"{name}-{version}".encode()).hexdigest()
        lines.append(f"{name}=={version} \\\n    --hash=sha256:{digest}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pipvet-bench-") as tmp:
        cache = Path(tmp) / "cache"
        update_database(cache / "osv.sqlite3", str(OSV_ZIP))
        req = Path(tmp) / "requirements.txt"
        req.write_text(requirements(args.count), encoding="utf-8")
        env = {**os.environ, "PIPVET_CACHE_DIR": str(cache), "NO_COLOR": "1"}
        print(f"{args.count} pinned requirements, database from {OSV_ZIP.name}")
        for fmt in ("table", "json"):
            argv = [
                str(PIPVET),
                "audit",
                str(req),
                "--format",
                fmt,
                "--output",
                str(Path(tmp) / f"out.{fmt}"),
            ]
            print(f"pipvet audit --format {fmt}: {describe(timed_runs(argv, runs=args.runs, env=env))}")
        baseline = timed_runs([str(PIPVET), "--version"], runs=args.runs, env=env)
        print(f"pipvet --version (start-up floor): {describe(baseline)}")
    print("target: audit <= 0.3 s")


if __name__ == "__main__":
    main()
