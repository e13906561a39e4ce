"""How long does a single ``pipvet`` process take to start, and what does it spend that time on?

Times whole-process runs (wall clock and CPU time of the child, median of ``--runs``) of:

* ``python -c pass`` (the interpreter's own floor, with and without ``site``),
* ``python -c "import click"`` (the command-line library pipvet is built on),
* ``pipvet --version``,
* ``pipvet inspect -q --format json DIR`` on a folder holding one small ``.py`` file,

and of ``pipvet inspect`` on any archives given with ``--archive``,
then prints the ten modules with the largest cumulative import time (``python -X importtime``)
on the ``inspect`` path. Issue 4's target is one ``pipvet inspect`` process per package at least
10x faster than GuardDog's; start-up is the floor of that figure.

On a busy machine wall time swings; ``--instructions`` also counts the instructions each command
executes under ``valgrind --tool=callgrind`` (if installed): a figure the load does not move.

Bytecode is cached first and the children run with ``PYTHONDONTWRITEBYTECODE`` unset: an
installed pipvet has its ``.pyc`` files (pip compiles them at install), and recompiling every
module from source on each run would measure the compiler, not pipvet. Prints figures; asserts
nothing.

Usage: ``.venv/bin/python bench/startup.py [--runs 21] [--archive SDIST ...] [--instructions]``
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import CPU_TIMES, PIPVET, REPO, timed_runs

PYTHON = sys.executable
SAMPLE = '"""A tiny module."""\n\nimport os\n\n\ndef where() -> str:\n    return os.getcwd()\n'


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    env["NO_COLOR"] = "1"
    return env


def cache_bytecode() -> None:
    """Write the ``.pyc`` files an installed pipvet would have."""
    compileall.compile_dir(str(REPO / "src" / "pipvet"), quiet=1)


def import_times(argv: list[str], env: dict[str, str], top: int) -> list[tuple[int, int, str]]:
    """(cumulative us, self us, module) of the ``top`` slowest imports of one run."""
    proc = subprocess.run(
        [PYTHON, "-X", "importtime", *argv], env=env, capture_output=True, text=True, check=False
    )
    rows: list[tuple[int, int, str]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line[len("import time:") :].split("|")
        try:
            self_us, cumulative_us = int(parts[0]), int(parts[1])
        except ValueError:
            continue  # the header line
        rows.append((cumulative_us, self_us, parts[2].rstrip()))
    rows.sort(reverse=True)
    return rows[:top]


def instructions(argv: list[str], env: dict[str, str]) -> int | None:
    """Instructions one run executes, counted by callgrind (``None`` without valgrind)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    proc = subprocess.run(
        [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    found = re.search(r"Collected : (\d+)", proc.stderr)
    return int(found.group(1)) if found else None


def line(label: str, times: list[float]) -> str:
    wall = statistics.median(times) * 1000
    cpu = statistics.median(CPU_TIMES) * 1000
    return f"{label:<44} wall median {wall:6.1f} ms (min {min(times) * 1000:5.1f})  CPU median {cpu:6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="timed runs per command (default 21)")
    parser.add_argument("--top", type=int, default=10, help="how many imports to list (default 10)")
    parser.add_argument(
        "--archive", type=Path, action="append", default=[], help="also time `pipvet inspect` on this archive"
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count instructions under valgrind (slow, load-proof)",
    )
    args = parser.parse_args()

    cache_bytecode()
    env = child_env()
    with tempfile.TemporaryDirectory(prefix="pipvet-startup-") as tmp:
        folder = Path(tmp) / "tiny"
        folder.mkdir()
        (folder / "tiny.py").write_text(SAMPLE, encoding="utf-8")
        inspect_argv = ["inspect", "-q", "--format", "json", str(folder)]
        commands: list[tuple[str, list[str]]] = [
            ("python -c pass", [PYTHON, "-c", "pass"]),
            ("python -S -c pass (no site)", [PYTHON, "-S", "-c", "pass"]),
            ("python -c 'import click'", [PYTHON, "-c", "import click"]),
            ("pipvet --version", [str(PIPVET), "--version"]),
            ("pipvet inspect -q --format json DIR", [str(PIPVET), *inspect_argv]),
        ]
        commands += [
            (f"pipvet inspect ... {archive.name}"[:44], [str(PIPVET), *inspect_argv[:-1], str(archive)])
            for archive in args.archive
        ]
        print(f"{args.runs} runs each, after 2 warm-up runs; Python {sys.version.split()[0]}")
        for label, argv in commands:
            print(line(label, timed_runs(argv, runs=args.runs, env=env)))
        if args.instructions:
            print("\ninstructions executed (callgrind, one run each):")
            for label, argv in commands:
                count = instructions(argv, env)
                shown = f"{count / 1e6:8.1f} M" if count is not None else "     n/a (no valgrind)"
                print(f"  {label:<44} {shown}")
        print(f"\ntop {args.top} cumulative imports of `python -m pipvet {' '.join(inspect_argv[:-1])} DIR`:")
        for cumulative, self_us, module in import_times(["-m", "pipvet", *inspect_argv], env, args.top):
            print(f"  {cumulative / 1000:7.1f} ms cumulative {self_us / 1000:6.1f} ms self  {module}")


if __name__ == "__main__":
    main()
