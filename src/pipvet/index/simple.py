"""Sans-I/O parsers for simple-API project pages: PEP 691 JSON and PEP 503 HTML.

Both forms become one :class:`ProjectPage`. Covered: hashes (JSON ``hashes`` or the URL
fragment ``#sha256=...``), ``requires-python``, yanked state and reason (PEP 592), core
metadata files (PEP 658 ``data-dist-info-metadata`` / PEP 714 ``data-core-metadata``), sizes
and upload times (PEP 700), and project status markers (PEP 792) where present.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urldefrag, urljoin

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

from pipvet.errors import NetworkError

JSON_CONTENT_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_CONTENT_TYPE = "application/vnd.pypi.simple.v1+html"
ACCEPT = f"{JSON_CONTENT_TYPE}, {HTML_CONTENT_TYPE};q=0.2, text/html;q=0.01"

_HASH_NAMES = ("sha256", "sha384", "sha512", "sha224", "sha1", "md5", "blake2b_256")


@dataclass(frozen=True, kw_only=True, slots=True)
class DistFile:
    """One file listed on a project page."""

    filename: str
    url: str
    """Absolute URL, without the hash fragment."""
    hashes: Mapping[str, str] = field(default_factory=dict)
    requires_python: str | None = None
    yanked: bool = False
    yanked_reason: str | None = None
    metadata: bool = False
    """True when the index serves the core metadata file at ``url + '.metadata'`` (PEP 658)."""
    metadata_hashes: Mapping[str, str] = field(default_factory=dict)
    size: int | None = None
    upload_time: str | None = None
    """ISO 8601 upload time (PEP 700), as the index wrote it."""

    @property
    def sha256(self) -> str | None:
        return self.hashes.get("sha256")

    @property
    def version(self) -> str | None:
        return version_of(self.filename)

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")


@dataclass(frozen=True, kw_only=True, slots=True)
class ProjectPage:
    """A parsed project page."""

    name: str
    url: str
    files: tuple[DistFile, ...] = ()
    versions: tuple[str, ...] = ()
    """Versions the index lists (PEP 700), or those derived from the file names."""
    status: str | None = None
    """PEP 792 project status: ``active``, ``archived``, ``quarantined`` or ``deprecated``."""
    status_reason: str | None = None
    api_version: str | None = None

    def files_for(self, version: str) -> tuple[DistFile, ...]:
        from packaging.version import InvalidVersion, Version

        try:
            wanted = Version(version)
        except InvalidVersion:
            return tuple(f for f in self.files if f.version == version)
        out = []
        for f in self.files:
            v = f.version
            if v is None:
                continue
            try:
                if Version(v) == wanted:
                    out.append(f)
            except InvalidVersion:
                continue
        return tuple(out)


def version_of(filename: str) -> str | None:
    """The version in a wheel or sdist file name, or ``None`` if the name does not parse."""
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        return str(parse_sdist_filename(filename)[1])
    except (InvalidWheelFilename, InvalidSdistFilename):
        pass
    # Legacy formats (.egg, .exe, .tar.bz2, non-normalised sdists): best effort.
    m = re.match(r"^(?P<name>.+?)-(?P<ver>\d[^-]*?)(?:-py\d.*)?\.(?:tar\.gz|tar\.bz2|zip|egg|tgz)$", filename)
    return m.group("ver") if m else None


def parse_page(body: bytes, content_type: str, url: str, *, name: str) -> ProjectPage:
    """Parse a project page in whichever form the index answered."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype == JSON_CONTENT_TYPE or ctype == "application/json":
        return parse_json(body, url)
    return parse_html(body, url, name=name)


def _hashes_from(url: str) -> tuple[str, dict[str, str]]:
    clean, fragment = urldefrag(url)
    hashes: dict[str, str] = {}
    if fragment and "=" in fragment:
        algo, _, value = fragment.partition("=")
        if algo in _HASH_NAMES and re.fullmatch(r"[0-9a-fA-F]+", value):
            hashes[algo] = value.lower()
    return clean, hashes


def _metadata_flag(value: Any) -> tuple[bool, dict[str, str]]:
    """PEP 658/714: ``true``/``false`` or a hash mapping (JSON), ``true``/``sha256=...`` (HTML)."""
    if value is None or value is False:
        return False, {}
    if value is True:
        return True, {}
    if isinstance(value, Mapping):
        return True, {str(k): str(v).lower() for k, v in value.items()}
    if isinstance(value, str):
        if value.lower() in ("", "true"):
            return True, {}
        algo, sep, digest = value.partition("=")
        if sep and algo in _HASH_NAMES:
            return True, {algo: digest.lower()}
        return True, {}
    return False, {}


def parse_json(body: bytes, url: str) -> ProjectPage:
    """A PEP 691 JSON project page."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NetworkError(f"{url}: the index sent invalid JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("files", []), list):
        raise NetworkError(f"{url}: the index sent JSON that is not a project page")
    files = []
    for raw in data.get("files", []):
        if not isinstance(raw, dict) or "filename" not in raw or "url" not in raw:
            continue
        href, frag_hashes = _hashes_from(urljoin(url, str(raw["url"])))
        hashes: dict[str, Any] = raw["hashes"] if isinstance(raw.get("hashes"), dict) else {}
        merged = {**frag_hashes, **{str(k): str(v).lower() for k, v in hashes.items()}}
        yanked = raw.get("yanked", False)
        meta = raw.get("core-metadata", raw.get("dist-info-metadata"))
        has_meta, meta_hashes = _metadata_flag(meta)
        size = raw.get("size")
        files.append(
            DistFile(
                filename=str(raw["filename"]),
                url=href,
                hashes=merged,
                requires_python=_str_or_none(raw.get("requires-python")),
                yanked=bool(yanked),
                yanked_reason=yanked if isinstance(yanked, str) and yanked else None,
                metadata=has_meta,
                metadata_hashes=meta_hashes,
                size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                upload_time=_str_or_none(raw.get("upload-time")),
            )
        )
    meta_block: dict[str, Any] = data["meta"] if isinstance(data.get("meta"), dict) else {}
    status_block = data.get("project-status")
    status = reason = None
    if isinstance(status_block, dict):
        status = _str_or_none(status_block.get("status"))
        reason = _str_or_none(status_block.get("reason"))
    versions = data.get("versions")
    return ProjectPage(
        name=str(data.get("name", "")),
        url=url,
        files=tuple(files),
        versions=(tuple(str(v) for v in versions) if isinstance(versions, list) else _derive_versions(files)),
        status=status,
        status_reason=reason,
        api_version=_str_or_none(meta_block.get("api-version")),
    )


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _derive_versions(files: list[DistFile]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for f in files:
        v = f.version
        if v is not None:
            seen.setdefault(v, None)
    return tuple(seen)


class _AnchorParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[dict[str, str | None], list[str]]] = []
        self.meta: dict[str, str] = {}
        self.base: str | None = None
        self._current: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "a":
            self._current = []
            self.anchors.append((attributes, self._current))
        elif tag == "meta" and attributes.get("name"):
            self.meta[str(attributes["name"])] = attributes.get("content") or ""
        elif tag == "base" and attributes.get("href") and self.base is None:
            self.base = attributes["href"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._current = None

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current.append(data)


def parse_html(body: bytes, url: str, *, name: str) -> ProjectPage:
    """A PEP 503 HTML project page (with the PEP 592/658/714/792 attributes)."""
    text = body.decode("utf-8", errors="replace")
    parser = _AnchorParser()
    parser.feed(text)
    parser.close()
    base = urljoin(url, parser.base) if parser.base else url
    files = []
    for attrs, text_parts in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        absolute, hashes = _hashes_from(urljoin(base, html.unescape(href)))
        filename = "".join(text_parts).strip() or absolute.rstrip("/").rsplit("/", 1)[-1]
        yanked_attr = attrs.get("data-yanked")
        yanked = "data-yanked" in attrs
        meta_attr = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
        present = "data-core-metadata" in attrs or "data-dist-info-metadata" in attrs
        has_meta, meta_hashes = _metadata_flag(meta_attr if meta_attr is not None else present or None)
        if meta_attr is not None and meta_attr.lower() == "false":
            has_meta, meta_hashes = False, {}
        files.append(
            DistFile(
                filename=filename,
                url=absolute,
                hashes=hashes,
                requires_python=attrs.get("data-requires-python") or None,
                yanked=yanked,
                yanked_reason=yanked_attr or None,
                metadata=has_meta,
                metadata_hashes=meta_hashes,
                upload_time=attrs.get("data-upload-time") or None,
            )
        )
    return ProjectPage(
        name=name,
        url=url,
        files=tuple(files),
        versions=_derive_versions(files),
        status=parser.meta.get("pypi:project-status") or None,
        status_reason=parser.meta.get("pypi:project-status-reason") or None,
        api_version=parser.meta.get("pypi:repository-version") or None,
    )
