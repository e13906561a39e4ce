"""Signals from a project's metadata on the index (not from its files). Pure.

:func:`metadata_findings` reads a :class:`~pipvet.index.project.ProjectInfo` and a version and
returns findings with ``stage=Stage.METADATA``. These are not per-file rules and are not in
``ALL_RULES``; the vetting layer adds them next to the code findings.

Thresholds are module constants, documented where they are defined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from packaging.version import InvalidVersion, Version

from pipvet.analysis.names import Popular, version_findings
from pipvet.index.project import ProjectInfo, ReleaseFile, Role
from pipvet.models import Finding, Severity, Stage, normalize_name

#: Releases younger than this are held back (the default minimum-age policy).
DEFAULT_MIN_AGE = timedelta(days=3)
#: Younger than this is HIGH rather than MEDIUM.
VERY_NEW = timedelta(days=1)
#: A project whose first upload is younger than this is "new".
NEW_PROJECT = timedelta(days=30)
#: This many releases inside :data:`BURST_WINDOW` is a burst.
BURST_RELEASES = 3
BURST_WINDOW = timedelta(minutes=10)
#: A release after a silence this long (abandoned-project takeovers).
DORMANT = timedelta(days=730)
#: A first-number jump at least this big between consecutive releases (not into calver).
MAJOR_JUMP = 10
#: Repository names less similar than this (rapidfuzz token-set ratio) are a mismatch.
LINK_SIMILARITY = 60
#: A description shorter than this counts as missing.
SHORT_DESCRIPTION = 80

_REPO_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "codeberg.org")


@dataclass(frozen=True, kw_only=True, slots=True)
class MetaRule:
    id: str
    title: str
    severity: Severity
    rationale: str


RULES: dict[str, MetaRule] = {
    r.id: r
    for r in (
        MetaRule(
            id="PV-META-RELEASE-AGE",
            title="Release is very new",
            severity=Severity.MEDIUM,
            rationale="Most malicious releases are found and removed within days; waiting is cheap.",
        ),
        MetaRule(
            id="PV-META-NEW-PROJECT",
            title="Project is new",
            severity=Severity.MEDIUM,
            rationale="Typosquats and throw-away malware projects are days old when they are installed.",
        ),
        MetaRule(
            id="PV-META-SINGLE-RELEASE",
            title="Project has a single release",
            severity=Severity.LOW,
            rationale="Throw-away malicious projects rarely publish a second version.",
        ),
        MetaRule(
            id="PV-META-BURST",
            title="Several releases within minutes",
            severity=Severity.LOW,
            rationale="Attackers iterate on a payload by uploading version after version "
            "(only bursts that include the vetted release count).",
        ),
        MetaRule(
            id="PV-META-DORMANT",
            title="Release after years of silence",
            severity=Severity.MEDIUM,
            rationale="Abandoned projects are taken over (expired e-mail domains, leaked tokens) and "
            "a malicious release follows a long silence.",
        ),
        MetaRule(
            id="PV-META-NO-LINKS",
            title="No project links",
            severity=Severity.LOW,
            rationale="Honest projects link to a home page or a repository.",
        ),
        MetaRule(
            id="PV-META-LINK-MISMATCH",
            title="Repository link does not match the project",
            severity=Severity.LOW,
            rationale="Impostors link to a famous repository to borrow its stars and credibility.",
        ),
        MetaRule(
            id="PV-META-SPARSE",
            title="Sparse metadata",
            severity=Severity.LOW,
            rationale="No summary, description, licence or author: typical of throw-away projects.",
        ),
        MetaRule(
            id="PV-META-YANKED",
            title="Yanked release",
            severity=Severity.MEDIUM,
            rationale="The maintainers withdrew it; installers skip it unless pinned exactly.",
        ),
        MetaRule(
            id="PV-META-STATUS",
            title="Project status marker",
            severity=Severity.LOW,
            rationale="The index marks the project quarantined, archived or deprecated (PEP 792).",
        ),
        MetaRule(
            id="PV-META-MAINTAINER-CHANGE",
            title="Maintainers changed",
            severity=Severity.MEDIUM,
            rationale="A new owner right before a release is how account and project takeovers look.",
        ),
        MetaRule(
            id="PV-META-VERSION-JUMP",
            title="Huge version jump",
            severity=Severity.MEDIUM,
            rationale="Jumping from 1.x to 99.x wins a resolver's highest-version race.",
        ),
    )
}


def _finding(rule_id: str, message: str, evidence: str, severity: Severity | None = None) -> Finding:
    rule = RULES[rule_id]
    return Finding(
        rule=rule.id,
        severity=severity or rule.severity,
        title=rule.title,
        message=message,
        evidence=evidence,
        stage=Stage.METADATA,
    )


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 0:
        return "in the future"
    if seconds < 3600:
        return f"{seconds // 60} minutes ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} hours ago"
    return f"{seconds // 86400} days ago"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _version_key(v: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(v))
    except InvalidVersion:
        return (0, v)


def metadata_findings(
    project: ProjectInfo,
    version: str,
    now: datetime,
    *,
    filename: str | None = None,
    min_age: timedelta = DEFAULT_MIN_AGE,
    popular: Popular | None = None,
) -> list[Finding]:
    """Every metadata signal for ``version`` of ``project`` as seen at ``now`` (aware UTC).

    ``filename`` names the exact file being vetted (its own upload time and yanked state count);
    without it the release's earliest upload is used.
    """
    version = _release_key(project, version)
    files = project.releases.get(version, ())
    out: list[Finding] = []
    out += _release_age(project, version, files, filename, now, min_age)
    out += _project_age(project, now)
    out += _history(project, version)
    out += _links(project, popular)
    out += _sparse(project)
    out += _yanked(project, version, files, filename)
    out += _status(project)
    out += _maintainers(project, version)
    out += version_findings(project.name, version, release_count=len(project.releases), popular=popular)
    return out


def _release_key(project: ProjectInfo, version: str) -> str:
    """The key under which the index lists ``version`` (``1.0`` may be listed as ``1.0.0``)."""
    if version in project.releases:
        return version
    try:
        wanted = Version(version)
    except InvalidVersion:
        return version
    for v in project.releases:
        try:
            if Version(v) == wanted:
                return v
        except InvalidVersion:
            continue
    return version


def _release_age(
    project: ProjectInfo,
    version: str,
    files: tuple[ReleaseFile, ...],
    filename: str | None,
    now: datetime,
    min_age: timedelta,
) -> list[Finding]:
    chosen = [f for f in files if f.filename == filename] if filename else list(files)
    times = [f.upload_time for f in chosen if f.upload_time is not None]
    if not times:
        return []
    uploaded = min(times) if not filename else times[0]
    age = now - uploaded
    if age >= min_age:
        return []
    what = filename or f"{project.name} {version}"
    return [
        _finding(
            "PV-META-RELEASE-AGE",
            f"{what} was uploaded {_age(age)}, less than the minimum age of {min_age.days} days.",
            f"uploaded {_iso(uploaded)} ({_age(age)}; minimum {min_age})",
            Severity.HIGH if age < VERY_NEW else None,
        )
    ]


def _all_uploads(project: ProjectInfo) -> list[tuple[datetime, str]]:
    out = []
    for v, files in project.releases.items():
        times = [f.upload_time for f in files if f.upload_time is not None]
        if times:
            out.append((min(times), v))
    return sorted(out)


def _project_age(project: ProjectInfo, now: datetime) -> list[Finding]:
    uploads = _all_uploads(project)
    if not uploads:
        return []
    first, first_version = uploads[0]
    age = now - first
    if age >= NEW_PROJECT:
        return []
    return [
        _finding(
            "PV-META-NEW-PROJECT",
            f"{project.name}'s first release ({first_version}) was uploaded {_age(age)}.",
            f"first upload {_iso(first)} ({_age(age)})",
        )
    ]


def _history(project: ProjectInfo, version: str) -> list[Finding]:
    out: list[Finding] = []
    real = [v for v, files in project.releases.items() if files]
    if len(real) == 1:
        out.append(
            _finding(
                "PV-META-SINGLE-RELEASE",
                f"{project.name} has published a single release ({real[0]}).",
                f"releases: {real[0]}",
            )
        )
    uploads = _all_uploads(project)
    for i in range(len(uploads) - BURST_RELEASES + 1):
        window = uploads[i : i + BURST_RELEASES]
        if version not in {v for _, v in window}:
            continue
        if window[-1][0] - window[0][0] <= BURST_WINDOW:
            versions = ", ".join(v for _, v in window)
            out.append(
                _finding(
                    "PV-META-BURST",
                    f"{project.name} published {BURST_RELEASES} releases within "
                    f"{int(BURST_WINDOW.total_seconds() // 60)} minutes ({versions}).",
                    f"{versions} between {_iso(window[0][0])} and {_iso(window[-1][0])}",
                )
            )
            break
    ordered = [v for v in sorted(project.releases, key=_version_key) if project.releases[v]]
    times = {v: t for t, v in uploads}
    if version in ordered:
        i = ordered.index(version)
        if i > 0:
            prev = ordered[i - 1]
            out += _jump(project, prev, version)
            this, before = times.get(version), _last_upload(project, prev)
            if this is not None and before is not None and this - before >= DORMANT:
                out.append(
                    _finding(
                        "PV-META-DORMANT",
                        f"{project.name} {version} came {(this - before).days} days after the previous "
                        f"release ({prev}).",
                        f"{prev} last uploaded {_iso(before)}; {version} uploaded {_iso(this)}",
                    )
                )
    return out


def _last_upload(project: ProjectInfo, version: str) -> datetime | None:
    times = [f.upload_time for f in project.releases.get(version, ()) if f.upload_time is not None]
    return max(times) if times else None


def _major(version: str) -> int | None:
    try:
        release = Version(version).release
    except InvalidVersion:
        return None
    return release[0] if release else None


def _jump(project: ProjectInfo, prev: str, version: str) -> list[Finding]:
    a, b = _major(prev), _major(version)
    if a is None or b is None or b - a < MAJOR_JUMP:
        return []
    if 1990 <= b <= 2100 or b >= 19900101:
        return []  # a switch to calendar versioning
    return [
        _finding(
            "PV-META-VERSION-JUMP",
            f"{project.name} jumped from {prev} to {version}.",
            f"{prev} -> {version}",
        )
    ]


def _repo_links(project: ProjectInfo) -> list[tuple[str, str, str]]:
    """``(url, owner, repo)`` for links to known code hosts."""
    urls = [*project.project_urls.values()]
    if project.home_page:
        urls.append(project.home_page)
    out = []
    for url in urls:
        try:
            parts = urlsplit(url)
        except ValueError:
            continue
        host = (parts.hostname or "").lower().removeprefix("www.")
        if host not in _REPO_HOSTS:
            continue
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) >= 2:
            out.append((url, segments[0], re.sub(r"\.git$", "", segments[1])))
    return out


def _links(project: ProjectInfo, popular: Popular | None) -> list[Finding]:
    if project.source != "json":
        return []  # the simple page carries no links; silence is not evidence
    if not project.home_page and not project.project_urls:
        return [
            _finding(
                "PV-META-NO-LINKS",
                f"{project.name} names no home page, repository or documentation.",
                "project_urls: none; home_page: none",
            )
        ]
    repos = _repo_links(project)
    if not repos:
        return []
    from rapidfuzz import fuzz

    name = normalize_name(project.name)
    best = None
    for url, owner, repo in repos:
        r = normalize_name(repo)
        o = normalize_name(owner)
        score = max(
            fuzz.token_set_ratio(name.replace("-", " "), r.replace("-", " ")),
            fuzz.token_set_ratio(name.replace("-", " "), o.replace("-", " ")),
        )
        if name in r or r in name or name in o:
            score = 100
        if best is None or score > best[0]:
            best = (score, url, r)
    assert best is not None
    score, url, repo = best
    if score >= LINK_SIMILARITY:
        return []
    borrowed = popular is not None and repo in popular and repo != name
    return [
        _finding(
            "PV-META-LINK-MISMATCH",
            (
                f"{project.name} links to the repository of the popular project {repo!r}."
                if borrowed
                else f"{project.name} links to a repository named {repo!r}."
            ),
            f"{url} (similarity {score:.0f}/100)",
            Severity.MEDIUM if borrowed else None,
        )
    ]


def _sparse(project: ProjectInfo) -> list[Finding]:
    if project.source != "json":
        return []
    missing = []
    if not project.summary:
        missing.append("summary")
    if project.description_length < SHORT_DESCRIPTION:
        missing.append("description")
    if not project.license:
        missing.append("licence")
    if not (project.author or project.author_email or project.maintainer or project.maintainer_email):
        missing.append("author")
    if len(missing) < 3:
        return []
    return [
        _finding(
            "PV-META-SPARSE",
            f"{project.name} has almost no metadata (missing: {', '.join(missing)}).",
            "missing: " + ", ".join(missing),
        )
    ]


def _yanked(
    project: ProjectInfo, version: str, files: tuple[ReleaseFile, ...], filename: str | None
) -> list[Finding]:
    chosen = [f for f in files if f.filename == filename] if filename else list(files)
    yanked = [f for f in chosen if f.yanked]
    if not yanked or (not filename and len(yanked) < len(chosen)):
        return []
    reason = next((f.yanked_reason for f in yanked if f.yanked_reason), None)
    what = filename or f"{project.name} {version}"
    return [
        _finding(
            "PV-META-YANKED",
            f"{what} was yanked" + (f": {reason}" if reason else " (no reason given)") + ".",
            f"yanked: {', '.join(f.filename for f in yanked)}" + (f"; reason: {reason}" if reason else ""),
        )
    ]


_STATUS_SEVERITY = {
    "quarantined": Severity.HIGH,
    "archived": Severity.LOW,
    "deprecated": Severity.LOW,
}


def _status(project: ProjectInfo) -> list[Finding]:
    status = (project.status or "").lower()
    if status not in _STATUS_SEVERITY:
        return []
    reason = f" ({project.status_reason})" if project.status_reason else ""
    return [
        _finding(
            "PV-META-STATUS",
            f"The index marks {project.name} as {status}{reason}.",
            f"project-status: {status}{reason}",
            _STATUS_SEVERITY[status],
        )
    ]


def _users(roles: tuple[Role, ...]) -> set[str]:
    return {r.user.lower() for r in roles if r.user}


def _maintainers(project: ProjectInfo, version: str) -> list[Finding]:
    if project.roles is None or not project.previous_roles:
        return []
    earlier = sorted(project.previous_roles, key=_version_key)
    if _version_key(version) <= _version_key(earlier[-1]):
        return []  # the version was already out when the earlier roles were seen
    before = _users(project.previous_roles[earlier[-1]])
    now = _users(project.roles)
    if not before or before == now:
        return []
    added, removed = sorted(now - before), sorted(before - now)
    parts = []
    if added:
        parts.append("added " + ", ".join(added))
    if removed:
        parts.append("removed " + ", ".join(removed))
    return [
        _finding(
            "PV-META-MAINTAINER-CHANGE",
            f"{project.name}'s maintainers changed since {earlier[-1]}: {'; '.join(parts)}.",
            f"{earlier[-1]}: {', '.join(sorted(before))} -> {version}: {', '.join(sorted(now))}",
        )
    ]
