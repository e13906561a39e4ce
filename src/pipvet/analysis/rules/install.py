"""Install-time code: what setup.py, its command classes and in-tree build backends do.

``pip install`` of an sdist executes setup.py (or an in-tree PEP 517 backend) with the user's
rights before anything is imported. Legitimate setup scripts import, compute a version, maybe
run a compiler or ``git``; they do not open network connections, spawn arbitrary programs or
override the ``install`` command to do so (smb, aiohttps, dependency-confusion probes).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator

from pipvet.analysis.context import FileContext, FileKind, PackageContext
from pipvet.analysis.facts import (
    CallFact,
    Facts,
    capabilities,
    facts_of,
    identifies_host,
    line_of,
    platform_reads,
)
from pipvet.analysis.flow import trace
from pipvet.analysis.lazyre import LazyPattern
from pipvet.analysis.rules._argv import developer_only_spans, inside
from pipvet.analysis.rules._base import BaseRule
from pipvet.analysis.rules._shell import Command, classify, command_text, console_only, local_programs
from pipvet.models import Finding, Severity, Stage

#: Base-class names of the setuptools/distutils commands whose override runs code at install.
HOOKED_COMMANDS: frozenset[str] = frozenset(
    {
        "install",
        "develop",
        "egg_info",
        "build_py",
        "bdist_egg",
        "sdist",
        "build",
        "install_lib",
        "install_scripts",
        "install_data",
        "bdist_wheel",
        "build_ext",
        "build_clib",
        "easy_install",
    }
)
#: Commands whose override legitimately compiles things (a spawned compiler is routine there).
BUILD_COMMANDS: frozenset[str] = frozenset({"build_ext", "build_clib", "build", "build_py", "bdist_wheel"})
_COMMAND_ROOTS = ("setuptools.", "distutils.", "wheel.", "numpy.distutils.", "?")


def _is_install_file(file: FileContext) -> bool:
    return file.kind is FileKind.PYTHON and file.stage is Stage.INSTALL


_PIP_FROM_ELSEWHERE = LazyPattern(
    r"\bpip3?(?:\.exe)?\s+install\b[^|;&\n]*?\s(?:(?:git|hg|svn|bzr)\+|https?://|ftp://|"
    r"(?:-i|--index-url|--extra-index-url|-f|--find-links)[\s=])"
)
"""``pip install git+https://...``, ``pip install https://host/x.tar.gz``, ``pip install -i URL x``:
code fetched from wherever the command says, outside the index and the dependency list that
pipvet and the installer vet."""


def _process_severity(
    facts: Facts, call: CallFact, *, build_context: bool, shipped: frozenset[str] = frozenset()
) -> tuple[Severity, str] | None:
    text, literal = command_text(facts, call)
    if console_only(text, literal):
        return None  # os.system("color"): switches on ANSI colours, runs nothing of the package's
    kind = classify(text)
    if kind is Command.BUILD_TOOL:
        return None
    if kind in (Command.DOWNLOAD_AND_RUN, Command.DOWNLOAD, Command.ENCODED, Command.BEACON):
        return None  # the download-and-execute family reports these, stronger
    if _PIP_FROM_ELSEWHERE.search(text):
        return Severity.HIGH, "installs code with pip from an address outside the package index"
    if kind is Command.HIDDEN and shipped:
        local, rest = local_programs(text)
        if local and rest not in (Command.HIDDEN, Command.NETWORK) and all(n in shipped for n in local):
            # ./configure, ./build_bundled.sh: the sdist's own build script, itself vetted as a
            # file; from setup.py's top level (gnureadline's ``cd rl && sh ./build.sh``) it also
            # runs when pip only asks for metadata, so it weighs more than from a build command
            what = f"runs the archive's own build script ({', '.join(local)})"
            return (Severity.LOW if build_context else Severity.MEDIUM), what
    if kind is Command.HIDDEN:
        return Severity.HIGH, "runs a hidden or self-made program"
    if kind is Command.NETWORK:
        return Severity.HIGH, f"runs a network tool ({text[:60]!r})"
    if build_context or not literal:
        # Compilers and helpers are often spawned with computed command lines.
        return Severity.LOW, "spawns a program"
    return Severity.MEDIUM, f"spawns a program ({text[:60]!r})"


class SetupScriptActions(BaseRule):
    """Network, process or file-writing calls that setup.py itself makes when it runs.

    Branches only a maintainer's own command reaches (``if sys.argv[-1] == "publish":``) are
    left out: pip never passes such a word (:mod:`pipvet.analysis.rules._argv`)."""

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not _is_install_file(file):
            return
        facts = facts_of(file)
        if facts is None:
            return
        # Release helpers under ``if sys.argv[-1] == "publish":`` never run on install.
        spans = developer_only_spans(file.tree) if file.tree is not None else []
        roots = [c for c in facts.calls if c.at_exec and not inside(c.line, spans)]
        seen: set[tuple[str, str]] = set()
        reached = facts.reachable_calls(roots, skip=(lambda c: inside(c.line, spans)) if spans else None)
        identity = identifies_host(facts, reached, platform_reads(file.tree))
        shipped = _shipped_names(package)
        for call in reached:
            for finding in self._judge(file, facts, call, identity, shipped):
                key = (finding.message, str(finding.line))
                if key not in seen:
                    seen.add(key)
                    yield finding

    def _judge(
        self,
        file: FileContext,
        facts: Facts,
        call: CallFact,
        identity: CallFact | str | None,
        shipped: frozenset[str] = frozenset(),
    ) -> Iterator[Finding]:
        caps = capabilities(call)
        evidence = line_of(file, call.line)
        if "network" in caps:
            severity = Severity.CRITICAL if identity is not None else Severity.HIGH
            if identity is None and _address_from_caller(facts, call):
                # ``def open_profile(name): ... urlopen(name)`` when the name is a URL: uWSGI's
                # build reads a profile from wherever its user points it; a probe's address
                # is written into the package, plain or encoded
                severity = Severity.MEDIUM
            yield self.finding(
                file,
                line=call.line,
                evidence=evidence,
                severity=severity,
                message=f"The setup script calls {call.name}() while it runs, so merely installing the "
                "package opens a network connection"
                + (
                    f" after collecting facts about the machine ({_name(identity)}): a phone-home probe."
                    if identity is not None
                    else " (typical of droppers and dependency-confusion probes that phone home)."
                ),
            )
        if "process" in caps:
            judged = _process_severity(facts, call, build_context=False, shipped=shipped)
            if judged is not None:
                severity, what = judged
                yield self.finding(
                    file,
                    line=call.line,
                    evidence=evidence,
                    severity=severity,
                    message=f"The setup script {what} via {call.name}() during installation; "
                    "installing should not need to run anything but a compiler.",
                )
        if call.name in {"pip.main", "pip._internal.main", "pip._internal.cli.main.main"}:
            yield self.finding(
                file,
                line=call.line,
                evidence=evidence,
                severity=Severity.MEDIUM,
                message="The setup script calls pip itself to install other packages behind the "
                "installer's back (hidden dependencies escape pinning and review).",
            )
        if "thread" in caps:
            yield self.finding(
                file,
                line=call.line,
                evidence=evidence,
                severity=Severity.MEDIUM,
                message=f"The setup script starts a background worker ({call.name}) during install.",
            )
        if "file_write" in caps and (written := _written_path(call)) is not None:
            where = trace(facts, written, call.function)
            hint = _profile_location(where.strings, where.names)
            if hint is not None:
                yield self.finding(
                    file,
                    line=call.line,
                    evidence=evidence,
                    severity=Severity.HIGH,
                    message=f"The setup script writes a file into the user's own folders ({hint}) "
                    "during installation; installing a package should only touch its install target.",
                )
            elif _temp_location(where.strings, where.names):
                runs = _runs_written(facts, call)
                yield self.finding(
                    file,
                    line=call.line,
                    evidence=evidence,
                    severity=Severity.HIGH if runs is not None else Severity.LOW,
                    message="The setup script writes a file into the temporary folder during installation"
                    + (
                        f" and starts it ({runs.name}(), line {runs.line}): a dropper."
                        if runs is not None
                        else ": build steps stage files there, and so do droppers (running what was "
                        "written is reported on its own)."
                    ),
                )


class CommandOverride(BaseRule):
    """Classes that override setuptools/distutils commands and do more than build."""

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not _is_install_file(file):
            return
        facts = facts_of(file)
        if facts is None:
            return
        shipped = _shipped_names(package) if facts.classes else frozenset()
        for cls in facts.classes:
            hooked = [b for b in cls.bases if _hooked(b)]
            if not hooked:
                continue
            command = hooked[0].rpartition(".")[2].lstrip("?_")
            build = command in BUILD_COMMANDS
            roots = [
                c
                for name, calls in facts.calls_in.items()
                if name is not None and name.startswith(cls.qualname + ".")
                for c in calls
            ]
            worst: tuple[Severity, CallFact, str] | None = None
            reached = facts.reachable_calls(roots)
            identity = identifies_host(facts, reached, platform_reads(file.tree))
            for call in reached:
                judged = self._judge(facts, call, build=build, identity=identity is not None, shipped=shipped)
                if judged is not None and (worst is None or judged[0].rank > worst[0].rank):
                    worst = (judged[0], call, judged[1])
            if worst is None:
                continue
            severity, call, what = worst
            if command == "sdist" and severity.rank > Severity.LOW.rank:
                # pip builds wheels from an sdist (or a checkout) and never runs 'sdist' itself:
                # this code runs when a maintainer makes a source archive, not on install.
                severity = Severity.LOW
            yield self.at_call(
                file,
                call,
                severity=severity,
                stage=Stage.INSTALL,
                message=f"Class {cls.name} replaces the '{command}' command (base {hooked[0].lstrip('?')}) "
                f"and {what} ({call.name}) when pip runs it: code that runs on install, not a build step.",
            )

    @staticmethod
    def _judge(
        facts: Facts, call: CallFact, *, build: bool, identity: bool, shipped: frozenset[str]
    ) -> tuple[Severity, str] | None:
        caps = capabilities(call)
        if "dns" in caps and not build:
            return Severity.HIGH, "looks up a remote host name (a DNS query leaves the machine)"
        if "network" in caps and identity:
            return Severity.CRITICAL, "sends facts about the machine (host, user, directory) over the network"
        if "network" in caps:
            return Severity.HIGH, "opens a network connection"
        if "process" in caps:
            judged = _process_severity(facts, call, build_context=build, shipped=shipped)
            if judged is not None:
                return judged
        if call.name in {"pip.main", "pip._internal.main"}:
            return Severity.MEDIUM, "installs other packages through pip"
        if "thread" in caps:
            return Severity.MEDIUM, "starts a background worker"
        if "file_write" in caps and not build:
            return Severity.LOW, "writes files"
        return None


_PROFILE = LazyPattern(
    r"APPDATA|LOCALAPPDATA|USERPROFILE|Start Menu|Startup|AppData|\.bashrc|\.profile|\.zshrc|"
    r"\.config/autostart|LaunchAgents|/etc/cron|systemd/user|^~|\\Users\\|/home/",
)
"""Where a write lands in the user's profile or start-up paths (the temp folder is apart)."""
_TEMP = LazyPattern(r"TEMP|/tmp/")


def _address_from_caller(facts: Facts, call: CallFact) -> bool:
    """The call fetches a parameter of its function, and no literal address nor any decoding
    flows into it from the file's calls of that function."""
    address = call.node.args[0] if call.node.args else None
    definition = facts.functions.get(call.function or "")
    if not isinstance(address, ast.Name) or definition is None or isinstance(definition, ast.Lambda):
        return False
    spec = definition.args
    params = {a.arg for a in (*spec.posonlyargs, *spec.args, *spec.kwonlyargs)}
    if address.id not in params:
        return False
    flowed = trace(facts, address, call.function)
    return not flowed.decoded and not any("://" in s for s in flowed.strings)


def _shipped_names(package: PackageContext) -> frozenset[str]:
    """File names in the archive (a build script run as ``./name`` must be one of them)."""
    return frozenset(m.rpartition("/")[2] for m in package.members)


def _written_path(call: CallFact) -> ast.expr | None:
    """The argument naming the file a write lands in: the destination of a copy, move or
    rename (``shutil.copy(src, dst)``), else the first (``open(path, 'w')``)."""
    args = call.node.args
    if call.name.startswith(("shutil.", "os.rename", "os.replace")):
        return (
            args[1] if len(args) > 1 else next((k.value for k in call.node.keywords if k.arg == "dst"), None)
        )
    return args[0] if args else None


def _profile_location(strings: list[str], names: set[str]) -> str | None:
    for s in strings:
        match = _PROFILE.search(s)
        if match is not None:
            return match.group(0)
    if any(n.endswith(("expanduser", "Path.home")) for n in names):
        return "the home folder"
    return None


def _runs_written(facts: Facts, write: CallFact) -> CallFact | None:
    """A call that starts a program named by the same variable ``write`` wrote to
    (``open(path, "wb")`` ... ``subprocess.Popen(path)``), in the same function."""
    target = write.node.args[0]
    if not isinstance(target, ast.Name):
        return None
    for call in facts.calls:
        if call.function != write.function or "process" not in capabilities(call):
            continue
        for arg in call.node.args:
            names = [arg] if isinstance(arg, ast.Name) else getattr(arg, "elts", [])
            if any(isinstance(n, ast.Name) and n.id == target.id for n in names):
                return call
    return None


def _temp_location(strings: list[str], names: set[str]) -> bool:
    return any(_TEMP.search(s) for s in strings) or any(
        n.endswith(("gettempdir", "mkdtemp", "mkstemp")) for n in names
    )


def _name(evidence: CallFact | str | None) -> str:
    if isinstance(evidence, CallFact):
        return f"{evidence.name}(), line {evidence.line}"
    return str(evidence)


_PIP_RUNS: frozenset[str] = HOOKED_COMMANDS | {
    "dist_info",
    "build_scripts",
    "install_headers",
    "install_egg_info",
    "editable_wheel",
    "build_src",
}
"""Commands a build backend may run while pip installs (``sdist`` included: a build front end
makes one from a checkout)."""


def maintainer_command(facts: Facts, tree: ast.Module | None, scope: str | None) -> bool:
    """Whether ``scope`` (a function's qualified name in ``setup.py``) is a method of a custom
    command that pip never runs: a class based on the bare ``Command``, named like no command
    pip runs, and registered in a ``cmdclass`` mapping only under such names
    (``cmdclass['update_libusb'] = update_libusb``: it runs when a maintainer types
    ``setup.py update_libusb``). Unregistered, or registered where this cannot read, it may run."""
    if scope is None or tree is None:
        return False
    cls = next((c for c in facts.classes if scope.startswith(c.qualname + ".")), None)
    if cls is None or cls.name in _PIP_RUNS:
        return False
    if not cls.bases or any(b.rpartition(".")[2].lstrip("?") != "Command" for b in cls.bases):
        return False
    keys = _registered_as(tree, cls.name)
    return bool(keys) and not keys & _PIP_RUNS


def _registered_as(tree: ast.Module, name: str) -> set[str]:
    """The keys a class named ``name`` is stored under: ``{'key': name}``, ``dict(key=name)``,
    ``mapping['key'] = name``. A key that is not a literal reads as ``?`` (it may be any)."""

    def is_it(node: ast.expr | None) -> bool:
        return isinstance(node, ast.Name) and node.id == name

    def key(node: ast.expr | None) -> str:
        return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else "?"

    keys: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys.update(key(k) for k, v in zip(node.keys, node.values, strict=True) if is_it(v))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
            keys.update(k.arg or "?" for k in node.keywords if is_it(k.value))
        elif isinstance(node, ast.Assign) and is_it(node.value):
            keys.update(key(t.slice) for t in node.targets if isinstance(t, ast.Subscript))
    return keys


def _hooked(base: str) -> bool:
    last = base.rpartition(".")[2].lstrip("?")
    if last.startswith("_"):
        last = last.lstrip("_")
        if last.startswith("orig_"):
            last = last[5:]
    if last not in HOOKED_COMMANDS:
        return False
    return base.startswith(_COMMAND_ROOTS) or "." not in base


_BACKEND_PATH = LazyPattern(r"^\s*backend-path\s*=", re.MULTILINE)


class InTreeBackend(BaseRule):
    """pyproject.toml points the build at code shipped in the archive itself."""

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if file.text is None or not file.path.endswith("pyproject.toml") or file.path.count("/") > 1:
            return
        match = _BACKEND_PATH.search(file.text)
        if match is None:
            return
        line = file.text.count("\n", 0, match.start()) + 1
        yield self.finding(
            file,
            line=line,
            evidence=line_of(file, line),
            stage=Stage.INSTALL,
            message="The build backend is code inside this archive (backend-path), so building it "
            "runs the package's own code; its backend module is checked like setup.py.",
        )


RULES = (
    SetupScriptActions(
        id="PV-INS-001",
        title="setup.py acts while it runs",
        severity=Severity.HIGH,
        rationale="Installing an sdist executes setup.py; network, process or background work there runs "
        "with the user's rights before any review (THREATS signal 2).",
    ),
    CommandOverride(
        id="PV-INS-002",
        title="Install command overridden",
        severity=Severity.MEDIUM,
        rationale="Overriding install/develop/egg_info is the classic way to run a payload at install "
        "time (aiohttps, dependency-confusion probes) (THREATS signal 2).",
    ),
    InTreeBackend(
        id="PV-INS-003",
        title="In-tree build backend",
        severity=Severity.LOW,
        rationale="A backend-path backend runs archive code at build time, like setup.py.",
    ),
)
