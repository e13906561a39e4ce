"""Refresh the popular-names list used by the look-alike check (``pipvet db update``).

Source: ``--popular-url`` / ``PIPVET_POPULAR_URL`` / ``popular-url`` in the configuration, else
the public top-packages dump (:data:`DEFAULT_POPULAR_URL`); an ``http(s)://`` or ``file://`` URL or a
local path, in the top-packages JSON shape or one name per line. Only the names are kept, in
rank order, in ``cache_dir/popular.txt``. Any failure leaves the previous list (or the bundled one)
in place.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from pipvet.analysis.names import CACHE_NAME, parse_popular
from pipvet.errors import NetworkError
from pipvet.net import redact_url, translate_errors

if TYPE_CHECKING:
    import httpx

    from pipvet.config import Settings

DEFAULT_POPULAR_URL = "https://hugovk.github.io/top-pypi-packages/top-pypi-packages.min.json"
#: A refreshed list shorter than this is refused (a truncated or wrong download).
MIN_NAMES = 1000


def popular_source(settings: Settings, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    value = env.get("PIPVET_POPULAR_URL") or settings.file_options.get("popular-url")
    return str(value) if value else DEFAULT_POPULAR_URL


def _read(source: str, transport: httpx.BaseTransport | None) -> str:
    parts = urlsplit(source)
    if parts.scheme in ("http", "https"):
        from pipvet.net import make_client

        with make_client(transport=transport) as client, translate_errors("popular names", source):
            response = client.get(source)
            response.raise_for_status()
            return response.text
    path = Path(url2pathname(unquote(parts.path))) if parts.scheme == "file" else Path(source)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise NetworkError(f"popular names: cannot read {path}: {exc.strerror or exc}") from exc


def refresh_popular(
    cache_dir: Path, source: str, *, transport: httpx.BaseTransport | None = None, min_names: int = MIN_NAMES
) -> int:
    """Download ``source``, keep the names, write ``cache_dir/popular.txt``; returns the count."""
    text = _read(source, transport)
    try:
        names = parse_popular(text)
    except ValueError as exc:
        raise NetworkError(f"popular names: {redact_url(source)} is not a names list ({exc})") from exc
    if len(names) < min_names:
        raise NetworkError(
            f"popular names: {redact_url(source)} has only {len(names)} names (expected at least {min_names})"
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".popular.", dir=cache_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"# source: {redact_url(source)}\n")
            handle.write("\n".join(names) + "\n")
        Path(tmp).replace(cache_dir / CACHE_NAME)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise NetworkError(
            f"popular names: cannot write {cache_dir / CACHE_NAME}: {exc.strerror or exc}"
        ) from exc
    return len(names)
