"""Dump every finding of ``pipvet inspect`` per archive to JSON, or diff two such dumps.

A guard for speed work on the rules: run it before and after a change and diff the two dumps; the
change keeps detection exactly when the verdicts and the findings (rule, path, line, severity,
stage, score, message, evidence) of every archive are identical. Archives are read as bytes by
the engine, never executed.

Usage::

    .venv/bin/python bench/findings_dump.py dump before.json [--malware N] [--benign N] [-j 2]
    .venv/bin/python bench/findings_dump.py diff before.json after.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benign

REPO = Path(__file__).resolve().parent.parent
MALWARE = REPO.parent / "shared" / "corpus" / "malware-dev"

Record = dict[str, object]


def archives(
    malware: int | None, benign_limit: int | None, cache: Path, heldout: list[Path] | None = None
) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    if MALWARE.is_dir() and malware != 0:
        files = sorted(p for p in MALWARE.glob("*/*/*") if p.is_file())
        out.extend((f"malware/{p.relative_to(MALWARE)}", p) for p in files[:malware])
    for project in benign.read_projects()[:benign_limit]:
        for kind in benign.KINDS:
            found = benign.cached(cache, project, kind)
            if found is not None:
                out.append((f"benign-{kind}/{project.name}", found))
    for folder in heldout or []:
        # a check set laid out like the benign cache (KIND/PROJECT/FILE), projects outside the list
        for kind in benign.KINDS:
            for path in sorted((folder / kind).glob("*/*")):
                if path.is_file() and not path.name.startswith("."):
                    out.append((f"{folder.name}-{kind}/{path.parent.name}", path))
    return out


def analyse(item: tuple[str, Path, float]) -> tuple[str, Record]:
    from pipvet.analysis.engine import analyze
    from pipvet.analysis.limits import Limits

    label, path, seconds = item
    try:
        result = analyze(path, limits=Limits(max_seconds=seconds)).result
    except Exception as exc:  # an engine crash is a result to compare, too
        return label, {"verdict": "crash", "error": f"{type(exc).__name__}: {exc}", "findings": []}
    findings = sorted(
        [
            f.rule,
            f.path or "",
            f.line or 0,
            f.severity.name,
            f.stage.name if f.stage else "",
            f.score,
            f.message,
            f.evidence or "",
        ]
        for f in result.findings
    )
    return label, {"verdict": result.verdict.value, "score": result.score, "findings": findings}


def dump(
    out: Path,
    malware: int | None,
    benign_limit: int | None,
    cache: Path,
    jobs: int,
    seconds: float,
    heldout: list[Path] | None = None,
) -> None:
    found = archives(malware, benign_limit, cache, heldout)
    items = [(label, path, seconds) for label, path in found]
    records: dict[str, Record] = {}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for label, record in pool.map(analyse, items, chunksize=4):
            records[label] = record
    out.write_text(json.dumps(records, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    summarise(records)


def summarise(records: dict[str, Record]) -> None:
    for corpus in sorted({label.split("/", 1)[0] for label in records}):
        subset = [r for k, r in records.items() if k.startswith(corpus + "/")]
        counts = Counter(str(r["verdict"]) for r in subset)
        print(
            f"{corpus}: {len(subset)} archives, " + ", ".join(f"{v} {c}" for v, c in sorted(counts.items()))
        )


def diff(before_path: Path, after_path: Path) -> int:
    before: dict[str, Record] = json.loads(before_path.read_text(encoding="utf-8"))
    after: dict[str, Record] = json.loads(after_path.read_text(encoding="utf-8"))
    summarise(before)
    summarise(after)
    changed = 0
    for label in sorted(before.keys() | after.keys()):
        a, b = before.get(label), after.get(label)
        if a == b:
            continue
        changed += 1
        if a is None or b is None:
            print(f"{label}: only in {'after' if a is None else 'before'}")
            continue
        if a["verdict"] != b["verdict"] or a.get("score") != b.get("score"):
            print(f"{label}: verdict {a['verdict']}/{a.get('score')} -> {b['verdict']}/{b.get('score')}")
        fa = {json.dumps(f) for f in a["findings"]}  # type: ignore[attr-defined]
        fb = {json.dumps(f) for f in b["findings"]}  # type: ignore[attr-defined]
        for f in sorted(fa - fb):
            print(f"  - {f}")
        for f in sorted(fb - fa):
            print(f"  + {f}")
    print(f"{changed} of {len(before.keys() | after.keys())} archives differ")
    return 1 if changed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="analyse the corpora and write the findings")
    d.add_argument("out", type=Path)
    d.add_argument("--malware", type=int, default=None, metavar="N", help="only the first N malware archives")
    d.add_argument("--benign", type=int, default=None, metavar="N", help="only the top N benign projects")
    d.add_argument("--cache", type=Path, default=benign.DEFAULT_CACHE)
    d.add_argument("-j", "--jobs", type=int, default=2)
    d.add_argument(
        "--max-seconds",
        type=float,
        default=3600.0,
        help="time limit per archive (the engine's 300 s default trips on a loaded machine)",
    )
    d.add_argument(
        "--heldout",
        type=Path,
        action="append",
        metavar="DIR",
        help="also a check set laid out as DIR/{sdist,wheel}/PROJECT/FILE (repeatable)",
    )
    c = sub.add_parser("diff", help="compare two dumps (exit 1 when they differ)")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    if args.command == "dump":
        dump(args.out, args.malware, args.benign, args.cache, args.jobs, args.max_seconds, args.heldout)
        return 0
    return diff(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
