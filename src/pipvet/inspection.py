"""``pipvet inspect``'s flow: targets -> artifacts on disk -> analysis -> policy decision.

A target is a local archive, folder or source file, or a ``name`` / ``name==version`` to fetch
from the index. Fetching is pluggable: :func:`inspect_targets` takes a ``fetch`` callable (the
index client provides it); without one, a name target is a usage error that says so.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipvet.analysis.lazyre import LazyPattern
from pipvet.errors import UsageError
from pipvet.models import Result
from pipvet.policy import Policy, evaluate

#: Compiled on first use: only a target that is not an existing path needs it.
_NAME = LazyPattern(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:==\s*([^\s=<>~;,]+))?\s*$")
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip", ".whl", ".egg", ".py")


@dataclass(frozen=True, kw_only=True, slots=True)
class LocalTarget:
    """An archive, folder or source file on disk."""

    path: Path
    label: str


@dataclass(frozen=True, kw_only=True, slots=True)
class IndexTarget:
    """``name`` or ``name==version``, to fetch from the index."""

    name: str
    version: str | None
    label: str


Target = LocalTarget | IndexTarget


@dataclass(frozen=True, kw_only=True, slots=True)
class Fetched:
    """An artifact the index client put on disk for analysis."""

    path: Path
    filename: str


Fetch = Callable[[IndexTarget], Fetched]
FetchAll = Callable[[IndexTarget], Sequence[Result]]
"""Fetch and analyse every file of a name target's release (the index layer provides it)."""
Progress = Callable[[int, int, str], None]


def parse_target(text: str) -> Target:
    """A path that exists, else ``name`` or ``name==version``; anything else is a usage error."""
    if not text.strip():
        raise UsageError(
            "empty target: no such file or folder", hint="give a file, a folder or name==version"
        )
    path = Path(text).expanduser()
    if path.exists():
        return LocalTarget(path=path, label=text)
    looks_like_path = "/" in text or "\\" in text or text.lower().endswith(_ARCHIVE_SUFFIXES)
    match = None if looks_like_path else _NAME.match(text)
    if match is None:
        raise UsageError(
            f"{text}: no such file or folder",
            hint="give an sdist, wheel, egg or zip file, an unpacked folder, or name==version",
        )
    return IndexTarget(name=match.group(1), version=match.group(2), label=text)


def resolve(targets: Sequence[str], fetch: Fetch | FetchAll | None = None) -> list[Target]:
    """Parse every target up front, so a typo fails the run before any work is done."""
    parsed = [parse_target(t) for t in targets]
    if fetch is None:
        for t in parsed:
            if isinstance(t, IndexTarget):
                raise UsageError(
                    f"{t.label}: no such file or folder, and fetching packages from the index is not "
                    "available in this version",
                    hint="download the file first (pip download --no-deps NAME==VERSION) and "
                    "inspect the file",
                )
    return parsed


def analyze_target(target: Target, fetch: Fetch | None = None) -> Result:
    from pipvet.analysis.engine import analyze

    if isinstance(target, LocalTarget):
        return analyze(target.path, label=target.label).result
    if fetch is None:  # resolve() already refused; kept for direct callers
        raise UsageError(f"{target.label}: fetching from the index is not available")
    fetched = fetch(target)
    return analyze(fetched.path, filename=fetched.filename, label=target.label).result


def inspect_targets(
    targets: Sequence[str],
    policy: Policy,
    *,
    fetch: Fetch | None = None,
    progress: Progress | None = None,
    jobs: int = 1,
    fetch_all: FetchAll | None = None,
) -> tuple[Result, ...]:
    """Analyse each target and decide allow/warn/block for it, in the order given.

    ``jobs > 1`` analyses local targets in that many worker processes (results keep the order).
    With ``fetch_all``, a name target yields one result per file of its release.
    """
    parsed = resolve(targets, fetch_all or fetch)
    jobs = min(jobs, len(parsed))
    analysed: Iterable[list[Result]]
    if jobs > 1 and all(isinstance(t, LocalTarget) for t in parsed):
        analysed = ([r] for r in _parallel(parsed, jobs))
    else:
        analysed = (_analyse_one(t, fetch, fetch_all) for t in parsed)
    results: list[Result] = []
    for i, (target, batch) in enumerate(zip(parsed, analysed, strict=True), start=1):
        if progress is not None:
            progress(i, len(parsed), target.label)
        results.extend(evaluate(r, policy) for r in batch)
    return tuple(results)


def _analyse_one(target: Target, fetch: Fetch | None, fetch_all: FetchAll | None) -> list[Result]:
    if isinstance(target, IndexTarget) and fetch_all is not None:
        return list(fetch_all(target))
    return [analyze_target(target, fetch)]


def default_jobs(count: int) -> int:
    """Worker processes for ``count`` targets: one per CPU when there are enough to share."""
    import os

    return 1 if count < PARALLEL_FROM else max(1, min(os.cpu_count() or 1, count))


#: Fewer targets than this are analysed in-process (workers cost more than they save).
PARALLEL_FROM = 8


def _parallel(targets: Sequence[Target], jobs: int) -> Iterator[Result]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # fork is cheap and safe on Linux; elsewhere (macOS, Windows) use the platform's default.
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)
    chunk = max(1, min(16, len(targets) // (jobs * 4)))
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        yield from pool.map(analyze_target, targets, chunksize=chunk)
