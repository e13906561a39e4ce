"""The command line: ``main(argv) -> int`` and nothing that decides policy.

Subcommands live in their own modules and are imported only when invoked, so that
``pipvet --version`` and the fast paths do not pay for what they do not use.
"""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import Sequence

import click

from pipvet import __version__
from pipvet.errors import ExitCode, PipvetError

# name -> (module, attribute, one-line help)
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "audit": (
        "pipvet.cli.audit",
        "audit",
        "Known vulnerabilities and malware in your dependencies.",
    ),
    "db": ("pipvet.cli.db", "db", "Manage the local vulnerability database."),
    "install": ("pipvet.cli.install", "install", "Install with pip or uv behind the vetting index."),
    "inspect": ("pipvet.cli.inspect", "inspect", "Find malicious code in package archives (never runs it)."),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = _COMMANDS.get(cmd_name)
        if spec is None:
            return None
        module = importlib.import_module(spec[0])
        command = getattr(module, spec[1])
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, spec[2]) for name, spec in sorted(_COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pipvet")
def cli() -> None:
    """Vet Python packages before they reach your machine.

    Exit codes: 0 nothing at or above the fail threshold, 1 findings the policy blocks,
    2 usage or configuration error, 3 operational failure (database missing or stale,
    index unreachable, unreadable input, incomplete vetting).
    """


def main(argv: Sequence[str] | None = None) -> int:
    """Run pipvet with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = cli.main(args=args, prog_name="pipvet", standalone_mode=False)
    except PipvetError as exc:
        click.echo(f"pipvet: error: {exc.diagnostics()}", err=True)
        return int(exc.exit_code)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:
        click.echo("pipvet: aborted", err=True)
        return int(ExitCode.OPERATIONAL)
    except click.ClickException as exc:
        exc.show()
        return int(ExitCode.USAGE)
    except KeyboardInterrupt:
        click.echo("pipvet: interrupted", err=True)
        return int(ExitCode.OPERATIONAL)
    if isinstance(result, int):
        return result
    return int(ExitCode.OK)


def run() -> None:
    """Console-script entry point."""
    code = main()
    # The process ends here. Move every object to the collector's permanent generation, so that
    # the interpreter's final collection does not walk them all (5-8 ms of a short run, about as
    # much as importing pipvet's own modules). Reports are written and files closed by now.
    gc.freeze()
    sys.exit(code)
