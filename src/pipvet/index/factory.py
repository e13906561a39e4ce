"""Build index clients from :class:`~pipvet.config.Settings` and the user's installer configuration.

The JSON API base is derived from the index address (see :mod:`.jsonapi`) unless set with
``PIPVET_JSON_API_URL`` or ``json-api-url`` in pipvet's configuration (``none`` turns it off).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pipvet.index.locate import IndexConfig, locate

if TYPE_CHECKING:
    import httpx

    from pipvet.config import Settings
    from pipvet.index.client import AsyncIndexClient, IndexClient


def json_api_setting(settings: Settings, env: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if env is None else env
    value = env.get("PIPVET_JSON_API_URL") or settings.file_options.get("json-api-url")
    return str(value) if value else None


def index_config(
    settings: Settings,
    *,
    installer: str | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> IndexConfig:
    return locate(index_url=settings.index_url, installer=installer, cwd=cwd, env=env)


def _json_api(settings: Settings, config: IndexConfig, env: Mapping[str, str] | None) -> str | None:
    """The explicit JSON API base, ``"none"`` to turn it off, or ``None`` to derive it."""
    return json_api_setting(settings, env)


def client_for(
    settings: Settings,
    *,
    config: IndexConfig | None = None,
    transport: httpx.BaseTransport | None = None,
    env: Mapping[str, str] | None = None,
) -> IndexClient:
    """A synchronous client for the primary index the user's installer would use."""
    from pipvet.index.client import IndexClient

    config = config or index_config(settings, env=env)
    return IndexClient(
        config.primary,
        cache_dir=settings.cache_dir,
        offline=settings.offline,
        json_api_url=_json_api(settings, config, env),
        transport=transport,
    )


def async_client_for(
    settings: Settings,
    *,
    config: IndexConfig | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    env: Mapping[str, str] | None = None,
    concurrency: int = 16,
) -> AsyncIndexClient:
    """An asynchronous client for the primary index, for fetching many projects at once."""
    from pipvet.index.client import AsyncIndexClient

    config = config or index_config(settings, env=env)
    return AsyncIndexClient(
        config.primary,
        cache_dir=settings.cache_dir,
        offline=settings.offline,
        json_api_url=_json_api(settings, config, env),
        transport=transport,
        concurrency=concurrency,
    )
