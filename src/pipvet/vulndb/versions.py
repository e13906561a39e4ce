"""PEP 440 versions for OSV matching: parsing that never raises, and a canonical string form.

The canonical form makes ``1.0``, ``1.0.0`` and ``1.0.0.0`` one string (trailing zero release
segments dropped, as :func:`packaging.utils.canonicalize_version` does), so explicit ``versions``
lists can be stored and looked up by string equality. Strings that are not valid PEP 440 are
kept as written and can only match themselves.
"""

from __future__ import annotations

import re
from functools import lru_cache

from packaging.version import InvalidVersion, Version

_PLAIN = re.compile(r"[0-9]+(?:\.[0-9]+)*")


@lru_cache(maxsize=65536)
def parse_version(text: str) -> Version | None:
    """The PEP 440 version for ``text``, or None when it is not one."""
    try:
        return Version(text)
    except InvalidVersion:
        return None


def is_valid(text: str) -> bool:
    return parse_version(text) is not None


@lru_cache(maxsize=65536)
def canonical(text: str) -> str:
    """``1.0.0`` -> ``1``, ``1.0rc1`` -> ``1rc1``, ``01.2`` -> ``1.2``; invalid strings unchanged."""
    text = text.strip()
    if _PLAIN.fullmatch(text):
        # The common case, without building a Version: plain dotted numbers.
        parts = [str(int(p)) for p in text.split(".")]
        while len(parts) > 1 and parts[-1] == "0":
            parts.pop()
        return ".".join(parts)
    v = parse_version(text)
    if v is None:
        return text
    # As packaging.utils.canonicalize_version does (without importing packaging.tags).
    release = list(v.release)
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    parts = [f"{v.epoch}!" if v.epoch else "", ".".join(map(str, release))]
    if v.pre is not None:
        parts.append(f"{v.pre[0]}{v.pre[1]}")
    if v.post is not None:
        parts.append(f".post{v.post}")
    if v.dev is not None:
        parts.append(f".dev{v.dev}")
    if v.local is not None:
        parts.append(f"+{v.local}")
    return "".join(parts)


def sorted_versions(texts: set[str] | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Valid versions in PEP 440 order, then invalid strings in text order; duplicates removed."""
    valid: list[tuple[Version, str]] = []
    invalid: list[str] = []
    for text in set(texts):
        v = parse_version(text)
        if v is None:
            invalid.append(text)
        else:
            valid.append((v, text))
    valid.sort()
    return (*(t for _, t in valid), *sorted(invalid))
