"""What every rule shares: identity as data and one way to build a finding."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipvet.analysis.context import FileContext, PackageContext
from pipvet.analysis.facts import CallFact, Facts, line_of, trim
from pipvet.analysis.where import imported_by_users, own_names
from pipvet.models import Finding, Severity, Stage


@dataclass(frozen=True, kw_only=True, slots=True)
class BaseRule:
    """Identity of a rule; subclasses add ``check(file, package) -> Iterable[Finding]``.

    A subclass that adds no fields is a plain class with ``__slots__ = ()``: it inherits the
    generated methods, and skipping ``@dataclass`` on it saves ~0.4 ms of start-up per rule.
    """

    id: str
    title: str
    severity: Severity
    rationale: str

    def finding(
        self,
        file: FileContext,
        *,
        message: str,
        line: int | None = None,
        evidence: str | None = None,
        severity: Severity | None = None,
        stage: Stage | None = None,
    ) -> Finding:
        return Finding(
            rule=self.id,
            severity=severity or self.severity,
            title=self.title,
            message=message,
            path=file.path,
            line=line,
            evidence=trim(evidence) if evidence else None,
            stage=stage or file.stage,
        )

    def at_call(
        self,
        file: FileContext,
        call: CallFact,
        *,
        message: str,
        stage: Stage,
        severity: Severity | None = None,
    ) -> Finding:
        """A finding on ``call``'s line, with that line as evidence."""
        return self.finding(
            file,
            line=call.line,
            evidence=line_of(file, call.line),
            message=message,
            severity=severity,
            stage=stage,
        )

    def weighed_at_call(
        self, file: FileContext, package: PackageContext, facts: Facts, call: CallFact, *, message: str
    ) -> Finding:
        """A finding on ``call``, high when it runs as the package installs, starts or loads,
        medium when only a caller of the package's functions runs it."""
        stage = call_stage(file, package, facts, call)
        severity = Severity.HIGH if stage in (Stage.INSTALL, Stage.STARTUP, Stage.IMPORT) else Severity.MEDIUM
        return self.at_call(file, call, message=message, stage=stage, severity=severity)


_members_cache: list[tuple[tuple[str, ...], frozenset[str], bool]] = []


def _members(package: PackageContext) -> tuple[frozenset[str], bool]:
    """The member paths as a set, and whether the sdist has a ``src/`` layout (cached)."""
    if _members_cache and _members_cache[0][0] is package.members:
        return _members_cache[0][1], _members_cache[0][2]
    members = frozenset(package.members)
    start = package.prefix + "src/"
    # packages under src/, and src/ not a package itself (packages=["src"] installs "src")
    src_layout = (
        not package.is_wheel
        and start + "__init__.py" not in members
        and any(
            m.startswith(start) and m.endswith("/__init__.py") and m.count("/", len(start)) == 1
            for m in members
        )
    )
    _members_cache[:] = [(package.members, members, src_layout)]
    return members, src_layout


def importable(path: str, package: PackageContext) -> bool:
    """Whether ``path`` would be importable once installed: a top-level module, or a module in
    a folder that is a package (has ``__init__.py``). Scripts in plain folders are not.

    In an sdist, also not: a folder beside a ``src/`` layout, and a top-level name that the
    sdist's ``top_level.txt`` does not list (setuptools installs only those). Folder names that
    are no identifiers still count: setuptools installs them and ``importlib`` loads them.
    """
    folder, _, _name = path.rpartition("/")
    if not folder:
        return True
    members = _members(package)[0]
    if not members:
        return True  # nothing known about the layout: assume the worst
    if not package.is_wheel and not _source_importable(path, package):
        return False
    if f"{folder}/__init__.py" in members:
        return True
    # Top-level modules and (namespace) packages: a wheel's root folders; an sdist's root
    # folder (name-1.0/), its first-level folders and its src/ layout.
    depth = folder.count("/")
    if package.is_wheel:
        return depth == 0
    return depth <= 1 or (depth == 2 and folder.split("/")[1] == "src")


_SOURCE_ROOTS = ("src", "lib", "python")
"""Folders that hold a project's packages rather than being one (setuptools, hatch,
scikit-build-core layouts)."""


def _source_importable(path: str, package: PackageContext) -> bool:
    members, src_layout = _members(package)
    base, parts = _import_parts(path, package)
    if base == package.prefix and len(parts) > 1 and src_layout:
        return False  # setuptools, hatch and flit install a src layout's packages only
    top = parts[0] if len(parts) > 1 else parts[0].rsplit(".", 1)[0]
    plain = len(parts) > 1 and f"{base}{top}/__init__.py" not in members
    # a namespace folder, or a lone module beside the package (example.py at the sdist's root)
    if (plain or len(parts) == 1) and not _backend_installs(top, package):
        return False
    return not package.top_level or top in package.top_level


def _import_parts(path: str, package: PackageContext) -> tuple[str, list[str]]:
    """``path`` split where imports see it: the folder it is relative to (the sdist's leading
    folder, and a source root such as ``src/`` that is no package itself), and its parts."""
    base = package.prefix
    rel = path[len(base) :] if base and path.startswith(base) else path
    parts = rel.split("/")
    if (
        len(parts) > 1
        and parts[0] in _SOURCE_ROOTS
        and f"{base}{parts[0]}/__init__.py" not in _members(package)[0]
    ):
        return f"{base}{parts[0]}/", parts[1:]
    return base, parts


def _backend_installs(folder: str, package: PackageContext) -> bool:
    """Whether a first-level folder without ``__init__.py`` (a namespace package) or a lone
    top-level module may be installed. setuptools may find one (``find_namespace_packages``,
    ``py_modules``); the other build backends (hatchling, flit, poetry, scikit-build-core,
    meson-python, maturin) install the package named after the project and the paths their
    configuration names in a string (``packages = ["tool"]``, ``only-include = ["tool.py"]``),
    nothing else."""
    backend = package.build_backend
    if not backend or backend.startswith("setuptools") or f"{package.prefix}setup.py" in _members(package)[0]:
        return True
    if folder.lower().replace("-", "_") in own_names(package.name):
        return True
    config = f"{package.prefix}pyproject.toml"
    named = re.compile(rf"""["'](?:[^"'\n]*/)?{re.escape(folder)}(?:\.py|/[^"'\n]*)?["']""")
    return any(named.search(text) for path, text in package.sources if path == config)


# Module names that frameworks import by convention, though no file of the package names them:
# Django's app registry and admin autodiscovery, Celery's task discovery, pytest's conftest.
_CONVENTIONAL = frozenset({"admin", "apps", "models", "urls", "views", "signals", "tasks", "conftest"})

_names_cache: list[tuple[tuple[tuple[str, str], ...], dict[str, tuple[str, ...]]]] = []


def loaded_by_name(path: str, package: PackageContext) -> bool:
    """Whether importing the package can load the module at ``path``, as far as its name tells.

    A user imports a package by its top-level name; a module deeper inside runs on import only
    when something loads it by name: an import in another module (``from . import gen``), a
    string handed to ``importlib``, an entry point, a framework convention (``apps``,
    ``admin``). A module nothing names (a generator script kept inside the package) runs only
    when someone asks for it, like a function nobody calls. So does one whose file name is no
    identifier (``collect-symbols.py``): no ``import`` statement can name it, and a dotted one
    (``tables.v2.py``) no import at all. Unknown layouts, top-level modules and a package's own
    ``__init__.py`` always count as loaded.
    """
    if not package.sources:
        return True
    members = _members(package)[0]
    base, parts = _import_parts(path, package)
    stem = parts[-1].rsplit(".", 1)[0]
    # ``inside``: how many folders down the first regular package (with ``__init__.py``) starts
    inside = next(
        (i for i in range(1, len(parts)) if f"{base}{'/'.join(parts[:i])}/__init__.py" in members), None
    )
    if stem.isidentifier() and (inside is None or (stem == "__init__" and inside == len(parts) - 1)):
        return True  # a top-level or namespace module, or the package itself: users import it
    if "." in stem:
        return False  # ``a.b.py``: the import system reads the dot as a package boundary
    name = parts[-2] if stem == "__init__" and len(parts) > 1 else stem
    return name in _CONVENTIONAL or _named_elsewhere(name, path, package)


def _named_elsewhere(name: str, path: str, package: PackageContext) -> bool:
    """``name`` appears as a module name (not inside a longer word or a file path) in a source
    other than ``path``. Cached per package: the first two sources that name it."""
    if not _names_cache or _names_cache[0][0] is not package.sources:
        _names_cache[:] = [(package.sources, {})]
    known = _names_cache[0][1]
    naming = known.get(name)
    if naming is None:
        found: list[str] = []
        for where, text in package.sources:
            if _names_module(text, name):
                found.append(where)
                if len(found) == 2:
                    break
        naming = known[name] = tuple(found)
    return any(where != path for where in naming)


def _names_module(text: str, name: str) -> bool:
    """``name`` occurs in ``text`` as a whole name (dots may surround it; a path may not, nor
    may a file name: ``"wrapper.py"`` is a script handed to a new interpreter, not an import)."""
    at = text.find(name)
    while at >= 0:
        before = text[at - 1] if at else " "
        end = at + len(name)
        after = text[end] if end < len(text) else " "
        if (
            not (before.isalnum() or before in "_-/\\")
            and not (after.isalnum() or after in "_-")
            and not _file_suffix(text, end)
        ):
            return True
        at = text.find(name, end)
    return False


def _file_suffix(text: str, at: int) -> bool:
    """``text`` continues at ``at`` with a Python file's extension (``.py``, ``.pyw``)."""
    for suffix in (".py", ".pyw"):
        end = at + len(suffix)
        following = text[end] if end < len(text) else " "
        if text.startswith(suffix, at) and not (following.isalnum() or following == "_"):
            return True
    return False


def stage_of(file: FileContext, package: PackageContext, *, on_load: bool) -> Stage:
    """When code at this spot runs.

    Install-time and start-up files keep their stage (setup.py's helpers run at install).
    Module-level code runs when its module is imported, so it counts as import time even in a
    file the engine filed under run time, unless the file lives where users never import it
    from (tests, docs, examples) or that is not importable at all (a script in a plain folder).
    Function bodies of ordinary modules run only when called.
    """
    if file.stage in (Stage.INSTALL, Stage.STARTUP):
        return file.stage
    if file.stage in (Stage.IMPORT, Stage.RUNTIME):
        own = own_names(package.name) | file.own
        loads = on_load and imported_by_users(file.path, own) and importable(file.path, package)
        return Stage.IMPORT if loads else Stage.RUNTIME
    return file.stage


def call_stage(file: FileContext, package: PackageContext, facts: Facts, call: CallFact) -> Stage:
    """When ``call`` runs: :func:`stage_of` with whether the module runs it as it loads."""
    return stage_of(file, package, on_load=facts.runs_on_load(call))
