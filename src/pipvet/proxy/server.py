"""Run an ASGI app with uvicorn in a background thread on a loopback port.

The listening socket is bound before the thread starts, so the address is known at once and
connections made before the server loop runs simply wait in the backlog (no start-up race).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any


def bind_loopback(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket on ``host:port`` (0: an ephemeral port), ready for :func:`serve_in_thread`.

    Binding first lets a caller hand the address to a client before the server has started:
    the client's connections wait in the backlog.
    """
    # proto=IPPROTO_TCP matters: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say
    # so, and without it every response written in two parts waits ~40 ms for a delayed ACK.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextlib.contextmanager
def serve_in_thread(
    app: Any, *, host: str = "127.0.0.1", port: int = 0, sock: socket.socket | None = None
) -> Iterator[str]:
    """Serve ``app`` on ``sock`` (or a new socket on ``host:port``) and yield its base URL."""
    import uvicorn

    sock = sock if sock is not None else bind_loopback(host, port)
    config = uvicorn.Config(
        app,
        log_level="critical",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
        loop="asyncio",
        http="h11",
    )
    server = uvicorn.Server(config)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # surfaced to the caller after join
            errors.append(exc)

    thread = threading.Thread(target=run, name="pipvet-vetting-index", daemon=True)
    thread.start()
    try:
        yield base_url(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
    if errors:
        raise RuntimeError(f"the vetting index server failed: {errors[0]!r}") from errors[0]
