"""The vetting index: a filtered simple index in front of the real one (see DESIGN.md section 7).

``VettingIndex`` is the thread-safe service (pages, artifacts, decisions), ``create_app`` wraps it
as an ASGI application, and ``serve_in_thread`` runs that on a loopback port. ``pipvet install``
uses all three; ``pipvet serve`` will use the same pieces as a long-lived service.
"""

from __future__ import annotations

from pipvet.proxy.app import create_app
from pipvet.proxy.server import serve_in_thread
from pipvet.proxy.service import Blocked, Served, Upstream, Vetter, VettingIndex

__all__ = ["Blocked", "Served", "Upstream", "Vetter", "VettingIndex", "create_app", "serve_in_thread"]
