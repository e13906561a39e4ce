"""Import-time side effects: what a module does merely because something imported it.

Libraries define things at import; they do not phone home, spawn programs, write files or
start background threads. Module-level code (and local functions it calls) runs on
``import pkg``, which every user of a dependency does (ultralytics 8.3.46, lmstudio-api,
telnyx, loquru). Code under ``if __name__ == "__main__":`` does not run on import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from pipvet.analysis.context import FileContext, FileKind, PackageContext
from pipvet.analysis.facts import (
    CallFact,
    Facts,
    capabilities,
    identifies_host,
    load_facts,
    may_call,
)
from pipvet.analysis.lazyre import LazyPattern
from pipvet.analysis.rules._base import BaseRule, loaded_by_name, stage_of
from pipvet.analysis.rules._shell import Command, classify, command_text, console_only
from pipvet.models import Finding, Severity, Stage


def load_calls(
    file: FileContext, package: PackageContext, *wanted: str
) -> tuple[Facts, list[tuple[CallFact, bool]]] | None:
    """Calls that run on import: ``(call, direct)``; direct = written at module level. ``None``
    when the file does not load on import or cannot call anything of ``wanted``.

    A package's ``__main__.py`` is left out: its body is what ``python -m package`` runs, a
    main guard the size of a file, and no import loads it. So is a module inside a package that
    nothing loads by name (:func:`~pipvet.analysis.rules._base.loaded_by_name`: a generator
    script kept in the package). The other families still weigh both as import-time code:
    hiding code, or fetching and running a program, is suspicious wherever it sits; this
    family's claim is that importing the package *does* something, and there it does not."""
    if file.kind is not FileKind.PYTHON or stage_of(file, package, on_load=True) not in _LOADS:
        return None
    if file.path.rpartition("/")[2] == "__main__.py":
        return None
    if not may_call(file, *wanted):
        return None
    facts = load_facts(file)
    if facts is None:
        return None
    cached = file.cache.get(_CACHE_KEY)
    if cached is None:
        roots = facts.load_roots()
        direct = {id(c) for c in roots if c.at_load}
        cached = [(c, id(c) in direct) for c in facts.reachable_calls(roots)]
        file.cache[_CACHE_KEY] = cached
    # Last, as the dearest question (it searches the package's other sources for the module's
    # name): whether importing the package loads this module at all.
    if not any(capabilities(c).intersection(wanted) for c, _ in cached):
        return None
    if not loaded_by_name(file.path, package):
        return None
    return facts, cached


_CACHE_KEY = "pipvet.imports.load_calls"
#: Stages whose module-level code runs as the module loads on its own: an import, or the
#: interpreter's start-up (``sitecustomize``, a module a ``.pth`` line imports).
_LOADS = (Stage.IMPORT, Stage.STARTUP)
_INSTALLS_PACKAGES = LazyPattern(r"(?:^|[\s/\\])(?:pip[0-9.]*|uv\s+pip)\s+install\s")
"""``pip install x``, ``python -m pip install x``, ``uv pip install x`` (``pip install .`` of the
tree itself is a build step, which :func:`classify` reads as such)."""
#: Routine commands, and those the download family reports more strongly.
_REPORTED_ELSEWHERE = frozenset(
    {Command.BUILD_TOOL, Command.DOWNLOAD_AND_RUN, Command.DOWNLOAD, Command.ENCODED, Command.BEACON}
)


def _where(call: CallFact, direct: bool) -> str:
    return "at module level" if direct else f"in {call.function}(), which runs as the package loads"


class ImportNetwork(BaseRule):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        loaded = load_calls(file, package, "network", "dns")
        if loaded is None:
            return
        facts, calls = loaded
        identity = identifies_host(facts, [c for c, _ in calls])
        for call, direct in calls:
            if "network" not in capabilities(call) or _goes_nowhere(facts, call):
                continue
            severity = Severity.HIGH if direct else Severity.MEDIUM
            extra = ""
            if identity is not None:
                severity = Severity.CRITICAL
                extra = " It also collects facts about the machine (host, user, environment) to send."
            yield self.at_call(
                file,
                call,
                severity=severity,
                stage=stage_of(file, package, on_load=True),
                message=f"Importing this module calls {call.name}() {_where(call, direct)}: "
                "a network connection just because someone imported the package." + extra,
            )
            return


def _goes_nowhere(facts: Facts, call: CallFact) -> bool:
    """The call's address is an empty literal (skyfield's ``urlopen('', cafile=None)`` probes
    which arguments ``urlopen`` takes) or this machine (an example script asking the server it
    just started): no connection leaves the machine."""
    from pipvet.analysis.rules.download import loopback

    first = call.node.args[0] if call.node.args else None
    if isinstance(first, ast.Constant) and first.value in ("", b""):
        return True
    return loopback(facts, call)


class ImportProcess(BaseRule):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        loaded = load_calls(file, package, "process")
        if loaded is None:
            return
        facts, calls = loaded
        best: tuple[Severity, CallFact, bool] | None = None
        for call, direct in calls:
            if "process" not in capabilities(call):
                continue
            text, literal = command_text(facts, call)
            if console_only(text, literal):
                continue  # os.system("color"): ANSI colours in a Windows console, nothing runs
            kind = classify(text)
            if kind is not Command.BUILD_TOOL and _INSTALLS_PACKAGES.search(text):
                # packages installed as a module loads: code that neither the installer's
                # resolution nor pipvet's vetting ever saw. Critical when every import does it;
                # under a condition (a missing module, chromadb's old-sqlite3-on-Colab swap)
                # it is a fallback, high like any program run on import
                unconditional = direct and _at_top(file.tree, call.line)
                severity = Severity.CRITICAL if unconditional else Severity.HIGH
                if best is None or severity.rank > best[0].rank:
                    best = (severity, call, direct)
                continue
            if kind in _REPORTED_ELSEWHERE:
                continue  # routine, or reported more strongly by the download family
            if kind in (Command.HIDDEN, Command.NETWORK):
                severity = Severity.HIGH
            else:
                severity = Severity.HIGH if direct else Severity.MEDIUM
            if best is None or severity.rank > best[0].rank:
                best = (severity, call, direct)
        if best is None:
            return
        severity, call, direct = best
        yield self.at_call(
            file,
            call,
            severity=severity,
            stage=stage_of(file, package, on_load=True),
            message=f"Importing this module runs a program via {call.name}() {_where(call, direct)}"
            + (
                ": it installs packages, which neither the installer's resolution nor pipvet vetted."
                if _INSTALLS_PACKAGES.search(command_text(facts, call)[0])
                else "."
            ),
        )


def _at_top(tree: ast.Module | None, line: int) -> bool:
    """``line`` lies in a module-level statement that is no ``if``/``try``/loop: it runs on
    every import, not only when something is missing or old."""
    if tree is None:
        return False
    statement = next((n for n in tree.body if n.lineno <= line <= (n.end_lineno or n.lineno)), None)
    return statement is not None and not isinstance(
        statement, ast.If | ast.Try | ast.For | ast.While | ast.Match
    )


def _first_direct(file: FileContext, package: PackageContext, capability: str) -> CallFact | None:
    """The first call of ``capability`` written at module level of a module that loads on import."""
    loaded = load_calls(file, package, capability)
    if loaded is None:
        return None
    _facts, calls = loaded
    return next((c for c, direct in calls if direct and capability in capabilities(c)), None)


class ImportThread(BaseRule):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        call = _first_direct(file, package, "thread")
        if call is not None:
            yield self.at_call(
                file,
                call,
                stage=stage_of(file, package, on_load=True),
                message=f"Importing this module starts a background worker ({call.name}) at module "
                "level: code that keeps running while the host program does something else.",
            )


class ImportWrite(BaseRule):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        call = _first_direct(file, package, "file_write")
        if call is not None:
            yield self.at_call(
                file,
                call,
                stage=stage_of(file, package, on_load=True),
                message=f"Importing this module writes a file ({call.name}) at module level.",
            )


RULES = (
    ImportNetwork(
        id="PV-IMP-001",
        title="Network access on import",
        severity=Severity.HIGH,
        rationale="A library that connects out when imported runs its payload in every program that "
        "depends on it (THREATS signal 3).",
    ),
    ImportProcess(
        id="PV-IMP-002",
        title="Runs a program on import",
        severity=Severity.HIGH,
        rationale="os.system/subprocess at module level ran miners and droppers on import "
        "(ultralytics 8.3.46) (THREATS signal 3).",
    ),
    ImportThread(
        id="PV-IMP-003",
        title="Starts a thread on import",
        severity=Severity.MEDIUM,
        rationale="Background threads started on import keep a payload alive inside the host process.",
    ),
    ImportWrite(
        id="PV-IMP-004",
        title="Writes files on import",
        severity=Severity.LOW,
        rationale="Writing files as a side effect of import is how droppers stage second stages.",
    ),
)
