"""Detection quality and speed of ``pipvet inspect`` on real malware and popular packages.

Prints figures; asserts nothing. Never executes anything from the corpora: archives are read as
bytes by the engine, exactly as ``pipvet inspect`` does.

* Malware: every archive under ``../shared/corpus/malware-dev/<project>/<version>/<file>``.
* Benign: the sdist and the wheel pip picks here for each project of ``benign-top150.tsv``,
  downloaded once into ``/work/cache/benign`` (see ``bench/benign.py``).

Reports verdict counts per corpus (errors included), the rules that fire on benign packages,
time per archive (median, p90, total) and MB/s in-process, and one process per package for a
sample (default: the top-60 sdists), plus the same sample in a single invocation.

Usage::

    .venv/bin/python bench/detection.py                 # everything
    .venv/bin/python bench/detection.py --malware 300 --benign 30 --processes 10   # quick
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benign

from pipvet.analysis.context import FileContext, FileKind, PackageContext, Rule
from pipvet.analysis.engine import analyze
from pipvet.models import Finding, Severity, Verdict

REPO = Path(__file__).resolve().parent.parent
MALWARE = REPO.parent / "shared" / "corpus" / "malware-dev"


@dataclass(frozen=True, kw_only=True, slots=True)
class Sample:
    corpus: str
    label: str
    path: Path
    verdict: Verdict
    score: int
    rules: tuple[str, ...]
    seconds: float
    size: int
    uncompressed: int


def malware_files(limit: int | None) -> list[Path]:
    if not MALWARE.is_dir():
        return []
    files = sorted(p for p in MALWARE.glob("*/*/*") if p.is_file())
    return files[:limit] if limit is not None else files


def benign_files(cache: Path, limit: int | None, download: bool) -> list[tuple[str, Path]]:
    projects = benign.read_projects()[:limit]
    if download:
        benign.ensure(cache, projects, quiet=True)
    out: list[tuple[str, Path]] = []
    for p in projects:
        for kind in benign.KINDS:
            found = benign.cached(cache, p, kind)
            if found is not None:
                out.append((f"{p.name} {kind}", found))
    return out


class RuleClock:
    """Times each rule, and the parsing a rule would otherwise trigger, across a whole run.

    ``timer`` is the clock (wall by default; ``time.process_time`` for CPU). Time a subclass
    charges apart while a rule runs (it adds it to ``inner``) is not counted for that rule.
    """

    def __init__(self, timer: Callable[[], float] = time.perf_counter) -> None:
        from pipvet.analysis.rules import ALL_RULES

        self.timer = timer
        self.seconds: dict[str, float] = defaultdict(float)
        self.inner = 0.0
        self.rules: list[Rule] = [self._wrap(rule) for rule in ALL_RULES]

    def _wrap(self, rule: Rule) -> Rule:
        clock = self

        class Timed:
            id = rule.id
            title = rule.title
            severity = rule.severity
            rationale = rule.rationale

            def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
                timer = clock.timer
                if file.kind is FileKind.PYTHON and not file.parsed:
                    start = timer()
                    _ = file.tree
                    clock.seconds["(parse)"] += timer() - start
                clock.inner = 0.0
                start = timer()
                found = list(rule.check(file, package))
                clock.seconds[rule.id] += timer() - start - clock.inner
                return found

        return Timed()

    def report(self, total: float) -> None:
        print("\n== time per rule (in-process, all corpora; parsing counted once under (parse))")
        for name, secs in sorted(self.seconds.items(), key=lambda kv: -kv[1])[:25]:
            print(f"  {name:<34}{secs:9.2f} s  {100 * secs / total if total else 0:5.1f}%")


CLOCK: RuleClock | None = None


def run_one(corpus: str, label: str, path: Path) -> Sample:
    start = time.perf_counter()
    analysis = analyze(path, rules=CLOCK.rules if CLOCK else None)
    seconds = time.perf_counter() - start
    r = analysis.result
    rules = tuple(sorted({f.rule for f in r.findings if f.severity is not Severity.INFO}))
    return Sample(
        corpus=corpus,
        label=label,
        path=path,
        verdict=r.verdict,
        score=r.score,
        rules=rules,
        seconds=seconds,
        size=path.stat().st_size,
        uncompressed=analysis.uncompressed,
    )


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def timing_line(seconds: Sequence[float], sizes: Sequence[int]) -> str:
    total = sum(seconds)
    mb = sum(sizes) / 1e6
    return (
        f"median {statistics.median(seconds) * 1000:.1f} ms, p90 {pct(seconds, 0.9) * 1000:.1f} ms, "
        f"max {max(seconds) * 1000:.0f} ms, total {total:.2f} s, {mb / total if total else 0:.1f} MB/s "
        f"({mb:.1f} MB compressed)"
    )


def report_corpus(name: str, samples: list[Sample], figures: dict[str, object]) -> None:
    if not samples:
        print(f"\n== {name}: no samples (corpus missing?)")
        return
    counts = Counter(s.verdict.value for s in samples)
    n = len(samples)
    print(f"\n== {name}: {n} archives")
    for v in Verdict:
        c = counts.get(v.value, 0)
        print(f"  {v.value:<11}{c:>6}  {100 * c / n:5.1f}%")
    at_least = counts.get("malicious", 0) + counts.get("suspicious", 0)
    print(f"  at least suspicious: {at_least} ({100 * at_least / n:.1f}%)")
    print("  time in-process: " + timing_line([s.seconds for s in samples], [s.size for s in samples]))
    figures[name] = {
        "count": n,
        "verdicts": dict(counts),
        "median_ms": round(statistics.median(s.seconds for s in samples) * 1000, 2),
        "p90_ms": round(pct([s.seconds for s in samples], 0.9) * 1000, 2),
        "total_s": round(sum(s.seconds for s in samples), 3),
    }


def report_benign_rules(samples: list[Sample]) -> None:
    fired: dict[str, list[str]] = defaultdict(list)
    for s in samples:
        for rule in s.rules:
            fired[rule].append(s.label)
    print("\n== rules firing on benign packages (non-info findings)")
    if not fired:
        print("  none")
    for rule, labels in sorted(fired.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        shown = ", ".join(labels[:12]) + (f" (+{len(labels) - 12} more)" if len(labels) > 12 else "")
        print(f"  {rule:<34}{len(labels):>4}  {shown}")
    flagged = [s for s in samples if s.verdict is not Verdict.CLEAN]
    if flagged:
        print("\n== benign packages not clean")
        for s in flagged:
            print(f"  {s.verdict.value:<11}{s.score:>4}  {s.label:<40} {', '.join(s.rules)}")


def worst_misses(samples: list[Sample], limit: int = 15) -> None:
    missed = [s for s in samples if s.verdict is Verdict.CLEAN]
    if missed:
        print(f"\n== malware judged clean (first {min(limit, len(missed))} of {len(missed)})")
        for s in missed[:limit]:
            print(f"  {s.label}")


def pipvet_exe() -> str:
    candidate = Path(sys.executable).parent / "pipvet"
    return str(candidate) if candidate.exists() else "pipvet"


def _run_timed(cmd: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU (user+sys) seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=False, env=benign.child_env())
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def per_process(paths: list[Path], figures: dict[str, object]) -> None:
    """One ``pipvet inspect`` process per package, then the same files in one invocation."""
    if not paths:
        return
    exe = pipvet_exe()
    _run_timed([exe, "inspect", "-q", "--format", "json", str(paths[0])])  # warm the bytecode cache
    walls: list[float] = []
    cpus: list[float] = []
    for path in paths:
        wall, cpu = _run_timed([exe, "inspect", "-q", "--format", "json", str(path)])
        walls.append(wall)
        cpus.append(cpu)
    print(f"\n== one process per package ({len(paths)} benign sdists, start-up included)")
    print(
        f"  wall median {statistics.median(walls) * 1000:.1f} ms, p90 {pct(walls, 0.9) * 1000:.1f} ms, "
        f"max {max(walls) * 1000:.0f} ms, total {sum(walls):.2f} s; "
        f"cpu median {statistics.median(cpus) * 1000:.1f} ms"
    )
    whole, whole_cpu = _run_timed([exe, "inspect", "-q", "-j", "1", "--format", "json", *map(str, paths)])
    par, _ = _run_timed([exe, "inspect", "-q", "--format", "json", *map(str, paths)])
    n = len(paths)
    print(
        f"  all {n} in one invocation: {whole:.2f} s = {whole / n * 1000:.1f} ms per archive "
        f"(cpu {whole_cpu / n * 1000:.1f} ms); with one worker per CPU: {par:.2f} s = "
        f"{par / n * 1000:.1f} ms per archive"
    )
    version_wall, version_cpu = _run_timed([exe, "--version"])
    print(
        f"  bare start-up (pipvet --version): {version_wall * 1000:.1f} ms (cpu {version_cpu * 1000:.1f} ms)"
    )
    figures["per_process"] = {
        "count": n,
        "median_ms": round(statistics.median(walls) * 1000, 1),
        "median_cpu_ms": round(statistics.median(cpus) * 1000, 1),
        "p90_ms": round(pct(walls, 0.9) * 1000, 1),
        "one_invocation_ms_per_archive": round(whole / n * 1000, 1),
        "parallel_ms_per_archive": round(par / n * 1000, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--malware", type=int, default=None, metavar="N", help="only the first N malware archives"
    )
    parser.add_argument(
        "--benign", type=int, default=None, metavar="N", help="only the top N benign projects"
    )
    parser.add_argument(
        "--processes", type=int, default=60, metavar="N", help="top-N sdists timed one process each"
    )
    parser.add_argument("--cache", type=Path, default=benign.DEFAULT_CACHE)
    parser.add_argument("--no-download", action="store_true", help="use only what is already cached")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--per-rule", action="store_true", help="time every rule and the parsing (for tuning speed)"
    )
    args = parser.parse_args(argv)
    global CLOCK
    if args.per_rule:
        CLOCK = RuleClock()

    figures: dict[str, object] = {}
    import pipvet

    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    print(
        f"pipvet {pipvet.__version__} at {commit.stdout.strip() or '?'}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    from pipvet.analysis.rules import ALL_RULES

    print(f"{len(ALL_RULES)} rules registered")

    malware = [run_one("malware", str(p.relative_to(MALWARE)), p) for p in malware_files(args.malware)]
    report_corpus("malware-dev", malware, figures)
    worst_misses(malware)
    if malware:
        files = [str(s.path) for s in malware]
        wall, cpu = _run_timed([pipvet_exe(), "inspect", "-q", "--format", "json", *files])
        print(
            f"  whole corpus in one pipvet invocation (one worker per CPU): {wall:.1f} s = "
            f"{wall / len(files) * 1000:.1f} ms per archive (cpu {cpu / len(files) * 1000:.1f} ms)"
        )
        figures["malware_one_invocation_ms_per_archive"] = round(wall / len(files) * 1000, 2)

    pairs = benign_files(args.cache, args.benign, download=not args.no_download)
    benign_samples = [run_one("benign", label, path) for label, path in pairs]
    for kind in benign.KINDS:
        subset = [s for s in benign_samples if s.label.endswith(kind)]
        report_corpus(f"benign {kind}s", subset, figures)
    report_benign_rules(benign_samples)

    if CLOCK is not None:
        CLOCK.report(sum(x.seconds for x in malware) + sum(x.seconds for x in benign_samples))
    sdists = [path for label, path in pairs if label.endswith("sdist")][: args.processes]
    per_process(sdists, figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
