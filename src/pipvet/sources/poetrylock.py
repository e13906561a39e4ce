"""``poetry.lock``, lock format 1.x (hashes under ``[metadata.files]``) and 2.x (``files`` per package).

Records each package's version, file hashes, source (a ``legacy`` index URL, or git/url/file/
directory references, which are reported and not fetched) and its ``markers`` (a string, or in
2.1 a table by dependency group). Packages without a ``[package.source]`` come from the default
public index.

Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipvet.errors import InputError
from pipvet.models import Artifact, Dependency, Finding, Origin, Resolved, Skipped, normalize_name
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

FORMAT = "poetry.lock"

DEFAULT_INDEX = "(default index)"
_DIRECT_KINDS = {"git": "git", "url": "URL", "file": "path", "directory": "path"}


def parse(text: str, *, path: str, target: TargetEnvironment) -> ParsedSource:
    data = load_toml(text, path=path)
    raw = array(data.get("package", []), "package", path=path)
    lines = LineIndex(text).headers("[[package]]")
    metadata = table(data.get("metadata", {}), "metadata", path=path)
    version = metadata.get("lock-version")
    if version is not None and not (isinstance(version, str) and version.split(".")[0] in ("1", "2")):
        raise InputError(f"unsupported poetry lock-version {version!r} (1.x and 2.x are)", path=path)
    legacy_files = {
        normalize_name(str(k)): v
        for k, v in table(metadata.get("files", {}), "metadata.files", path=path).items()
    }

    deps: list[Dependency] = []
    findings: list[Finding] = []
    index_pairs: list[tuple[str | None, str, int | None]] = []
    for i, entry in enumerate(raw):
        line = lines[i] if i < len(lines) else None
        pkg = table(entry, "[[package]]", path=path, line=line)
        name_raw = string(pkg.get("name"), "package name", path=path, line=line)
        name = normalize_name(name_raw)
        pkg_version = string(pkg.get("version"), f"{name_raw}: version", path=path, line=line)
        origin = Origin(path=path, line=line)
        source = table(pkg.get("source", {}), f"{name_raw}: source", path=path, line=line)
        kind = optional_string(source.get("type"), f"{name_raw}: source.type", path=path, line=line)
        url = optional_string(source.get("url"), f"{name_raw}: source.url", path=path, line=line)
        if kind in _DIRECT_KINDS:
            label = _DIRECT_KINDS[kind]
            where = url or ""
            ref = source.get("resolved_reference") or source.get("reference")
            if ref:
                where = f"{where}@{ref}"
            findings.append(F.direct_reference(path=path, line=line, name=name, kind=label, url=where))
            deps.append(
                Skipped(
                    name=name,
                    requirement=f"{name_raw} @ {where}",
                    reason=f"{label} dependency ({pkg_version}): not from an index; reported, not fetched",
                    origin=origin,
                )
            )
            continue
        index_url = url if kind in ("legacy", None) and url else None
        files = pkg.get("files")
        if files is None:
            files = legacy_files.get(name, [])
        hashes, listed = _hashes(files, name_raw, path=path, line=line)
        marker = normalize_marker(
            _marker(pkg.get("markers"), name_raw, path=path, line=line), path=path, line=line
        )
        applies = marker_applies(marker, target, path=path, line=line)
        if not hashes:
            findings.append(F.missing_hash(path=path, line=line, name=name, version=pkg_version))
        index_pairs.append((index_url, name, line))
        deps.append(
            Resolved(
                name=name,
                version=pkg_version,
                origin=origin,
                hashes=hashes,
                index_url=index_url,
                marker=marker,
                applies=applies,
                files=listed,
            )
        )
    return F.lock_source(
        path=path,
        format=FORMAT,
        dependencies=deps,
        findings=findings,
        index_pairs=index_pairs,
        default_index=DEFAULT_INDEX,
    )


def _hashes(
    files: Any, name: str, *, path: str, line: int | None
) -> tuple[tuple[str, ...], tuple[Artifact, ...]]:
    out: set[str] = set()
    listed: list[Artifact] = []
    for item in array(files, f"{name}: files", path=path, line=line):
        entry = table(item, f"{name}: file", path=path, line=line)
        digest = entry.get("hash")
        mine: tuple[str, ...] = ()
        if digest is not None:
            mine = hash_strings(string(digest, "hash", path=path, line=line), path=path, line=line)
            out.update(mine)
        filename = optional_string(entry.get("file"), f"{name}: file name", path=path, line=line)
        found = artifact(filename=filename, url=None, hashes=mine)
        if found is not None:
            listed.append(found)
    return tuple(sorted(out)), tuple(listed)


def _marker(value: Any, name: str, *, path: str, line: int | None) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        # 2.1: one marker per dependency group; the package is installed if any group's holds
        parts = [string(v, f"{name}: markers", path=path, line=line) for v in value.values()]
        if any(not p for p in parts):
            return None
        distinct = list(dict.fromkeys(parts))
        return distinct[0] if len(distinct) == 1 else " or ".join(f"({p})" for p in distinct)
    raise InputError(f"{name}: markers: expected a string or table", path=path, line=line)


__all__ = ["FORMAT", "parse"]
