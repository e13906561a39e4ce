"""Parse Python source as data: every failure a reason, never an exception.

Code using Python 3.12's type parameter syntax is parsed a second time after
:func:`~pipvet.analysis.typeparams.strip_type_params` rewrote it, lines and columns kept.
"""

from __future__ import annotations

import ast
import warnings

from pipvet.analysis.limits import Limits
from pipvet.analysis.typeparams import strip_type_params


def parse_python(text: str, path: str, limits: Limits) -> tuple[ast.Module | None, str | None]:
    """``(tree, None)``, or ``(None, reason)`` for code that is too large or does not parse."""
    if len(text) > limits.max_parse_chars:
        return None, f"too large to parse ({len(text):,} characters)"
    try:
        return _parse(text, path), None
    except SyntaxError as exc:
        rewritten = strip_type_params(text)
        if rewritten is not None:
            try:
                return _parse(rewritten, path), None
            except (SyntaxError, *_LIMIT_ERRORS):
                pass  # report the error of the original text
        where = f"line {exc.lineno}: " if exc.lineno else ""
        return None, f"{where}{exc.msg}"
    except _LIMIT_ERRORS as exc:
        return None, f"{type(exc).__name__}: {exc}"


_LIMIT_ERRORS = (ValueError, RecursionError, MemoryError, OverflowError)


def _parse(text: str, path: str) -> ast.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(text, filename=path)
