"""What pipvet knows about a project, whichever part of the index it came from.

:class:`ProjectInfo` is filled from the project JSON API when the index has one, and from the
simple page alone otherwise (a private index): then fields the page does not carry (links,
summary, ownership) stay empty and the rules that need them stay silent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from packaging.version import InvalidVersion, Version

from pipvet.index.simple import ProjectPage
from pipvet.models import Advisory, NormalizedName, normalize_name


@dataclass(frozen=True, kw_only=True, slots=True)
class ReleaseFile:
    filename: str
    url: str | None = None
    sha256: str | None = None
    size: int | None = None
    upload_time: datetime | None = None
    yanked: bool = False
    yanked_reason: str | None = None
    requires_python: str | None = None
    packagetype: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Role:
    role: str
    user: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ProjectInfo:
    name: NormalizedName
    display_name: str = ""
    latest: str | None = None
    summary: str | None = None
    description_length: int = 0
    author: str | None = None
    author_email: str | None = None
    maintainer: str | None = None
    maintainer_email: str | None = None
    license: str | None = None
    home_page: str | None = None
    project_urls: Mapping[str, str] = field(default_factory=dict)
    requires_python: str | None = None
    releases: Mapping[str, tuple[ReleaseFile, ...]] = field(default_factory=dict)
    """Version -> files, in the order the index gave (not necessarily sorted)."""
    vulnerabilities: tuple[Advisory, ...] = ()
    """Advisories the JSON API lists for the newest release."""
    roles: tuple[Role, ...] | None = None
    """Current owners and maintainers, when the index publishes them; ``None`` if unknown."""
    organization: str | None = None
    previous_roles: Mapping[str, tuple[Role, ...]] = field(default_factory=dict)
    """Roles pipvet saw earlier, keyed by the newest version at that time (local history)."""
    status: str | None = None
    status_reason: str | None = None
    source: str = "json"
    """``json`` (project JSON API) or ``simple`` (only the simple page was available)."""

    def sorted_versions(self) -> list[str]:
        """Versions in PEP 440 order, invalid ones first in index order."""

        def key(v: str) -> tuple[int, Version | str]:
            try:
                return (1, Version(v))
            except InvalidVersion:
                return (0, v)

        return sorted(self.releases, key=key)

    def first_upload(self, version: str) -> datetime | None:
        times = [f.upload_time for f in self.releases.get(version, ()) if f.upload_time]
        return min(times) if times else None


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime, or ``None``."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    # Python 3.10's fromisoformat accepts only 0, 3 or 6 fractional digits.
    if "." in text:
        head, _, tail = text.partition(".")
        digits = ""
        rest = ""
        for i, ch in enumerate(tail):
            if not ch.isdigit():
                rest = tail[i:]
                break
            digits += ch
        text = f"{head}.{(digits + '000000')[:6]}{rest}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def from_page(page: ProjectPage) -> ProjectInfo:
    """A :class:`ProjectInfo` from the simple page alone."""
    releases: dict[str, list[ReleaseFile]] = {v: [] for v in page.versions}
    for f in page.files:
        version = f.version
        if version is None:
            continue
        releases.setdefault(version, []).append(
            ReleaseFile(
                filename=f.filename,
                url=f.url,
                sha256=f.sha256,
                size=f.size,
                upload_time=parse_time(f.upload_time),
                yanked=f.yanked,
                yanked_reason=f.yanked_reason,
                requires_python=f.requires_python,
                packagetype="bdist_wheel" if f.is_wheel else "sdist",
            )
        )
    info = ProjectInfo(
        name=normalize_name(page.name),
        display_name=page.name,
        releases={k: tuple(v) for k, v in releases.items()},
        status=page.status,
        status_reason=page.status_reason,
        source="simple",
    )
    versions = info.sorted_versions()
    return _with_latest(info, versions[-1] if versions else None)


def _with_latest(info: ProjectInfo, latest: str | None) -> ProjectInfo:
    from dataclasses import replace

    return replace(info, latest=latest)
