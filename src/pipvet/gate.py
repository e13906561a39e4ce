"""The gate: run the user's own pip or uv against a vetting index, then report and decide.

The installer is pointed at a vetting index on 127.0.0.1 (an ephemeral port) that stands in
front of every index the user's installer would have used. Everything the installer may
download passes through it: project pages are filtered, artifacts are vetted before a single
byte reaches the installer. The installer runs otherwise unchanged, with three exceptions that
close bypasses:

- its own index settings (command line, environment, configuration files) are replaced by the
  vetting index, each original index mapped through it in the same order;
- requirement files that name indexes or local archives are refused (they would reach around
  the vetting index);
- its caches are isolated: pip runs with ``--no-cache-dir`` and uv with a cache directory of its
  own for this run. A cache filled outside the gate (or under an older database or policy)
  could otherwise hand the installer a wheel that was never vetted, or let it skip the request
  that would have been refused.

This module is the only part of the gate that starts processes; the decisions come from
:mod:`pipvet.proxy` and :mod:`pipvet.policy`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipvet.errors import ExitCode, UsageError
from pipvet.models import Decision, Result, Verdict

if TYPE_CHECKING:
    from pipvet.config import Settings
    from pipvet.index.locate import Index
    from pipvet.models import Report
    from pipvet.policy import Policy
    from pipvet.proxy import Upstream, VettingIndex

INSTALLERS = ("pip", "uv")

# Installer options that name an index or a source of archives, as (flag, takes a value).
_PIP_INDEX = {"-i": "index", "--index-url": "index", "--extra-index-url": "extra"}
_UV_INDEX = {
    "-i": "index",
    "--index-url": "index",
    "--default-index": "index",
    "--extra-index-url": "extra",
    "--index": "extra",
}
_BYPASS = ("-f", "--find-links", "--no-index")

# Environment variables through which pip or uv would pick up other indexes.
INDEX_ENV = (
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "PIP_NO_INDEX",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_INDEX",
    "UV_FIND_LINKS",
    "UV_NO_INDEX",
    "UV_CACHE_DIR",
    "UV_NO_CACHE",
    "PIP_CACHE_DIR",
    "PIP_NO_CACHE_DIR",
)


@dataclass(frozen=True, kw_only=True, slots=True)
class IndexArgs:
    """The user's installer arguments split into the indexes they name and everything else."""

    primary: str | None = None
    extras: tuple[str, ...] = ()
    rest: tuple[str, ...] = ()


def split_index_args(installer: str, args: Sequence[str]) -> IndexArgs:
    """Take the index options out of ``args`` (pure). Bypass options are a usage error."""
    table = _PIP_INDEX if installer == "pip" else _UV_INDEX
    primary: str | None = None
    extras: list[str] = []
    rest: list[str] = []
    i = 0
    items = list(args)
    while i < len(items):
        arg = items[i]
        flag, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if arg.startswith("-i") and arg != "-i" and not arg.startswith("--"):
            flag, eq, value = "-i", "=", arg[2:]
        if flag in _BYPASS or (flag.startswith("-f") and not flag.startswith("--") and len(flag) > 2):
            raise UsageError(
                f"{flag}: installing from local files or links would bypass the vetting index",
                hint="publish the files to an index and pass it with --index-url / --extra-index-url",
            )
        if flag == "--" and not eq:
            rest.extend(items[i:])
            break
        kind = table.get(flag)
        if kind is None:
            rest.append(arg)
            i += 1
            continue
        if not eq:
            if i + 1 >= len(items):
                raise UsageError(f"{flag} needs a value")
            value = items[i + 1]
            i += 1
        i += 1
        if installer == "uv" and flag == "--index":
            value = value.partition("=")[2] if re.match(r"^[A-Za-z0-9_.-]+=", value) else value
        if kind == "index":
            primary = value
        else:
            extras.append(value)
    return IndexArgs(primary=primary, extras=tuple(extras), rest=tuple(rest))


_REQ_FILE_FLAGS = ("-r", "--requirement", "-c", "--constraint")
_REQ_BYPASS = re.compile(
    r"^\s*(-i|--index-url|--extra-index-url|-f|--find-links|--no-index)(\s|=|$)", re.MULTILINE
)


def _requirement_files(args: Sequence[str]) -> Iterator[str]:
    for i, arg in enumerate(args):
        if arg in _REQ_FILE_FLAGS:
            if i + 1 < len(args):
                yield args[i + 1]
        elif arg.startswith(("--requirement=", "--constraint=")):
            yield arg.split("=", 1)[1]
        elif arg[:2] in ("-r", "-c") and len(arg) > 2 and not arg.startswith("--"):
            yield arg[2:]


# pip/uv options that take a value, so the value is not mistaken for a requirement.
_VALUED = frozenset(
    {
        "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-t", "--target", "--prefix",
        "--root", "--src", "--platform", "--python-version", "--implementation", "--abi", "--report",
        "--upgrade-strategy", "--progress-bar", "--log", "--proxy", "--timeout", "--retries", "--cert",
        "--client-cert", "--trusted-host", "--config-settings", "-C", "--global-option", "--exists-action",
        "--no-binary", "--only-binary", "--python", "-p", "--index-strategy", "--resolution",
        "--prerelease", "--link-mode", "--keyring-provider", "--exclude-newer", "--extra", "--group",
        "--override", "--build-constraint", "--torch-backend", "--reinstall-package", "--upgrade-package",
        "-P", "--no-build-isolation-package", "--refresh-package", "--compile-bytecode-package",
    }
)  # fmt: skip


def requirement_guesses(args: Sequence[str], *, cwd: Path) -> list[str]:
    """Requirements named on the command line or in its requirement files (a best-effort guess,
    used only to start vetting early; the installer still decides what it fetches)."""
    found: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg.startswith("-"):
            skip = arg in _VALUED
            continue
        found.append(arg)
    for name in _requirement_files(args):
        path = cwd / name
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            text = line.split(" #", 1)[0].split(" --hash", 1)[0].strip().rstrip("\\").strip()
            if text and not text.startswith(("#", "-")):
                found.append(text)
    return found


def check_requirement_files(args: Sequence[str], *, cwd: Path) -> None:
    """Refuse requirement files that name indexes or links: they would bypass the vetting index."""
    pending = [cwd / name for name in _requirement_files(args)]
    seen: set[Path] = set()
    while pending:
        path = pending.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if _REQ_BYPASS.match(line):
                raise UsageError(
                    f"{path}:{number}: {line.strip().split()[0]} in a requirements file would bypass "
                    "the vetting index",
                    hint="remove the line and pass the index to pipvet install with --index-url / "
                    "--extra-index-url after --",
                )
            nested = re.match(r"^\s*(-r|--requirement|-c|--constraint)[\s=]+(\S+)", line)
            if nested:
                pending.append(path.parent / nested.group(2))


# --- finding the user's interpreter and installer -----------------------------------------------


def find_python(explicit: str | None, env: Mapping[str, str]) -> str:
    """The interpreter the user means: ``--python``, the active virtualenv, or ``python`` on PATH.

    pipvet may itself live in an isolated tool environment (pipx, ``uv tool``); its own
    interpreter is never the default.
    """
    if explicit:
        found = shutil.which(explicit) or (explicit if Path(explicit).exists() else None)
        if found is None:
            raise UsageError(f"--python {explicit}: no such interpreter")
        return found
    venv = env.get("VIRTUAL_ENV")
    if venv:
        for candidate in (Path(venv) / "bin" / "python", Path(venv) / "Scripts" / "python.exe"):
            if candidate.exists():
                return str(candidate)
    for name in ("python", "python3"):
        found = shutil.which(name, path=env.get("PATH"))
        if found:
            return found
    raise UsageError("no Python interpreter found", hint="activate a virtual environment or pass --python")


def find_uv(env: Mapping[str, str]) -> str:
    found = shutil.which("uv", path=env.get("PATH"))
    if found:
        return found
    beside = Path(sys.executable).parent / "uv"
    if beside.exists():
        return str(beside)
    raise UsageError("uv was not found on PATH", hint="install uv, or use --installer pip")


# --- the installer command -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class Invocation:
    argv: tuple[str, ...]
    env: Mapping[str, str]


def installer_command(
    installer: str,
    *,
    python: str,
    uv: str | None,
    index_urls: Sequence[str],
    args: Sequence[str],
    dry_run: bool,
    uv_cache: Path | None,
    env: Mapping[str, str],
) -> Invocation:
    """The installer's command line and environment against the vetting index (pure)."""
    child = {k: v for k, v in env.items() if k not in INDEX_ENV}
    primary, *extras = index_urls
    if installer == "pip":
        # PIP_CONFIG_FILE=os.devnull: pip loads no configuration file, so none can add an index.
        child["PIP_CONFIG_FILE"] = os.devnull
        child["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        argv = [python, "-m", "pip", "install", "--index-url", primary]
        for extra in extras:
            argv += ["--extra-index-url", extra]
        argv.append("--no-cache-dir")
        if dry_run:
            argv.append("--dry-run")
        return Invocation(argv=(*argv, *args), env=child)
    if uv is None or uv_cache is None:
        raise ValueError("uv needs its executable and a cache directory")
    argv = [uv, "pip", "install", "--python", python, "--no-config", "--default-index", primary]
    for extra in extras:
        argv += ["--index", extra]
    argv += ["--cache-dir", str(uv_cache)]
    if dry_run:
        argv.append("--dry-run")
    return Invocation(argv=(*argv, *args), env=child)


@contextmanager
def uv_cache_dir(cache_root: Path, key: str) -> Iterator[Path]:
    """A uv cache used only by this gate run (keyed to the vetting index), removed afterwards."""
    import hashlib

    folder = cache_root / "uv"
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    path = Path(tempfile.mkdtemp(prefix=f"{digest}-", dir=folder))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def start_installer(invocation: Invocation, *, stdout_to_stderr: bool = False) -> subprocess.Popen[bytes]:
    """Start the installer with the terminal it was given (its output is the user's to see)."""
    try:
        return subprocess.Popen(
            list(invocation.argv),
            env=dict(invocation.env),
            stdout=sys.stderr if stdout_to_stderr else None,
        )
    except OSError as exc:
        from pipvet.errors import OperationalError

        raise OperationalError(f"cannot run {invocation.argv[0]}: {exc.strerror or exc}") from exc


# --- the outcome -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class GateOutcome:
    installer_status: int | None
    results: tuple[Result, ...]
    omissions: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def blocked(self) -> tuple[Result, ...]:
        return tuple(r for r in self.results if r.decision is Decision.BLOCK)

    def exit_code(self) -> int:
        """Operational failure 3, anything blocked 1, else the installer's own status."""
        if self.failures or any(
            r.verdict is Verdict.ERROR and r.decision is Decision.BLOCK for r in self.results
        ):
            return int(ExitCode.OPERATIONAL)
        if self.blocked:
            return int(ExitCode.FINDINGS)
        return int(self.installer_status or 0)

    def report(self) -> Report:
        from pipvet.models import Report

        return Report(
            command="install",
            results=self.results,
            notes=(
                *(f"left out: {o}" for o in self.omissions),
                *(f"failure: {f}" for f in self.failures),
                *self.notes,
            ),
        )


Progress = Callable[[str, str], None]


@dataclass(frozen=True, kw_only=True, slots=True)
class GateRequest:
    """What the user asked ``pipvet install`` to do."""

    installer: str = "pip"
    python: str | None = None
    dry_run: bool = False
    args: tuple[str, ...] = ()
    cwd: Path = field(default_factory=Path.cwd)


def plan_upstreams(request: GateRequest, located: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The upstream index URLs in order (primary first) and the installer args without index options.

    ``located`` is what the user's installer configuration names (primary first); an index given
    on the installer's command line replaces the configured primary, extras are added.
    """
    split = split_index_args(request.installer, request.args)
    primary = split.primary or (located[0] if located else None)
    if primary is None:
        raise UsageError("no package index is configured", hint="pass --index-url after --")
    urls: list[str] = [primary]
    for url in (*located[1:], *split.extras):
        if url.rstrip("/") not in {u.rstrip("/") for u in urls}:
            urls.append(url)
    return tuple(urls), split.rest


def run_gate(
    request: GateRequest,
    service: VettingIndex,
    *,
    cache_dir: Path,
    env: Mapping[str, str] | None = None,
    installer_args: Sequence[str] | None = None,
    quiet_stdout: bool = False,
) -> GateOutcome:
    """Serve ``service`` on a loopback port, run the installer against it, and collect the outcome.

    ``quiet_stdout`` sends the installer's standard output to stderr, so that pipvet's own stdout
    carries only its report (``--format json``).
    """
    from pipvet.proxy.app import page_url
    from pipvet.proxy.server import base_url, bind_loopback

    env = dict(os.environ if env is None else env)
    args = tuple(request.args if installer_args is None else installer_args)
    check_requirement_files(args, cwd=request.cwd)
    python = find_python(request.python, env)
    uv = find_uv(env) if request.installer == "uv" else None
    status: int | None = None
    # The socket is bound first and the installer started at once: its start-up overlaps ours,
    # and its first requests wait in the socket's backlog until the vetting index serves.
    sock = bind_loopback()
    base = base_url(sock)
    urls = [base + page_url(i) for i in range(len(service.upstreams))]
    try:
        with uv_cache_dir(cache_dir, base) as uv_cache:
            invocation = installer_command(
                request.installer,
                python=python,
                uv=uv,
                index_urls=urls,
                args=args,
                dry_run=request.dry_run,
                uv_cache=uv_cache if uv else None,
                env=env,
            )
            process = start_installer(invocation, stdout_to_stderr=quiet_stdout)
            try:
                from pipvet.proxy import create_app, serve_in_thread

                with serve_in_thread(create_app(service), sock=sock):
                    service.prefetch(0, requirement_guesses(args, cwd=request.cwd))
                    status = process.wait()
            except BaseException:
                process.kill()
                process.wait()
                raise
            finally:
                service.close()
    finally:
        sock.close()
    return GateOutcome(
        installer_status=status,
        results=service.results(),
        omissions=tuple(
            f"{o.project} {o.version or '?'}: {o.filename} left out: {o.reason}" for o in service.omissions()
        ),
        failures=tuple(service.failures),
    )


# --- wiring: settings -> policy, vetter, upstreams -> outcome --------------------------------------


def gate_policy(settings: Settings, *, policy_file: Path | None, allow_errors: bool | None) -> Policy:
    """The policy for this run: ``--policy FILE`` or the configuration file, then flag overrides."""
    from dataclasses import replace

    from pipvet.policy import GATE_FAIL_ON_NAMES, load_policy, policy_from_table

    if policy_file is not None:
        policy = load_policy(policy_file, fail_on_names=GATE_FAIL_ON_NAMES)
    else:
        source = str(settings.config_path) if settings.config_path else "configuration"
        policy = policy_from_table(settings.file_options, source=source, fail_on_names=GATE_FAIL_ON_NAMES)
    # --fail-on / PIPVET_FAIL_ON / the file's fail-on were merged into the settings already.
    policy = replace(policy, fail_on=settings.fail_on)
    if allow_errors is not None:
        policy = replace(policy, allow_errors=allow_errors)
    return policy


def _indexes(
    request: GateRequest, settings: Settings, env: Mapping[str, str]
) -> tuple[tuple[Index, ...], tuple[str, ...], tuple[str, ...]]:
    """The upstream indexes (primary first), the installer args without index options, and notes."""
    from pipvet.index.locate import locate, make_index

    config = locate(index_url=settings.index_url, installer=request.installer, env=env, cwd=request.cwd)
    by_url = {i.url.rstrip("/"): i for i in config.all}
    urls, rest = plan_upstreams(request, [i.url for i in config.all])
    indexes = tuple(by_url.get(u.rstrip("/")) or make_index(u, source="installer command line") for u in urls)
    notes = list(config.notes)
    for var in ("PIP_FIND_LINKS", "UV_FIND_LINKS"):
        if env.get(var):
            notes.append(f"{var} is not passed to the installer: local archives would bypass vetting")
    return indexes, rest, tuple(notes)


class _Progress:
    """One line per vetted artifact on stderr (used only when stderr is a terminal)."""

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()

    def __call__(self, event: str, detail: str) -> None:
        if event in ("omitted",):
            return
        with self._lock:
            print(f"pipvet: {event} {detail}", file=sys.stderr, flush=True)


@contextmanager
def _upstreams(indexes: Sequence[Index], settings: Settings) -> Iterator[list[Upstream]]:
    from pipvet.proxy.upstream import IndexUpstream

    made = [IndexUpstream(i, cache_dir=settings.cache_dir, offline=settings.offline) for i in indexes]
    try:
        yield list(made)
    finally:
        for upstream in made:
            upstream.close()


def install_with_gate(
    request: GateRequest,
    settings: Settings,
    *,
    policy_file: Path | None = None,
    allow_errors: bool | None = None,
    progress: bool = False,
    quiet_stdout: bool = False,
    env: Mapping[str, str] | None = None,
) -> GateOutcome:
    """``pipvet install``: from settings to the outcome (the CLI only renders it).

    Fails closed before the installer starts when the policy is invalid, the database is missing
    or stale, or no index is configured.
    """
    from dataclasses import replace

    from pipvet.proxy import VettingIndex
    from pipvet.vetting import open_artifact_vetter

    env = dict(os.environ if env is None else env)
    policy = gate_policy(settings, policy_file=policy_file, allow_errors=allow_errors)
    indexes, rest, notes = _indexes(request, settings, env)
    with open_artifact_vetter(settings, policy) as vetter, _upstreams(indexes, settings) as upstreams:
        service = VettingIndex(upstreams, vetter, policy, listener=_Progress() if progress else None)
        outcome = run_gate(
            request,
            service,
            cache_dir=settings.cache_dir,
            env=env,
            installer_args=rest,
            quiet_stdout=quiet_stdout,
        )
        notes = (*notes, *vetter.notes())
    return replace(outcome, notes=(*outcome.notes, *notes))
