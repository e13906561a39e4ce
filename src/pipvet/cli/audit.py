"""``pipvet audit``: known vulnerabilities and known malware in pinned dependencies."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pipvet.cli._common import common_options, emit, note, settings_from

if TYPE_CHECKING:
    from pipvet.config import Settings
    from pipvet.vulndb.store import Database


def _parse_ignore(text: str) -> tuple[str, str | None]:
    ident, sep, reason = text.partition(":")
    ident = ident.strip()
    if not ident:
        raise click.BadParameter(f"expected ID or ID:REASON, got {text!r}", param_hint="--ignore")
    return ident, (reason.strip() or None) if sep else None


def _open_database(settings: Settings, osv_url: str | None) -> tuple[Database, str | None]:
    """The database, checked for freshness; the hint names ``--osv-url`` when one was given."""
    from pipvet.errors import DatabaseError
    from pipvet.vulndb.store import Database

    try:
        db = Database.open(settings.db_path)
    except DatabaseError as exc:
        if osv_url:
            exc.hint = f"run `pipvet db update --osv-url {osv_url}`"
        raise
    try:
        return db, db.check_fresh(settings.max_db_age, allow_stale=settings.allow_stale)
    except DatabaseError as exc:
        db.close()
        if osv_url:
            exc.hint = f"run `pipvet db update --osv-url {osv_url}`, or pass --allow-stale to use it anyway"
        raise


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--env",
    "env_python",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[PYTHON]",
    help="Audit the distributions installed for PYTHON (default: the active environment).",
)
@click.option(
    "--ignore",
    "ignores",
    multiple=True,
    envvar="PIPVET_IGNORE",
    metavar="ID[:REASON]",
    help="Accept a known vulnerability (id or alias), with an optional reason. Repeatable "
    "(PIPVET_IGNORE: space-separated).",
)
@click.option(
    "--allow-unpinned",
    is_flag=True,
    envvar="PIPVET_ALLOW_UNPINNED",
    help="Warn instead of failing on unpinned dependencies.",
)
@click.option(
    "--allow-stale",
    is_flag=True,
    default=None,
    envvar="PIPVET_ALLOW_STALE",
    help="Use a database older than --max-db-age.",
)
@click.option(
    "--max-db-age",
    envvar="PIPVET_MAX_DB_AGE",
    metavar="AGE",
    help="Oldest database to trust, e.g. 7d or 12h [default: 7d].",
)
@click.option(
    "--osv-url",
    envvar="PIPVET_OSV_URL",
    metavar="URL",
    help="The OSV export `pipvet db update` loads (named in hints).",
)
@click.option(
    "--python-version",
    envvar="PIPVET_PYTHON_VERSION",
    metavar="X.Y",
    help="Evaluate environment markers for this Python.",
)
@click.option(
    "--platform",
    envvar="PIPVET_PLATFORM",
    metavar="OS",
    help="Evaluate environment markers for linux, macos or windows.",
)
@common_options
def audit(**params: Any) -> int:
    """Check pinned dependencies against the local OSV database.

    PATH is a requirements file or a folder holding one; with no PATH and no --env, the current
    folder. Unpinned dependencies are reported as errors (exit 3) unless --allow-unpinned.
    """
    from pipvet.errors import exit_code_for
    from pipvet.models import Report
    from pipvet.policy import Ignore, Policy
    from pipvet.sources.markers import TargetEnvironment
    from pipvet.sources.reader import read_source
    from pipvet.vetting import vet_dependencies

    settings = settings_from(params)
    target = TargetEnvironment.for_target(
        python_version=params["python_version"], platform=params["platform"]
    )
    ignores = tuple(Ignore(id=i, reason=r) for i, r in map(_parse_ignore, params["ignores"]))
    paths: tuple[Path, ...] = params["paths"]
    env_python: str | None = params["env_python"]

    sources = [read_source(p, target) for p in paths]
    if env_python is not None:
        from pipvet.sources.environment import read_environment

        sources.append(read_environment(env_python or None))
    if not sources:
        sources.append(read_source(Path(), target))
    dependencies = [d for s in sources for d in s.dependencies]

    notes: list[str] = []
    db, stale = _open_database(settings, params["osv_url"])
    with db:
        if stale:
            notes.append(stale)
        evaluation = vet_dependencies(
            dependencies,
            db,
            Policy(fail_on=settings.fail_on, ignores=ignores),
            allow_unpinned=bool(params["allow_unpinned"]),
        )
    notes.extend(evaluation.notes)
    report = Report(command="audit", results=evaluation.results, notes=tuple(notes))
    emit(report, params["fmt"], params["output"])
    if params["fmt"] != "table" or params["output"] is not None:
        for n in report.notes:
            note(settings, f"pipvet: note: {n}")
    return int(exit_code_for(report.results))
