"""Helpers the format parsers share: decoding TOML/JSON with file:line errors, finding the line of
an entry with a cheap scan, marker evaluation that names the line, and pinned-version checks.

Pure: text in, values out.
"""

from __future__ import annotations

import json
import re
import sys
from bisect import bisect_right
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement

from pipvet.errors import InputError
from pipvet.models import Artifact
from pipvet.sources import _fasttoml
from pipvet.sources.markers import TargetEnvironment

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

_TOML_POSITION = re.compile(r"at line (\d+)")
_NORMAL_HASH = re.compile(r"[a-z0-9_]+:[0-9a-f]+")


def load_toml(text: str, *, path: str) -> dict[str, Any]:
    """Parse TOML; a syntax error becomes an :class:`InputError` naming the file and line."""
    fast = _fasttoml.loads(text)
    if fast is not None:
        return fast
    try:
        data: dict[str, Any] = tomllib.loads(text)
        return data
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POSITION.search(str(exc))
        line = int(match.group(1)) if match else None
        if line is None and "end of document" in str(exc):
            line = text.rstrip("\n").count("\n") + 1
        message = re.split(r" \(at ", str(exc))[0] or "invalid TOML"
        raise InputError(f"not valid TOML: {message}", path=path, line=line) from None


def load_json(text: str, *, path: str) -> Any:
    """Parse JSON; a syntax error becomes an :class:`InputError` naming the file and line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from None
    except RecursionError:
        raise InputError("not valid JSON: nested too deeply", path=path) from None


class LineIndex:
    """Maps character offsets of a text to 1-based line numbers, and finds things cheaply."""

    __slots__ = ("_single", "_starts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts: list[int] | None = None  # built on first use
        self._single = "'" in text

    def line_of(self, offset: int) -> int:
        if self._starts is None:
            starts = [0]
            find = self.text.find
            pos = find("\n")
            while pos != -1:
                starts.append(pos + 1)
                pos = find("\n", pos + 1)
            self._starts = starts
        return bisect_right(self._starts, offset)

    def find(self, needle: str, start: int = 0) -> int:
        """Offset of ``needle`` at or after ``start``, or -1."""
        return self.text.find(needle, start)

    def headers(self, header: str) -> list[int]:
        """Line numbers of every line that is exactly ``header`` (e.g. ``[[package]]``), in order."""
        lines: list[int] = []
        text = self.text
        count, find, rfind = text.count, text.find, text.rfind
        line, last = 1, 0
        pos = find(header)
        while pos != -1:
            start = rfind("\n", 0, pos) + 1
            end = find("\n", pos)
            rest = text[pos + len(header) : end if end != -1 else len(text)].strip()
            if not text[start:pos].strip(" \t") and (not rest or rest.startswith("#")):
                line += count("\n", last, pos)
                last = pos
                lines.append(line)
            pos = find(header, pos + len(header))
        return lines

    def quoted(self, value: str, start: int = 0) -> tuple[int | None, int]:
        """Line of the first ``"value"`` or ``'value'`` at or after ``start``; and the offset after it."""
        best = self.text.find(f'"{value}"', start)
        end = best if best != -1 else len(self.text)
        single = self.text.find(f"'{value}'", start, end) if self._single else -1
        if single != -1:
            best = single
        if best == -1:
            return None, start
        return self.line_of(best), best + len(value) + 2


def table(value: Any, what: str, *, path: str, line: int | None = None) -> Mapping[str, Any]:
    """``value`` as a mapping, or an input error saying what was expected."""
    if type(value) is dict:
        return value
    if not isinstance(value, Mapping):
        raise InputError(f"{what}: expected a table, got {type(value).__name__}", path=path, line=line)
    return value


def array(value: Any, what: str, *, path: str, line: int | None = None) -> list[Any]:
    if not isinstance(value, list):
        raise InputError(f"{what}: expected an array, got {type(value).__name__}", path=path, line=line)
    return value


def string(value: Any, what: str, *, path: str, line: int | None = None) -> str:
    if not isinstance(value, str):
        raise InputError(f"{what}: expected a string, got {type(value).__name__}", path=path, line=line)
    return value


def optional_string(value: Any, what: str, *, path: str, line: int | None = None) -> str | None:
    if value is None:
        return None
    return string(value, what, path=path, line=line)


def marker_applies(marker: str | None, target: TargetEnvironment, *, path: str, line: int | None) -> bool:
    """Evaluate ``marker`` for ``target``; an unparseable marker is an input error at ``line``."""
    if not marker:
        return True
    try:
        return target.evaluate(marker)
    except InvalidMarker as exc:
        raise InputError(f"invalid environment marker {marker!r}: {exc}", path=path, line=line) from None
    except Exception as exc:  # packaging raises a few others (e.g. UndefinedEnvironmentName)
        raise InputError(f"cannot evaluate marker {marker!r}: {exc}", path=path, line=line) from None


def normalize_marker(marker: str | None, *, path: str, line: int | None) -> str | None:
    """A marker in packaging's canonical spelling (so every format writes it alike), or None."""
    if marker is None or not marker.strip():
        return None
    try:
        return str(Marker(marker))
    except InvalidMarker as exc:
        raise InputError(f"invalid environment marker {marker!r}: {exc}", path=path, line=line) from None


def parse_requirement(text: str, *, path: str, line: int | None) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise InputError(f"invalid requirement {text!r}: {exc}", path=path, line=line) from None


def exact_version(requirement: Requirement) -> str | None:
    """The version when the specifier pins exactly one (``==1.2`` without ``*``, or ``===1.2``)."""
    specs = list(requirement.specifier)
    if len(specs) != 1:
        return None
    spec = specs[0]
    if spec.operator == "===" or (spec.operator == "==" and "*" not in spec.version):
        return spec.version
    return None


def hash_strings(hashes: Any, *, path: str, line: int | None) -> tuple[str, ...]:
    """``{"sha256": "ab.."}`` or ``["sha256:ab.."]`` -> ``("sha256:ab..",)``, sorted, lowercased."""
    if type(hashes) is str:
        return (normalize_hash(hashes, path=path, line=line),)
    out: set[str] = set()
    if hashes is None:
        return ()
    if isinstance(hashes, Mapping):
        for algo, digest in hashes.items():
            if not isinstance(digest, str):
                raise InputError(f"hash {algo!r}: expected a string", path=path, line=line)
            out.add(f"{str(algo).lower()}:{digest.lower()}")
    elif isinstance(hashes, list):
        for item in hashes:
            out.add(normalize_hash(string(item, "hash", path=path, line=line), path=path, line=line))
    elif isinstance(hashes, str):
        out.add(normalize_hash(hashes, path=path, line=line))
    else:
        raise InputError(f"hashes: unexpected {type(hashes).__name__}", path=path, line=line)
    return tuple(sorted(out))


def normalize_hash(value: str, *, path: str, line: int | None) -> str:
    """``sha256:AB`` or ``sha256=AB`` -> ``sha256:ab``."""
    if _NORMAL_HASH.fullmatch(value):
        return value  # already in normal form (the common case)
    for sep in (":", "="):
        algo, found, digest = value.partition(sep)
        if found and algo and digest:
            return f"{algo.strip().lower()}:{digest.strip().lower()}"
    raise InputError(f"hash {value!r}: expected ALGORITHM:HEXDIGEST", path=path, line=line)


def artifact(
    *,
    filename: str | None,
    url: str | None,
    hashes: tuple[str, ...],
    size: Any = None,
    upload_time: str | None = None,
) -> Artifact | None:
    """One listed distribution file; the filename falls back to the last segment of the URL/path."""
    name = filename or (url_filename(url) if url else None)
    if not name:
        return None
    sha = None
    for h in hashes:
        if h.startswith("sha256:"):
            sha = h[7:]
            break
    return Artifact(
        filename=name,
        sha256=sha,
        size=size if type(size) is int else None,
        url=url,
        upload_time=upload_time,
    )


def url_filename(url: str) -> str:
    """``https://host/a/b/foo-1.0.tar.gz#sha256=..`` -> ``foo-1.0.tar.gz`` (percent-decoded)."""
    if "#" in url:
        url = url.split("#", 1)[0]
    if "?" in url:
        url = url.split("?", 1)[0]
    tail = url.rstrip("/").rsplit("/", 1)[-1]
    return unquote(tail) if "%" in tail else tail
