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
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from pipvet.analysis.names import Popular, Presence, load_popular, shadow_findings
from pipvet.analysis.rules.metadata import DEFAULT_MIN_AGE, metadata_findings
from pipvet.errors import PipvetError
from pipvet.index.client import ProjectNotFound
from pipvet.index.locate import IndexConfig
from pipvet.index.project import ProjectInfo
from pipvet.models import Finding, normalize_name

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
