"""``Pipfile.lock`` (pipenv): the ``default`` and ``develop`` sections.

Each entry gives ``version`` (``==1.2``), ``hashes``, ``markers`` and ``index`` (a name from
``_meta.sources``; without one, the first source). ``git``/``path``/``file`` entries are
reported as direct references, not fetched.

Pure.
"""

from __future__ import annotations

from typing import Any

from pipvet.errors import InputError
from pipvet.models import Dependency, Finding, Origin, Resolved, Skipped, normalize_name
from pipvet.sources import ParsedSource
from pipvet.sources import findings as F
from pipvet.sources._common import (
    LineIndex,
    array,
    hash_strings,
    load_json,
    marker_applies,
    normalize_marker,
    optional_string,
    string,
    table,
)
from pipvet.sources.markers import TargetEnvironment

FORMAT = "Pipfile.lock"

SECTIONS = ("default", "develop")
_DIRECT_KINDS = {"git": "git", "hg": "hg", "svn": "svn", "bzr": "bzr", "file": "URL", "path": "path"}


def parse(text: str, *, path: str, target: TargetEnvironment) -> ParsedSource:
    data = load_json(text, path=path)
    root = table(data, "Pipfile.lock", path=path, line=1)
    lines = LineIndex(text)
    meta = table(root.get("_meta", {}), "_meta", path=path)
    sources: dict[str, str] = {}
    for src in array(meta.get("sources", []), "_meta.sources", path=path):
        src = table(src, "_meta.sources entry", path=path)
        url = string(src.get("url"), "_meta.sources url", path=path)
        name = optional_string(src.get("name"), "_meta.sources name", path=path) or url
        sources[name] = url
    default_index = next(iter(sources.values()), None)

    deps: list[Dependency] = []
    findings: list[Finding] = []
    index_pairs: list[tuple[str | None, str, int | None]] = []
    for section in SECTIONS:
        if section not in root:
            continue
        packages = table(root[section], section, path=path)
        section_at = lines.find(f'"{section}"')
        cursor = max(section_at, 0)
        for raw_name, raw in packages.items():
            line, cursor = lines.quoted(str(raw_name), cursor)
            entry = table(raw, f"{section}.{raw_name}", path=path, line=line)
            deps_item, finding, pair = _entry(
                str(raw_name), entry, sources, default_index, target, path, line
            )
            deps.append(deps_item)
            findings.extend(finding)
            if pair is not None:
                index_pairs.append(pair)
    return F.lock_source(
        path=path,
        format=FORMAT,
        dependencies=deps,
        findings=findings,
        index_pairs=index_pairs,
        default_index=default_index,
        index_urls=tuple(sources.values()),
    )


def _entry(
    raw_name: str,
    entry: Any,
    sources: dict[str, str],
    default_index: str | None,
    target: TargetEnvironment,
    path: str,
    line: int | None,
) -> tuple[Dependency, list[Finding], tuple[str | None, str, int | None] | None]:
    name = normalize_name(raw_name)
    origin = Origin(path=path, line=line)
    marker = normalize_marker(
        optional_string(entry.get("markers"), f"{raw_name}: markers", path=path, line=line),
        path=path,
        line=line,
    )
    applies = marker_applies(marker, target, path=path, line=line)
    kind = next((k for k in _DIRECT_KINDS if k in entry), None)
    if kind is not None:
        label = _DIRECT_KINDS[kind]
        where = str(entry[kind])
        ref = entry.get("ref")
        if ref:
            where = f"{where}@{ref}"
        finding = F.direct_reference(path=path, line=line, name=name, kind=label, url=where)
        skipped = Skipped(
            name=name,
            requirement=f"{raw_name} @ {where}",
            reason=f"{label} dependency: not from an index; reported, not fetched",
            origin=origin,
            marker=marker,
            applies=applies,
        )
        return skipped, [finding], None
    spec = optional_string(entry.get("version"), f"{raw_name}: version", path=path, line=line)
    if spec is None or spec == "*":
        return (
            Skipped(
                name=name,
                requirement=raw_name,
                reason="no version in the lock entry",
                origin=origin,
                marker=marker,
                applies=applies,
            ),
            [],
            None,
        )
    version = spec.lstrip("=").strip()
    if not spec.startswith("==") or not version or "*" in version:
        return (
            Skipped(
                name=name,
                requirement=f"{raw_name}{spec}",
                reason=f"not pinned to an exact version ({spec})",
                origin=origin,
                marker=marker,
                applies=applies,
            ),
            [],
            None,
        )
    index_name = optional_string(entry.get("index"), f"{raw_name}: index", path=path, line=line)
    if index_name is not None and index_name not in sources:
        raise InputError(
            f"{raw_name}: index {index_name!r} is not one of _meta.sources ({', '.join(sources) or 'none'})",
            path=path,
            line=line,
        )
    index_url = sources[index_name] if index_name is not None else default_index
    hashes = hash_strings(entry.get("hashes"), path=path, line=line)
    extras_raw = array(entry.get("extras", []), f"{raw_name}: extras", path=path, line=line)
    extras = tuple(string(e, "extra", path=path, line=line) for e in extras_raw)
    findings = [] if hashes else [F.missing_hash(path=path, line=line, name=name, version=version)]
    resolved = Resolved(
        name=name,
        version=version,
        origin=origin,
        hashes=hashes,
        index_url=index_url,
        marker=marker,
        applies=applies,
        extras=extras,
    )
    return resolved, findings, (index_url, name, line)


__all__ = ["FORMAT", "parse"]
