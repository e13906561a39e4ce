"""Fetch the benign top-150 corpus (sdist + the wheel pip picks here) into a cache outside the repo.

Pinned to the versions listed in ``benign-top150.tsv``: the wheel with ``pip download --no-deps
--only-binary :all:``, the sdist from the same index's simple API (see ``_fetch_sdist``). A project without
an sdist or without a wheel is recorded as such (a ``.none`` marker) and not retried.
Run directly to fill the cache: ``python bench/benign.py [--limit N] [--jobs 4]``.

Held-out check sets (projects the rules were never tuned on) come from the wider popularity
list, by rank, latest versions, without the tuning set's projects::

    python bench/benign.py --popular 151:450 --cache /work/cache/heldout
    python bench/findings_dump.py dump out.json --heldout /work/cache/heldout
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
BENIGN_TSV = SHARED / "corpus" / "benign-top150.tsv"
DEFAULT_CACHE = Path("/work/cache/benign")
POPULAR_JSON = SHARED / "data" / "popular" / "top-pypi-packages.json"
KINDS = ("sdist", "wheel")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip", ".whl", ".egg")


@dataclass(frozen=True, kw_only=True, slots=True)
class Project:
    rank: int
    name: str
    version: str | None


#: Where timed child processes keep their bytecode (outside the repository).
PYCACHE = Path("/work/cache/pycache")


def child_env() -> dict[str, str]:
    """Environment for timed runs: bytecode cached, as after ``pip install`` (which compiles it).

    A shell with ``PYTHONDONTWRITEBYTECODE`` set would otherwise recompile pipvet's sources in
    every process and time the compiler, not pipvet.
    """
    import os

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def read_projects(tsv: Path = BENIGN_TSV) -> list[Project]:
    projects: list[Project] = []
    for line in tsv.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        version = parts[2].strip() if len(parts) > 2 and parts[2].strip() else None
        projects.append(Project(rank=int(parts[0]), name=parts[1].strip(), version=version))
    return projects


def folder(cache: Path, project: Project, kind: str) -> Path:
    return cache / kind / project.name


def cached(cache: Path, project: Project, kind: str) -> Path | None:
    """The cached archive, or None when absent or known not to exist."""
    here = folder(cache, project, kind)
    if not here.is_dir():
        return None
    files = sorted(p for p in here.iterdir() if p.name.endswith(ARCHIVE_SUFFIXES))
    return files[0] if files else None


def fetch(cache: Path, project: Project, kind: str) -> Path | None:
    here = folder(cache, project, kind)
    found = cached(cache, project, kind)
    if found is not None or (here / ".none").exists():
        return found
    here.mkdir(parents=True, exist_ok=True)
    if kind == "sdist":
        note = _fetch_sdist(here, project)
    else:
        spec = f"{project.name}=={project.version}" if project.version else project.name
        proc = subprocess.run(
            [
                sys.executable, "-m", "pip", "download", "--no-deps", "-q", "--only-binary", ":all:",
                "-d", str(here), spec,
            ],
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        note = proc.stderr[-2000:]
    found = cached(cache, project, kind)
    if found is None:
        (here / ".none").write_text(note or "not available", encoding="utf-8")
    return found


def _fetch_sdist(here: Path, project: Project) -> str:
    """The sdist of the pinned version from the index pip uses (PEP 691 JSON), hash-checked.

    ``pip download --no-binary`` would prepare the sdist's metadata, which for meson/maturin
    projects means compiling them; the sdist file is all the benchmark needs, so it is fetched
    the way pip finds it, without building anything.
    """
    import hashlib
    import os

    import httpx
    from packaging.utils import canonicalize_name, parse_sdist_filename
    from packaging.version import InvalidVersion, Version
    from pip._internal.models.index import PyPI

    verify: str | bool = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE") or True
    with httpx.Client(timeout=120, follow_redirects=True, verify=verify) as client:
        page = client.get(
            f"{PyPI.simple_url.rstrip('/')}/{canonicalize_name(project.name)}/",
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        )
        if page.status_code != 200:
            return f"index answered {page.status_code}"
        candidates: list[tuple[Version, dict[str, object]]] = []
        for file in page.json().get("files", []):
            name = str(file.get("filename", ""))
            if file.get("yanked") or not name.endswith((".tar.gz", ".zip")):
                continue
            try:
                _, version = parse_sdist_filename(name)
            except (ValueError, InvalidVersion):
                continue
            candidates.append((version, file))
        if project.version:
            wanted = Version(project.version)
            candidates = [c for c in candidates if c[0] == wanted]
        else:
            candidates = [c for c in candidates if not c[0].is_prerelease]
        if not candidates:
            return "no sdist for this version"
        _, file = max(candidates, key=lambda c: c[0])
        response = client.get(str(file["url"]))
        response.raise_for_status()
        hashes = file.get("hashes")
        expected = hashes.get("sha256") if isinstance(hashes, dict) else None
        if expected and hashlib.sha256(response.content).hexdigest() != expected:
            return "sha256 mismatch"
        (here / str(file["filename"])).write_bytes(response.content)
    return ""


def popular_projects(first: int, last: int, json_path: Path = POPULAR_JSON) -> list[Project]:
    """Ranks ``first``..``last`` (1-based, inclusive) of the popularity list, minus the tuning set."""
    import json

    rows = json.loads(json_path.read_text(encoding="utf-8"))["rows"]
    tuned = {p.name.lower() for p in read_projects()}
    return [
        Project(rank=rank, name=str(row["project"]), version=None)
        for rank, row in enumerate(rows, 1)
        if first <= rank <= last and str(row["project"]).lower() not in tuned
    ]


def ensure(cache: Path, projects: list[Project], *, jobs: int = 4, quiet: bool = False) -> None:
    tasks = [(p, k) for p in projects for k in KINDS]

    def one(task: tuple[Project, str]) -> None:
        p, k = task
        got = fetch(cache, p, k)
        if not quiet:
            print(f"{p.rank:4} {p.name:30} {k:6} {got.name if got else '-'}", file=sys.stderr)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, tasks))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--limit", type=int, default=None, help="only the top N projects")
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument(
        "--popular",
        metavar="FIRST:LAST",
        help="a held-out set instead: these ranks of the popularity list, latest versions",
    )
    args = parser.parse_args(argv)
    if args.popular:
        first, _, last = args.popular.partition(":")
        projects = popular_projects(int(first), int(last))[: args.limit]
    else:
        projects = read_projects()[: args.limit]
    ensure(args.cache, projects, jobs=args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
