"""``pipvet audit``: known vulnerabilities and known malware in pinned dependencies."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pipvet.cli._common import common_options, emit, note, settings_from

if TYPE_CHECKING:
    from pipvet.config import Settings
    from pipvet.sources import ParsedSource
    from pipvet.sources.markers import TargetEnvironment
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


def _resolved(
    sources: list[ParsedSource], settings: Settings, target: TargetEnvironment
) -> list[ParsedSource]:
    """Each source with loose requirements, resolved against the index (see ``--resolve``)."""
    from pipvet.sources.resolve import needs_resolution, resolve_source

    if not any(needs_resolution(s) for s in sources):
        return sources
    from pipvet.index.factory import client_for

    with client_for(settings) as client:
        return [
            resolve_source(s, client, target, index_url=client.index.url) if needs_resolution(s) else s
            for s in sources
        ]


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
    "--format-in",
    "format_in",
    type=click.Choice(
        [
            "requirements",
            "pyproject.toml",
            "uv.lock",
            "poetry.lock",
            "Pipfile.lock",
            "pylock.toml",
            "pip-report",
        ]
    ),
    envvar="PIPVET_FORMAT_IN",
    help="Read every PATH as this input format instead of detecting it from the name and content.",
)
@click.option(
    "--resolve",
    is_flag=True,
    envvar="PIPVET_RESOLVE",
    help="Resolve loose requirements to exact versions from the index (wheel metadata only; "
    "anything that would need an sdist build is refused and reported).",
)
@click.option(
    "--index-url",
    envvar="PIPVET_INDEX_URL",
    metavar="URL",
    help="The index --resolve reads [default: pip's or uv's configured index].",
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
@click.option(
    "--metadata",
    "with_metadata",
    is_flag=True,
    envvar="PIPVET_METADATA",
    help="Also fetch each project's metadata from the index (release age, maintainers, ...).",
)
@common_options
def audit(**params: Any) -> int:
    """Check pinned dependencies against the local OSV database.

    PATH is a requirements file, a lockfile (uv.lock, poetry.lock, Pipfile.lock, pylock.toml), a
    pyproject.toml, a `pip install --dry-run --report` JSON file (`-` reads stdin), or a folder
    holding one (lockfile first); with no PATH and no --env, the current folder. Unpinned
    dependencies are reported as errors (exit 3) unless --allow-unpinned.
    """
    from pipvet.errors import exit_code_for
    from pipvet.models import Report
    from pipvet.policy import Ignore, Policy
    from pipvet.sources.crosscheck import hash_mismatches
    from pipvet.sources.markers import TargetEnvironment
    from pipvet.sources.reader import read_source
    from pipvet.vetting import note_affected_unpinned, vet_dependencies, with_input_findings

    settings = settings_from(params)
    target = TargetEnvironment.for_target(
        python_version=params["python_version"], platform=params["platform"]
    )
    ignores = tuple(Ignore(id=i, reason=r) for i, r in map(_parse_ignore, params["ignores"]))
    paths: tuple[Path, ...] = params["paths"]
    env_python: str | None = params["env_python"]

    sources = [read_source(p, target, fmt=params["format_in"]) for p in paths]
    if params["resolve"]:
        sources = _resolved(sources, settings, target)
    if env_python is not None:
        from pipvet.sources.environment import read_environment

        sources.append(read_environment(env_python or None))
    if not sources:
        sources.append(read_source(Path(), target))
    dependencies = [d for s in sources for d in s.dependencies]

    from pipvet.index.signals import dependency_signals

    extra_findings, notes = dependency_signals(
        settings, dependencies, with_metadata=bool(params["with_metadata"])
    )
    db, stale = _open_database(settings, params["osv_url"])
    with db:
        if stale:
            notes.append(stale)
        evaluation = vet_dependencies(
            dependencies,
            db,
            Policy(fail_on=settings.fail_on, ignores=ignores),
            allow_unpinned=bool(params["allow_unpinned"]),
            extra_findings=extra_findings,
        )
        decided = note_affected_unpinned(evaluation.results, dependencies, db)
    notes.extend(evaluation.notes)
    findings = [f for s in sources for f in s.findings]
    findings.extend(hash_mismatches(sources))
    results = with_input_findings(decided, dependencies, findings)
    report = Report(command="audit", results=results, notes=tuple(notes))
    emit(report, params["fmt"], params["output"])
    if params["fmt"] != "table" or params["output"] is not None:
        for n in report.notes:
            note(settings, f"pipvet: note: {n}")
    return int(exit_code_for(report.results))
