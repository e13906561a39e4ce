"""The only place that builds HTTP clients.

Every client gets the same timeouts, bounded retries on connection failures, a pipvet
user agent and, for tests, an injectable transport. Errors from httpx are translated into
:class:`~pipvet.errors.NetworkError` by :func:`translate_errors`, and every URL that reaches
the user passes through :func:`redact_url` so credentials are never printed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from pipvet import __version__
from pipvet.errors import NetworkError

if TYPE_CHECKING:
    import httpx

USER_AGENT = f"pipvet/{__version__}"
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
RETRIES = 3


def redact_url(url: str) -> str:
    """Hide user-info and secret query values: ``https://u:p@host/x`` -> ``https://****@host/x``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "****@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        redacted = []
        for item in query.split("&"):
            key, sep, _ = item.partition("=")
            secretish = any(w in key.lower() for w in ("token", "key", "secret", "password", "sig"))
            redacted.append(f"{key}{sep}****" if sep and secretish else item)
        query = "&".join(redacted)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def make_client(
    *,
    transport: httpx.BaseTransport | None = None,
    timeout: float | None = None,
    follow_redirects: bool = True,
    headers: dict[str, str] | None = None,
) -> httpx.Client:
    """A configured synchronous client. Pass ``transport`` to run against a fake or in-process app."""
    import httpx

    t = httpx.Timeout(timeout or READ_TIMEOUT, connect=CONNECT_TIMEOUT)
    return httpx.Client(
        transport=transport or httpx.HTTPTransport(retries=RETRIES),
        timeout=t,
        follow_redirects=follow_redirects,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        trust_env=True,
    )


def make_async_client(
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float | None = None,
    limits: httpx.Limits | None = None,
) -> httpx.AsyncClient:
    """The asynchronous twin of :func:`make_client`, for fetching many packages at once."""
    import httpx

    t = httpx.Timeout(timeout or READ_TIMEOUT, connect=CONNECT_TIMEOUT)
    return httpx.AsyncClient(
        transport=transport or httpx.AsyncHTTPTransport(retries=RETRIES),
        timeout=t,
        follow_redirects=True,
        headers={"User-Agent": USER_AGENT},
        limits=limits or httpx.Limits(max_connections=16, max_keepalive_connections=16),
        trust_env=True,
    )


@contextlib.contextmanager
def translate_errors(what: str, url: str) -> Iterator[None]:
    """Turn httpx failures into a :class:`NetworkError` that names ``what`` and the redacted URL."""
    import httpx

    try:
        yield
    except httpx.HTTPStatusError as exc:
        raise NetworkError(
            f"{what}: {redact_url(url)} answered HTTP {exc.response.status_code}",
            hint="check the address and your credentials, or use --offline with a cached copy",
        ) from exc
    except httpx.TimeoutException as exc:
        raise NetworkError(
            f"{what}: {redact_url(url)} timed out",
            hint="the server is slow or unreachable; try again, or use --offline",
        ) from exc
    except httpx.HTTPError as exc:
        raise NetworkError(
            f"{what}: cannot reach {redact_url(url)} ({type(exc).__name__}: {exc})",
            hint="check your network or proxy settings, or use --offline",
        ) from exc
