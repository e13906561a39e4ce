"""``pyproject.toml``: what a project declares, before any locker ran.

* PEP 621 ``[project] dependencies`` and ``[project.optional-dependencies]``;
* PEP 735 ``[dependency-groups]``, with ``{include-group = "..."}`` expanded (cycles are errors);
* Poetry ``[tool.poetry.dependencies]``, ``[tool.poetry.dev-dependencies]`` and
  ``[tool.poetry.group.<name>.dependencies]``, plus ``[[tool.poetry.source]]``;
* uv's ``[[tool.uv.index]]`` and ``[tool.uv.sources]`` (index pins and git/path/url sources).

Declarations are usually ranges: only exact pins (``==1.2``, Poetry's bare ``1.2``) become
:class:`Resolved`; the rest are :class:`Skipped` with the reason. Direct URL/VCS/path
dependencies are reported, not fetched. Indexes that are searched for every package (not pinned
to specific packages) are reported as index mixing when there is more than one.

Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipvet.errors import InputError
from pipvet.models import Dependency, Finding, Origin, Resolved, Skipped, normalize_name
from pipvet.sources import ParsedSource
from pipvet.sources import findings as F
from pipvet.sources._common import (
    LineIndex,
    array,
    exact_version,
    load_toml,
    marker_applies,
    normalize_marker,
    optional_string,
    parse_requirement,
    string,
    table,
)
from pipvet.sources.markers import TargetEnvironment

FORMAT = "pyproject.toml"

DEFAULT_INDEX = "(default index)"
UNPINNED_HINT = "audit a lockfile, or use --resolve"
_POETRY_EXACT = re.compile(r"^\s*(?:===?)?\s*(\d[A-Za-z0-9.+!_-]*)\s*$")
_DIRECT_KEYS = {"git": "git", "url": "URL", "path": "path", "file": "path", "hg": "hg", "svn": "svn"}


@dataclass(slots=True)
class _Context:
    path: str
    target: TargetEnvironment
    lines: LineIndex
    uv_sources: Mapping[str, Any]
    index_by_name: dict[str, str]
    deps: list[Dependency] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def parse(text: str, *, path: str, target: TargetEnvironment) -> ParsedSource:
    data = load_toml(text, path=path)
    lines = LineIndex(text)
    tool = table(data.get("tool", {}), "tool", path=path)
    uv = table(tool.get("uv", {}), "tool.uv", path=path)
    poetry = table(tool.get("poetry", {}), "tool.poetry", path=path)

    searched, index_by_name = _indexes(uv, poetry, path=path, lines=lines)
    ctx = _Context(
        path=path,
        target=target,
        lines=lines,
        uv_sources=table(uv.get("sources", {}), "tool.uv.sources", path=path),
        index_by_name=index_by_name,
    )

    project = table(data.get("project", {}), "project", path=path)
    start = _offset(lines, "[project]")
    for req in array(project.get("dependencies", []), "project.dependencies", path=path):
        _pep508(ctx, string(req, "project.dependencies entry", path=path), start)
    optional = table(project.get("optional-dependencies", {}), "project.optional-dependencies", path=path)
    start = _offset(lines, "[project.optional-dependencies]", start)
    for extra, reqs in optional.items():
        for req in array(reqs, f"project.optional-dependencies.{extra}", path=path):
            _pep508(ctx, string(req, f"optional dependency of {extra!r}", path=path), start)

    groups = table(data.get("dependency-groups", {}), "dependency-groups", path=path)
    start = _offset(lines, "[dependency-groups]")
    expanded = _expand_groups(groups, path=path, lines=lines)
    seen: set[str] = set()
    for group in groups:
        for req in expanded[str(normalize_name(group))]:
            if req in seen:
                continue
            seen.add(req)
            _pep508(ctx, req, start)
    for req in array(uv.get("dev-dependencies", []), "tool.uv.dev-dependencies", path=path):
        _pep508(
            ctx, string(req, "tool.uv.dev-dependencies entry", path=path), _offset(lines, "dev-dependencies")
        )

    poetry_tables: list[tuple[str, Any]] = [
        ("[tool.poetry.dependencies]", poetry.get("dependencies", {})),
        ("[tool.poetry.dev-dependencies]", poetry.get("dev-dependencies", {})),
    ]
    for gname, group in table(poetry.get("group", {}), "tool.poetry.group", path=path).items():
        gtable = table(group, f"tool.poetry.group.{gname}", path=path)
        poetry_tables.append((f"[tool.poetry.group.{gname}.dependencies]", gtable.get("dependencies", {})))
    for header, deps in poetry_tables:
        start = _offset(lines, header)
        for name, spec in table(deps, header.strip("[]"), path=path).items():
            if name.lower() == "python":
                continue
            line = _key_line(lines, name, start)
            for item in spec if isinstance(spec, list) else [spec]:
                _poetry(ctx, name, item, line)

    mixing = F.index_mixing(path=path, uses=searched)
    if mixing is not None:
        ctx.findings.append(mixing)
    return ParsedSource(
        path=path,
        format=FORMAT,
        dependencies=tuple(ctx.deps),
        findings=tuple(ctx.findings),
        index_urls=tuple(dict.fromkeys(index_by_name.values())),
    )


def _offset(lines: LineIndex, needle: str, default: int = 0) -> int:
    pos = lines.find(needle)
    return pos if pos != -1 else default


def _key_line(lines: LineIndex, key: str, start: int) -> int | None:
    match = re.compile(rf"^[ \t]*[\"']?{re.escape(key)}[\"']?[ \t]*=", re.MULTILINE).search(lines.text, start)
    return lines.line_of(match.start()) if match else None


def _indexes(
    uv: Mapping[str, Any], poetry: Mapping[str, Any], *, path: str, lines: LineIndex
) -> tuple[list[F.IndexUse], dict[str, str]]:
    """Indexes searched for every package (for index mixing) and every named index."""
    searched: list[F.IndexUse] = []
    by_name: dict[str, str] = {}
    uv_indexes = array(uv.get("index", []), "tool.uv.index", path=path)
    uv_default = False
    for raw in uv_indexes:
        entry = table(raw, "tool.uv.index entry", path=path)
        url = string(entry.get("url"), "tool.uv.index url", path=path)
        line, _ = lines.quoted(url)
        name = optional_string(entry.get("name"), "tool.uv.index name", path=path, line=line)
        if name:
            by_name[name] = url
        uv_default = uv_default or entry.get("default") is True
        if entry.get("explicit") is not True:
            searched.append(F.IndexUse(url=url, line=line))
    for key in ("index-url", "extra-index-url"):
        value = uv.get(key)
        for url in [value] if isinstance(value, str) else array(value or [], f"tool.uv.{key}", path=path):
            url = string(url, f"tool.uv.{key}", path=path)
            line, _ = lines.quoted(url)
            by_name[url] = url
            uv_default = uv_default or key == "index-url"
            searched.append(F.IndexUse(url=url, line=line))
    if searched and not uv_default:
        searched.append(F.IndexUse(url=DEFAULT_INDEX))

    poetry_searched: list[F.IndexUse] = []
    poetry_primary = False
    for raw in array(poetry.get("source", []), "tool.poetry.source", path=path):
        entry = table(raw, "tool.poetry.source entry", path=path)
        source_name = string(entry.get("name"), "tool.poetry.source name", path=path)
        source_url = optional_string(entry.get("url"), "tool.poetry.source url", path=path)
        line, _ = lines.quoted(source_name)
        if source_url:
            by_name[source_name] = source_url
        priority = str(entry.get("priority", "")).lower()
        if entry.get("default") is True or priority in ("primary", "default"):
            poetry_primary = True
        elif not priority and entry.get("secondary") is not True:
            poetry_primary = True  # poetry 1.x: a plain source is primary
        if priority != "explicit":
            poetry_searched.append(F.IndexUse(url=source_url or source_name, line=line))
    if poetry_searched and not poetry_primary:
        poetry_searched.append(F.IndexUse(url=DEFAULT_INDEX))
    return searched + poetry_searched, by_name


def _expand_groups(groups: Mapping[str, Any], *, path: str, lines: LineIndex) -> dict[str, list[str]]:
    """PEP 735: each group's requirement strings with ``include-group`` expanded; cycles are errors."""
    raw = {str(normalize_name(k)): (k, v) for k, v in groups.items()}
    done: dict[str, list[str]] = {}

    def expand(key: str, stack: tuple[str, ...]) -> list[str]:
        if key in done:
            return done[key]
        original, items = raw[key]
        line = _key_line(lines, original, _offset(lines, "[dependency-groups]"))
        if key in stack:
            cycle = " -> ".join((*stack[stack.index(key) :], key))
            raise InputError(f"dependency-groups: include-group cycle {cycle}", path=path, line=line)
        out: list[str] = []
        for item in array(items, f"dependency-groups.{original}", path=path, line=line):
            if isinstance(item, str):
                out.append(item)
                continue
            entry = table(item, f"dependency-groups.{original} entry", path=path, line=line)
            included = string(entry.get("include-group"), "include-group", path=path, line=line)
            target = str(normalize_name(included))
            if target not in raw:
                raise InputError(
                    f"dependency-groups.{original}: include-group {included!r} is not defined",
                    path=path,
                    line=line,
                )
            out.extend(expand(target, (*stack, key)))
        done[key] = out
        return out

    return {key: expand(key, ()) for key in raw}


def _pep508(ctx: _Context, text: str, start: int) -> None:
    line, _ = ctx.lines.quoted(text, start)
    if line is None:
        line, _ = ctx.lines.quoted(text)
    req = parse_requirement(text, path=ctx.path, line=line)
    name = normalize_name(req.name)
    origin = Origin(path=ctx.path, line=line)
    marker = str(req.marker) if req.marker is not None else None
    applies = marker_applies(marker, ctx.target, path=ctx.path, line=line)
    source = ctx.uv_sources.get(req.name, ctx.uv_sources.get(str(name)))
    direct = _direct(req.url, source)
    if direct is not None:
        kind, url = direct
        ctx.findings.append(F.direct_reference(path=ctx.path, line=line, name=name, kind=kind, url=url))
        ctx.deps.append(
            Skipped(
                name=name,
                requirement=text,
                reason=f"{kind} dependency: not from an index; reported, not fetched",
                origin=origin,
                marker=marker,
                applies=applies,
            )
        )
        return
    index_url = None
    if isinstance(source, Mapping) and isinstance(source.get("index"), str):
        index_url = ctx.index_by_name.get(source["index"])
    version = exact_version(req)
    if version is None:
        spec = str(req.specifier) or "any version"
        ctx.deps.append(
            Skipped(
                name=name,
                requirement=text,
                reason=f"not pinned to an exact version ({spec}); {UNPINNED_HINT}",
                origin=origin,
                marker=marker,
                applies=applies,
            )
        )
        return
    ctx.deps.append(
        Resolved(
            name=name,
            version=version,
            origin=origin,
            index_url=index_url,
            marker=marker,
            applies=applies,
            extras=tuple(sorted(req.extras)),
        )
    )


def _direct(url: str | None, source: Any) -> tuple[str, str] | None:
    if url:
        if url.startswith(("git+", "hg+", "svn+", "bzr+")):
            return url.split("+", 1)[0], url
        return ("path" if url.startswith("file:") else "URL"), url
    if isinstance(source, Mapping):
        for key, kind in _DIRECT_KEYS.items():
            if key in source:
                return kind, str(source[key])
    return None


def _poetry(ctx: _Context, raw_name: str, spec: Any, line: int | None) -> None:
    name = normalize_name(raw_name)
    origin = Origin(path=ctx.path, line=line)
    if isinstance(spec, str):
        spec = {"version": spec}
    if not isinstance(spec, Mapping):
        raise InputError(
            f"{raw_name}: expected a version string or a table, got {type(spec).__name__}",
            path=ctx.path,
            line=line,
        )
    marker = normalize_marker(
        optional_string(spec.get("markers"), f"{raw_name}: markers", path=ctx.path, line=line),
        path=ctx.path,
        line=line,
    )
    applies = marker_applies(marker, ctx.target, path=ctx.path, line=line)
    direct = _direct(None, spec)
    if direct is not None:
        kind, url = direct
        ref = spec.get("rev") or spec.get("tag") or spec.get("branch")
        where = f"{url}@{ref}" if ref else url
        ctx.findings.append(F.direct_reference(path=ctx.path, line=line, name=name, kind=kind, url=where))
        ctx.deps.append(
            Skipped(
                name=name,
                requirement=f"{raw_name} @ {where}",
                reason=f"{kind} dependency: not from an index; reported, not fetched",
                origin=origin,
                marker=marker,
                applies=applies,
            )
        )
        return
    constraint = optional_string(spec.get("version"), f"{raw_name}: version", path=ctx.path, line=line) or "*"
    match = _POETRY_EXACT.match(constraint)
    if match is None:
        ctx.deps.append(
            Skipped(
                name=name,
                requirement=_poetry_requirement(raw_name, constraint, marker),
                reason=f"not pinned to an exact version ({constraint}); {UNPINNED_HINT}",
                origin=origin,
                marker=marker,
                applies=applies,
            )
        )
        return
    source = optional_string(spec.get("source"), f"{raw_name}: source", path=ctx.path, line=line)
    extras = array(spec.get("extras", []), f"{raw_name}: extras", path=ctx.path, line=line)
    ctx.deps.append(
        Resolved(
            name=name,
            version=match.group(1),
            origin=origin,
            index_url=ctx.index_by_name.get(source) if source else None,
            marker=marker,
            applies=applies,
            extras=tuple(sorted(string(e, "extra", path=ctx.path, line=line) for e in extras)),
        )
    )


_POETRY_PART = re.compile(r"^\s*(\^|~(?!=)|~=|===|==|!=|<=|>=|<|>)?\s*([0-9A-Za-z.*+!_-]+)\s*$")


def _poetry_requirement(name: str, constraint: str, marker: str | None) -> str:
    """A Poetry constraint as a PEP 508 requirement (so ``--resolve`` can use it), or as written.

    ``^1.2.3`` is ``>=1.2.3,<2.0.0``; ``^0.2.3`` is ``>=0.2.3,<0.3.0``; ``~1.2.3`` is
    ``>=1.2.3,<1.3.0``; ``1.2.*`` is ``==1.2.*``; comparisons pass through. ``||`` is kept as
    written (it has no PEP 440 form)."""
    text = constraint.strip()
    if text in ("", "*"):
        spec = ""
    elif "||" in text or "|" in text:
        return f"{name} {constraint}"
    else:
        parts: list[str] = []
        for piece in re.split(r"\s*,\s*|\s+(?=[<>=!~^])", text):
            match = _POETRY_PART.match(piece)
            if match is None:
                return f"{name} {constraint}"
            op, version = match.group(1) or "", match.group(2)
            if op in ("^", "~"):
                numbers = version.split(".")
                if not all(n.isdigit() for n in numbers):
                    return f"{name} {constraint}"
                parts.append(f">={version}")
                parts.append(f"<{_upper(numbers, caret=op == '^')}")
            elif op == "" and "*" in version:
                parts.append(f"=={version}")
            else:
                parts.append(f"{op or '=='}{version}")
        spec = ",".join(parts)
    return f"{name}{spec}" + (f" ; {marker}" if marker else "")


def _upper(numbers: list[str], *, caret: bool) -> str:
    values = [int(n) for n in numbers]
    if caret:
        # bump the first non-zero component (or the last given one if all are zero)
        index = next((i for i, v in enumerate(values) if v != 0), len(values) - 1)
    else:
        index = min(1, len(values) - 1) if len(values) > 1 else 0
    bumped = [*values[:index], values[index] + 1]
    bumped += [0] * (max(len(values), 2) - len(bumped))
    return ".".join(str(v) for v in bumped)


__all__ = ["FORMAT", "parse"]
