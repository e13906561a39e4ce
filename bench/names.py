"""Look-alike name detection: precision over the popular list, recall on malware names, speed.

    .venv/bin/python bench/names.py [--shared /work/shared]

Reads only names: the popular list bundled with pipvet, the folder names of the malware corpus
(nothing inside them), and the package names of the MAL- records in the OSV fixture zip.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

from pipvet.analysis.names import (
    REVIEWED_TWINS,
    Popular,
    load_popular,
    lookalikes,
    popular_pairs,
    scan,
    severity_of,
)
from pipvet.models import normalize_name

DEFAULT_SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


def mal_names(zip_path: Path) -> list[str]:
    names: dict[str, None] = {}
    with zipfile.ZipFile(zip_path) as archive:
        for member in archive.namelist():
            if not member.startswith("MAL-"):
                continue
            record = json.loads(archive.read(member))
            if record.get("withdrawn"):
                continue
            for affected in record.get("affected", []):
                name = affected.get("package", {}).get("name")
                if name:
                    names.setdefault(str(name), None)
    return list(names)


def recall(label: str, names: Sequence[str], popular: Popular) -> None:
    unknown = [n for n in names if n not in popular]
    found = scan(unknown, popular)
    by_sev = collections.Counter(severity_of(m[0]).value for m in found.values())
    by_tech = collections.Counter(m[0].technique for m in found.values())
    share = 100 * len(found) / max(1, len(unknown))
    print(f"  {label}: {len(found)} of {len(unknown)} names flagged ({share:.1f}%)")
    print(f"    by severity: {dict(sorted(by_sev.items()))}")
    print(f"    by technique: {dict(sorted(by_tech.items()))}")
    targets = collections.Counter(m[0].target for m in found.values())
    print(f"    most imitated: {', '.join(f'{t} ({c})' for t, c in targets.most_common(8))}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    popular = load_popular()
    loaded = time.perf_counter() - t0
    t0 = time.perf_counter()
    lookalikes("warm-up-name", popular)
    indexed = time.perf_counter() - t0
    print(f"popular names: {len(popular.names)} ({popular.source}); load {loaded:.3f}s, index {indexed:.3f}s")

    print("\nprecision over the popular list (each popular name against the others):")
    raw = popular_pairs(popular, reviewed=False)
    after = popular_pairs(popular)
    print(f"  flagged pairs before review: {len(raw)} ({100 * len(raw) / len(popular.names):.2f}% of names)")
    for candidate, target, detail in raw:
        mark = "reviewed twin" if (candidate, target) in REVIEWED_TWINS else "NOT REVIEWED"
        ranks = f"#{popular.rank[candidate]} ~ #{popular.rank[target]}"
        print(f"    {candidate} ~ {target} ({ranks}): {detail} [{mark}]")
    print(f"  flagged after the reviewed list: {len(after)}")
    proxy = {n: m for n in popular.names if (m := lookalikes(n, popular, as_unknown=True))}
    sev = collections.Counter(severity_of(m[0]).value for m in proxy.values())
    print(
        "  false-positive estimate for unknown honest names (popular names treated as unknown, "
        f"compared with more popular ones): {len(proxy)} of {len(popular.names)} "
        f"({100 * len(proxy) / len(popular.names):.1f}%), by severity {dict(sorted(sev.items()))}"
    )

    print("\nrecall on malicious names (names that are themselves popular are left out):")
    corpus = args.shared / "corpus" / "malware-dev"
    if corpus.is_dir():
        recall("malware-dev folder names", sorted(p.name for p in corpus.iterdir() if p.is_dir()), popular)
    else:
        print(f"  {corpus} not found")
    osv = args.shared / "data" / "osv" / "PyPI-all.zip"
    if osv.is_file():
        recall("OSV MAL- record names", mal_names(osv), popular)
    else:
        print(f"  {osv} not found")

    print("\nspeed: 1,000 names against the popular list")
    sample: list[str] = []
    if corpus.is_dir():
        sample = sorted(p.name for p in corpus.iterdir())[:500]
    if osv.is_file():
        sample += mal_names(osv)[: 1000 - len(sample)]
    sample += [f"{n}x" for n in popular.names][: 1000 - len(sample)]
    sample = [str(normalize_name(n)) for n in sample][:1000]
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        scan(sample, popular)
        runs.append(time.perf_counter() - t0)
    print(
        f"  {len(sample)} names x {len(popular.names)} popular: median {statistics.median(runs):.3f}s, "
        f"best {min(runs):.3f}s over {len(runs)} runs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
