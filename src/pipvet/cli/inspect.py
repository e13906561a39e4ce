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
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=0),
    default=0,
    envvar="PIPVET_JOBS",
    help="Analyse this many targets in parallel (0: one per CPU when there are 8 or more).",
)
@common_options
def inspect(targets: tuple[str, ...], jobs: int, **params: Any) -> int:
    """Read package archives as data and report malicious code, without running any of it.

    TARGET is an sdist (.tar.gz, .tgz, .tar.bz2, .tar.xz, .zip), a wheel or egg, an unpacked
    folder, or a single source file. Verdicts: malicious (blocks, exit 1), suspicious (warns),
    clean, error (could not be vetted: blocks, exit 3).
    """
    from pipvet.errors import exit_code_for
    from pipvet.inspection import default_jobs, inspect_targets
    from pipvet.models import Report
    from pipvet.policy import Policy

    settings = settings_from(params)
    policy = Policy(fail_on=settings.fail_on)
    progress = None
    if not settings.quiet and len(targets) >= PROGRESS_FROM and sys.stderr.isatty():
        progress = _progress
    workers = jobs or default_jobs(len(targets))
    results = inspect_targets(targets, policy, progress=progress, jobs=workers)
    if progress is not None:
        click.echo("\r\033[K", nl=False, err=True)
    emit(Report(command="inspect", results=results), params["fmt"], params["output"])
    return int(exit_code_for(results))


def _progress(i: int, n: int, label: str) -> None:
    click.echo(f"\r\033[K[{i}/{n}] {label[-60:]}", nl=False, err=True)
