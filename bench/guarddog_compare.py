"""pipvet vs GuardDog on the same local sdists: time per package and how many each flags.

GuardDog is installed into a throwaway venv outside the repository (``/work/cache/guarddog-venv``,
``pip install guarddog``); if that fails the comparison is skipped with a message. Both tools
run as one process per package on the top-N benign sdists (default 60) cached by
``bench/benign.py``. Wall-clock and CPU time (user+sys of the child) are reported: GuardDog's
start-up refreshes popular-name lists over the network when its bundled copies look stale, so
the bench marks them fresh to time the scan, not DNS time-outs.

A package counts as *flagged* by GuardDog when any ``threat-*`` rule matched, and by pipvet when
its verdict is not ``clean``. Prints figures; asserts nothing.

Two speed figures per corpus, like for like:

* *per package*: the median of one process per archive, for both tools;
* *per archive in one invocation*: pipvet's wall time for one ``pipvet inspect`` over all the
  archives, divided by their number, against GuardDog's mean per archive (GuardDog scans one
  package per process, so its total over the same archives is its cost for the corpus).

With ``--malware N`` the same is measured on a fixed random sample of N archives of the malware
corpus (read as data by both tools: GuardDog unpacks into a temporary folder and runs its static
rules, nothing is executed), plus pipvet's one invocation over the whole malware corpus.

Usage: ``.venv/bin/python bench/guarddog_compare.py [--limit 60] [--malware 60] [--venv PATH]``
"""

from __future__ import annotations

import argparse
import json
import random
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


MALWARE = benign.SHARED / "corpus" / "malware-dev"


def compare(label: str, archives: list[tuple[str, Path]], exe: Path, pipvet: str, verbose: bool) -> float:
    """Time both tools on ``archives`` and print the figures; returns pipvet's per-archive time
    in one invocation (seconds)."""
    gd_wall: list[float] = []
    gd_cpu: list[float] = []
    pv_wall: list[float] = []
    pv_cpu: list[float] = []
    gd_flagged: list[str] = []
    pv_flagged: list[str] = []
    gd_failed: list[str] = []
    for name, path in archives:
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
        if verbose:
            print(
                f"{name:<28.28} guarddog {gd.wall * 1000:7.0f} ms {','.join(threats or []) or '-':<50.50} "
                f"pipvet {pv.wall * 1000:6.0f} ms {verdict}"
            )
    one_call = one_invocation(pipvet, [p for _, p in archives])

    n = len(archives)
    gd_mean = sum(gd_wall) / n
    print(f"\n== GuardDog vs pipvet on {n} {label}")
    for tool, wall, cpu, flagged in (
        ("GuardDog", gd_wall, gd_cpu, gd_flagged),
        ("pipvet", pv_wall, pv_cpu, pv_flagged),
    ):
        print(
            f"  {tool:<9} one process each: wall median {median_ms(wall):7.1f} ms, mean "
            f"{sum(wall) / n * 1000:7.1f} ms, max {max(wall) * 1000:6.0f} ms; cpu median "
            f"{median_ms(cpu):7.1f} ms; flags {len(flagged)}/{n} ({100 * len(flagged) / n:.0f}%)"
        )
    print(
        f"  speed-up per package (median wall): {median_ms(gd_wall) / max(median_ms(pv_wall), 1e-9):.1f}x, "
        f"(median cpu): {median_ms(gd_cpu) / max(median_ms(pv_cpu), 1e-9):.1f}x"
    )
    print(
        f"  pipvet, all {n} in one invocation: {one_call * 1000:.1f} ms per archive = "
        f"{gd_mean / max(one_call, 1e-9):.1f}x GuardDog's mean per archive ({gd_mean * 1000:.0f} ms)"
    )
    if gd_failed:
        print(f"  GuardDog produced no JSON for: {', '.join(gd_failed)}")
    if gd_flagged:
        print(f"  GuardDog flags: {', '.join(gd_flagged)}")
    if pv_flagged and len(pv_flagged) <= 20:
        print(f"  pipvet flags:   {', '.join(pv_flagged)}")
    return gd_mean


def one_invocation(pipvet: str, paths: list[Path]) -> float:
    """Seconds per archive of one ``pipvet inspect`` over all of ``paths``."""
    start = time.perf_counter()
    subprocess.run(
        [pipvet, "inspect", "-q", "--format", "json", *(str(p) for p in paths)],
        capture_output=True,
        check=False,
        env=benign.child_env(),
    )
    return (time.perf_counter() - start) / max(len(paths), 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=60, help="top-N benign sdists (default 60)")
    parser.add_argument(
        "--malware", type=int, default=0, metavar="N", help="also a fixed sample of N malware archives"
    )
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
    print(f"GuardDog {version}")
    pipvet = str(Path(sys.executable).parent / "pipvet")
    timed([str(exe), "pypi", "scan", str(sdists[0][1]), "--output-format", "json"])  # warm-up:
    timed([pipvet, "inspect", "-q", "--format", "json", str(sdists[0][1])])  # bytecode caches
    compare("popular sdists", sdists, exe, pipvet, args.verbose)

    if args.malware and MALWARE.is_dir():
        corpus = sorted(p for p in MALWARE.glob("*/*/*") if p.is_file())
        sample = random.Random(0).sample(corpus, min(args.malware, len(corpus)))
        named = [(str(p.relative_to(MALWARE).parent), p) for p in sample]
        gd_mean = compare("malware archives (fixed random sample)", named, exe, pipvet, args.verbose)
        whole = one_invocation(pipvet, corpus)
        print(
            f"  pipvet, the whole malware corpus ({len(corpus)}) in one invocation: "
            f"{whole * 1000:.1f} ms per archive = {gd_mean / max(whole, 1e-9):.0f}x GuardDog's mean "
            "per archive on the sample"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
