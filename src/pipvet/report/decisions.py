"""The gate's decision table: one row per artifact the installer asked for (pure, deterministic)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from pipvet.models import Decision, Result, Verdict

_STYLE = {Decision.BLOCK: "bold red", Decision.WARN: "yellow", Decision.ALLOW: "green"}
_VERDICT = {
    Verdict.MALICIOUS: "bold red",
    Verdict.SUSPICIOUS: "yellow",
    Verdict.CLEAN: "green",
    Verdict.ERROR: "bold magenta",
}


def _reasons(r: Result) -> str:
    lines = list(r.reasons)
    if not lines and r.findings:
        lines = [f"{f.rule}: {f.title}" for f in r.findings[:3]]
    return "\n".join(lines)


def render_decisions(
    results: Sequence[Result],
    *,
    omissions: Sequence[str] = (),
    failures: Sequence[str] = (),
    notes: Sequence[str] = (),
    color: bool = False,
    width: int = 140,
    max_omissions: int | None = 20,
) -> str:
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
    ordered = sorted(
        results,
        key=lambda r: (
            r.package.name if r.package else "",
            r.package.version or "" if r.package else "",
            r.target,
        ),
    )
    if ordered:
        table = Table(title="pipvet install", show_lines=False)
        for column in ("package", "version", "file", "verdict", "decision", "reasons"):
            table.add_column(column, overflow="fold")
        for r in ordered:
            table.add_row(
                r.package.name if r.package else "",
                (r.package.version if r.package else None) or "",
                r.artifact.filename if r.artifact else r.target,
                f"[{_VERDICT[r.verdict]}]{r.verdict.value}[/]",
                f"[{_STYLE[r.decision]}]{r.decision.value}[/]",
                _reasons(r),
            )
        console.print(table)
    blocked = sum(1 for r in results if r.decision is Decision.BLOCK)
    warned = sum(1 for r in results if r.decision is Decision.WARN)
    console.print(
        f"{len(results)} artifact{'s' if len(results) != 1 else ''} vetted: "
        f"{len(results) - blocked - warned} allowed, {warned} warned, {blocked} blocked; "
        f"{len(omissions)} file{'s' if len(omissions) != 1 else ''} left out of the index pages"
    )
    shown = omissions if max_omissions is None else omissions[:max_omissions]
    for line in shown:
        console.print(f"left out: {line}")
    if len(shown) < len(omissions):
        console.print(f"left out: ... and {len(omissions) - len(shown)} more (-v lists them all)")
    for line in failures:
        console.print(f"[bold red]failure:[/] {line}")
    for line in notes:
        console.print(f"note: {line}")
    return buffer.getvalue()
