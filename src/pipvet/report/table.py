"""A readable terminal table (rich). Colour only when asked; deterministic otherwise."""

from __future__ import annotations

import io

from pipvet.models import Decision, Report, Result, Verdict

_VERDICT_STYLE = {
    Verdict.MALICIOUS: "bold red",
    Verdict.SUSPICIOUS: "yellow",
    Verdict.CLEAN: "green",
    Verdict.ERROR: "bold magenta",
}
_DECISION_STYLE = {Decision.BLOCK: "bold red", Decision.WARN: "yellow", Decision.ALLOW: "green"}


def _detail(r: Result) -> str:
    lines: list[str] = []
    if r.error:
        lines.append(r.error)
    for a in r.vulnerabilities:
        fix = f" (fixed in {', '.join(a.fixed_in)})" if a.fixed_in else " (no fix)"
        kind = "MALICIOUS " if a.malicious else ""
        alias = f" [{', '.join(a.aliases[:2])}]" if a.aliases else ""
        lines.append(f"{kind}{a.id}{alias} {a.severity.value}{fix}")
    for f in r.findings:
        where = f"{f.path}:{f.line}" if f.path and f.line else (f.path or "")
        lines.append(f"{f.rule} {f.severity.value}: {f.title}" + (f" @ {where}" if where else ""))
    if not lines and r.reasons:
        lines.extend(r.reasons)
    return "\n".join(lines)


LIST_ALL_UP_TO = 20
"""A short report lists every result; a long one lists only those with something to say."""


def _noteworthy(r: Result) -> bool:
    return bool(
        r.verdict is not Verdict.CLEAN
        or r.decision is not Decision.ALLOW
        or r.vulnerabilities
        or r.findings
        or r.error
    )


def render(report: Report, *, color: bool = False, width: int = 120) -> str:
    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        width=width,
        highlight=False,
        emoji=False,
    )
    table = Table(show_lines=False, expand=False, title=f"pipvet {report.command}")
    table.add_column("package / target", overflow="fold")
    table.add_column("version", overflow="fold")
    table.add_column("verdict")
    table.add_column("decision")
    table.add_column("details", overflow="fold")
    if len(report.results) <= LIST_ALL_UP_TO:
        shown = list(report.results)
    else:
        shown = [r for r in report.results if _noteworthy(r)]
    for r in shown:
        name = r.package.name if r.package else r.target
        version = (r.package.version if r.package else None) or ""
        table.add_row(
            name,
            version,
            f"[{_VERDICT_STYLE[r.verdict]}]{r.verdict.value}[/]",
            f"[{_DECISION_STYLE[r.decision]}]{r.decision.value}[/]",
            _detail(r),
        )
    if shown:
        console.print(table)
    hidden = len(report.results) - len(shown)
    s = report.summary()
    console.print(
        f"{len(report.results)} checked: {s['malicious']} malicious, {s['suspicious']} suspicious, "
        f"{s['clean']} clean, {s['error']} error; {s['blocked']} blocked"
        + (f" ({hidden} clean without findings not listed)" if hidden else "")
    )
    for n in report.notes:
        console.print(f"note: {n}")
    return buffer.getvalue()
