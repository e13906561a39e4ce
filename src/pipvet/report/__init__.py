"""Renderers: one pure, deterministic function per output format.

``render(report, fmt)`` picks the renderer; each module exposes ``render(report, *, color) -> str``.
"""

from __future__ import annotations

import importlib

from pipvet.errors import UsageError
from pipvet.models import Report

_RENDERERS = {
    "json": "pipvet.report.json",
    "table": "pipvet.report.table",
}


def render(report: Report, fmt: str, *, color: bool = False) -> str:
    module_name = _RENDERERS.get(fmt)
    if module_name is None:
        raise UsageError(
            f"output format {fmt!r} is not available yet",
            hint=f"choose one of: {', '.join(sorted(_RENDERERS))}",
        )
    module = importlib.import_module(module_name)
    text: str = module.render(report, color=color)
    return text
