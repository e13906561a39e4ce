from __future__ import annotations

import json

from pipvet.models import (
    Advisory,
    Artifact,
    Decision,
    Finding,
    PackageRef,
    Report,
    Result,
    Severity,
    Verdict,
    VulnerabilityID,
    normalize_name,
)
from pipvet.report import render


def test_json_contract_shape() -> None:
    result = Result(
        target="dist/foo-1.0.tar.gz",
        package=PackageRef(name=normalize_name("foo"), version="1.0"),
        artifact=Artifact(filename="foo-1.0.tar.gz", sha256="ab" * 32, size=1234),
        verdict=Verdict.MALICIOUS,
        score=92,
        findings=(
            Finding(
                rule="PV-INSTALL-EXEC",
                severity=Severity.CRITICAL,
                title="t",
                message="m",
                path="foo-1.0/setup.py",
                line=12,
                evidence="exec(...)",
            ),
        ),
        vulnerabilities=(
            Advisory(
                id=VulnerabilityID("PYSEC-2023-1"),
                aliases=("CVE-1",),
                summary="s",
                severity=Severity.HIGH,
                fixed_in=("1.0.1",),
            ),
        ),
        decision=Decision.BLOCK,
        reasons=("r",),
    )
    data = json.loads(render(Report(command="inspect", results=(result,)), "json"))
    assert data["schema_version"] == 1
    assert data["tool"]["name"] == "pipvet"
    assert data["command"] == "inspect"
    r = data["results"][0]
    assert set(r) == {
        "target",
        "package",
        "artifact",
        "verdict",
        "score",
        "findings",
        "vulnerabilities",
        "decision",
        "reasons",
        "error",
    }
    assert r["verdict"] == "malicious"
    assert r["findings"][0] == {
        "rule": "PV-INSTALL-EXEC",
        "severity": "critical",
        "title": "t",
        "message": "m",
        "path": "foo-1.0/setup.py",
        "line": 12,
        "evidence": "exec(...)",
    }
    assert r["vulnerabilities"][0]["fixed_in"] == ["1.0.1"]
    assert r["vulnerabilities"][0]["malicious"] is False
    assert data["summary"] == {
        "malicious": 1,
        "suspicious": 0,
        "clean": 0,
        "error": 0,
        "blocked": 1,
    }


def test_table_has_no_escape_codes_without_color() -> None:
    result = Result(
        target="x",
        package=PackageRef(name=normalize_name("x"), version="1"),
        verdict=Verdict.SUSPICIOUS,
        decision=Decision.WARN,
    )
    text = render(Report(command="audit", results=(result,)), "table", color=False)
    assert "\x1b[" not in text
    assert "suspicious" in text
