"""``pipvet install``: run pip or uv behind the vetting index (see :mod:`pipvet.gate`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from pipvet.cli._common import common_options, settings_from, use_color


@click.command(
    "install",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option(
    "--installer",
    type=click.Choice(["pip", "uv"]),
    default="pip",
    envvar="PIPVET_INSTALLER",
    show_default=True,
    help="The installer to run behind the vetting index.",
)
@click.option(
    "--python",
    "python",
    envvar="PIPVET_PYTHON",
    help="Install into this interpreter [default: the active virtualenv, else python on PATH].",
)
@click.option("--dry-run", is_flag=True, help="Vet and report; install nothing.")
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="PIPVET_POLICY",
    help="Read the policy from this pipvet.toml / pyproject.toml.",
)
@click.option("--max-db-age", envvar="PIPVET_MAX_DB_AGE", help="Oldest acceptable database (e.g. 7d).")
@click.option(
    "--allow-stale",
    is_flag=True,
    default=None,
    envvar="PIPVET_ALLOW_STALE",
    help="Relax fail-closed: use a database older than --max-db-age.",
)
@click.option(
    "--allow-errors",
    is_flag=True,
    default=None,
    envvar="PIPVET_ALLOW_ERRORS",
    help="Relax fail-closed: serve artifacts that could not be vetted (with a warning).",
)
@click.option("--index-url", envvar="PIPVET_INDEX_URL", help="The upstream index [default: the installer's].")
@common_options
@click.argument("installer_args", nargs=-1, type=click.UNPROCESSED)
def install(**params: Any) -> int:
    """Install with pip or uv, vetting every file before the installer can use it.

    Arguments after -- go to `pip install` / `uv pip install` unchanged, e.g.
    `pipvet install -- -r requirements.txt`. Exit: the installer's status, 1 if pipvet
    blocked anything, 3 if vetting could not be completed (nothing is installed then).
    """
    from pipvet.gate import GateRequest, install_with_gate

    settings = settings_from(params)
    request = GateRequest(
        installer=params["installer"],
        python=params["python"],
        dry_run=bool(params["dry_run"]),
        args=tuple(params["installer_args"]),
    )
    outcome = install_with_gate(
        request,
        settings,
        policy_file=params["policy_file"],
        allow_errors=params["allow_errors"],
        progress=not settings.quiet and sys.stderr.isatty(),
        quiet_stdout=params["fmt"] != "table",
    )
    if params["fmt"] != "table":
        from pipvet.cli._common import emit

        emit(outcome.report(), params["fmt"], params["output"])
    else:
        from pipvet.report.decisions import render_decisions

        text = render_decisions(
            outcome.results,
            omissions=outcome.omissions,
            failures=outcome.failures,
            notes=outcome.notes,
            color=params["output"] is None and use_color(),
            max_omissions=None if settings.verbose else 20,
        )
        if params["output"] is None:
            click.echo(text, nl=False)
        else:
            from pipvet.cli._common import write_atomically

            write_atomically(params["output"], text)
    return outcome.exit_code()
