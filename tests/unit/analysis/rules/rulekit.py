"""Build rule inputs from source text, the way the engine would, without any archive."""

from __future__ import annotations

import ast
from collections.abc import Iterable

from pipvet.analysis.context import FileContext, FileKind, PackageContext, Rule
from pipvet.models import Finding, Severity, Stage


def py(source: str, *, path: str = "pkg/mod.py", stage: Stage = Stage.IMPORT) -> FileContext:
    try:
        tree: ast.Module | None = ast.parse(source)
        error = None
    except SyntaxError as exc:
        tree, error = None, str(exc)
    return FileContext(
        path=path,
        data=source.encode(),
        kind=FileKind.PYTHON,
        stage=stage,
        text=source,
        tree=tree,
        parse_error=error,
    )


def text(source: str, *, path: str, kind: FileKind, stage: Stage) -> FileContext:
    return FileContext(path=path, data=source.encode(), kind=kind, stage=stage, text=source)


def package(**kwargs: object) -> PackageContext:
    return PackageContext(filename="pkg-1.0.tar.gz", **kwargs)  # type: ignore[arg-type]


def run(rules: Iterable[Rule], file: FileContext, pkg: PackageContext | None = None) -> list[Finding]:
    pkg = pkg or package()
    return [f for rule in rules for f in rule.check(file, pkg)]


def ids(findings: Iterable[Finding]) -> set[str]:
    return {f.rule for f in findings}


def severities(rules: Iterable[Rule], file: FileContext, rule: str) -> list[Severity]:
    """The severities of ``rule``'s findings on ``file``, in order."""
    return [f.severity for f in run(rules, file) if f.rule == rule]
