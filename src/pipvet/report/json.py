"""The JSON contract (DESIGN.md section 4, ``schema_version`` 1). Pure and deterministic."""

from __future__ import annotations

import json
from typing import Any

from pipvet import __version__
from pipvet.models import Advisory, Artifact, Finding, PackageRef, Report, Result

SCHEMA_VERSION = 1


def _package(p: PackageRef | None) -> dict[str, Any] | None:
    return None if p is None else {"name": p.name, "version": p.version}


def _artifact(a: Artifact | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {"filename": a.filename, "sha256": a.sha256, "size": a.size}


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "severity": f.severity.value,
        "title": f.title,
        "message": f.message,
        "path": f.path,
        "line": f.line,
        "evidence": f.evidence,
    }


def _advisory(a: Advisory) -> dict[str, Any]:
    return {
        "id": a.id,
        "aliases": list(a.aliases),
        "summary": a.summary,
        "severity": a.severity.value,
        "fixed_in": list(a.fixed_in),
        "malicious": a.malicious,
    }


def result_to_dict(r: Result) -> dict[str, Any]:
    return {
        "target": r.target,
        "package": _package(r.package),
        "artifact": _artifact(r.artifact),
        "verdict": r.verdict.value,
        "score": r.score,
        "findings": [_finding(f) for f in r.findings],
        "vulnerabilities": [_advisory(a) for a in r.vulnerabilities],
        "decision": r.decision.value,
        "reasons": list(r.reasons),
        "error": r.error,
    }


def to_dict(report: Report) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "pipvet", "version": __version__},
        "command": report.command,
        "results": [result_to_dict(r) for r in report.results],
        "summary": dict(report.summary()),
    }


def render(report: Report, *, color: bool = False) -> str:
    del color
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"
