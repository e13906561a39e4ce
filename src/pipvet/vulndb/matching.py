"""Is a version affected? OSV semantics with PEP 440 ordering, and alias merging. Pure.

A version is affected by a record's package entry when it lies in any ECOSYSTEM range or equals
(in canonical PEP 440 form) one of the explicit ``versions``. Inside a range, events are walked
in version order: ``introduced`` at or below the version switches "affected" on, ``fixed`` at or
below it (or ``last_affected`` strictly below it) switches it off; when the range has ``limit``
events, the version must also be below one of them. Pre-releases, post-releases, local versions
and epochs are ordered as PEP 440 orders them. Withdrawn records never match.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from packaging.version import Version

from pipvet.models import Advisory
from pipvet.vulndb.versions import parse_version, sorted_versions

Events = Sequence[tuple[str, str]]
"""``(kind, version)`` pairs of one range, sorted as :class:`pipvet.vulndb.osv.Range` sorts them."""


def in_range(version: Version, events: Events) -> bool:
    """True when ``version`` is inside the range described by ``events``."""
    limits = [parse_version(v) for kind, v in events if kind == "limit"]
    if limits and not any(limit is not None and version < limit for limit in limits):
        return False
    affected = False
    for kind, text in events:
        if kind == "introduced":
            if text == "0":
                affected = True
                continue
            bound = parse_version(text)
            if bound is not None and version >= bound:
                affected = True
        elif kind == "fixed":
            bound = parse_version(text)
            if bound is not None and version >= bound:
                affected = False
        elif kind == "last_affected":
            bound = parse_version(text)
            if bound is not None and version > bound:
                affected = False
    return affected


def fixes_after(version: Version | None, ranges: Iterable[Events]) -> tuple[str, ...]:
    """The ``fixed`` versions above ``version`` (all of them when the version is unknown)."""
    found: set[str] = set()
    for events in ranges:
        for kind, text in events:
            if kind != "fixed":
                continue
            bound = parse_version(text)
            if version is None or (bound is not None and bound > version):
                found.add(text)
    return sorted_versions(found)


def is_affected(
    version: str,
    canonical_version: str,
    *,
    ranges: Iterable[Events],
    versions: Iterable[str],
    withdrawn: bool = False,
) -> bool:
    """The whole OSV test for one package entry of one record."""
    if withdrawn:
        return False
    if canonical_version in set(versions):
        return True
    parsed = parse_version(version)
    if parsed is None:
        return False
    return any(in_range(parsed, events) for events in ranges)


_ID_PREFERENCE = ("MAL", "PYSEC", "GHSA", "CVE")


def _preference(advisory: Advisory) -> tuple[int, int, str]:
    prefix = advisory.id.split("-", 1)[0].upper()
    rank = _ID_PREFERENCE.index(prefix) if prefix in _ID_PREFERENCE else len(_ID_PREFERENCE)
    return (0 if advisory.malicious else 1, rank, advisory.id)


def merge_aliases(advisories: Sequence[Advisory]) -> tuple[Advisory, ...]:
    """Report one flaw once: records that name each other (directly or through a shared alias)
    become one advisory, under the most telling id (MAL, then PYSEC, GHSA, CVE, others), with the
    other ids as aliases, the highest severity and every fixed version."""
    parent = list(range(len(advisories)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, adv in enumerate(advisories):
        for key in (adv.id, *adv.aliases):
            k = key.upper()
            if k in owner:
                parent[find(i)] = find(owner[k])
            else:
                owner[k] = i
    groups: dict[int, list[Advisory]] = {}
    for i, adv in enumerate(advisories):
        groups.setdefault(find(i), []).append(adv)
    merged: list[Advisory] = []
    for members in groups.values():
        members.sort(key=_preference)
        head = members[0]
        if len(members) == 1:
            merged.append(head)
            continue
        aliases = sorted({x for a in members for x in (a.id, *a.aliases)} - {head.id}, key=str.upper)
        fixed = sorted_versions({f for a in members for f in a.fixed_in})
        severity = max((a.severity for a in members), key=lambda s: s.rank)
        merged.append(
            Advisory(
                id=head.id,
                aliases=tuple(aliases),
                summary=head.summary or next((a.summary for a in members if a.summary), ""),
                severity=severity,
                fixed_in=fixed,
                malicious=any(a.malicious for a in members),
                url=head.url,
            )
        )
    return tuple(sorted(merged, key=_report_order))


def _report_order(advisory: Advisory) -> tuple[int, int, str]:
    return (0 if advisory.malicious else 1, -advisory.severity.rank, advisory.id)
