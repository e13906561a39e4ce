"""Input findings attached to audit results."""

from __future__ import annotations

from pipvet.models import Decision, Finding, NormalizedName, Origin, Resolved, Result, Severity
from pipvet.sources.findings import HASH_MISMATCH, INDEX_MIXING, NO_HASH
from pipvet.vetting import with_input_findings


def _finding(rule: str, line: int | None) -> Finding:
    return Finding(
        rule=rule, severity=Severity.MEDIUM, title=rule.lower(), message="m", path="uv.lock", line=line
    )


def test_findings_go_to_the_dependency_at_their_line_or_stand_alone() -> None:
    deps = [
        Resolved(name=NormalizedName("a"), version="1", origin=Origin(path="uv.lock", line=3)),
        Resolved(name=NormalizedName("b"), version="1", origin=Origin(path="uv.lock", line=9)),
    ]
    results = [
        Result(target="uv.lock:3", decision=Decision.ALLOW),
        Result(target="uv.lock:9", decision=Decision.BLOCK),
    ]
    out = with_input_findings(
        results, deps, [_finding(NO_HASH, 3), _finding(NO_HASH, 9), _finding(INDEX_MIXING, 1)]
    )
    assert [r.decision for r in out] == [Decision.WARN, Decision.BLOCK, Decision.WARN]
    assert [len(r.findings) for r in out] == [1, 1, 1]
    assert out[2].target == "uv.lock:1"
    assert out[0].reasons == (f"{NO_HASH}: {NO_HASH.lower()}",)


def test_hash_mismatch_blocks() -> None:
    deps = [Resolved(name=NormalizedName("a"), version="1", origin=Origin(path="uv.lock", line=3))]
    (result,) = with_input_findings([Result(target="x")], deps, [_finding(HASH_MISMATCH, 3)])
    assert result.decision is Decision.BLOCK
