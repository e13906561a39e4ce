"""Input findings attached to audit results."""

from __future__ import annotations

from pipvet.models import Decision, Finding, NormalizedName, Origin, Resolved, Result, Severity, Skipped
from pipvet.sources.findings import HASH_MISMATCH, INDEX_MIXING, NO_HASH
from pipvet.vetting import note_affected_unpinned, with_input_findings


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


class _Versions:
    """A database stand-in that knows affected versions for one project."""

    def affected_versions(self, name: str) -> list[tuple[str, str]]:
        return [
            ("1.0", "V-1"),
            ("1.5", "V-2"),
            ("1.5", "V-3"),
            ("2.0", "V-4"),
            ("0.9", "V-5"),
            ("bad", "V-6"),
        ]


def test_unpinned_ranges_name_the_newest_affected_versions() -> None:
    deps = [
        Skipped(name=NormalizedName("a"), requirement="a>=1,<2", reason="not pinned to one exact version"),
        Skipped(name=NormalizedName("b"), requirement="b @ https://127.0.0.1/b.whl", reason="direct URL"),
    ]
    out = note_affected_unpinned([Result(target="x"), Result(target="y")], deps, _Versions())
    assert out[0].reasons == ("newest matching versions known to be affected: 1.5 (V-2, V-3), 1.0 (V-1)",)
    assert out[1].reasons == ()
