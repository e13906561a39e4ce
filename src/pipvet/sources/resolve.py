"""``--resolve``: loose requirements turned into the exact set that would be installed, without
running any package code.

Dependencies are learned only from wheel metadata: the PEP 658 ``.metadata`` file the index
serves next to a wheel, or else the ``*.dist-info/METADATA`` member read (as data) from the
downloaded wheel. A version that has no wheel would have to be built to learn its dependencies,
which runs its code: it is refused and reported as skipped, with the reason.

The resolver is deliberately simple: breadth-first, newest acceptable version first, exact pins
from the input kept, no backtracking. When a later requirement excludes a version already
chosen, that requirement is reported as skipped (a conflict) rather than silently re-solved.

The index is reached through a small protocol (:class:`PackageIndex`) that
:class:`pipvet.index.client.IndexClient` satisfies.
"""

from __future__ import annotations

import zipfile
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from email.parser import BytesParser
from typing import TYPE_CHECKING, Protocol

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from pipvet.models import Artifact, Dependency, NormalizedName, Origin, Resolved, Skipped, normalize_name
from pipvet.sources import ParsedSource
from pipvet.sources.markers import TargetEnvironment

if TYPE_CHECKING:
    from pathlib import Path

    from pipvet.index.simple import DistFile, ProjectPage

_MAX_METADATA = 2 * 1024 * 1024
"""A METADATA member larger than this is not read (a wheel is untrusted data)."""

UNPINNED = ("not pinned", "no version")
"""How the parsers' reasons for a range or a bare name start."""


class _Downloaded(Protocol):
    @property
    def path(self) -> Path: ...


class PackageIndex(Protocol):
    def project_page(self, name: str) -> ProjectPage: ...

    def metadata(self, file: DistFile) -> bytes | None: ...

    def download(self, file: DistFile) -> _Downloaded: ...


@dataclass(slots=True)
class _Chosen:
    version: str
    origin: Origin
    requires: list[str]
    files: tuple[DistFile, ...]
    extras: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _State:
    index: PackageIndex
    index_url: str | None
    target: TargetEnvironment
    pins: dict[NormalizedName, str]
    chosen: dict[NormalizedName, _Chosen] = field(default_factory=dict)
    specs: dict[NormalizedName, SpecifierSet] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    refused: set[NormalizedName] = field(default_factory=set)


def needs_resolution(source: ParsedSource) -> bool:
    return any(isinstance(d, Skipped) and d.reason.startswith(UNPINNED) for d in source.dependencies)


def resolve_source(
    source: ParsedSource, index: PackageIndex, target: TargetEnvironment, *, index_url: str | None = None
) -> ParsedSource:
    """``source`` with its loose requirements (and everything they pull in) pinned.

    Pinned requirements keep their version and their dependencies are added too; other skipped
    entries (direct URLs, editables) are kept as they are.
    """
    roots: list[tuple[Requirement, Origin]] = []
    kept: list[Dependency] = []
    pins: dict[NormalizedName, str] = {}
    for dep in source.dependencies:
        if isinstance(dep, Resolved):
            pins[dep.name] = dep.version
            if dep.applies:
                extras = f"[{','.join(dep.extras)}]" if dep.extras else ""
                roots.append((Requirement(f"{dep.name}{extras}=={dep.version}"), dep.origin))
            continue
        if not dep.reason.startswith(UNPINNED) or not dep.applies:
            kept.append(dep)
            continue
        try:
            roots.append((Requirement(dep.requirement), dep.origin))
        except InvalidRequirement:
            kept.append(
                replace(dep, reason=f"{dep.reason}; --resolve cannot read it as a PEP 508 requirement")
            )
    state = _State(index=index, index_url=index_url, target=target, pins=pins)
    _resolve(state, roots)
    resolved = [_as_resolved(name, chosen, state) for name, chosen in state.chosen.items()]
    # inputs whose marker is false here were not resolved: keep them as they were
    inactive = [d for d in source.dependencies if isinstance(d, Resolved) and not d.applies]
    return replace(source, dependencies=(*resolved, *inactive, *state.skipped, *kept))


def _resolve(state: _State, roots: Iterable[tuple[Requirement, Origin]]) -> None:
    queue: deque[tuple[Requirement, Origin]] = deque(roots)
    while queue:
        req, origin = queue.popleft()
        name = normalize_name(req.name)
        if req.url:
            state.skipped.append(
                Skipped(
                    name=name,
                    requirement=str(req),
                    reason="direct reference pulled in by a dependency: not resolved, not fetched",
                    origin=origin,
                )
            )
            continue
        spec = state.specs.get(name, SpecifierSet()) & req.specifier
        state.specs[name] = spec
        if name in state.refused:
            continue
        chosen = state.chosen.get(name)
        if chosen is not None:
            if not spec.contains(chosen.version, prereleases=True):
                state.skipped.append(
                    Skipped(
                        name=name,
                        requirement=str(req),
                        reason=f"conflicts with {name} {chosen.version} chosen earlier (no backtracking): "
                        "pin a version that suits every requirement",
                        origin=origin,
                    )
                )
                continue
            new_extras = set(req.extras) - chosen.extras
            if new_extras:
                chosen.extras |= new_extras
                queue.extend((r, chosen.origin) for r in _requirements(chosen.requires, new_extras, state))
            continue
        picked = _pick(state, name, spec, req, origin)
        if picked is None:
            continue
        picked.extras = set(req.extras)
        state.chosen[name] = picked
        queue.extend((r, origin) for r in _requirements(picked.requires, picked.extras, state, base=True))


def _pick(
    state: _State, name: NormalizedName, spec: SpecifierSet, req: Requirement, origin: Origin
) -> _Chosen | None:
    from pipvet.index.client import ProjectNotFound

    try:
        page = state.index.project_page(name)
    except ProjectNotFound:
        state.refused.add(name)
        state.skipped.append(
            Skipped(name=name, requirement=str(req), reason="not found on the index", origin=origin)
        )
        return None
    python = state.target.variables.get("python_full_version", "")
    versions = [state.pins[name]] if name in state.pins else _candidates(page, spec, python)
    if not versions:
        state.refused.add(name)
        state.skipped.append(
            Skipped(
                name=name,
                requirement=str(req),
                reason=f"no release on the index matches {spec or 'any version'} for Python {python}",
                origin=origin,
            )
        )
        return None
    version = versions[0]
    files = page.files_for(version)
    wheels = [f for f in files if f.is_wheel and not f.yanked]
    if not wheels:
        state.refused.add(name)
        state.skipped.append(
            Skipped(
                name=name,
                requirement=f"{name}=={version}",
                reason=f"{name} {version} has no wheel: its dependencies could only be learned by building "
                "the sdist, which runs its code; pin it and its dependencies, or audit a lockfile",
                origin=origin,
            )
        )
        return None
    requires = _requires_dist(state.index, wheels)
    if requires is None:
        state.refused.add(name)
        state.skipped.append(
            Skipped(
                name=name,
                requirement=f"{name}=={version}",
                reason=f"the wheel of {name} {version} could not be read for its metadata",
                origin=origin,
            )
        )
        return None
    return _Chosen(version=version, origin=origin, requires=requires, files=files)


def _candidates(page: ProjectPage, spec: SpecifierSet, python: str) -> list[str]:
    by_version: dict[str, Version] = {}
    for f in page.files:
        v = f.version
        if v is None or f.yanked or v in by_version:
            continue
        if f.requires_python and python and not _python_ok(f.requires_python, python):
            continue
        try:
            by_version[v] = Version(v)
        except InvalidVersion:
            continue
    allowed = set(spec.filter(by_version.values()))
    if not allowed:  # only pre-releases match: allowed, as pip does when nothing else does
        allowed = set(spec.filter(by_version.values(), prereleases=True))
    return [str(v) for v in sorted(allowed, reverse=True)]


def _python_ok(requires_python: str, python: str) -> bool:
    try:
        return SpecifierSet(requires_python).contains(python, prereleases=True)
    except InvalidSpecifier:
        return True


def _requires_dist(index: PackageIndex, wheels: Sequence[DistFile]) -> list[str] | None:
    """Requires-Dist of the release: a PEP 658 metadata file if any wheel has one, else the
    METADATA member of a downloaded wheel (read as data)."""
    raw: bytes | None = None
    for wheel in wheels:
        if wheel.metadata:
            raw = index.metadata(wheel)
            if raw is not None:
                break
    if raw is None:
        smallest = min(wheels, key=lambda w: w.size or 0)
        downloaded = index.download(smallest)
        try:
            with zipfile.ZipFile(downloaded.path) as archive:
                member = next(
                    (
                        n
                        for n in archive.namelist()
                        if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
                    ),
                    None,
                )
                if member is None or archive.getinfo(member).file_size > _MAX_METADATA:
                    return None
                raw = archive.read(member)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError):
            return None
    message = BytesParser().parsebytes(raw, headersonly=True)
    return [str(v) for v in message.get_all("Requires-Dist") or []]


def _requirements(
    requires: Sequence[str], extras: set[str], state: _State, *, base: bool = False
) -> list[Requirement]:
    """The requirements that apply on the target: base ones (when ``base``) and those of ``extras``."""
    out: list[Requirement] = []
    for text in requires:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue  # a broken requirement in someone's metadata: pip would stop; we skip it
        marker = req.marker
        if marker is None:
            if base:
                out.append(req)
            continue
        env = state.target.variables
        try:
            if marker.evaluate({**env, "extra": ""}):
                if base:
                    out.append(req)
            elif any(marker.evaluate({**env, "extra": e}) for e in extras):
                out.append(req)
        except Exception:  # noqa: S112 - an unevaluable marker in someone's metadata: skip that line
            continue
    return out


def _as_resolved(name: NormalizedName, chosen: _Chosen, state: _State) -> Resolved:
    hashes: set[str] = set()
    artifacts: list[Artifact] = []
    times: list[str] = []
    for f in chosen.files:
        sha = f.hashes.get("sha256")
        if sha:
            hashes.add(f"sha256:{sha.lower()}")
        if f.upload_time:
            times.append(f.upload_time)
        artifacts.append(
            Artifact(filename=f.filename, sha256=sha, size=f.size, url=f.url, upload_time=f.upload_time)
        )
    return Resolved(
        name=name,
        version=chosen.version,
        origin=chosen.origin,
        hashes=tuple(sorted(hashes)),
        index_url=state.index_url,
        extras=tuple(sorted(chosen.extras)),
        upload_time=min(times) if times else None,
        files=tuple(artifacts),
    )


__all__ = ["PackageIndex", "needs_resolution", "resolve_source"]
