"""Fetch every file of one release (the sdist and all wheels) into the verified cache.

``pipvet inspect name`` / ``name==version`` uses this: a project ships several files per
release and any of them can carry the payload, so all of them are vetted, not just one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from pipvet.errors import NetworkError, UsageError
from pipvet.index.client import IndexClient
from pipvet.index.download import Downloaded
from pipvet.index.project import ProjectInfo, ReleaseFile
from pipvet.models import NormalizedName, normalize_name

_TARGET = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:==\s*(?P<version>[^\s=;,]+))?\s*$"
)


def parse_target(text: str) -> tuple[NormalizedName, str | None] | None:
    """``name`` or ``name==version``; ``None`` when ``text`` is not of that form (a path, say)."""
    m = _TARGET.match(text)
    if m is None:
        return None
    return normalize_name(m.group("name")), m.group("version")


@dataclass(frozen=True, kw_only=True, slots=True)
class FetchedRelease:
    project: ProjectInfo
    version: str
    files: tuple[tuple[ReleaseFile, Downloaded], ...]


def pick_version(project: ProjectInfo, wanted: str | None) -> str:
    """The release key for ``wanted``, or the newest final release that is not yanked."""
    if wanted is not None:
        try:
            target = Version(wanted)
        except InvalidVersion:
            target = None
        for key in project.releases:
            if key == wanted:
                return key
            try:
                if target is not None and Version(key) == target:
                    return key
            except InvalidVersion:
                continue
        raise UsageError(
            f"{project.name} has no release {wanted}",
            hint=f"the newest is {project.latest}" if project.latest else None,
        )
    candidates = []
    for key, files in project.releases.items():
        if not files or all(f.yanked for f in files):
            continue
        try:
            v = Version(key)
        except InvalidVersion:
            continue
        candidates.append((not v.is_prerelease, v, key))
    if not candidates:
        raise NetworkError(f"{project.name} has no installable release on the index")
    return max(candidates)[2]


def fetch_release(client: IndexClient, name: str, version: str | None = None) -> FetchedRelease:
    """Project info, the chosen version, and every file of it downloaded and verified."""
    project = client.project_info(name)
    key = pick_version(project, version)
    files = project.releases.get(key, ())
    if not files:
        raise NetworkError(f"{project.name} {key} has no files on {client.index.display}")
    return FetchedRelease(project=project, version=key, files=tuple((f, client.download(f)) for f in files))
