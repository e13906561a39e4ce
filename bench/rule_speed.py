"""In-process CPU time of the rules over the top-N benign sdists, parsing and facts apart.

Prints figures; asserts nothing. CPU time (``time.process_time``), not wall-clock, so that a
machine shared with other work still gives comparable numbers; each figure is the best of
``--rounds`` runs. Parsing and the shared facts walk are timed apart ("(parse)", "(facts)")
instead of being charged to whichever rule asks first, and the text-level rules (every family
but execution, imports, install and metadata) are summed apart.

Usage::

    .venv/bin/python bench/rule_speed.py                    # top-60 sdists
    .venv/bin/python bench/rule_speed.py --only httpx --rounds 5
    PYTHONPATH=/elsewhere/src .venv/bin/python bench/rule_speed.py   # another checkout, to compare
"""

from __future__ import annotations

import argparse
import ast
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benign
import detection

from pipvet.analysis import facts as facts_module
from pipvet.analysis.engine import analyze

NOT_TEXT = ("PV-EXE", "PV-IMP", "PV-INS", "PV-META")
"""Rule id prefixes of the tree-level families; everything else counts as a text-level rule."""


class Clock(detection.RuleClock):
    """CPU seconds per rule, with parsing and facts collection charged apart."""

    def __init__(self) -> None:
        super().__init__(time.process_time)
        collect = facts_module.collect

        def timed_collect(tree: ast.Module) -> facts_module.Facts:
            start = time.process_time()
            found = collect(tree)
            spent = time.process_time() - start
            self.seconds["(facts)"] += spent
            self.inner += spent
            return found

        facts_module.collect = timed_collect

    def text_total(self) -> float:
        return sum(v for k, v in self.seconds.items() if not k.startswith(("(", *NOT_TEXT)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "-n", "--benign", type=int, default=60, metavar="N", help="the top N projects' sdists"
    )
    parser.add_argument("--only", help="just this project's sdist")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=benign.DEFAULT_CACHE)
    args = parser.parse_args(argv)
    pairs = [
        (label.split()[0], path)
        for label, path in detection.benign_files(args.cache, args.benign, download=False)
        if label.endswith("sdist") and (args.only is None or label.split()[0] == args.only)
    ]
    if not pairs:
        print("no cached sdists (run bench/benign.py first)")
        return 0

    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, path in pairs:
            start = time.process_time()
            analyze(path)
            best[name] = min(best.get(name, float("inf")), time.process_time() - start)
    print(
        f"{len(pairs)} sdists, whole analysis (cpu, best of {args.rounds}): "
        f"total {sum(best.values()):.2f} s, median {statistics.median(best.values()) * 1000:.1f} ms"
    )

    clock = Clock()
    per_package: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, path in pairs:
            before = clock.text_total()
            analyze(path, rules=clock.rules)
            spent = clock.text_total() - before
            per_package[name] = min(per_package.get(name, float("inf")), spent)
    rounds = args.rounds
    seconds = {k: v / rounds for k, v in clock.seconds.items()}
    print(
        f"(parse) {seconds.get('(parse)', 0) * 1000:.0f} ms, "
        f"(facts) {seconds.get('(facts)', 0) * 1000:.0f} ms, "
        f"text-level rules {clock.text_total() / rounds * 1000:.0f} ms (mean of {rounds})"
    )
    slowest = sorted(per_package.items(), key=lambda kv: -kv[1])[:10]
    print("  slowest packages (text-level rules): " + ", ".join(f"{n} {s * 1000:.0f} ms" for n, s in slowest))
    for name, secs in sorted(seconds.items(), key=lambda kv: -kv[1])[:30]:
        print(f"  {name:<24}{secs * 1000:9.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
