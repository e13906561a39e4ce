"""Parse Python source as data: ``ast.parse`` once, every failure a reason, never an exception."""

from __future__ import annotations

import ast
import warnings

from pipvet.analysis.limits import Limits


def parse_python(text: str, path: str, limits: Limits) -> tuple[ast.Module | None, str | None]:
    """``(tree, None)``, or ``(None, reason)`` for code that is too large or does not parse."""
    if len(text) > limits.max_parse_chars:
        return None, f"too large to parse ({len(text):,} characters)"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text, filename=path), None
    except SyntaxError as exc:
        where = f"line {exc.lineno}: " if exc.lineno else ""
        return None, f"{where}{exc.msg}"
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
