"""Read PEP 695 syntax (Python 3.12+) with the running 3.11 parser, lines and columns kept.

Popular packages now ship ``def f[T](x: T)``, ``class Box[T]:`` and ``type Alias = ...`` (numpy's
typing stubs, sphinx, zarr, scipy, django). Python 3.11's :mod:`ast` rejects them, and a file that
does not parse only gets the weaker text-level rules, which mistake ordinary typed code for
obfuscation. :func:`strip_type_params` rewrites exactly those constructs at the token level:

* a type parameter list after a ``def``/``class`` name is blanked out;
* ``type Name[params] = value`` becomes ``Name = value``. At run time the value of a type alias is
  evaluated lazily; analysing it as an eager assignment can only over-report, never hide code.

Type parameter bounds and defaults are evaluated lazily too, and blanking them would hide what they
contain: a list with a call, a lambda or a string in it (``T: exec(...)``, ``T: E["payload"]``) is
left alone, so the file stays unparsed and keeps the text-level rules. Every replacement has the
width of what it replaces and keeps its line breaks (as backslash continuations), so findings
point at the original lines.
"""

from __future__ import annotations

import io
import itertools
import tokenize
from collections.abc import Sequence
from typing import NamedTuple

_Pos = tuple[int, int]


class _Edit(NamedTuple):
    start: _Pos
    end: _Pos
    text: str  # replacement for the first line of the span; the rest is blanked


_STATEMENT_START = frozenset({tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT})
_SKIPPED = frozenset({tokenize.COMMENT, tokenize.NL})


def strip_type_params(text: str) -> str | None:
    """The text with PEP 695 constructs rewritten, or ``None`` if there were none (or unsafe)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None
    edits: list[_Edit] = []
    code = [t for t in tokens if t.type not in _SKIPPED]
    for i, tok in enumerate(code):
        if tok.type != tokenize.NAME:
            continue
        if tok.string in ("def", "class") and _is_name(code, i + 1) and _is_op(code, i + 2, "["):
            close = _matching(code, i + 2)
            if close is None or _may_hide_code(code[i + 3 : close]):
                return None
            edits.append(_Edit(code[i + 2].start, code[close].end, ""))
        elif tok.string == "type" and _starts_statement(code, i) and _is_name(code, i + 1):
            j = i + 2
            if _is_op(code, j, "["):
                close = _matching(code, j)
                if close is None or _may_hide_code(code[j + 1 : close]):
                    return None
                j = close + 1
            if not _is_op(code, j, "="):
                continue  # ``type`` used as an ordinary name
            edits.append(_Edit(tok.start, code[j].start, code[i + 1].string))
    if not edits:
        return None
    return _apply(text, edits)


def _is_name(code: Sequence[tokenize.TokenInfo], i: int) -> bool:
    return i < len(code) and code[i].type == tokenize.NAME


def _is_op(code: Sequence[tokenize.TokenInfo], i: int, op: str) -> bool:
    return i < len(code) and code[i].type == tokenize.OP and code[i].string == op


def _starts_statement(code: Sequence[tokenize.TokenInfo], i: int) -> bool:
    if i == 0:
        return True
    before = code[i - 1]
    return before.type in _STATEMENT_START or (before.type == tokenize.OP and before.string == ";")


def _matching(code: Sequence[tokenize.TokenInfo], opener: int) -> int | None:
    """Index of the bracket closing the one at ``opener``."""
    depth = 0
    for k in range(opener, len(code)):
        tok = code[k]
        if tok.type != tokenize.OP:
            continue
        if tok.string in "([{":
            depth += 1
        elif tok.string in ")]}":
            depth -= 1
            if depth == 0:
                return k if tok.string == "]" else None
    return None


def _may_hide_code(inner: Sequence[tokenize.TokenInfo]) -> bool:
    """Whether a bracketed token run calls anything (``f(``, ``x)(``) or holds data (a string)."""
    if any(tok.type == tokenize.STRING for tok in inner):
        return True
    for prev, tok in itertools.pairwise(inner):
        if prev.type == tokenize.NAME and prev.string == "lambda":
            return True
        opens_call = tok.type == tokenize.OP and tok.string == "("
        if opens_call and (prev.type in (tokenize.NAME, tokenize.STRING) or prev.string in (")", "]")):
            return True
    return False


def _apply(text: str, edits: Sequence[_Edit]) -> str:
    lines = io.StringIO(text).readlines()  # split exactly where the tokenizer counts lines
    for edit in sorted(edits, reverse=True):
        (row, col), (end_row, end_col) = edit.start, edit.end
        if row == end_row:
            line = lines[row - 1]
            width = end_col - col
            lines[row - 1] = line[:col] + edit.text.ljust(width) + line[end_col:]
            continue
        first = lines[row - 1][:col] + edit.text
        lines[row - 1] = first + " \\\n"
        for mid in range(row, end_row - 1):
            lines[mid] = " \\\n"
        last = lines[end_row - 1]
        lines[end_row - 1] = " " * end_col + last[end_col:]
    return "".join(lines)
