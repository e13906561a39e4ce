"""Input-level findings: what a dependency file itself reveals, before any package is looked at.

Rule ids (all carry the file and, where known, the line):

``PV-INPUT-NO-HASH``        a file meant to be locked names a package without any hash, so the
                            installer cannot tell if it got the bytes that were locked.
``PV-INPUT-INDEX-MIXING``   packages come from more than one index: the extra-index setup that
                            dependency confusion exploits (a public package shadowing a private name).
``PV-INPUT-DIRECT-REF``     a direct URL, VCS or local path dependency: not from an index, so not
                            covered by index advisories; reported, never fetched.
``PV-INPUT-HASH-MISMATCH``  the same file is locked with different hashes in two inputs.

Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipvet.models import Dependency, Finding, Resolved, Severity, Skipped
from pipvet.sources import ParsedSource

NO_HASH = "PV-INPUT-NO-HASH"
INDEX_MIXING = "PV-INPUT-INDEX-MIXING"
DIRECT_REF = "PV-INPUT-DIRECT-REF"
HASH_MISMATCH = "PV-INPUT-HASH-MISMATCH"


def missing_hash(*, path: str, line: int | None, name: str, version: str) -> Finding:
    return Finding(
        rule=NO_HASH,
        severity=Severity.MEDIUM,
        title="Locked package without a hash",
        message=(
            f"{name} {version} is locked without any file hash: an installer cannot verify it gets "
            "the bytes that were reviewed. Regenerate the lock with hashes."
        ),
        path=path,
        line=line,
        evidence=f"{name}=={version}",
    )


def direct_reference(*, path: str, line: int | None, name: str, kind: str, url: str) -> Finding:
    return Finding(
        rule=DIRECT_REF,
        severity=Severity.LOW,
        title=f"Direct {kind} dependency",
        message=(
            f"{name} comes from a {kind} reference, not from a package index: index advisories and "
            "release metadata do not cover it. pipvet reports it and does not fetch it."
        ),
        path=path,
        line=line,
        evidence=url,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class IndexUse:
    """One index and the packages a file takes from it (first line where it is used)."""

    url: str
    packages: tuple[str, ...] = ()
    line: int | None = None


def index_mixing(*, path: str, uses: Sequence[IndexUse]) -> Finding | None:
    """A finding when more than one distinct index is in use, else None."""
    distinct: dict[str, IndexUse] = {}
    for use in uses:
        key = use.url.rstrip("/")
        if key in distinct:
            prev = distinct[key]
            distinct[key] = IndexUse(
                url=prev.url,
                packages=(*prev.packages, *use.packages),
                line=prev.line if prev.line is not None else use.line,
            )
        else:
            distinct[key] = use
    if len(distinct) < 2:
        return None
    parts = []
    for use in distinct.values():
        names = ", ".join(sorted(set(use.packages))[:5])
        more = len(set(use.packages)) - 5
        if more > 0:
            names += f" and {more} more"
        parts.append(f"{use.url} ({names})" if names else use.url)
    # the line where a second index first comes into play: that is where the mixing starts
    lines = sorted(u.line for u in distinct.values() if u.line is not None)
    return Finding(
        rule=INDEX_MIXING,
        severity=Severity.MEDIUM,
        title="Packages from more than one index",
        message=(
            f"{len(distinct)} indexes are in use: " + "; ".join(parts) + ". Mixing indexes is the "
            "dependency-confusion setup: a public release can shadow a private name. Pin each "
            "private package to its index (explicit sources) and check the others."
        ),
        path=path,
        line=lines[1] if len(lines) > 1 else (lines[0] if lines else None),
        evidence=" | ".join(u.url for u in distinct.values()),
    )


def uses_from(pairs: Iterable[tuple[str | None, str, int | None]], default: str | None) -> list[IndexUse]:
    """Group ``(index_url or None, package, line)`` into :class:`IndexUse` (None -> ``default``)."""
    by_url: dict[str, tuple[list[str], int | None]] = {}
    for url, name, line in pairs:
        key = url or default
        if key is None:
            continue
        names, first = by_url.setdefault(key, ([], line))
        names.append(name)
        if first is None and line is not None:
            by_url[key] = (names, line)
    return [IndexUse(url=u, packages=tuple(n), line=ln) for u, (n, ln) in by_url.items()]


DEFAULT_INDEX = "(default index)"
_INDEX_OPTION = re.compile(
    r"^[ \t]*(-i|--index-url|--extra-index-url|-f|--find-links)(?:[ \t]*=[ \t]*|[ \t]+)(\S+)", re.MULTILINE
)
_DIRECT_REASONS = ("editable install", "a local path or URL", "direct URL reference")


def lock_source(
    *,
    path: str,
    format: str,
    dependencies: Iterable[Dependency],
    findings: Iterable[Finding],
    index_pairs: Sequence[tuple[str | None, str, int | None]],
    default_index: str | None,
    index_urls: Sequence[str] | None = None,
) -> ParsedSource:
    """The end of every lock parser: the index-mixing finding, and the indexes the lock names
    (in order of first use, unless the format lists them itself)."""
    collected = list(findings)
    mixing = index_mixing(path=path, uses=uses_from(index_pairs, default_index))
    if mixing is not None:
        collected.append(mixing)
    if index_urls is None:
        index_urls = tuple(dict.fromkeys(u for u, _, _ in index_pairs if u))
    return ParsedSource(
        path=path,
        format=format,
        dependencies=tuple(dependencies),
        findings=tuple(collected),
        index_urls=tuple(index_urls),
    )


def requirements_findings(
    *, path: str, text: str, dependencies: Sequence[Dependency], index_urls: Sequence[str]
) -> tuple[Finding, ...]:
    """Input findings for a requirements file (and what it includes).

    * missing hashes: once any requirement carries ``--hash`` (or ``--require-hashes`` is set),
      pip checks hashes for every one, so the file is meant to be locked;
    * index mixing: ``--extra-index-url`` or ``--find-links`` next to the default index or another
      ``--index-url`` (``--no-index`` leaves the default out);
    * direct references: URLs, VCS, local paths and editables.
    """
    out: list[Finding] = []
    resolved = [d for d in dependencies if isinstance(d, Resolved)]
    locked = "--require-hashes" in text or any(d.hashes for d in resolved)
    if locked:
        for dep in resolved:
            if not dep.hashes:
                out.append(
                    missing_hash(
                        path=dep.origin.path or path, line=dep.origin.line, name=dep.name, version=dep.version
                    )
                )
    for item in dependencies:
        if isinstance(item, Skipped) and item.reason.startswith(_DIRECT_REASONS):
            kind = "editable" if item.reason.startswith("editable") else _kind_of(item.requirement)
            where = item.requirement.split(" @ ", 1)[-1]
            out.append(
                direct_reference(
                    path=item.origin.path or path, line=item.origin.line, name=item.name, kind=kind, url=where
                )
            )
    uses: list[IndexUse] = []
    primary = False
    for match in _INDEX_OPTION.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        primary = primary or match.group(1) in ("-i", "--index-url")
        uses.append(IndexUse(url=match.group(2), line=line))
    known = {u.url for u in uses}
    uses.extend(IndexUse(url=u) for u in index_urls if u not in known)  # from included files
    if uses and not primary and "--no-index" not in text:
        uses.insert(0, IndexUse(url=DEFAULT_INDEX, line=None))
    mixing = index_mixing(path=path, uses=uses)
    if mixing is not None:
        out.append(mixing)
    return tuple(out)


def _kind_of(requirement: str) -> str:
    where = requirement.split(" @ ", 1)[-1]
    if where.startswith(("git+", "hg+", "svn+", "bzr+")):
        return where.split("+", 1)[0]
    if "://" in where and not where.startswith("file:"):
        return "URL"
    return "path"
