"""``pip install --dry-run --report FILE`` JSON (report version 1).

Each ``install[]`` item gives ``metadata.name``/``version``, ``download_info.url`` and, for files
from an index, ``archive_info.hashes``; ``vcs_info``/``dir_info`` or ``is_direct`` mark direct
references (reported, not fetched). pip already evaluated markers for the environment it ran in,
so everything listed applies. The reader passes ``-`` for stdin.

Pure.
"""

from __future__ import annotations

from pipvet.errors import InputError
from pipvet.models import Dependency, Finding, Origin, Resolved, Skipped, normalize_name
from pipvet.sources import ParsedSource
from pipvet.sources import findings as F
from pipvet.sources._common import (
    LineIndex,
    array,
    artifact,
    hash_strings,
    load_json,
    normalize_hash,
    optional_string,
    string,
    table,
)
from pipvet.sources.markers import TargetEnvironment

FORMAT = "pip-report"


def parse(text: str, *, path: str, target: TargetEnvironment) -> ParsedSource:
    data = load_json(text, path=path)
    root = table(data, "pip report", path=path, line=1)
    if "install" not in root:
        raise InputError("not a pip installation report (no 'install' list)", path=path, line=1)
    version = root.get("version")
    if version is not None and str(version).split(".")[0] != "1":
        raise InputError(f"unsupported pip report version {version!r}", path=path, line=1)
    lines = LineIndex(text)
    cursor = 0
    deps: list[Dependency] = []
    findings: list[Finding] = []
    for i, raw in enumerate(array(root["install"], "install", path=path)):
        item = table(raw, f"install[{i}]", path=path)
        meta = table(item.get("metadata"), f"install[{i}].metadata", path=path)
        raw_name = string(meta.get("name"), f"install[{i}].metadata.name", path=path)
        line, cursor = _locate(lines, raw_name, cursor)
        version_text = string(meta.get("version"), f"{raw_name}: metadata.version", path=path, line=line)
        name = normalize_name(raw_name)
        origin = Origin(path=path, line=line)
        info = table(item.get("download_info", {}), f"{raw_name}: download_info", path=path, line=line)
        url = optional_string(info.get("url"), f"{raw_name}: download_info.url", path=path, line=line) or ""
        direct = _direct_kind(item.get("is_direct"), info)
        if direct is not None:
            where = url
            vcs = info.get("vcs_info")
            if isinstance(vcs, dict) and vcs.get("commit_id"):
                where = f"{url}@{vcs['commit_id']}"
            findings.append(F.direct_reference(path=path, line=line, name=name, kind=direct, url=where))
            deps.append(
                Skipped(
                    name=name,
                    requirement=f"{raw_name} @ {where}",
                    reason=f"{direct} dependency ({version_text}): not from an index; reported, not fetched",
                    origin=origin,
                )
            )
            continue
        archive = table(info.get("archive_info", {}), f"{raw_name}: archive_info", path=path, line=line)
        hashes = set(hash_strings(archive.get("hashes"), path=path, line=line))
        legacy = archive.get("hash")
        if legacy is not None:
            hashes.add(
                normalize_hash(
                    string(legacy, "archive_info.hash", path=path, line=line), path=path, line=line
                )
            )
        extras_raw = item.get("requested_extras") or []
        extras = tuple(
            string(e, "requested_extras", path=path, line=line)
            for e in array(extras_raw, "extras", path=path)
        )
        if not hashes:
            findings.append(F.missing_hash(path=path, line=line, name=name, version=version_text))
        deps.append(
            Resolved(
                name=name,
                version=version_text,
                origin=origin,
                hashes=tuple(sorted(hashes)),
                extras=extras,
                files=tuple(a for a in [artifact(filename=None, url=url, hashes=tuple(sorted(hashes)))] if a),
            )
        )
    return ParsedSource(path=path, format=FORMAT, dependencies=tuple(deps), findings=tuple(findings))


def _locate(lines: LineIndex, name: str, cursor: int) -> tuple[int | None, int]:
    """Line of this item's ``"name": "<name>"`` (items are in file order, so scan forward)."""
    for needle in (f'"name": "{name}"', f'"name":"{name}"'):
        pos = lines.find(needle, cursor)
        if pos != -1:
            return lines.line_of(pos), pos + len(needle)
    return None, cursor


def _direct_kind(is_direct: object, info: dict[str, object] | object) -> str | None:
    if not isinstance(info, dict):
        return None
    if "vcs_info" in info:
        vcs = info["vcs_info"]
        return str(vcs.get("vcs", "vcs")) if isinstance(vcs, dict) else "vcs"
    if "dir_info" in info:
        return (
            "editable" if isinstance(info["dir_info"], dict) and info["dir_info"].get("editable") else "path"
        )
    if is_direct is True:
        url = str(info.get("url", ""))
        return "path" if url.startswith("file:") else "URL"
    return None


__all__ = ["FORMAT", "parse"]
