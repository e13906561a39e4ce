"""Simple-API pages the vetting index serves: filtering and rendering, pure (no I/O).

The upstream page (parsed by :mod:`pipvet.index.simple`) is filtered by a decision
function, and what is left is rendered as PEP 691 JSON or PEP 503 HTML with every file URL
pointing back at the vetting index. PEP 658 metadata files are deliberately not advertised: the
installer then reads metadata from the artifact itself, which it can only get after vetting.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from pipvet.index.simple import DistFile, ProjectPage

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"
TEXT_HTML = "text/html"

SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar", ".tar.xz")


@dataclass(frozen=True, kw_only=True, slots=True)
class Omission:
    """A file the installer never saw, and why."""

    project: str
    version: str | None
    filename: str
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class FilteredPage:
    name: str
    kept: tuple[tuple[DistFile, str | None], ...]
    """Files served, each with its version (parsed from the file name)."""
    omitted: tuple[Omission, ...]

    def find(self, filename: str) -> tuple[DistFile, str | None] | None:
        return next((k for k in self.kept if k[0].filename == filename), None)

    def omission(self, filename: str) -> Omission | None:
        return next((o for o in self.omitted if o.filename == filename), None)


def version_of(filename: str) -> str | None:
    """The version of a wheel or sdist an installer can use, or ``None`` (eggs, installers, ...)."""
    from pipvet.index.simple import version_of as parse

    if not filename.endswith((".whl", *SDIST_SUFFIXES)):
        return None
    return parse(filename)


def yanked_of(file: DistFile) -> bool | str:
    """PEP 592: ``False``, or the reason (``True`` when none is given)."""
    return (file.yanked_reason or True) if file.yanked else False


def is_sdist(filename: str) -> bool:
    return filename.endswith(SDIST_SUFFIXES)


def filter_page(page: ProjectPage, decide: Callable[[DistFile, str | None], str | None]) -> FilteredPage:
    """Keep the files ``decide`` has no objection to; record the reason for every other file."""
    kept: list[tuple[DistFile, str | None]] = []
    omitted: list[Omission] = []
    for f in page.files:
        version = version_of(f.filename)
        reason = "not a wheel or sdist with a readable version" if version is None else decide(f, version)
        if reason is None:
            kept.append((f, version))
        else:
            omitted.append(Omission(project=page.name, version=version, filename=f.filename, reason=reason))
    return FilteredPage(name=page.name, kept=tuple(kept), omitted=tuple(omitted))


# --- content negotiation and rendering ---------------------------------------------------------


def negotiate(accept: str | None, query_format: str | None = None) -> str:
    """Pick JSON or HTML per PEP 691 from an Accept header (and the optional ``format`` query)."""
    if query_format in (JSON_TYPE, HTML_TYPE, TEXT_HTML):
        return query_format
    if not accept:
        return TEXT_HTML
    best, best_q = TEXT_HTML, -1.0
    for i, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if media in ("*/*", "application/*"):
            media = TEXT_HTML
        if media in (JSON_TYPE, HTML_TYPE, TEXT_HTML) and (q > best_q or (q == best_q and i == 0)):
            best, best_q = media, q
    return best


def render_project(page: FilteredPage, media: str, url_for: Callable[[DistFile], str]) -> bytes:
    """The filtered project page in ``media`` (JSON or HTML), file URLs from ``url_for``."""
    if media == JSON_TYPE:
        files = []
        for f, _ in page.kept:
            entry: dict[str, object] = {"filename": f.filename, "url": url_for(f), "hashes": dict(f.hashes)}
            if f.requires_python:
                entry["requires-python"] = f.requires_python
            if f.size is not None:
                entry["size"] = f.size
            if f.upload_time:
                entry["upload-time"] = f.upload_time
            files.append(entry)
        versions = sorted({v for _, v in page.kept if v})
        doc = {
            "meta": {"api-version": "1.1"},
            "name": page.name,
            "files": files,
            "versions": versions,
        }
        return json.dumps(doc, separators=(",", ":")).encode()
    lines = [
        "<!DOCTYPE html>",
        '<html><head><meta name="pypi:repository-version" content="1.1">'
        f"<title>Links for {html.escape(page.name)}</title></head><body>",
        f"<h1>Links for {html.escape(page.name)}</h1>",
    ]
    for f, _ in page.kept:
        href = url_for(f)
        digest = f.sha256
        if digest:
            href += f"#sha256={digest}"
        attrs = f'href="{html.escape(href)}"'
        if f.requires_python:
            attrs += f' data-requires-python="{html.escape(f.requires_python)}"'
        lines.append(f"<a {attrs}>{html.escape(f.filename)}</a><br>")
    lines.append("</body></html>")
    return "\n".join(lines).encode()


def render_root(names: Iterable[str], media: str, url_for: Callable[[str], str]) -> bytes:
    """The project list (``/simple/``)."""
    ordered: Sequence[str] = sorted(set(names))
    if media == JSON_TYPE:
        doc = {"meta": {"api-version": "1.1"}, "projects": [{"name": n} for n in ordered]}
        return json.dumps(doc, separators=(",", ":")).encode()
    body = "".join(f'<a href="{html.escape(url_for(n))}">{html.escape(n)}</a><br>\n' for n in ordered)
    return (
        '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.1">'
        f"<title>Simple index</title></head><body>\n{body}</body></html>"
    ).encode()
