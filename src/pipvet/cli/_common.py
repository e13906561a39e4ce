"""Options and output plumbing shared by the subcommands (no domain logic here)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from pipvet.config import FORMATS, Settings, load_settings
from pipvet.errors import UsageError
from pipvet.models import Report

F = TypeVar("F", bound=Callable[..., Any])

SEVERITY_CHOICES = ("critical", "high", "medium", "low")


def common_options(func: F) -> F:
    """Flags every vetting command accepts; each has a ``PIPVET_*`` environment variable."""
    options = [
        click.option(
            "--format",
            "fmt",
            type=click.Choice(FORMATS),
            default="table",
            envvar="PIPVET_FORMAT",
            show_default=True,
            help="Output format.",
        ),
        click.option(
            "--output",
            "-o",
            type=click.Path(dir_okay=False, path_type=Path),
            envvar="PIPVET_OUTPUT",
            help="Write the report to FILE (atomically).",
        ),
        click.option(
            "--fail-on",
            type=click.Choice(SEVERITY_CHOICES),
            envvar="PIPVET_FAIL_ON",
            help="Lowest vulnerability severity that fails the run [default: low].",
        ),
        click.option(
            "--offline",
            is_flag=True,
            default=None,
            envvar="PIPVET_OFFLINE",
            help="Use only local data; never touch the network.",
        ),
        click.option(
            "--cache-dir",
            type=click.Path(file_okay=False, path_type=Path),
            envvar="PIPVET_CACHE_DIR",
            help="Where the database and caches live.",
        ),
        click.option(
            "--config",
            "config_file",
            type=click.Path(dir_okay=False, path_type=Path),
            envvar="PIPVET_CONFIG",
            help="Read settings from this pipvet.toml/pyproject.toml.",
        ),
        click.option(
            "-q",
            "--quiet",
            is_flag=True,
            envvar="PIPVET_QUIET",
            help="Print only the report (no progress, no notes).",
        ),
        click.option("-v", "--verbose", count=True, help="More detail on stderr."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def settings_from(params: dict[str, Any], **extra: Any) -> Settings:
    """Build :class:`Settings` from click parameters (flags and env already merged)."""
    return load_settings(
        cache_dir=params.get("cache_dir"),
        osv_url=params.get("osv_url"),
        index_url=params.get("index_url"),
        offline=params.get("offline"),
        max_db_age=params.get("max_db_age"),
        allow_stale=params.get("allow_stale"),
        fail_on=params.get("fail_on"),
        quiet=bool(params.get("quiet")),
        verbose=int(params.get("verbose") or 0),
        config_file=params.get("config_file"),
        **extra,
    )


def use_color(stream: Any = None) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set."""
    if os.environ.get("NO_COLOR"):
        return False
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def emit(report: Report, fmt: str, output: Path | None) -> None:
    """Render ``report`` and write it to ``output`` or stdout.

    The file is written to a temporary sibling and renamed, so a failure never leaves an
    empty or half-written report behind.
    """
    from pipvet.report import render

    text = render(report, fmt, color=output is None and use_color())
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    write_atomically(output, text)


def write_atomically(path: Path, text: str) -> None:
    import tempfile  # only when writing a file: not on every start-up

    folder = path.parent if str(path.parent) else Path()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write output: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(tmp).replace(path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"{path}: cannot write output: {exc.strerror or exc}") from exc


def note(settings: Settings, message: str) -> None:
    """A remark for a human on stderr, silenced by ``--quiet``."""
    if not settings.quiet:
        click.echo(message, err=True)
