"""Which configured indexes carry a project name, and with which files (for the shadow check).

The answer feeds :func:`pipvet.analysis.names.shadow_findings`: the same name on two indexes with
different files is the dependency-confusion set-up; a mirror (same hashes) is not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

from pipvet.analysis.names import Presence
from pipvet.errors import PipvetError
from pipvet.index.client import AsyncIndexClient
from pipvet.index.locate import IndexConfig


async def presences(
    config: IndexConfig, names: Iterable[str], *, cache_dir: Path, offline: bool = False
) -> dict[str, list[Presence]]:
    """For each name, one :class:`Presence` per configured index that has it.

    An index that cannot be reached is skipped for this purpose (the vetting itself reports
    reachability); a project missing from an index is simply absent.
    """
    wanted = list(dict.fromkeys(names))
    out: dict[str, list[Presence]] = {n: [] for n in wanted}
    if len(config.all) < 2:
        return out
    for index in config.all:
        async with AsyncIndexClient(
            index, cache_dir=cache_dir, offline=offline, json_api_url="none"
        ) as client:
            pages = await client.pages(wanted)
        for name, page in pages.items():
            if isinstance(page, PipvetError):  # includes ProjectNotFound
                continue
            out[name].append(
                Presence(
                    index=index.display,
                    versions=page.versions,
                    sha256s=frozenset(f.sha256 for f in page.files if f.sha256),
                )
            )
    return out


def presences_sync(
    config: IndexConfig, names: Iterable[str], *, cache_dir: Path, offline: bool = False
) -> dict[str, list[Presence]]:
    return asyncio.run(presences(config, names, cache_dir=cache_dir, offline=offline))
