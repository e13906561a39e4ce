"""``pipvet db update`` and ``pipvet db status``: the local vulnerability database."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from pipvet.cli._common import settings_from


def _common(func: Any) -> Any:
    options = [
        click.option(
            "--cache-dir",
            type=click.Path(file_okay=False, path_type=Path),
            envvar="PIPVET_CACHE_DIR",
            help="Where the database lives.",
        ),
        click.option(
            "--config",
            "config_file",
            type=click.Path(dir_okay=False, path_type=Path),
            envvar="PIPVET_CONFIG",
            help="Read settings from this pipvet.toml/pyproject.toml.",
        ),
        click.option("-q", "--quiet", is_flag=True, envvar="PIPVET_QUIET", help="Print only errors."),
        click.option("-v", "--verbose", count=True, help="More detail (e.g. every skipped record)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group()
def db() -> None:
    """Manage the local vulnerability database (OSV records for PyPI)."""


@db.command(short_help="Download the OSV export and rebuild the database.")
@click.option(
    "--osv-url",
    envvar="PIPVET_OSV_URL",
    metavar="URL",
    help="The OSV export to load: an http(s) URL, a file:// URL or a local path to all.zip.",
)
@_common
def update(**params: Any) -> int:
    """Download the OSV export and rebuild the database (atomically; a failure keeps the old one)."""
    from pipvet.vulndb.update import update_database

    settings = settings_from(params)
    progress = not settings.quiet and sys.stderr.isatty()
    outcome = update_database(settings.db_path, settings.osv_url, progress=progress)
    if settings.quiet:
        return 0
    if not outcome.changed:
        click.echo(f"pipvet: {outcome.source} is unchanged since the last update; database marked current")
        return 0
    stats = outcome.stats
    assert stats is not None
    counts = ", ".join(f"{k} {v:,}" for k, v in stats.by_prefix.items())
    click.echo(
        f"pipvet: loaded {stats.records:,} OSV records ({counts}) from {outcome.source}\n"
        f"pipvet: {stats.withdrawn} withdrawn (never matched), {stats.skipped} skipped as unusable, "
        f"{stats.warning_count} warnings; database {settings.db_path}"
    )
    if stats.warning_count:
        if settings.verbose:
            for w in stats.warnings:
                click.echo(f"warning: {w}", err=True)
            if stats.warning_count > len(stats.warnings):
                click.echo(f"warning: ... {stats.warning_count - len(stats.warnings)} more", err=True)
        else:
            click.echo("pipvet: run with -v to see the warnings", err=True)
    return 0


@db.command(short_help="Show the database's source, age, counts and staleness.")
@click.option(
    "--max-db-age",
    envvar="PIPVET_MAX_DB_AGE",
    metavar="AGE",
    help="Age after which the database is stale [default: 7d].",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", help="Output format.")
@_common
def status(**params: Any) -> int:
    """Show where the database came from, when it was updated, its counts, and whether it is stale."""
    from pipvet.net import redact_url
    from pipvet.vulndb.store import Database, describe_age, format_time, utcnow

    settings = settings_from(params)
    now = utcnow()
    with Database.open(settings.db_path) as database:
        meta = database.meta
        updated = database.updated_at
        stale = database.is_stale(settings.max_db_age, now)
        info = {
            "database": str(settings.db_path),
            "source": redact_url(meta["source"]) if meta.get("source") else None,
            "updated_at": format_time(updated) if updated else None,
            "built_at": meta.get("built_at"),
            "age_seconds": int(database.age(now).total_seconds()) if updated else None,
            "max_age_seconds": int(settings.max_db_age.total_seconds()),
            "stale": stale,
            "records": int(meta.get("records", "0")),
            "by_prefix": database.by_prefix,
            "withdrawn": int(meta.get("withdrawn", "0")),
            "skipped": int(meta.get("skipped", "0")),
            "etag": meta.get("etag") or None,
            "last_modified": meta.get("last_modified") or None,
        }
        age = describe_age(database.age(now)) if updated else "unknown"
    if params["fmt"] == "json":
        click.echo(json.dumps(info, indent=2))
        return 0
    counts = ", ".join(f"{k} {v:,}" for k, v in database.by_prefix.items())
    limit = describe_age(settings.max_db_age)
    state = f"STALE: older than {limit}; run `pipvet db update`" if stale else f"fresh (stale after {limit})"
    lines = [
        f"database  {info['database']}",
        f"source    {info['source'] or 'unknown'}",
        f"updated   {info['updated_at'] or 'unknown'} ({age} ago; last successful update on this machine)",
        f"built     {info['built_at'] or 'unknown'}",
        f"records   {info['records']:,} ({counts}); {info['withdrawn']} withdrawn, {info['skipped']} skipped",
        f"status    {state}",
    ]
    click.echo("\n".join(lines))
    return 0
