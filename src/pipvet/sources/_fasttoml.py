"""A fast reader for the regular TOML that lock tools write; anything else goes to ``tomllib``.

Lockfiles are large and machine-written: ``[[package]]`` headers, ``[a.b]`` tables and
``key = value`` lines whose values are strings, numbers, booleans, datetimes, inline tables and
arrays (possibly over several lines). ``tomllib`` reads a 2,000-package ``uv.lock`` in about half a
second; this reader turns every value into JSON with one regular-expression pass and decodes them
all with one ``json.loads`` call (C speed), so the same file takes a fraction of that.

It only accepts the subset it understands and returns ``None`` for anything else (multi-line
strings, dotted keys, redefined tables, unusual escapes or numbers, invalid input), and the
caller then uses ``tomllib``, which also gives the error message for invalid TOML. A property
test checks that whenever this reader answers, ``tomllib`` gives the same value.

Pure.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time
from typing import Any


class _Unsupported(Exception):
    pass


_HEADER = re.compile(
    r"^\[(\[)?[ \t]*([A-Za-z0-9_-]+(?:[ \t]*\.[ \t]*[A-Za-z0-9_-]+)*)[ \t]*\](\])?[ \t]*(?:#.*)?$"
)
# every line: (whole line, table header, key, value, anything else); blank and comment lines
# match none of the inner groups
_LINE = re.compile(
    r'^([ \t]*(?:(\[[^\n]*)|([A-Za-z0-9_-]+|"[^"\\\x00-\x1f]*")[ \t]*=(?!=)[ \t]*([^\n]*)'
    r"|#[^\n]*|([^\n]+))?)$",
    re.MULTILINE,
)
# turning TOML values into JSON: strings are split out first and never touched
_STRING = re.compile(r"(\"[^\"\\\n]*(?:\\.[^\"\\\n]*)*\"|'[^'\n]*')")
# constant replacements only (Python 3.11 expands group references in Python, slowly)
_QUOTED_KEY = re.compile(r"(?<=\x00)[ \t]*=(?!=)")
# inline-table keys follow "{" or ","; patterns that start with a literal are searched fast
_KEY_AFTER_BRACE = re.compile(r"\{[ \t]*(?=[A-Za-z0-9_-]+[ \t]*=(?!=))")
_KEY_AFTER_COMMA = re.compile(r",[ \t]*(?=[A-Za-z0-9_-]+[ \t]*=(?!=))")
_KEY_EQUALS = re.compile(r"[ \t]*=")
_TRAILING_COMMA = re.compile(r",(?=\s*\])")
_EMPTY_ITEM = re.compile(r"[\[,{]\s*,")
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})?)?"
    r"|\d{2}:\d{2}:\d{2}(?:\.\d+)?"
)
_DATETIME_START = re.compile(r"[\x01=,\[][ \t\n]*(?:\d{4}-\d\d-\d\d|\d\d:\d\d:\d\d)")
_NULL = re.compile(r"\bnull\b")
# escapes JSON and TOML read differently (TOML-only, JSON-only, lone surrogates), and NUL,
# which would read as the start of the datetime marker below
_ESCAPE_DIFF = re.compile(r"\\[Uex/]|\\u[dD][89a-fA-F]|\\u0000")
# control characters TOML forbids everywhere (tab and newline aside)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_DT_MARK = "\x00dt:"


def loads(text: str) -> dict[str, Any] | None:
    """The document, or None when it is outside the supported subset (use ``tomllib`` then)."""
    try:
        return _loads(text)
    except (_Unsupported, ValueError, RecursionError):
        return None


def _loads(text: str) -> dict[str, Any]:
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if _CONTROL.search(text) or '"""' in text or "'''" in text:
        raise _Unsupported  # control characters are errors; multi-line strings are not handled here
    if "\\" in text and _ESCAPE_DIFF.search(text):
        raise _Unsupported
    root: dict[str, Any] = {}
    current = root
    defined: set[int] = {id(root)}
    array_tables: set[int] = set()
    slots: list[tuple[dict[str, Any], str]] = []
    values: list[str] = []
    rows = _LINE.findall(text)
    i = 0
    count = len(rows)
    while i < count:
        _, header, key, value, other = rows[i]
        i += 1
        if key:
            if key[0] == '"':
                key = key[1:-1]
        elif header:
            match = _HEADER.match(header.rstrip())
            if match is None or bool(match.group(1)) != bool(match.group(3)):
                raise _Unsupported
            parts = [p.strip() for p in match.group(2).split(".")]
            current = _open(root, parts, array=bool(match.group(1)), defined=defined, arrays=array_tables)
            continue
        elif other:
            raise _Unsupported
        else:
            continue  # a blank or comment line
        if key in current:
            raise _Unsupported
        tail = value.rstrip()[-1:]
        if tail == "[" or tail == "{" or tail == ",":
            # an array over several lines: lock writers close it on a line of its own; the exact
            # bracket balance of every value is checked below, outside strings
            more_lines = [value]
            while True:
                if i >= count:
                    raise _Unsupported
                more = rows[i][0]
                i += 1
                more_lines.append(more)
                if more.lstrip()[:1] in ("]", "}"):
                    break
            value = "\n".join(more_lines)
            if value.rstrip().endswith(","):
                raise _Unsupported  # "key = [...]," is not TOML
        current[key] = None
        slots.append((current, key))
        values.append(value)
    if not values:
        return root
    # \x01 (a control character, so never in the input) marks where each value starts
    body = "[\x01" + "\n,\x01".join(values) + "\n]"
    parts = _STRING.split(body)  # strings land at odd indices and are left untouched
    glue = "\x00".join(parts[0::2])
    if "#" in glue or '"' in glue or "'" in glue or "\\" in glue or ("null" in glue and _NULL.search(glue)):
        raise _Unsupported  # comments inside values, unterminated strings; JSON's null is not TOML
    _check_balanced(glue)
    # a bare datetime can only start a value: right after a value mark, "=", "[" or ","
    dates = _DATETIME_START.search(glue) is not None
    glue = glue.replace("\x01", "")
    glue = _QUOTED_KEY.sub(":", glue)
    glue, after_brace = _KEY_AFTER_BRACE.subn('{"', glue)
    glue, after_comma = _KEY_AFTER_COMMA.subn(',"', glue)
    keys = after_brace + after_comma
    if glue.count("=") != keys:
        raise _Unsupported  # an "=" that follows no key
    # every "=" left ends a key just quoted (counted above)
    if "\t" in glue or "  =" in glue:
        glue = _KEY_EQUALS.sub('":', glue)
    else:  # the usual " = ": plain replacements are much faster than a regular expression
        glue = glue.replace(" = ", '": ').replace(" =", '":').replace("=", '":')
    if _EMPTY_ITEM.search(glue):
        raise _Unsupported  # "[,]" or "1,,2": JSON after trailing-comma removal would not notice
    glue = _TRAILING_COMMA.sub("", glue)
    if dates:
        glue = _DATETIME.sub(r'"\\u0000dt:\g<0>"', glue)
    segments = glue.split("\x00")
    if len(segments) != (len(parts) + 1) // 2:
        raise _Unsupported
    parts[0::2] = segments
    if "'" in text:
        for k in range(1, len(parts), 2):
            if parts[k][0] == "'":
                parts[k] = json.dumps(parts[k][1:-1])
    body = "".join(parts)
    decoded = json.loads(body, strict=False, parse_constant=_reject, object_pairs_hook=_unique)
    if not isinstance(decoded, list) or len(decoded) != len(slots):
        raise _Unsupported
    for (table, key), value in zip(slots, decoded, strict=True):
        table[key] = _dates(value) if dates else value
    return root


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Inline tables: a key given twice is a TOML error, which ``json.loads`` would let pass."""
    table = dict(pairs)
    if len(table) != len(pairs):
        raise _Unsupported
    return table


def _reject(name: str) -> Any:
    raise _Unsupported(name)


def _check_balanced(glue: str) -> None:
    """Every value (between \\x01 marks, strings removed) must close all it opens, and an inline
    table must not span lines (TOML forbids it; JSON would not mind)."""
    chunks = glue.split("\x01")
    for n, chunk in enumerate(chunks):
        if n == 0:
            continue
        if n == len(chunks) - 1:
            chunk = chunk[: chunk.rfind("]")]  # the closing bracket of the outer list
        if chunk.count("[") != chunk.count("]") or chunk.count("{") != chunk.count("}"):
            raise _Unsupported
        if "{" in chunk and "\n" in chunk.rstrip("\n,"):
            for line in chunk.split("\n"):
                if line.count("{") != line.count("}"):
                    raise _Unsupported


def _open(
    root: dict[str, Any], parts: list[str], *, array: bool, defined: set[int], arrays: set[int]
) -> dict[str, Any]:
    table = root
    for part in parts[:-1]:
        nxt = table.get(part)
        if nxt is None:
            if part in table:
                raise _Unsupported
            nxt = table[part] = {}
        if isinstance(nxt, list):
            if id(nxt) not in arrays or not nxt:
                raise _Unsupported
            nxt = nxt[-1]
        if not isinstance(nxt, dict):
            raise _Unsupported
        table = nxt
    last = parts[-1]
    if array:
        existing = table.get(last)
        if existing is None:
            if last in table:
                raise _Unsupported
            existing = table[last] = []
            arrays.add(id(existing))
        if not isinstance(existing, list) or id(existing) not in arrays:
            raise _Unsupported
        new: dict[str, Any] = {}
        existing.append(new)
        defined.add(id(new))
        return new
    if last in table:
        raise _Unsupported  # a table defined twice, or implicitly first: let tomllib decide
    new = table[last] = {}
    defined.add(id(new))
    return new


def _dates(value: Any) -> Any:
    if isinstance(value, str):
        return _to_datetime(value[len(_DT_MARK) :]) if value.startswith(_DT_MARK) else value
    if isinstance(value, list):
        return [_dates(v) for v in value]
    if isinstance(value, dict):
        return {k: _dates(v) for k, v in value.items()}
    return value


def _to_datetime(text: str) -> date | datetime | time:
    if len(text) == 10:
        return date.fromisoformat(text)
    if text[2] == ":":
        return time.fromisoformat(_fraction(text))
    normalized = text[:10] + "T" + text[11:]
    if normalized[-1] in "Zz":
        normalized = normalized[:-1] + "+00:00"
    return datetime.fromisoformat(_fraction(normalized))


def _fraction(text: str) -> str:
    """Python before 3.11 takes only 3 or 6 fraction digits; TOML keeps microseconds (truncates)."""
    match = re.search(r"\.(\d+)", text)
    if match is None:
        return text
    digits = (match.group(1) + "000000")[:6]
    return text[: match.start(1)] + digits + text[match.end(1) :]


__all__ = ["loads"]
