"""Parse Python source as data: every failure a reason, never an exception.

Code using Python 3.12's type parameter syntax is parsed a second time after
:func:`~pipvet.analysis.typeparams.strip_type_params` rewrote it, lines and columns kept; code
using Python 3.14's unparenthesized ``except A, B:`` (PEP 758) after :func:`parenthesize_except`
put the parentheses in (the running parser is older than the code it reads).
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Callable

from pipvet.analysis.lazyre import LazyPattern
from pipvet.analysis.limits import Limits
from pipvet.analysis.typeparams import strip_type_params


def parse_python(text: str, path: str, limits: Limits) -> tuple[ast.Module | None, str | None]:
    """``(tree, None)``, or ``(None, reason)`` for code that is too large or does not parse."""
    if len(text) > limits.max_parse_chars:
        return None, f"too large to parse ({len(text):,} characters)"
    try:
        return _parse(text, path), None
    except SyntaxError as exc:
        # Only text is kept of the error: a local holding the exception would tie its traceback
        # to this frame and, through the callers' frames, keep the whole archive alive until
        # the cyclic collector runs (which the engine pauses while it analyses).
        reason = f"line {exc.lineno}: {exc.msg}" if exc.lineno else exc.msg
        message = exc.msg
    except _LIMIT_ERRORS as exc:
        return None, f"{type(exc).__name__}: {exc}"
    # Newer syntax, rewritten for the running parser one step after another (a file may use
    # both); the original error is reported when no rewrite makes it parse.
    candidate = text
    for rewrite, needed_for in _REWRITES:
        if needed_for is not None and needed_for not in message:
            continue
        changed = rewrite(candidate)
        if changed is None:
            continue
        try:
            return _parse(changed, path), None
        except SyntaxError as again:
            candidate, message = changed, again.msg
        except _LIMIT_ERRORS:
            break
    return None, reason


_LIMIT_ERRORS = (ValueError, RecursionError, MemoryError, OverflowError)
_UNPARENTHESIZED = "multiple exception types must be parenthesized"

_EXCEPT = LazyPattern(r"^([ \t]*except\*?)[ \t]+([^:#\n]*,[^:#\n]*?)[ \t]*:", re.MULTILINE)
_AS = LazyPattern(r"\bas\b")
"""``except A, B:`` at the start of a line: the clause and its types (no ``:`` or ``#`` in them)."""


def parenthesize_except(text: str) -> str | None:
    """``except A, B:`` -> ``except(A, B):`` (PEP 758, Python 3.14), one character longer per
    clause and nothing else moved; ``None`` when no clause needs it. A clause with ``as`` is left
    alone: Python 3.14 still requires parentheses there. Python 2's ``except E, e:`` becomes a
    tuple too, which is harmless for reading the file as data (its other Python 2 syntax still
    keeps it from parsing)."""
    changed = False

    def wrap(m: re.Match[str]) -> str:
        nonlocal changed
        if _AS.search(m.group(2)):
            return m.group(0)
        changed = True
        return f"{m.group(1)}({m.group(2)}):"

    rewritten = _EXCEPT.sub(wrap, text)
    return rewritten if changed else None


_REWRITES: tuple[tuple[Callable[[str], str | None], str | None], ...] = (
    (strip_type_params, None),
    (parenthesize_except, _UNPARENTHESIZED),
)
"""Each rewrite, and the syntax error it answers (``None``: tried on any)."""


def _parse(text: str, path: str) -> ast.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(text, filename=path)
