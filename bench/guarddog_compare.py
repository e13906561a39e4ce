"""pipvet vs GuardDog on the same local sdists: time per package and how many each flags.

GuardDog is installed into a throwaway venv outside the repository (``/work/cache/guarddog-venv``,
``pip install guarddog``); if that fails the comparison is skipped with a message. Both tools
run as one process per package on the top-N benign sdists (default 60) cached by
``bench/benign.py``. Wall-clock and CPU time (user+sys of the child) are reported: GuardDog's
start-up refreshes popular-name lists over the network when its bundled copies look stale, so
the bench marks them fresh to time the scan, not DNS time-outs.

A package counts as *flagged* by GuardDog when any ``threat-*`` rule matched, and by pipvet when
its verdict is not ``clean``. Prints figures; asserts nothing.

Usage: ``.venv/bin/python bench/guarddog_compare.py [--limit 60] [--venv PATH]``
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benign

DEFAULT_VENV = Path("/work/cache/guarddog-venv")


@dataclass(frozen=True, kw_only=True, slots=True)
class Timed:
    wall: float
    cpu: float
    stdout: str
    returncode: int


def timed(cmd: list[str]) -> Timed:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=benign.child_env())
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timed(wall=wall, cpu=cpu, stdout=proc.stdout, returncode=proc.returncode)


def ensure_guarddog(venv: Path) -> Path | None:
    exe = venv / "bin" / "guarddog"
    if exe.exists():
        return exe
    print(f"installing GuardDog into {venv} ...", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "guarddog"], check=True, capture_output=True
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"GuardDog could not be installed ({exc}); comparison skipped.")
        return None
    return exe if exe.exists() else None


def freshen_caches(venv: Path) -> None:
    """Mark GuardDog's bundled popular-package lists as just downloaded (no network at start-up)."""
    for path in venv.glob("lib/python*/site-packages/guarddog/analyzer/metadata/resources/*.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and "downloaded_timestamp" in data:
            data["downloaded_timestamp"] = int(time.time())
            path.write_text(json.dumps(data), encoding="utf-8")


def guarddog_threats(stdout: str) -> list[str] | None:
    try:
        doc = json.loads(stdout)
    except ValueError:
        return None
    results = doc.get("results", {}) if isinstance(doc, dict) else {}
    return sorted(rule for rule, hits in results.items() if rule.startswith("threat-") and hits)


def pipvet_verdict(stdout: str) -> str:
    try:
        return str(json.loads(stdout)["results"][0]["verdict"])
    except (ValueError, KeyError, IndexError):
        return "?"


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000 if values else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=60, help="top-N benign sdists (default 60)")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--cache", type=Path, default=benign.DEFAULT_CACHE)
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per package")
    args = parser.parse_args(argv)

    sdists: list[tuple[str, Path]] = []
    for project in benign.read_projects():
        found = benign.fetch(args.cache, project, "sdist")
        if found is not None:
            sdists.append((project.name, found))
        if len(sdists) >= args.limit:
            break
    if not sdists:
        print("no benign sdists cached; run bench/benign.py first")
        return 0
    exe = ensure_guarddog(args.venv)
    if exe is None:
        return 0
    freshen_caches(args.venv)
    version = subprocess.run(
        [str(exe), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    pipvet = str(Path(sys.executable).parent / "pipvet")

    gd_wall: list[float] = []
    gd_cpu: list[float] = []
    pv_wall: list[float] = []
    pv_cpu: list[float] = []
    gd_flagged: list[str] = []
    pv_flagged: list[str] = []
    gd_failed: list[str] = []
    timed([str(exe), "pypi", "scan", str(sdists[0][1]), "--output-format", "json"])  # warm-up:
    timed([pipvet, "inspect", "-q", "--format", "json", str(sdists[0][1])])  # bytecode caches
    for name, path in sdists:
        gd = timed([str(exe), "pypi", "scan", str(path), "--output-format", "json"])
        pv = timed([pipvet, "inspect", "-q", "--format", "json", str(path)])
        threats = guarddog_threats(gd.stdout)
        verdict = pipvet_verdict(pv.stdout)
        gd_wall.append(gd.wall)
        gd_cpu.append(gd.cpu)
        pv_wall.append(pv.wall)
        pv_cpu.append(pv.cpu)
        if threats is None:
            gd_failed.append(name)
        elif threats:
            gd_flagged.append(name)
        if verdict != "clean":
            pv_flagged.append(name)
        if args.verbose:
            print(
                f"{name:<28} guarddog {gd.wall * 1000:7.0f} ms {','.join(threats or []) or '-':<50.50} "
                f"pipvet {pv.wall * 1000:6.0f} ms {verdict}"
            )
    start = time.perf_counter()
    subprocess.run(
        [pipvet, "inspect", "-q", "--format", "json", *(str(p) for _, p in sdists)], capture_output=True
    )
    one_call = (time.perf_counter() - start) / len(sdists)

    n = len(sdists)
    print(f"\n== GuardDog {version} vs pipvet, one process per package, {n} benign sdists")
    print(
        f"  GuardDog  wall median {median_ms(gd_wall):8.1f} ms  max {max(gd_wall) * 1000:7.0f} ms  ", end=""
    )
    print(
        f"cpu median {median_ms(gd_cpu):8.1f} ms   flags {len(gd_flagged)}/{n} "
        f"({100 * len(gd_flagged) / n:.0f}%)"
    )
    print(
        f"  pipvet    wall median {median_ms(pv_wall):8.1f} ms  max {max(pv_wall) * 1000:7.0f} ms  ", end=""
    )
    print(
        f"cpu median {median_ms(pv_cpu):8.1f} ms   flags {len(pv_flagged)}/{n} "
        f"({100 * len(pv_flagged) / n:.0f}%)"
    )
    print(
        f"  speed-up per package (median wall): {median_ms(gd_wall) / max(median_ms(pv_wall), 1e-9):.1f}x, "
        f"(median cpu): {median_ms(gd_cpu) / max(median_ms(pv_cpu), 1e-9):.1f}x"
    )
    print(
        f"  pipvet, all {n} in one invocation: {one_call * 1000:.1f} ms per archive = "
        f"{median_ms(gd_wall) / max(one_call * 1000, 1e-9):.0f}x GuardDog's median"
    )
    if gd_failed:
        print(f"  GuardDog produced no JSON for: {', '.join(gd_failed)}")
    if gd_flagged:
        print(f"  GuardDog flags: {', '.join(gd_flagged)}")
    if pv_flagged:
        print(f"  pipvet flags:   {', '.join(pv_flagged)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
