"""Metadata and dependency-confusion signals for many declared dependencies at once (network).

``audit`` (when not ``--offline``) and the gate call :func:`remote_findings` with the
``(name, version)`` pairs they read; projects are fetched concurrently through
:class:`~pipvet.index.client.AsyncIndexClient`, and every configured index is asked whether it
carries the name (the shadow check). A project the primary index does not know gets no
metadata findings (it may live on an extra index); fetch failures are returned as notes, never
as silent passes of the other checks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from pipvet.analysis.names import Popular, Presence, load_popular, shadow_findings
from pipvet.analysis.rules.metadata import DEFAULT_MIN_AGE, metadata_findings
from pipvet.errors import PipvetError
from pipvet.index.client import ProjectNotFound
from pipvet.index.locate import IndexConfig
from pipvet.index.project import ProjectInfo
from pipvet.models import Dependency, Finding, normalize_name

if TYPE_CHECKING:
    import httpx

    from pipvet.config import Settings


@dataclass(frozen=True, kw_only=True, slots=True)
class RemoteSignals:
    findings: dict[tuple[str, str], list[Finding]] = field(default_factory=dict)
    """``(normalized name, version)`` -> findings."""
    notes: tuple[str, ...] = ()


async def _gather(
    settings: Settings,
    config: IndexConfig,
    names: list[str],
    transport: httpx.AsyncBaseTransport | None,
    concurrency: int,
) -> tuple[dict[str, ProjectInfo | PipvetError], dict[str, list[Presence]]]:
    from pipvet.index.factory import async_client_for
    from pipvet.index.presence import presences

    async with async_client_for(
        settings, config=config, transport=transport, concurrency=concurrency
    ) as client:
        infos = await client.infos(names)
    found: dict[str, list[Presence]] = {}
    if len(config.all) >= 2:
        found = await presences(config, names, cache_dir=settings.cache_dir, offline=settings.offline)
    return infos, found


def remote_findings(
    settings: Settings,
    deps: Sequence[tuple[str, str]],
    *,
    config: IndexConfig | None = None,
    now: datetime | None = None,
    popular: Popular | None = None,
    min_age: timedelta = DEFAULT_MIN_AGE,
    transport: httpx.AsyncBaseTransport | None = None,
    concurrency: int = 16,
) -> RemoteSignals:
    """Metadata findings (and shadow findings across indexes) for each ``(name, version)``."""
    from pipvet.index.factory import index_config

    config = config or index_config(settings)
    now = now or datetime.now(timezone.utc)
    popular = popular or load_popular(settings.cache_dir)
    pairs = [(normalize_name(n), v) for n, v in deps]
    names = list(dict.fromkeys(str(n) for n, _ in pairs))
    infos, found = asyncio.run(_gather(settings, config, names, transport, concurrency))
    out: dict[tuple[str, str], list[Finding]] = {}
    notes: list[str] = []
    for name, version in pairs:
        info = infos.get(name)
        findings: list[Finding] = []
        if isinstance(info, ProjectInfo):
            findings += metadata_findings(info, version, now, min_age=min_age, popular=popular)
        elif isinstance(info, ProjectNotFound):
            pass
        elif isinstance(info, PipvetError):
            notes.append(f"{name}: metadata not checked: {info.message}")
        findings += shadow_findings(name, found.get(name, []))
        out[(name, version)] = findings
    return RemoteSignals(findings=out, notes=tuple(dict.fromkeys(notes)))


def dependency_signals(
    settings: Settings,
    dependencies: Sequence[Dependency],
    *,
    with_metadata: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[Callable[[Dependency], list[Finding]], list[str]]:
    """The ``extra_findings`` hook for :func:`pipvet.vetting.vet_dependencies`, and notes.

    Offline (always): look-alike names, absurd versions, and dependencies that several remote
    indexes could supply without hash or index pinning. With ``with_metadata`` and not offline:
    also the project metadata and cross-index shadow signals, fetched concurrently.
    """
    from pipvet.analysis.names import dependency_findings, name_findings
    from pipvet.errors import UsageError
    from pipvet.index.locate import remote_index_count
    from pipvet.models import Resolved

    popular = load_popular(settings.cache_dir)
    notes: list[str] = []
    try:
        remote = remote_index_count(index_url=settings.index_url)
    except UsageError as exc:
        remote = 1
        notes.append(f"index configuration not read: {exc.message}")
    remote_map: dict[tuple[str, str], list[Finding]] = {}
    if with_metadata and not settings.offline:
        pinned = [(d.name, d.version) for d in dependencies if isinstance(d, Resolved)]
        signals = remote_findings(settings, pinned, popular=popular, transport=transport)
        remote_map = signals.findings
        notes.extend(signals.notes)

    def extra(dep: Dependency) -> list[Finding]:
        if not isinstance(dep, Resolved):
            return name_findings(dep.name, popular)
        found = dependency_findings(
            dep.name,
            dep.version,
            popular,
            hashes=dep.hashes,
            pinned_index=dep.index_url is not None,
            remote_indexes=remote,
        )
        seen = {f.rule for f in found}
        found += [f for f in remote_map.get((dep.name, dep.version), []) if f.rule not in seen]
        return found

    return extra, notes
