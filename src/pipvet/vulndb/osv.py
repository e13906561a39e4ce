"""OSV JSON -> internal records. Pure and tolerant: bad input becomes a warning, never a crash.

What is kept of a record: its id, aliases, summary, severity, whether it is a known-malicious
release (``MAL-`` ids), whether it was withdrawn, and for each PyPI package it affects the
ECOSYSTEM ranges (events sorted into version order) and the explicit ``versions`` list (in
canonical form, see :mod:`pipvet.vulndb.versions`).

Tolerance rules, each producing a warning:

* a record that is not an object, or has no string ``id`` or no ``affected`` list, is skipped;
* an ``affected`` entry without a package name is skipped;
* a range of an unknown type is skipped (``GIT`` ranges are expected in PyPI data and are
  dropped silently: they name commits, not releases);
* a range with an event that is not a valid PEP 440 version, or without ``introduced``, is skipped;
* a version in an explicit ``versions`` list that is not PEP 440 is kept as written, so it can
  only match an identical string;
* a record left with nothing to match (no usable range and no version) is skipped.

Severity: ``MAL-`` records are critical; otherwise the highest CVSS 3.x base score among the
record's ``severity`` entries; otherwise a GitHub-style ``database_specific.severity`` word;
otherwise **medium** (most PYSEC records carry no severity at all).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipvet.models import NormalizedName, Severity, normalize_name
from pipvet.vulndb import cvss
from pipvet.vulndb.versions import canonical, parse_version

ECOSYSTEM = "PyPI"
EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
_EVENT_ORDER = {"fixed": 0, "last_affected": 1, "introduced": 2, "limit": 3}
_WORD_SEVERITY = {
    "LOW": Severity.LOW,
    "MODERATE": Severity.MEDIUM,
    "MEDIUM": Severity.MEDIUM,
    "HIGH": Severity.HIGH,
    "CRITICAL": Severity.CRITICAL,
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Event:
    kind: str
    """One of :data:`EVENT_KINDS`."""
    version: str
    """As written; ``"0"`` for ``introduced`` means "from the first release"."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Range:
    events: tuple[Event, ...]
    """Sorted by version (``introduced: 0`` first). At equal versions a ``fixed`` sorts before an
    ``introduced``, so a range re-introduced at the version that fixed the previous one counts
    that version as affected (fail closed)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Affected:
    name: NormalizedName
    ranges: tuple[Range, ...] = ()
    versions: tuple[str, ...] = ()
    """Canonical forms of the explicit versions (see :func:`~pipvet.vulndb.versions.canonical`)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Record:
    id: str
    aliases: tuple[str, ...] = ()
    summary: str = ""
    severity: Severity = Severity.MEDIUM
    malicious: bool = False
    withdrawn: str | None = None
    modified: str | None = None
    affected: tuple[Affected, ...] = ()

    @property
    def prefix(self) -> str:
        return self.id.split("-", 1)[0] if "-" in self.id else self.id


@dataclass(frozen=True, kw_only=True, slots=True)
class ParseResult:
    record: Record | None
    """None when the record was skipped; the warnings say why."""
    warnings: tuple[str, ...] = ()


def _event_sort_key(event: Event) -> tuple[int, Any, int]:
    if event.kind == "introduced" and event.version == "0":
        return (0, None, 0)
    v = parse_version(event.version)
    assert v is not None  # checked by _parse_range
    return (1, v, _EVENT_ORDER[event.kind])


def _parse_range(raw: object, where: str, warnings: list[str]) -> Range | None:
    if not isinstance(raw, Mapping):
        warnings.append(f"{where}: range is not an object; range skipped")
        return None
    kind = raw.get("type")
    if kind == "GIT":
        return None
    if kind != "ECOSYSTEM":
        warnings.append(f"{where}: unsupported range type {kind!r}; range skipped")
        return None
    raw_events = raw.get("events")
    if not isinstance(raw_events, list) or not raw_events:
        warnings.append(f"{where}: ECOSYSTEM range without events; range skipped")
        return None
    events: list[Event] = []
    for item in raw_events:
        if not isinstance(item, Mapping) or len(item) != 1:
            warnings.append(f"{where}: malformed event {item!r}; range skipped")
            return None
        ((kind_, version),) = item.items()
        if kind_ not in EVENT_KINDS or not isinstance(version, str):
            warnings.append(f"{where}: malformed event {item!r}; range skipped")
            return None
        version = version.strip()
        if not (kind_ == "introduced" and version == "0") and parse_version(version) is None:
            warnings.append(f"{where}: {kind_} version {version!r} is not PEP 440; range skipped")
            return None
        events.append(Event(kind=kind_, version=version))
    if not any(e.kind == "introduced" for e in events):
        warnings.append(f"{where}: range without an introduced event; range skipped")
        return None
    return Range(events=tuple(sorted(events, key=_event_sort_key)))


def _parse_affected(raw: object, where: str, warnings: list[str]) -> Affected | None:
    if not isinstance(raw, Mapping):
        warnings.append(f"{where}: affected entry is not an object; skipped")
        return None
    package = raw.get("package")
    if not isinstance(package, Mapping):
        warnings.append(f"{where}: affected entry without a package; skipped")
        return None
    ecosystem = package.get("ecosystem")
    if not isinstance(ecosystem, str) or ecosystem.split(":", 1)[0] != ECOSYSTEM:
        return None
    name = package.get("name")
    if not isinstance(name, str) or not name.strip():
        warnings.append(f"{where}: affected package without a name; skipped")
        return None
    ranges: list[Range] = []
    raw_ranges = raw.get("ranges") or []
    if not isinstance(raw_ranges, list):
        warnings.append(f"{where}: ranges is not a list; ignored")
        raw_ranges = []
    for i, rr in enumerate(raw_ranges):
        parsed = _parse_range(rr, f"{where} ranges[{i}]", warnings)
        if parsed is not None:
            ranges.append(parsed)
    versions: list[str] = []
    raw_versions = raw.get("versions") or []
    if not isinstance(raw_versions, list):
        warnings.append(f"{where}: versions is not a list; ignored")
        raw_versions = []
    for v in raw_versions:
        if not isinstance(v, str) or not v.strip():
            warnings.append(f"{where}: version {v!r} is not a string; ignored")
            continue
        versions.append(canonical(v))
    return Affected(name=normalize_name(name), ranges=tuple(ranges), versions=tuple(dict.fromkeys(versions)))


def _severity(raw: Mapping[str, Any], record_id: str, warnings: list[str]) -> Severity:
    if record_id.startswith("MAL-"):
        return Severity.CRITICAL
    best: Severity | None = None
    entries = raw.get("severity")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping) or entry.get("type") not in ("CVSS_V3", "CVSS_V3_1"):
            continue
        try:
            sev = cvss.rating(cvss.base_score(str(entry.get("score", ""))))
        except cvss.InvalidVector as exc:
            warnings.append(f"{record_id}: {exc}; severity ignored")
            continue
        best = sev if best is None or sev > best else best
    if best is not None:
        return best
    candidates: list[object] = []
    specific = raw.get("database_specific")
    if isinstance(specific, Mapping):
        candidates.append(specific.get("severity"))
    for a in raw.get("affected") or []:
        if isinstance(a, Mapping) and isinstance(a.get("database_specific"), Mapping):
            candidates.append(a["database_specific"].get("severity"))
    for word in candidates:
        if isinstance(word, str) and word.upper() in _WORD_SEVERITY:
            return _WORD_SEVERITY[word.upper()]
    return Severity.MEDIUM


def parse_record(raw: object) -> ParseResult:
    """Turn one OSV JSON object into a :class:`Record`, or explain why it was skipped."""
    if not isinstance(raw, Mapping):
        return ParseResult(record=None, warnings=("record is not a JSON object; skipped",))
    record_id = raw.get("id")
    if not isinstance(record_id, str) or not record_id.strip():
        return ParseResult(record=None, warnings=("record without an id; skipped",))
    record_id = record_id.strip()
    raw_affected = raw.get("affected")
    if not isinstance(raw_affected, list):
        return ParseResult(record=None, warnings=(f"{record_id}: no affected list; skipped",))
    warnings: list[str] = []
    affected: list[Affected] = []
    for i, ra in enumerate(raw_affected):
        parsed = _parse_affected(ra, f"{record_id} affected[{i}]", warnings)
        if parsed is not None and (parsed.ranges or parsed.versions):
            affected.append(parsed)
    if not affected:
        warnings.append(f"{record_id}: no usable {ECOSYSTEM} version data; skipped")
        return ParseResult(record=None, warnings=tuple(warnings))
    aliases = raw.get("aliases")
    summary = raw.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        details = raw.get("details")
        summary = details.strip().splitlines()[0] if isinstance(details, str) and details.strip() else ""
    withdrawn = raw.get("withdrawn")
    modified = raw.get("modified")
    record = Record(
        id=record_id,
        aliases=tuple(a for a in aliases if isinstance(a, str)) if isinstance(aliases, list) else (),
        summary=summary.strip()[:500],
        severity=_severity(raw, record_id, warnings),
        malicious=record_id.startswith("MAL-"),
        withdrawn=withdrawn if isinstance(withdrawn, str) and withdrawn else None,
        modified=modified if isinstance(modified, str) else None,
        affected=tuple(affected),
    )
    return ParseResult(record=record, warnings=tuple(warnings))
