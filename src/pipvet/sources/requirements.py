"""pip requirements files: a pure parser (text in, dependencies out).

Understood: ``name==version`` and ``name===version`` pins (with extras and environment markers),
per-requirement ``--hash`` options, comments, blank lines, ``\\`` line continuations, includes
(``-r``/``--requirement``) and constraints (``-c``/``--constraint``) through an injected loader
callable (so this module never touches the file system), index options (``-i``,
``--extra-index-url``) and pip's other global options.

Every requirement becomes a dependency: :class:`~pipvet.models.Resolved` when pinned to one exact
version (an unpinned requirement pinned by a constraints file counts as pinned), otherwise
:class:`~pipvet.models.Skipped` with the reason (a range, no version, a direct URL, a local path,
an editable). A requirement whose marker is false for the target is kept with ``applies=False``.
A line pip would reject raises :class:`~pipvet.errors.InputError` naming the file and line, as
does an include cycle.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from pipvet.errors import InputError
from pipvet.models import Dependency, NormalizedName, Origin, Resolved, Skipped, normalize_name
from pipvet.sources import ParsedSource
from pipvet.sources.markers import TargetEnvironment

FORMAT = "requirements"

Loader = Callable[[str, str, int], tuple[str, str]]
"""``(reference as written, path of the including file, line) -> (text, path of the included file)``.

Raises :class:`~pipvet.errors.InputError` (naming the including file and line) when it cannot."""

_COMMENT = re.compile(r"(^|\s+)#.*$")
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
# The common case, parsed without packaging: ``name==1.2.3`` or ``name[extra]===1.2.3``.
_SIMPLE_PIN = re.compile(
    rf"({_NAME})\s*(?:\[\s*({_NAME}(?:\s*,\s*{_NAME})*)\s*\])?\s*(===?)\s*([A-Za-z0-9._+!-]+)"
)
_PLAIN_RELEASE = re.compile(r"[0-9]+(?:\.[0-9]+)*")
_HASH = re.compile(r"[A-Za-z0-9_]+:[0-9A-Fa-f]+")

# Global options: name -> takes a value.
_GLOBAL_OPTIONS = {
    "-i": True,
    "--index-url": True,
    "--extra-index-url": True,
    "--no-index": False,
    "-f": True,
    "--find-links": True,
    "--pre": False,
    "--prefer-binary": False,
    "--require-hashes": False,
    "--only-binary": True,
    "--no-binary": True,
    "--trusted-host": True,
    "--use-feature": True,
}
_INCLUDE_OPTIONS = {
    "-r": "requirement",
    "--requirement": "requirement",
    "-c": "constraint",
    "--constraint": "constraint",
}
_EDITABLE_OPTIONS = ("-e", "--editable")
# Per-requirement options: name -> takes a value.
_REQUIREMENT_OPTIONS = {
    "--hash": True,
    "--config-settings": True,
    "--global-option": True,
    "--install-option": True,
}


@dataclass(kw_only=True, slots=True)
class _State:
    target: TargetEnvironment
    load: Loader | None
    dependencies: list[Dependency] = field(default_factory=list)
    index_urls: list[str] = field(default_factory=list)
    constraints: dict[NormalizedName, Resolved] = field(default_factory=dict)
    stack: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)


def parse(
    text: str,
    *,
    path: str,
    target: TargetEnvironment,
    load: Loader | None = None,
) -> ParsedSource:
    """Parse one requirements file (and, through ``load``, what it includes)."""
    state = _State(target=target, load=load)
    _parse_file(text, path, state, constraint=False)
    dependencies = [_apply_constraint(d, state.constraints) for d in state.dependencies]
    return ParsedSource(
        path=path,
        format=FORMAT,
        dependencies=tuple(dependencies),
        index_urls=tuple(dict.fromkeys(state.index_urls)),
    )


def logical_lines(text: str) -> list[tuple[int, str]]:
    """``(first physical line number, content)`` with continuations joined and comments removed."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not pending:
            start = number
        elif _COMMENT.sub("", line).strip() == "" and line.lstrip().startswith("#"):
            # A comment line ends a continuation, as in pip.
            out.append((start, _COMMENT.sub("", " ".join(pending)).strip()))
            pending = []
            continue
        if line.endswith("\\") and not line.endswith("\\\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        out.append((start, _COMMENT.sub("", " ".join(pending)).strip()))
        pending = []
    if pending:
        out.append((start, _COMMENT.sub("", " ".join(pending)).strip()))
    return [(n, content) for n, content in out if content]


def _split_option(
    token: str, rest: list[str], known: dict[str, bool], path: str, line: int
) -> tuple[str, str | None]:
    """``--opt=value`` / ``--opt value`` / ``-xvalue`` -> (name, value); consumes from ``rest``."""
    if token.startswith("--"):
        name, eq, value = token.partition("=")
        if name not in known:
            raise InputError(f"unknown option {name}", path=path, line=line)
        if not known[name]:
            if eq:
                raise InputError(f"option {name} takes no value", path=path, line=line)
            return name, None
        if eq:
            return name, value
    else:
        name, value = token[:2], token[2:]
        if name not in known:
            raise InputError(f"unknown option {name}", path=path, line=line)
        if not known[name]:
            return name, None
        if value:
            return name, value.lstrip("=")
    if not rest:
        raise InputError(f"option {name} needs a value", path=path, line=line)
    return name, rest.pop(0)


def _tokens(content: str, path: str, line: int) -> list[str]:
    if "'" not in content and '"' not in content and "\\" not in content:
        return content.split()  # shlex gives the same tokens here, much faster
    try:
        return shlex.split(content, posix=True)
    except ValueError as exc:
        raise InputError(f"cannot split the line: {exc}", path=path, line=line) from None


def _parse_file(text: str, path: str, state: _State, *, constraint: bool) -> None:
    if path in state.stack:
        chain = " -> ".join([*state.stack[state.stack.index(path) :], path])
        raise InputError(f"include cycle: {chain}", path=state.stack[-1])
    if path in state.seen:
        return
    state.seen.add(path)
    state.stack.append(path)
    try:
        for number, content in logical_lines(text):
            if content.startswith("-"):
                _global_line(content, path, number, state, constraint=constraint)
            else:
                dep = _requirement_line(content, path, number, state.target)
                if constraint:
                    if isinstance(dep, Resolved):
                        state.constraints.setdefault(dep.name, dep)
                else:
                    state.dependencies.append(dep)
    finally:
        state.stack.pop()


def _global_line(content: str, path: str, number: int, state: _State, *, constraint: bool) -> None:
    tokens = _tokens(content, path, number)
    while tokens:
        token = tokens.pop(0)
        if not token.startswith("-"):
            raise InputError(f"unexpected {token!r} after the options", path=path, line=number)
        opt_name = token.partition("=")[0] if token.startswith("--") else token[:2]
        if opt_name in _EDITABLE_OPTIONS:
            _, value = _split_option(token, tokens, dict.fromkeys(_EDITABLE_OPTIONS, True), path, number)
            assert value is not None
            if not constraint:
                state.dependencies.append(
                    Skipped(
                        name=_guess_name(value),
                        requirement=value,
                        reason="editable install (-e), not a released version",
                        origin=Origin(path=path, line=number),
                    )
                )
            continue
        if opt_name in _INCLUDE_OPTIONS:
            _, value = _split_option(token, tokens, dict.fromkeys(_INCLUDE_OPTIONS, True), path, number)
            assert value is not None
            kind = _INCLUDE_OPTIONS[opt_name]
            _include(value, path, number, state, constraint=constraint or kind == "constraint")
            continue
        opt, value = _split_option(token, tokens, _GLOBAL_OPTIONS, path, number)
        if opt in ("-i", "--index-url", "--extra-index-url") and value:
            state.index_urls.append(value)


def _include(reference: str, path: str, number: int, state: _State, *, constraint: bool) -> None:
    if state.load is None:
        raise InputError(
            f"cannot follow the include {reference!r} here",
            path=path,
            line=number,
            hint="give pipvet the included file directly",
        )
    text, included = state.load(reference, path, number)
    if included in state.stack:
        chain = " -> ".join([*state.stack[state.stack.index(included) :], included])
        raise InputError(f"include cycle: {chain}", path=path, line=number)
    _parse_file(text, included, state, constraint=constraint)


def _guess_name(reference: str) -> NormalizedName:
    """A best-effort project name for a URL, path or VCS reference (``#egg=name`` wins)."""
    egg = re.search(r"[#&]egg=([A-Za-z0-9._-]+)", reference)
    if egg:
        return normalize_name(egg.group(1))
    tail = reference.rstrip("/").rsplit("/", 1)[-1].split("#", 1)[0].split("?", 1)[0]
    for suffix in (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".git"):
        if tail.endswith(suffix):
            tail = tail[: -len(suffix)]
            if suffix == ".whl" or "-" in tail:
                tail = tail.split("-", 1)[0]
            break
    return normalize_name(re.sub(r"[^A-Za-z0-9._-]+", "-", tail).strip("-._") or "unknown")


def _looks_like_location(text: str) -> bool:
    head = text.split(";", 1)[0].strip()
    if "://" in head.split("@", 1)[0] or head.startswith((".", "/", "~")):
        return True
    if "\\" in head:
        return True
    return "/" in head and " @ " not in head and "@" not in head


def _requirement_line(content: str, path: str, number: int, target: TargetEnvironment) -> Dependency:
    origin = Origin(path=path, line=number)
    # Split the requirement from its per-requirement options (the first token starting with "-").
    parts = content.split()
    cut = next((i for i, p in enumerate(parts) if p.startswith("-")), len(parts))
    spec_text = " ".join(parts[:cut])
    hashes: list[str] = []
    if cut < len(parts):
        tokens = _tokens(" ".join(parts[cut:]), path, number)
        while tokens:
            token = tokens.pop(0)
            if not token.startswith("-"):
                raise InputError(f"unexpected {token!r} among the options", path=path, line=number)
            opt, value = _split_option(token, tokens, _REQUIREMENT_OPTIONS, path, number)
            if opt == "--hash":
                assert value is not None
                if not _HASH.fullmatch(value):
                    raise InputError(
                        f"malformed hash {value!r} (expected algorithm:hexdigest)", path=path, line=number
                    )
                hashes.append(value.lower())
    simple = _SIMPLE_PIN.fullmatch(spec_text)
    if simple and (simple.group(3) == "===" or _PLAIN_RELEASE.fullmatch(simple.group(4))):
        extras = tuple(sorted(e.strip() for e in simple.group(2).split(","))) if simple.group(2) else ()
        return Resolved(
            name=normalize_name(simple.group(1)),
            version=simple.group(4),
            origin=origin,
            hashes=tuple(hashes),
            extras=extras,
        )
    if _looks_like_location(spec_text):
        return Skipped(
            name=_guess_name(spec_text),
            requirement=spec_text,
            reason="a local path or URL, not a released version",
            origin=origin,
        )
    return _full_requirement(spec_text, origin, tuple(hashes), target)


def _full_requirement(
    spec_text: str, origin: Origin, hashes: tuple[str, ...], target: TargetEnvironment
) -> Dependency:
    from packaging.requirements import InvalidRequirement, Requirement

    path, number = origin.path, origin.line
    try:
        req = Requirement(spec_text)
    except InvalidRequirement as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid requirement"
        raise InputError(f"invalid requirement {spec_text!r}: {first}", path=path, line=number) from None
    name = normalize_name(req.name)
    marker = str(req.marker) if req.marker is not None else None
    try:
        applies = target.evaluate(req.marker)
    except Exception as exc:  # packaging raises several types for markers it cannot evaluate
        raise InputError(f"cannot evaluate the marker {marker!r}: {exc}", path=path, line=number) from None
    if req.url:
        return Skipped(
            name=name,
            requirement=spec_text,
            reason=f"direct URL reference ({req.url.split('#', 1)[0]}), not a released version",
            origin=origin,
            marker=marker,
            applies=applies,
        )
    pins = [s for s in req.specifier if s.operator in ("==", "===") and not s.version.endswith(".*")]
    if len({s.version for s in pins}) == 1:
        return Resolved(
            name=name,
            version=pins[0].version,
            origin=origin,
            hashes=hashes,
            marker=marker,
            applies=applies,
            extras=tuple(sorted(req.extras)),
        )
    reason = (
        f"not pinned to one exact version ({req.specifier})" if str(req.specifier) else "no version given"
    )
    return Skipped(
        name=name, requirement=spec_text, reason=reason, origin=origin, marker=marker, applies=applies
    )


def _apply_constraint(dep: Dependency, constraints: dict[NormalizedName, Resolved]) -> Dependency:
    """An unpinned requirement pinned by a constraints file is audited at the constrained version."""
    if not isinstance(dep, Skipped) or dep.name not in constraints:
        return dep
    pin = constraints[dep.name]
    if not dep.reason.startswith(("not pinned", "no version")):
        return dep
    from packaging.requirements import Requirement

    req = Requirement(dep.requirement)
    if req.specifier and not req.specifier.contains(pin.version, prereleases=True):
        return replace(
            dep, reason=f"{dep.reason}; conflicts with the constraint {pin.version} at {pin.origin}"
        )
    return Resolved(
        name=dep.name,
        version=pin.version,
        origin=dep.origin,
        hashes=pin.hashes,
        marker=dep.marker,
        applies=dep.applies,
        extras=tuple(sorted(req.extras)),
    )
