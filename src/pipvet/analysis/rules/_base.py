"""What every rule shares: identity as data and one way to build a finding."""

from __future__ import annotations

from dataclasses import dataclass

from pipvet.analysis.context import FileContext
from pipvet.analysis.facts import trim
from pipvet.models import Finding, Severity, Stage


@dataclass(frozen=True, kw_only=True, slots=True)
class BaseRule:
    """Identity of a rule; subclasses add ``check(file, package) -> Iterable[Finding]``."""

    id: str
    title: str
    severity: Severity
    rationale: str

    def finding(
        self,
        file: FileContext,
        *,
        message: str,
        line: int | None = None,
        evidence: str | None = None,
        severity: Severity | None = None,
        stage: Stage | None = None,
    ) -> Finding:
        return Finding(
            rule=self.id,
            severity=severity or self.severity,
            title=self.title,
            message=message,
            path=file.path,
            line=line,
            evidence=trim(evidence) if evidence else None,
            stage=stage or file.stage,
        )
