"""``pipvet inspect TARGET ...``: static analysis of package archives. No policy logic here."""

from __future__ import annotations

import sys
from typing import Any

import click

from pipvet.cli._common import common_options, emit, settings_from

#: Show progress on a terminal only when there are at least this many targets.
PROGRESS_FROM = 5


@click.command("inspect")
@click.argument("targets", nargs=-1, required=True)
@click.option("--index-url", envvar="PIPVET_INDEX_URL", help="Index for NAME targets [default: pip's/uv's].")
@common_options
def inspect(targets: tuple[str, ...], **params: Any) -> int:
    """Read package archives as data and report malicious code, without running any of it.

    TARGET is an sdist (.tar.gz, .tgz, .tar.bz2, .tar.xz, .zip), a wheel or egg, an unpacked
    folder, or a single source file, or NAME / NAME==VERSION: every file of that release is
    fetched from the index (as pip or uv is configured) and analysed, with metadata signals.
    Verdicts: malicious (blocks, exit 1), suspicious (warns), clean, error (could not be
    vetted: blocks, exit 3).
    """
    from pipvet.errors import exit_code_for
    from pipvet.inspection import IndexTarget, inspect_targets, parse_target
    from pipvet.models import Report
    from pipvet.policy import Policy

    settings = settings_from(params)
    policy = Policy(fail_on=settings.fail_on)
    progress = None
    if not settings.quiet and len(targets) >= PROGRESS_FROM and sys.stderr.isatty():
        progress = _progress
    fetch_all = None
    if any(isinstance(parse_target(t), IndexTarget) for t in targets):
        from pipvet.index.inspect_release import release_fetcher

        fetch_all = release_fetcher(settings)
    try:
        results = inspect_targets(targets, policy, progress=progress, fetch_all=fetch_all)
    finally:
        if fetch_all is not None:
            fetch_all.close()
    if progress is not None:
        click.echo("\r\033[K", nl=False, err=True)
    emit(Report(command="inspect", results=results), params["fmt"], params["output"])
    return int(exit_code_for(results))


def _progress(i: int, n: int, label: str) -> None:
    click.echo(f"\r\033[K[{i}/{n}] {label[-60:]}", nl=False, err=True)
