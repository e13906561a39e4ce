"""Sans-I/O parser for the project JSON API (``<base>/pypi/<name>/json``).

The public index lays its simple API out at ``<root>/simple/`` and the JSON API at
``<root>/pypi/<name>/json``; :func:`json_api_base` derives one from the other the same way
(so a mirror or a repository manager that copies the layout works too), and the user can set
the base explicitly (``json-api-url`` / ``PIPVET_JSON_API_URL``). An index without a JSON API
answers 404 there; the client then falls back to the simple page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from pipvet.errors import NetworkError
from pipvet.index.project import ProjectInfo, ReleaseFile, Role, parse_time
from pipvet.models import Advisory, Severity, VulnerabilityID, normalize_name


def json_api_base(index_url: str) -> str | None:
    """``https://host/simple/`` -> ``https://host/pypi/``; ``None`` if the layout is not that."""
    parts = urlsplit(index_url)
    if parts.scheme not in ("http", "https"):
        return None
    path = parts.path.rstrip("/")
    if not path.endswith("/simple") and path != "simple":
        return None
    root = path[: -len("simple")]
    return urlunsplit((parts.scheme, parts.netloc, root + "pypi/", "", ""))


def project_json_url(base: str, name: str) -> str:
    return base.rstrip("/") + "/" + quote(normalize_name(name)) + "/json"


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        stripped = value.strip()
        return stripped if stripped and stripped.upper() != "UNKNOWN" else None
    return None


def parse_project_json(body: bytes, url: str) -> ProjectInfo:
    """Parse the JSON API's answer for one project."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NetworkError(f"{url}: the JSON API sent invalid JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("info"), dict):
        raise NetworkError(f"{url}: the JSON API answer has no 'info' object")
    info: Mapping[str, Any] = data["info"]
    raw_releases: dict[str, Any] = data["releases"] if isinstance(data.get("releases"), dict) else {}
    releases: dict[str, tuple[ReleaseFile, ...]] = {}
    for version, files in raw_releases.items():
        if not isinstance(files, list):
            continue
        releases[str(version)] = tuple(_release_file(f, url) for f in files if isinstance(f, dict))
    # Some indexes omit 'releases' but give the newest files under 'urls'.
    latest = _text(info.get("version"))
    if latest and latest not in releases and isinstance(data.get("urls"), list):
        releases[latest] = tuple(_release_file(f, url) for f in data["urls"] if isinstance(f, dict))
    urls = info.get("project_urls")
    project_urls = (
        {str(k): v for k, v in urls.items() if _text(v) is not None} if isinstance(urls, dict) else {}
    )
    roles: tuple[Role, ...] | None = None
    organization = None
    ownership = data.get("ownership")
    if isinstance(ownership, dict):
        organization = _text(ownership.get("organization"))
        raw_roles = ownership.get("roles")
        if isinstance(raw_roles, list):
            roles = tuple(
                Role(role=str(r.get("role", "")), user=str(r.get("user", "")))
                for r in raw_roles
                if isinstance(r, dict) and r.get("user")
            )
    description = info.get("description")
    status = status_reason = None
    status_block = data.get("project-status") or info.get("project_status")
    if isinstance(status_block, dict):
        status = _text(status_block.get("status"))
        status_reason = _text(status_block.get("reason"))
    name = str(info.get("name") or "")
    return ProjectInfo(
        name=normalize_name(name),
        display_name=name,
        latest=latest,
        summary=_text(info.get("summary")),
        description_length=len(description.strip()) if isinstance(description, str) else 0,
        author=_text(info.get("author")),
        author_email=_text(info.get("author_email")),
        maintainer=_text(info.get("maintainer")),
        maintainer_email=_text(info.get("maintainer_email")),
        license=_text(info.get("license")) or _text(info.get("license_expression")),
        home_page=_text(info.get("home_page")),
        project_urls=project_urls,
        requires_python=_text(info.get("requires_python")),
        releases=releases,
        vulnerabilities=tuple(_advisory(v) for v in data.get("vulnerabilities") or () if isinstance(v, dict)),
        roles=roles,
        organization=organization,
        status=status,
        status_reason=status_reason,
        source="json",
    )


def _release_file(raw: Mapping[str, Any], base: str) -> ReleaseFile:
    digests: dict[str, Any] = raw["digests"] if isinstance(raw.get("digests"), dict) else {}
    size = raw.get("size")
    yanked_reason = raw.get("yanked_reason")
    return ReleaseFile(
        filename=str(raw.get("filename", "")),
        url=urljoin(base, href) if (href := _text(raw.get("url"))) else None,
        sha256=_text(digests.get("sha256")),
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        upload_time=parse_time(raw.get("upload_time_iso_8601") or raw.get("upload_time")),
        yanked=bool(raw.get("yanked", False)),
        yanked_reason=_text(yanked_reason),
        requires_python=_text(raw.get("requires_python")),
        packagetype=_text(raw.get("packagetype")),
    )


def _advisory(raw: Mapping[str, Any]) -> Advisory:
    aliases: list[Any] = raw["aliases"] if isinstance(raw.get("aliases"), list) else []
    fixed: list[Any] = raw["fixed_in"] if isinstance(raw.get("fixed_in"), list) else []
    return Advisory(
        id=VulnerabilityID(str(raw.get("id", ""))),
        aliases=tuple(str(a) for a in aliases),
        summary=_text(raw.get("summary")) or (_text(raw.get("details")) or "")[:200],
        severity=Severity.MEDIUM,
        fixed_in=tuple(str(f) for f in fixed),
        url=_text(raw.get("link")),
    )
