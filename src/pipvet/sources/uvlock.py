"""``uv.lock``: every locked package with its version, file hashes, source and upload times.

A package's environment marker is not stored on the package but on the edges that lead to it, so
whether a package applies to the target is decided by walking the graph from the project's own
entries (``source = { virtual|editable = "." }`` and workspace members), following only edges
whose markers hold; ``resolution-markers`` (forked resolutions) must hold too. The project
itself is not a dependency and is left out. Git, URL and path sources are reported, not fetched.

Pure.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipvet.models import (
    Artifact,
    Dependency,
    Finding,
    NormalizedName,
    Origin,
    Resolved,
    Skipped,
    normalize_name,
)
from pipvet.sources import ParsedSource
from pipvet.sources import findings as F
from pipvet.sources._common import (
    LineIndex,
    array,
    artifact,
    hash_strings,
    load_toml,
    marker_applies,
    normalize_marker,
    optional_string,
    string,
    table,
)
from pipvet.sources.markers import TargetEnvironment

FORMAT = "uv.lock"

_DIRECT_KINDS = {"git": "git", "url": "URL", "path": "path", "directory": "path", "editable": "editable"}


@dataclass(slots=True)
class _Package:
    name: str
    version: str
    line: int | None
    source: Mapping[str, Any]
    data: Mapping[str, Any]
    edges: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    """(dependency name, version if given, marker) for every dependency, extra and group."""
    incoming: list[str | None] = field(default_factory=list)
    reachable: bool = False


def parse(text: str, *, path: str, target: TargetEnvironment) -> ParsedSource:
    data = load_toml(text, path=path)
    raw = array(data.get("package", []), "package", path=path)
    lines = LineIndex(text).headers("[[package]]")
    members = {
        normalize_name(string(m, "manifest.members", path=path))
        for m in array(
            table(data.get("manifest", {}), "manifest", path=path).get("members", []), "members", path=path
        )
    }
    packages = [_read_package(entry, i, lines, path=path) for i, entry in enumerate(raw)]
    roots = [p for p in packages if _is_project(p, members)]
    _walk(packages, roots, target, path=path)

    deps: list[Dependency] = []
    findings: list[Finding] = []
    index_pairs: list[tuple[str | None, str, int | None]] = []
    for pkg in packages:
        if pkg in roots:
            continue
        origin = Origin(path=path, line=pkg.line)
        name = NormalizedName(_normal(pkg.name))
        kind = next((k for k in _DIRECT_KINDS if k in pkg.source), None)
        if kind is not None:
            url = str(pkg.source[kind])
            label = _DIRECT_KINDS[kind]
            findings.append(F.direct_reference(path=path, line=pkg.line, name=name, kind=label, url=url))
            deps.append(
                Skipped(
                    name=name,
                    requirement=f"{pkg.name} @ {url}",
                    reason=f"{label} dependency ({pkg.version}): not from an index; reported, not fetched",
                    origin=origin,
                    marker=_marker(pkg, path=path),
                    applies=pkg.reachable if roots else True,
                )
            )
            continue
        registry = optional_string(pkg.source.get("registry"), "source.registry", path=path, line=pkg.line)
        hashes, upload, listed = _files(pkg, path=path)
        marker = _marker(pkg, path=path)
        applies = pkg.reachable if roots else _resolution_applies(pkg, target, path=path)
        if not hashes:
            findings.append(F.missing_hash(path=path, line=pkg.line, name=name, version=pkg.version))
        index_pairs.append((registry, name, pkg.line))
        deps.append(
            Resolved(
                name=name,
                version=pkg.version,
                origin=origin,
                hashes=hashes,
                index_url=registry,
                marker=marker,
                applies=applies,
                upload_time=upload,
                files=listed,
            )
        )
    return F.lock_source(
        path=path,
        format=FORMAT,
        dependencies=deps,
        findings=findings,
        index_pairs=index_pairs,
        default_index=None,
    )


def _read_package(entry: Any, i: int, lines: list[int], *, path: str) -> _Package:
    line = lines[i] if i < len(lines) else None
    pkg = table(entry, "[[package]]", path=path, line=line)
    name = string(pkg.get("name"), "package name", path=path, line=line)
    version = pkg.get("version")
    source = table(pkg.get("source", {}), f"{name}: source", path=path, line=line)
    if version is None:
        # uv leaves the version out for dynamic-version source trees (the project, path deps)
        version = "unknown"
    version = string(version, f"{name}: version", path=path, line=line)
    result = _Package(name=name, version=version, line=line, source=source, data=pkg)
    for key in ("dependencies",):
        result.edges.extend(_edges(pkg.get(key, []), path=path, line=line))
    for key in ("optional-dependencies", "dev-dependencies"):
        groups = table(pkg.get(key, {}), f"{name}: {key}", path=path, line=line)
        for group in groups.values():
            result.edges.extend(_edges(group, path=path, line=line))
    return result


def _edges(value: Any, *, path: str, line: int | None) -> list[tuple[str, str | None, str | None]]:
    out = []
    for dep in array(value, "dependencies", path=path, line=line):
        dep = table(dep, "dependency", path=path, line=line)
        name = string(dep.get("name"), "dependency name", path=path, line=line)
        version = optional_string(dep.get("version"), "dependency version", path=path, line=line)
        marker = dep.get("marker")
        if marker is not None:
            marker = normalize_marker(
                string(marker, "dependency marker", path=path, line=line), path=path, line=line
            )
        out.append((_normal(name), version, marker))
    return out


_NAMES: dict[str, str] = {}


def _normal(name: str) -> str:
    """normalize_name, remembered (a lock names each project many times)."""
    found = _NAMES.get(name)
    if found is None:
        found = _NAMES[name] = str(normalize_name(name))
        if len(_NAMES) > 100_000:
            _NAMES.clear()
    return found


def _is_project(pkg: _Package, members: set[NormalizedName]) -> bool:
    if _normal(pkg.name) in members:
        return True
    return any(pkg.source.get(key) == "." for key in ("virtual", "editable"))


def _walk(packages: list[_Package], roots: list[_Package], target: TargetEnvironment, *, path: str) -> None:
    by_name: dict[str, list[_Package]] = {}
    for pkg in packages:
        by_name.setdefault(_normal(pkg.name), []).append(pkg)
    queue = deque(roots)
    for root in roots:
        root.reachable = True
    while queue:
        pkg = queue.popleft()
        for name, version, marker in pkg.edges:
            candidates = [c for c in by_name.get(name, []) if version is None or c.version == version]
            for cand in candidates:
                cand.incoming.append(marker)
                if cand.reachable:
                    continue
                if not marker_applies(marker, target, path=path, line=pkg.line):
                    continue
                if not _resolution_applies(cand, target, path=path):
                    continue
                cand.reachable = True
                queue.append(cand)


def _resolution_applies(pkg: _Package, target: TargetEnvironment, *, path: str) -> bool:
    markers = pkg.data.get("resolution-markers")
    if not markers:
        return True
    items = array(markers, f"{pkg.name}: resolution-markers", path=path, line=pkg.line)
    return any(
        marker_applies(
            string(m, "resolution marker", path=path, line=pkg.line), target, path=path, line=pkg.line
        )
        for m in items
    )


def _marker(pkg: _Package, *, path: str) -> str | None:
    """The condition under which the package is installed, as far as the lock says."""
    resolution = pkg.data.get("resolution-markers")
    if isinstance(resolution, list) and resolution:
        parts = [normalize_marker(str(m), path=path, line=pkg.line) for m in resolution]
        return " or ".join(f"({m})" if len(parts) > 1 else str(m) for m in parts)
    if not pkg.incoming or any(m is None for m in pkg.incoming):
        return None
    distinct = list(dict.fromkeys(m for m in pkg.incoming if m))
    if len(distinct) == 1:
        return distinct[0]
    return " or ".join(f"({m})" for m in distinct)


def _files(pkg: _Package, *, path: str) -> tuple[tuple[str, ...], str | None, tuple[Artifact, ...]]:
    hashes: set[str] = set()
    upload: str | None = None
    listed: list[Artifact] = []
    files: list[Any] = []
    if "sdist" in pkg.data:
        files.append(pkg.data["sdist"])
    files.extend(array(pkg.data.get("wheels", []), f"{pkg.name}: wheels", path=path, line=pkg.line))
    for item in files:
        entry = table(item, f"{pkg.name}: file", path=path, line=pkg.line)
        digest = entry.get("hash")
        mine: tuple[str, ...] = ()
        if digest is not None:
            mine = hash_strings(string(digest, "hash", path=path, line=pkg.line), path=path, line=pkg.line)
            hashes.update(mine)
        when = entry.get("upload-time")
        stamp = str(when) if when is not None else None
        if stamp is not None and (upload is None or stamp < upload):
            upload = stamp
        location = entry.get("url") or entry.get("path")
        found = artifact(
            filename=optional_string(entry.get("filename"), "filename", path=path, line=pkg.line),
            url=str(location) if location is not None else None,
            hashes=mine,
            size=entry.get("size"),
            upload_time=stamp,
        )
        if found is not None:
            listed.append(found)
    return tuple(sorted(hashes)), upload, tuple(listed)


__all__ = ["FORMAT", "parse"]
