"""Join findings from different sources (code, metadata, names) into one result, re-scored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pipvet.models import Finding, Result, Verdict

_ORDER = {Verdict.CLEAN: 0, Verdict.SUSPICIOUS: 1, Verdict.ERROR: 2, Verdict.MALICIOUS: 3}


def with_findings(result: Result, extra: Sequence[Finding]) -> Result:
    """``result`` plus ``extra`` findings, re-scored; the verdict and score never go down, and an
    ``error`` verdict stays ``error`` (the findings are reported next to the error)."""
    if not extra:
        return result
    from pipvet.analysis import score as scoring
    from pipvet.analysis.where import own_names

    own = own_names(result.package.name if result.package else None)
    scored = scoring.score([*result.findings, *extra], own)
    verdict = result.verdict
    if _ORDER[scored.verdict] > _ORDER[verdict] and verdict is not Verdict.ERROR:
        verdict = scored.verdict
    return replace(result, findings=scored.findings, verdict=verdict, score=max(result.score, scored.score))
