"""PEP 751 lock files: ``pylock.toml`` and ``pylock.<name>.toml``.

When the installed ``packaging`` provides ``packaging.pylock`` (25.1+), the file is validated by
``Pylock.from_dict`` and read from its objects; otherwise the spec fields are read directly. Both
paths give the same neutral entries, so the rest does not care which one ran.

Records versions, sdist/wheel/archive hashes, ``index``, ``marker`` and ``upload-time``; ``vcs``,
``directory`` and ``archive`` packages are direct references (reported, not fetched).

Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.markers import Marker

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
    normalize_marker,
    optional_string,
    string,
    table,
)
from pipvet.sources.markers import TargetEnvironment

FORMAT = "pylock.toml"

_NAME = re.compile(r"^pylock\.([^.]+\.)?toml$")
_PACKAGE_CONTEXT = re.compile(r"packages\[(\d+)\]")


def is_pylock_name(filename: str) -> bool:
    """``pylock.toml`` or ``pylock.<name>.toml`` (PEP 751 file names)."""
    return bool(_NAME.match(filename))


@dataclass(frozen=True, kw_only=True, slots=True)
class _Entry:
    name: str
    version: str | None
    marker: str | None
    index: str | None
    hashes: tuple[str, ...]
    upload_time: str | None
    direct: tuple[str, str] | None
    """(kind, url-or-path) for vcs/directory/archive packages."""
    files: tuple[Artifact, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class _Lock:
    entries: tuple[_Entry, ...]
    extras: tuple[str, ...]
    groups: tuple[str, ...]


def parse(
    text: str, *, path: str, target: TargetEnvironment, use_packaging: bool | None = None
) -> ParsedSource:
    """Parse a pylock file. ``use_packaging=False`` forces the built-in reader (for tests)."""
    data = load_toml(text, path=path)
    headers = LineIndex(text).headers("[[packages]]")
    if use_packaging is None:
        use_packaging = _packaging_pylock() is not None
    lock = (
        _via_packaging(data, path=path, headers=headers) if use_packaging else _via_dicts(data, path, headers)
    )

    deps: list[Dependency] = []
    findings: list[Finding] = []
    index_pairs: list[tuple[str | None, str, int | None]] = []
    for i, entry in enumerate(lock.entries):
        line = headers[i] if i < len(headers) else None
        origin = Origin(path=path, line=line)
        name = normalize_name(entry.name)
        applies = _applies(entry.marker, target, lock, path=path, line=line)
        if entry.direct is not None:
            kind, where = entry.direct
            findings.append(F.direct_reference(path=path, line=line, name=name, kind=kind, url=where))
            deps.append(
                Skipped(
                    name=name,
                    requirement=f"{entry.name} @ {where}",
                    reason=f"{kind} dependency ({entry.version or 'no version'}): not from an index; "
                    "reported, not fetched",
                    origin=origin,
                    marker=entry.marker,
                    applies=applies,
                )
            )
            continue
        if entry.version is None:
            deps.append(
                Skipped(
                    name=name,
                    requirement=entry.name,
                    reason="no version in the lock entry",
                    origin=origin,
                    marker=entry.marker,
                    applies=applies,
                )
            )
            continue
        if not entry.hashes:
            findings.append(F.missing_hash(path=path, line=line, name=name, version=entry.version))
        index_pairs.append((entry.index, name, line))
        deps.append(
            Resolved(
                name=name,
                version=entry.version,
                origin=origin,
                hashes=entry.hashes,
                index_url=entry.index,
                marker=entry.marker,
                applies=applies,
                upload_time=entry.upload_time,
                files=entry.files,
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


def _packaging_pylock() -> Any:
    try:
        from packaging import pylock
    except ImportError:
        return None
    return pylock if hasattr(getattr(pylock, "Pylock", None), "from_dict") else None


def _applies(
    marker: str | None, target: TargetEnvironment, lock: _Lock, *, path: str, line: int | None
) -> bool:
    """Lock-file markers may test ``extras`` and ``dependency_groups``: every declared one counts
    as selected, since an audit covers everything the lock can install."""
    if not marker:
        return True
    try:
        parsed = Marker(marker)
        env: dict[str, Any] = {
            **target.variables,
            "extras": frozenset(lock.extras),
            "dependency_groups": frozenset(lock.groups),
            "extra": "",
        }
        try:
            return bool(parsed.evaluate(env, "lock_file"))  # type: ignore[call-arg, arg-type, unused-ignore]
        except TypeError:  # packaging before lock-file markers: no context argument
            return bool(parsed.evaluate({k: v for k, v in env.items() if isinstance(v, str)}))
    except Exception as exc:
        raise InputError(f"invalid or unevaluable marker {marker!r}: {exc}", path=path, line=line) from None


def _line_for(message: str, headers: Sequence[int]) -> int | None:
    match = _PACKAGE_CONTEXT.search(message)
    if match is None:
        return None
    i = int(match.group(1))
    return headers[i] if i < len(headers) else None


def _via_packaging(data: Mapping[str, Any], *, path: str, headers: Sequence[int]) -> _Lock:
    module = _packaging_pylock()
    try:
        lock = module.Pylock.from_dict(data)
    except (module.PylockValidationError, module.PylockUnsupportedVersionError) as exc:
        raise InputError(
            f"not a valid pylock file: {exc}", path=path, line=_line_for(str(exc), headers)
        ) from None
    entries = []
    for pkg in lock.packages:
        direct: tuple[str, str] | None = None
        files: list[Any] = []
        if pkg.vcs is not None:
            ref = pkg.vcs.commit_id or pkg.vcs.requested_revision
            direct = (
                pkg.vcs.type,
                f"{pkg.vcs.url or pkg.vcs.path}@{ref}" if ref else str(pkg.vcs.url or pkg.vcs.path),
            )
        elif pkg.directory is not None:
            direct = ("path", str(pkg.directory.path))
        elif pkg.archive is not None:
            direct = ("URL" if pkg.archive.url else "path", str(pkg.archive.url or pkg.archive.path))
        else:
            files = [*([pkg.sdist] if pkg.sdist else []), *(pkg.wheels or [])]
        hashes: set[str] = set()
        times: list[str] = []
        listed: list[Artifact] = []
        for f in files:
            mine = tuple(sorted(f"{a.lower()}:{d.lower()}" for a, d in f.hashes.items()))
            hashes.update(mine)
            when = _iso(f.upload_time) if f.upload_time is not None else None
            if when is not None:
                times.append(when)
            found = artifact(filename=f.name, url=f.url or f.path, hashes=mine, size=f.size, upload_time=when)
            if found is not None:
                listed.append(found)
        entries.append(
            _Entry(
                name=str(pkg.name),
                version=str(pkg.version) if pkg.version is not None else None,
                marker=str(pkg.marker) if pkg.marker is not None else None,
                index=pkg.index,
                hashes=tuple(sorted(hashes)),
                upload_time=min(times) if times else None,
                direct=direct,
                files=tuple(listed),
            )
        )
    return _Lock(
        entries=tuple(entries),
        extras=tuple(str(e) for e in lock.extras or ()),
        groups=tuple(lock.dependency_groups or ()),
    )


def _via_dicts(data: Mapping[str, Any], path: str, headers: Sequence[int]) -> _Lock:
    version = string(data.get("lock-version"), "lock-version", path=path)
    if version.split(".")[0] != "1":
        raise InputError(f"unsupported pylock lock-version {version!r}", path=path)
    entries = []
    for i, raw in enumerate(array(data.get("packages"), "packages", path=path)):
        line = headers[i] if i < len(headers) else None
        pkg = table(raw, "[[packages]]", path=path, line=line)
        name = string(pkg.get("name"), "package name", path=path, line=line)
        direct: tuple[str, str] | None = None
        files: list[Any] = []
        if "vcs" in pkg:
            vcs = table(pkg["vcs"], f"{name}: vcs", path=path, line=line)
            where = str(vcs.get("url") or vcs.get("path") or "")
            ref = vcs.get("commit-id") or vcs.get("requested-revision")
            direct = (str(vcs.get("type", "vcs")), f"{where}@{ref}" if ref else where)
        elif "directory" in pkg:
            direct = (
                "path",
                str(table(pkg["directory"], f"{name}: directory", path=path, line=line).get("path")),
            )
        elif "archive" in pkg:
            archive = table(pkg["archive"], f"{name}: archive", path=path, line=line)
            direct = ("URL" if archive.get("url") else "path", str(archive.get("url") or archive.get("path")))
        else:
            if "sdist" in pkg:
                files.append(table(pkg["sdist"], f"{name}: sdist", path=path, line=line))
            files.extend(
                table(w, f"{name}: wheel", path=path, line=line)
                for w in array(pkg.get("wheels", []), f"{name}: wheels", path=path, line=line)
            )
            if not files:
                raise InputError(f"{name}: no sdist, wheels, vcs, directory or archive", path=path, line=line)
        hashes: set[str] = set()
        times: list[str] = []
        listed: list[Artifact] = []
        for f in files:
            if "hashes" not in f:
                raise InputError(
                    f"{name}: a file without hashes (required by the spec)", path=path, line=line
                )
            mine = hash_strings(table(f["hashes"], "hashes", path=path, line=line), path=path, line=line)
            hashes.update(mine)
            when = _iso(f["upload-time"]) if f.get("upload-time") is not None else None
            if when is not None:
                times.append(when)
            location = f.get("url") or f.get("path")
            found = artifact(
                filename=optional_string(f.get("name"), f"{name}: file name", path=path, line=line),
                url=str(location) if location is not None else None,
                hashes=mine,
                size=f.get("size"),
                upload_time=when,
            )
            if found is not None:
                listed.append(found)
        entries.append(
            _Entry(
                name=name,
                version=optional_string(pkg.get("version"), f"{name}: version", path=path, line=line),
                marker=normalize_marker(
                    optional_string(pkg.get("marker"), f"{name}: marker", path=path, line=line),
                    path=path,
                    line=line,
                ),
                index=optional_string(pkg.get("index"), f"{name}: index", path=path, line=line),
                hashes=tuple(sorted(hashes)),
                upload_time=min(times) if times else None,
                direct=direct,
                files=tuple(listed),
            )
        )
    extras = array(data.get("extras", []), "extras", path=path)
    groups = array(data.get("dependency-groups", []), "dependency-groups", path=path)
    return _Lock(entries=tuple(entries), extras=tuple(map(str, extras)), groups=tuple(map(str, groups)))


def _iso(value: Any) -> str:
    """TOML datetimes (or strings) as ISO 8601 text, UTC written as ``Z``."""
    if hasattr(value, "isoformat"):
        text = str(value.isoformat())
        return text.replace("+00:00", "Z")
    return str(value)


__all__ = ["FORMAT", "is_pylock_name", "parse"]
