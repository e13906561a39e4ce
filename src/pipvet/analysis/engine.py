"""The analysis engine: an archive in, a :class:`~pipvet.models.Result` out. Nothing is executed.

``analyze(path)`` reads the archive through the read-only view (:mod:`pipvet.analysis.archive`),
classifies every member (:mod:`pipvet.analysis.classify`), decodes text and parses Python once,
builds the :class:`~pipvet.analysis.context.PackageContext`, runs every rule of
:data:`pipvet.analysis.rules.ALL_RULES` on every file, adds the archive's structural findings and
asks :func:`pipvet.analysis.score.score` for the verdict.

Structural findings can force a least verdict (a path-traversal member is ``malicious`` whatever
the code says; a truncated archive is at least ``error`` because part of it went unvetted). The
order is ``clean < suspicious < error < malicious``: malicious code found in the readable part of
a damaged archive still makes it ``malicious``.
"""

from __future__ import annotations

import contextlib
import functools
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipvet.analysis.archive import ArchiveContents, Member, MemberType, read_archive
from pipvet.analysis.classify import (
    CONFIG_NAMES,
    Layout,
    ReadBudget,
    detect_layout,
    kind_of,
    stage_of,
    with_backend,
)
from pipvet.analysis.context import FileContext, FileKind, PackageContext, Parser, Rule
from pipvet.analysis.lazyre import LazyPattern
from pipvet.analysis.limits import DEFAULT_LIMITS, Limits
from pipvet.analysis.metadata import (
    build_backend,
    build_hooks,
    package_facts,
    read_pyproject,
    setup_cfg_hooks,
    split_filename,
    top_level_names,
)
from pipvet.analysis.parsing import parse_python
from pipvet.analysis.where import (
    TEST_DIRS,
    called_at_top_level,
    called_on_load,
    imported_by_setup,
    imported_by_users,
    imported_test_folders,
    own_names,
)
from pipvet.models import Artifact, Finding, PackageRef, Result, Severity, Stage, Verdict, normalize_name

if TYPE_CHECKING:
    import ast

#: How the forced verdicts of structural findings combine with the scored verdict.
VERDICT_ORDER: dict[Verdict, int] = {
    Verdict.CLEAN: 0,
    Verdict.SUSPICIOUS: 1,
    Verdict.ERROR: 2,
    Verdict.MALICIOUS: 3,
}
#: Paths listed in the "could not be parsed" finding's evidence (the count is always complete).
_UNPARSED_SHOWN = 5
#: Python files parsed up front (few, and the most important); others on a rule's first ``.tree``.
_EAGER_STAGES = frozenset({Stage.INSTALL, Stage.STARTUP})
_CODING = LazyPattern(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


# eq=False: never compared, so no __eq__/__hash__ to generate at import
@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class Analysis:
    """A result plus what it took to get it (for benchmarks and verbose output)."""

    result: Result
    package: PackageContext
    format: str
    files: int
    python_files: int
    unparsed: tuple[str, ...]
    bytes_read: int
    uncompressed: int
    seconds: float


def analyze(
    target: str | Path,
    *,
    filename: str | None = None,
    label: str | None = None,
    rules: Sequence[Rule] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Analysis:
    """Analyse a local archive, folder or single source file.

    ``filename`` is the artifact's real name when ``target`` is a cache path (e.g. named by its
    hash); ``label`` is what the result calls the target (default: ``str(target)``).
    """
    path = Path(target)
    start = time.perf_counter()
    contents = read_archive(
        path,
        filename=filename,
        budget=ReadBudget(limits),
        limits=limits,
    )
    name = filename or (path.resolve().name if path.is_dir() else path.name)
    return _guarded(contents, name, label or str(target), rules, limits, start)


def analyze_bytes(
    data: bytes,
    filename: str,
    *,
    label: str | None = None,
    rules: Sequence[Rule] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Analysis:
    """Analyse an artifact held in memory (e.g. just downloaded by the index client)."""
    start = time.perf_counter()
    contents = read_archive(
        data,
        filename=filename,
        budget=ReadBudget(limits),
        limits=limits,
    )
    return _guarded(contents, filename, label or filename, rules, limits, start)


# --------------------------------------------------------------------------- internals


def decode(data: bytes, *, python: bool = False) -> str:
    """UTF-8 (BOM stripped); Python sources honour a PEP 263 coding cookie; else replacement."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if python:
        for line in data.split(b"\n", 2)[:2]:
            match = _CODING.match(line)
            if match:
                try:
                    return data.decode(match.group(1).decode("ascii"), "replace")
                except (LookupError, UnicodeDecodeError):
                    break
    return data.decode("utf-8", "replace")


def _layout(files: Sequence[Member]) -> tuple[Layout, Mapping[str, Any]]:
    """The archive's layout, with in-tree build backends, and its parsed ``pyproject.toml``."""
    layout = detect_layout(m.path for m in files)
    pyproject_text: str | None = None
    setup_cfg_text: str | None = None
    for m in files:
        relative = layout.relative(m.path)
        if relative == "pyproject.toml":
            pyproject_text = decode(m.data)
        elif relative == "setup.cfg":
            setup_cfg_text = decode(m.data)
    pyproject = read_pyproject(pyproject_text)
    if not layout.is_wheel:
        backend, backend_path = build_backend(pyproject)
        if backend_path:
            layout = with_backend(layout, backend, backend_path)
        hooks = build_hooks(pyproject) + setup_cfg_hooks(setup_cfg_text)
        if hooks:
            layout = replace(layout, install_files=layout.install_files | frozenset(hooks))
    return layout, pyproject


_ENTRY_POINT_FILES = ("/entry_points.txt", "/setup.cfg", "/pyproject.toml")


def _names_modules(file: FileContext) -> bool:
    """Whether a file can load a module by its name (``PackageContext.sources``): Python code,
    ``.pth`` lines, and the files that declare entry points (not file lists such as RECORD)."""
    return file.kind in (FileKind.PYTHON, FileKind.PTH) or file.path.endswith(_ENTRY_POINT_FILES)


def _file_contexts(
    files: Sequence[Member], layout: Layout, limits: Limits, own: frozenset[str]
) -> list[FileContext]:
    out: list[FileContext] = []
    paths = frozenset(m.path for m in files)
    kinds = [kind_of(m.path, m.data) for m in files]
    texts = [
        decode(m.data, python=True) if kind is FileKind.PYTHON else None
        for m, kind in zip(files, kinds, strict=True)
    ]
    stages = [stage_of(m.path, kind, layout) for m, kind in zip(files, kinds, strict=True)]
    for index in _setup_helpers(files, kinds, texts, layout):
        stages[index] = Stage.INSTALL  # ``import helper`` in setup.py: helper.py runs at install
    started, parsed = _setup_scripts(files, kinds, texts, layout, limits)
    for index in started:
        stages[index] = Stage.INSTALL  # ``Popen([sys.executable, "engine.py"])`` in setup.py
    modules = _modules(files, kinds, layout)
    pth_code = {  # the code lines of each start-up .pth file, read once for both uses below
        i: _pth_code(decode(m.data))
        for i, (m, kind, stage) in enumerate(zip(files, kinds, stages, strict=True))
        if kind is FileKind.PTH and stage is Stage.STARTUP
    }
    for index in _startup_helpers("\n".join(pth_code.values()), modules, layout):
        stages[index] = Stage.STARTUP  # ``import hook`` in a .pth: hook.py runs at every start-up
    own = own | _imported_tests(files, kinds, stages, texts, layout, paths, own)
    skims = [
        kind is FileKind.PYTHON and skim(m.path, stage, paths, own)
        for m, kind, stage in zip(files, kinds, stages, strict=True)
    ]
    for index, loader in _executed_data(files, kinds, texts, skims, limits).items():
        # code kept under another file name and run by one of the package's Python files
        kinds[index], stages[index] = FileKind.PYTHON, stages[loader]
        texts[index] = decode(files[index].data, python=True)
    for index, (loader, on_call) in _loaded_payloads(files, kinds, texts, skims).items():
        # a pickle that package code unpickles, an image whose bytes it executes: what they
        # run, runs when that code runs (when a function that nothing calls as the module
        # loads does it, when that function is called)
        stages[index] = Stage.RUNTIME if on_call and stages[loader] in _LOADING_STAGES else stages[loader]
    entries = _entries(files, kinds, stages, texts, skims, layout, modules, pth_code)
    for index, (m, kind, stage, python_text, skimmed) in enumerate(
        zip(files, kinds, stages, texts, skims, strict=True)
    ):
        text: str | None = None
        tree: ast.Module | None = None
        error: str | None = None
        parser: Parser | None = None
        if kind is FileKind.PYTHON and python_text is not None:
            text = python_text
            if m.truncated:
                error = f"only the first {len(m.data):,} of {m.size:,} bytes were read"
                skimmed = False
            elif skimmed:
                pass
            elif index in parsed:
                tree = parsed[index]  # setup.py, parsed once to find the scripts it starts
            elif stage in _EAGER_STAGES:
                tree, error = parse_python(text, m.path, limits)
            else:
                parser = functools.partial(parse_python, text, m.path, limits)
        elif kind in (FileKind.PTH, FileKind.TEXT, FileKind.METADATA):
            text = decode(m.data)
        out.append(
            FileContext(
                path=m.path,
                data=m.data,
                kind=kind,
                stage=stage,
                text=text,
                tree=tree,
                parse_error=error,
                size=m.size,
                parser=parser,
                skimmed=skimmed,
                own=own,
                entries=entries.get(len(out), frozenset()),
            )
        )
    return out


_RUNS_CODE = LazyPattern(
    r"(exec|eval|compile|run_path|SourceFileLoader|spec_from_file_location|load_source)\("
)
_RUN_WORDS = ("exec(", "eval(", "compile(", "run_path(", "Loader(", "location(", "load_source(")
"""Words one of which every :data:`_RUNS_CODE` match holds (a fast pre-check)."""
_QUOTED = LazyPattern(r"""['"]([^'"\n]{1,200})['"]""")


def _executed_data(
    files: Sequence[Member],
    kinds: Sequence[FileKind],
    texts: Sequence[str | None],
    skims: Sequence[bool],
    limits: Limits,
) -> dict[int, int]:
    """Text members that are not Python by name but hold Python code that one of the package's
    Python files runs: ``exec(open(here / 'conf.dat').read())``, ``runpy.run_path('x.txt')``, a
    ``SourceFileLoader`` on a ``.cfg``. Member index -> index of the Python file that names it
    (its file name in a string) within a few lines of such a call. Only members that parse as
    Python and call something count: the version file an ``exec`` reads stays data."""
    by_name: dict[str, list[int]] | None = None
    found: dict[int, int] = {}
    for loader, (kind, text, skimmed) in enumerate(zip(kinds, texts, skims, strict=True)):
        # a test suite that runs a fixture runs it for developers only
        if kind is not FileKind.PYTHON or not text or skimmed or not any(w in text for w in _RUN_WORDS):
            continue
        for near in _code_runs(text):
            if by_name is None:
                by_name = {}
                for i, (m, k) in enumerate(zip(files, kinds, strict=True)):
                    if k is FileKind.TEXT and not m.truncated and b"(" in m.data:
                        by_name.setdefault(m.path.rpartition("/")[2], []).append(i)
            for quoted in _QUOTED.finditer(near):
                for i in by_name.get(quoted.group(1).replace("\\", "/").rpartition("/")[2], ()):
                    found.setdefault(i, loader)
    return {
        i: loader
        for i, loader in found.items()
        if parse_python(decode(files[i].data, python=True), files[i].path, limits)[0] is not None
    }


def _setup_helpers(
    files: Sequence[Member], kinds: Sequence[FileKind], texts: Sequence[str | None], layout: Layout
) -> list[int]:
    """Indices of the sdist's root-level modules that its ``setup.py`` imports."""
    if layout.is_wheel:
        return []
    setup_text: str | None = None
    roots: dict[str, int] = {}
    for index, (m, kind, text) in enumerate(zip(files, kinds, texts, strict=True)):
        rel = layout.relative(m.path)
        if kind is not FileKind.PYTHON or "/" in rel:
            continue
        if rel == "setup.py":
            setup_text = text
        elif rel.endswith(".py"):
            roots[rel[:-3]] = index
    if not setup_text or not roots:
        return []
    return [roots[name] for name in imported_by_setup(setup_text, frozenset(roots))]


def _setup_scripts(
    files: Sequence[Member],
    kinds: Sequence[FileKind],
    texts: Sequence[str | None],
    layout: Layout,
    limits: Limits,
) -> tuple[list[int], dict[int, ast.Module]]:
    """Indices of the sdist's Python files that its ``setup.py`` starts as programs: a file name
    in the arguments of a process call that also names an interpreter
    (``subprocess.Popen([sys.executable, os.path.join(HERE, "pkg", "engine.py")])``, also
    through a name bound to such a path). Whatever such a file does, it does while the package
    installs. Also setup.py's tree, by index, when it had to be parsed for this (the rules
    reuse it)."""
    if layout.is_wheel:
        return [], {}
    at, setup_text = next(
        (
            (i, text)
            for i, (m, kind, text) in enumerate(zip(files, kinds, texts, strict=True))
            if kind is FileKind.PYTHON and layout.relative(m.path) == "setup.py"
        ),
        (-1, None),
    )
    if not setup_text or ".py" not in setup_text.replace("setup.py", ""):
        return [], {}
    if not _STARTS_PROGRAM.search(setup_text) or files[at].truncated:
        return [], {}
    tree = parse_python(setup_text, files[at].path, limits)[0]
    if tree is None:
        return [], {}
    named = _started_scripts(tree)
    found = [
        i
        for i, (m, kind) in enumerate(zip(files, kinds, strict=True))
        if kind is FileKind.PYTHON and m.path.rpartition("/")[2] in named
    ]
    return (found if len(found) <= _SCRIPTS_AT_MOST else []), {at: tree}


def _started_scripts(tree: ast.Module) -> set[str]:
    """File names (``engine.py``) in the arguments of the process calls of ``tree`` that also
    name an interpreter (``sys.executable``, a string holding ``python``). Not those a build
    command makes (``build_ext`` running tensorstore's ``bazelisk.py``): a build step, which the
    install rules judge as such."""
    import ast

    from pipvet.analysis.rules.install import BUILD_COMMANDS

    build_steps: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(
            (b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "")) in BUILD_COMMANDS
            for b in node.bases
        ):
            build_steps.update(id(sub) for sub in ast.walk(node) if isinstance(sub, ast.Call))
    bound: dict[str, list[ast.expr]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    bound.setdefault(target.id, []).append(node.value)
    named: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not _STARTS_PROGRAM.fullmatch(_callee(node.func) + "("):
            continue
        if id(node) in build_steps:
            continue
        strings: list[str] = []
        interpreter = False
        pending: list[ast.AST] = [*node.args, *(k.value for k in node.keywords)]
        seen = 0
        while pending and seen < 200:
            part = pending.pop()
            seen += 1
            for sub in ast.walk(part):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    strings.append(sub.value)
                elif isinstance(sub, ast.Attribute) and sub.attr == "executable":
                    interpreter = True
                elif isinstance(sub, ast.Name) and sub.id in bound:
                    pending.extend(bound.pop(sub.id))  # each name followed once
        interpreter = interpreter or any("python" in t.lower() for t in strings)
        if not interpreter:
            continue
        for text in strings:
            for word in text.replace("\\", "/").split():
                name = word.rpartition("/")[2].strip("'\"")
                if name.endswith((".py", ".pyw")) and name != "setup.py":
                    named.add(name)
    return named


def _callee(func: ast.expr) -> str:
    """The last name of a call's function: ``Popen`` for ``subprocess.Popen``."""
    import ast

    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


_SCRIPTS_AT_MOST = 4
"""More files than this by the names setup.py runs: the name is too common to tell which."""


#: Stages whose module-level code runs without being asked, and whose calls of another module's
#: functions run those at import (install-time callers would make them install-time code, which
#: the import-time rules would misreport).
_LOADING_STAGES = frozenset({Stage.STARTUP, Stage.IMPORT})


def _modules(files: Sequence[Member], kinds: Sequence[FileKind], layout: Layout) -> dict[str, int]:
    """Module path relative to the package root (``demo/env``, ``demo`` for its ``__init__``)
    -> member index of its Python file."""
    modules: dict[str, int] = {}
    for index, (m, kind) in enumerate(zip(files, kinds, strict=True)):
        if kind is FileKind.PYTHON and m.path.endswith(".py"):
            modules[layout.relative(m.path)[:-3].removesuffix("/__init__")] = index
    return modules


def _entries(
    files: Sequence[Member],
    kinds: Sequence[FileKind],
    stages: Sequence[Stage],
    texts: Sequence[str | None],
    skims: Sequence[bool],
    layout: Layout,
    modules: Mapping[str, int],
    pth_code: Mapping[int, str],
) -> dict[int, frozenset[str]]:
    """Member index -> names of its functions and classes that the package's start-up or
    import-time modules (and start-up ``.pth`` lines, ``pth_code``) call as they load
    (:func:`called_on_load`)."""
    found: dict[int, set[str]] = {}
    roots = layout.import_roots or ("",)
    for index, (m, kind, stage, text, skimmed) in enumerate(
        zip(files, kinds, stages, texts, skims, strict=True)
    ):
        if index in pth_code:
            text = pth_code[index]  # ``import hook; hook.go()``: each part a statement
        elif kind is not FileKind.PYTHON or stage not in _LOADING_STAGES or skimmed:
            # (setup.py's helpers are install-time files of their own: :func:`_setup_helpers`)
            continue
        if not text:
            continue
        here = layout.relative(m.path).rpartition("/")[0]
        for module, name in called_on_load(text, here, roots):
            target = modules.get(module)
            if target is not None and target != index:
                found.setdefault(target, set()).add(name)
    return {index: frozenset(names) for index, names in found.items()}


def _startup_helpers(code: str, modules: Mapping[str, int], layout: Layout) -> list[int]:
    """Indices of the top-level modules and packages that start-up ``.pth`` lines (``code``)
    import: the interpreter runs that import line, and so the module, at every start-up."""
    if not code.strip():
        return []
    top: dict[str, int] = {}
    for module, index in modules.items():
        for root in layout.import_roots or ("",):
            if module.startswith(root) and "/" not in module[len(root) :]:
                top[module[len(root) :]] = index
    named = set(imported_by_setup(code, frozenset(top)))
    # ``import os; __import__('_hook').go()``: a module loaded by name on a start-up line
    named.update(m.group(1).partition(".")[0] for m in _IMPORTED_BY_NAME.finditer(code))
    return [top[name] for name in sorted(named) if name in top]


_IMPORTED_BY_NAME = LazyPattern(r"""(?:__import__|import_module)\(\s*['"]([\w.]+)['"]""")


def _pth_code(text: str) -> str:
    """The code lines of a ``.pth`` file (those ``site`` executes: they start with ``import``),
    one statement per line."""
    return "\n".join(
        part.strip()
        for line in text.splitlines()
        if line.startswith(("import ", "import\t"))
        for part in line.split(";")
    )


def _loaded_payloads(
    files: Sequence[Member], kinds: Sequence[FileKind], texts: Sequence[str | None], skims: Sequence[bool]
) -> dict[int, tuple[int, bool]]:
    """Pickles, media files and programs that a Python file of the package names within a few
    lines of a call that runs what they hold: an unpickling call (``pickle.load``,
    ``torch.load``) for a pickle, ``exec``/``eval``/``compile`` for an image or a sound, a
    process or library loader for a native program. Member index -> index of that Python file,
    and whether the call sits in a function the file's module-level code never calls (then it
    runs when someone calls it, not as the module loads). The rules for such files report at
    the loader's stage, not as inert data."""
    wanted = {FileKind.PICKLE: _UNPICKLES, FileKind.MEDIA: _RUNS_CODE, FileKind.NATIVE: _STARTS_PROGRAM}
    named: dict[FileKind, dict[str, list[int]]] = {}
    for i, (m, kind) in enumerate(zip(files, kinds, strict=True)):
        if kind in wanted:
            named.setdefault(kind, {}).setdefault(m.path.rpartition("/")[2], []).append(i)
    found: dict[int, tuple[int, bool]] = {}
    if not named:
        return found
    for loader, (kind, text, skimmed) in enumerate(zip(kinds, texts, skims, strict=True)):
        if kind is not FileKind.PYTHON or not text or skimmed:
            continue
        for data_kind, by_name in named.items():
            for near, at in _near_calls_at(text, wanted[data_kind]):
                for quoted in _QUOTED.finditer(near):
                    for i in by_name.get(quoted.group(1).replace("\\", "/").rpartition("/")[2], ()):
                        on_call = _in_uncalled_function(text, at)
                        if i not in found or (found[i][1] and not on_call):
                            found[i] = (loader, on_call)
    return found


def _in_uncalled_function(text: str, at: int) -> bool:
    """Whether offset ``at`` of ``text`` lies in a ``def`` whose name the module's own loading
    code never calls (read from the text: the lines above it, and the top-level lines
    :func:`~pipvet.analysis.where.called_at_top_level` reads)."""
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    line = text[start : end if end >= 0 else len(text)]
    depth = len(line) - len(line.lstrip())
    if depth == 0:
        return False
    for previous in reversed(text[:start].splitlines()):
        stripped = previous.lstrip()
        indent = len(previous) - len(stripped)
        if not stripped or stripped.startswith("#") or indent >= depth:
            continue
        definition = _DEF.match(stripped)
        if definition is not None:
            return not called_at_top_level(text, definition.group(1))
        if indent == 0:
            return False  # a module-level block (``try:``, ``if``): runs as the module loads
        depth = indent
    return False


_DEF = LazyPattern(r"(?:async\s+)?def\s+(\w+)")


_UNPICKLES = LazyPattern(r"(load|loads|read_pickle|Unpickler)\(")
_STARTS_PROGRAM = LazyPattern(
    r"(system|Popen|run|call|check_call|check_output|startfile|CDLL|LoadLibrary|execv\w*|spawn\w*)\("
)


def _code_runs(text: str) -> Iterator[str]:
    """The lines around each call of ``exec``, ``eval``, ``compile`` (not ``re.compile``),
    ``runpy.run_path`` or an import-machinery loader (the regex has no word boundaries, which
    keeps it fast; they are checked here)."""
    return _near_calls(text, _RUNS_CODE)


def _near_calls(text: str, calls: LazyPattern[str]) -> Iterator[str]:
    """The lines around each match of ``calls`` that is not the tail of a longer name."""
    for near, _ in _near_calls_at(text, calls):
        yield near


def _near_calls_at(text: str, calls: LazyPattern[str]) -> Iterator[tuple[str, int]]:
    """:func:`_near_calls`, with the offset of each call."""
    for match in calls.finditer(text):
        at = match.start()
        if at and (text[at - 1].isalnum() or text[at - 1] == "_"):
            continue  # ``my_exec(``, ``safe_eval(``
        if match.group(1) == "compile" and text[max(0, at - 3) : at] == "re.":
            continue
        start = at
        for _ in range(_NEAR_LINES + 1):
            start = text.rfind("\n", 0, start - 1) if start > 0 else -1
            if start < 0:
                break
        end = at
        for _ in range(_NEAR_LINES + 1):
            end = text.find("\n", end + 1)
            if end < 0:
                end = len(text)
                break
        yield text[max(start, 0) : end], at


_NEAR_LINES = 3
"""How many lines before and after the call may name the file it runs."""


def _imported_tests(
    files: Sequence[Member],
    kinds: Sequence[FileKind],
    stages: Sequence[Stage],
    texts: Sequence[str | None],
    layout: Layout,
    members: frozenset[str],
    own: frozenset[str],
) -> frozenset[str]:
    """Folders of Python files :func:`skim` would skip that the package's other code imports
    (:func:`pipvet.analysis.where.imported_test_folders`): those run for users after all."""
    folders: dict[str, str] = {}
    sources: list[tuple[str, str]] = []
    for m, kind, stage, text in zip(files, kinds, stages, texts, strict=True):
        if kind is not FileKind.PYTHON or text is None:
            continue
        if skim(m.path, stage, members, own):
            # the suite's root (``pandas/tests``, not each of its hundreds of subfolders): an
            # import of anything below it names the root too. Only test and docs folders: the
            # others skim skips sit at the top of an sdist, outside the package users import.
            folder = m.path.rpartition("/")[0]
            rel = layout.relative(folder)
            parts = rel.split("/")
            cut = next((i + 1 for i, part in enumerate(parts) if part.lower() in TEST_DIRS), 0)
            if cut:
                root = "/".join(parts[:cut])
                folders[root] = folder[: len(folder) - len(rel)] + root
        elif imported_by_users(m.path, own) and _in_package(layout, layout.relative(m.path), own):
            sources.append((layout.relative(m.path), text))
    if not folders:
        return frozenset()
    return imported_test_folders(folders, sources, layout.import_roots or ("",))


def _in_package(layout: Layout, rel: str, own: frozenset[str]) -> bool:
    """Whether a module is part of what users install and import: anything in a wheel; in an
    sdist, the project's own package folder (a top-level test helper such as urllib3's
    ``dummyserver`` imports its ``test`` suite, and is no code users run)."""
    if layout.is_wheel:
        return True
    for root in layout.import_roots or ("",):
        if rel.startswith(root) and "/" in rel[len(root) :]:
            return rel[len(root) :].split("/", 1)[0].lower().replace("-", "_") in own
    return False


def skim(path: str, stage: Stage, members: frozenset[str], own: frozenset[str] = frozenset()) -> bool:
    """Whether a Python file gets the text-level rules only (never parsed).

    Code that neither installing nor importing the package runs
    (:func:`pipvet.analysis.where.imported_by_users`): test suites and documentation wherever
    they sit, and examples, benchmarks or tools folders at the top of an sdist that are not
    packages themselves, nor the project's own folder (``own``: project ``demo`` ships ``demo/``).
    Never a scripts folder or a wheel's ``.data``: those may be installed as commands. Parsing
    is most of the cost of an analysis and these folders are often half of an sdist; malicious
    code placed there only runs when something that *is* analysed in full (setup.py, a module)
    runs it, and the text-level rules still read every line of them.
    """
    if stage is not Stage.RUNTIME or imported_by_users(path, own):
        return False
    folders = path.lower().split("/")[:-1]
    if "scripts" in folders or any(part.endswith(".data") for part in folders):
        return False  # may be installed as a command (setup(scripts=...), a wheel's .data/scripts)
    if any(part in TEST_DIRS for part in folders):
        return True
    folder = path.rpartition("/")[0]
    return f"{folder}/__init__.py" not in members


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector while syntax trees are built and walked.

    Parsing allocates hundreds of thousands of small objects, each allocation counting towards
    the next collection, and none of them form cycles (reference counting frees them): the
    collector's passes are pure overhead, about a fifth of parsing time.
    """
    import gc

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _OutOfTime(BaseException):
    """Raised by the timer when an analysis exceeds its budget (not an ``Exception``, so that
    a rule's broad ``except Exception`` cannot swallow it)."""


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Interrupt runaway C-level work (a pathological regex) after ``seconds``, where possible.

    Only in the main thread of a POSIX process (signals); elsewhere the cooperative check
    between files in :func:`_run_rules` still bounds the time.
    """
    import signal
    import threading

    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable or seconds <= 0:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, expire)
    old_timer = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if old_timer[0] > 0:  # someone else's timer: give back what is left of it
            signal.setitimer(signal.ITIMER_REAL, max(0.001, old_timer[0] - seconds), old_timer[1])


# eq=False: never compared, so no __eq__/__hash__ to generate at import
@dataclass(slots=True, eq=False)
class _Outcome:
    """What the rules produced for a share of the files (picklable: it may come from a child)."""

    findings: list[tuple[int, Finding]]
    """Findings with the index of the file they came from."""
    crashed: list[str]
    stopped_at: tuple[int, str] | None
    """Index and path of the file being analysed when time ran out."""
    unparsed: list[tuple[int, str, str]]
    """Python files whose parse was attempted and failed: index, path, reason."""
    done: list[int]
    """Indices of the files this share analysed (or started to, when time ran out)."""


#: Estimated work (bytes of parsed Python; a quarter for text-only files) from which an
#: archive's files are shared with a forked child. Below it the fork costs more than it saves.
FORK_FROM = 40_000


def _cost(file: FileContext) -> int:
    if file.kind is FileKind.PYTHON and not file.skimmed:
        return len(file.data)
    return len(file.data) // 4 if file.text is not None else 64


def _run_rules(
    files: Sequence[FileContext], package: PackageContext, rules: Sequence[Rule], deadline: float
) -> _Outcome:
    """Every rule on every file, on two cores when the archive is large (see
    :mod:`pipvet.analysis.forked`).

    The files go largest first to whichever process is free (:class:`forked.Claims`), so both
    cores stay busy until the end instead of one waiting for the other's fixed half.
    """
    indexed = list(enumerate(files))
    if sum(_cost(f) for f in files) < FORK_FROM:
        return _run_share(indexed, package, rules, deadline)
    from pipvet.analysis import forked  # with pickle: only for an archive big enough to share

    if not forked.available():
        return _run_share(indexed, package, rules, deadline)
    order = sorted(indexed, key=lambda t: -_cost(t[1]))
    try:
        claims = forked.Claims(len(order))
    except OSError:
        return _run_share(indexed, package, rules, deadline)
    with claims:
        pending = forked.start(lambda: _run_share((order[i] for i in claims), package, rules, deadline))
        outcome = _run_share((order[i] for i in claims), package, rules, deadline)
        other = pending.result(deadline + 1.0) if pending is not None else None
    if other is None:  # the child failed: analyse whatever it had claimed here (fail closed)
        mine = set(outcome.done)
        other = _run_share([t for t in indexed if t[0] not in mine], package, rules, deadline)
    stops = [s for s in (outcome.stopped_at, other.stopped_at) if s is not None]
    return _Outcome(
        findings=sorted([*outcome.findings, *other.findings], key=lambda t: t[0]),
        crashed=[*outcome.crashed, *other.crashed],
        stopped_at=min(stops) if stops else None,
        unparsed=sorted([*outcome.unparsed, *other.unparsed]),
        done=[*outcome.done, *other.done],
    )


def _run_share(
    indexed: Iterable[tuple[int, FileContext]],
    package: PackageContext,
    rules: Sequence[Rule],
    deadline: float,
) -> _Outcome:
    """Every rule on the given files; stops (recording where) when the deadline passes."""
    outcome = _Outcome(findings=[], crashed=[], stopped_at=None, unparsed=[], done=[])
    current: tuple[int, str] = (-1, "(start)")
    seen: list[FileContext] = []
    try:
        with _alarm(deadline - time.perf_counter()):
            for index, file in indexed:
                current = (index, file.path)
                outcome.done.append(index)
                seen.append(file)
                if time.perf_counter() > deadline:
                    raise _OutOfTime
                for rule in rules:
                    try:
                        produced = list(rule.check(file, package))
                    except Exception as exc:  # a rule bug must not hide the rest of the package
                        outcome.crashed.append(
                            f"{getattr(rule, 'id', type(rule).__name__)} on {file.path}: {exc!r}"
                        )
                        continue
                    for f in produced:
                        if f.path is None or f.stage is None:
                            f = replace(f, path=f.path or file.path, stage=f.stage or file.stage)
                        outcome.findings.append((index, f))
                _release(file)  # a failed parse stays on record for the loop below
    except _OutOfTime:
        outcome.stopped_at = current
    for index, file in zip(outcome.done, seen, strict=True):
        if _unparsed(file):
            outcome.unparsed.append((index, file.path, file.parse_error or "syntax error"))
    return outcome


def _release(file: FileContext) -> None:
    """Free a file's tree and facts as soon as every rule has seen it (rules read one file at a
    time): held for the whole archive, aws-cdk-lib's thousands of generated modules took 5.5 GB.
    A lazy facts walk and its walker point at each other, a cycle the paused collector would
    keep; it is cut first."""
    from pipvet.analysis.facts import Facts  # loaded by the rules already

    for value in file.cache.values():
        if isinstance(value, Facts):
            value.close()
    file.release()


def _guarded(
    contents: ArchiveContents,
    filename: str,
    label: str,
    rules: Sequence[Rule] | None,
    limits: Limits,
    start: float,
) -> Analysis:
    """Fail closed: an engine bug on strange input is an ``error`` verdict, never a crash."""
    try:
        with _no_cycle_collection():
            return _analyze(contents, filename, label, rules, limits, start)
    except Exception as exc:
        message = f"internal error while analysing: {type(exc).__name__}: {exc}"
        finding = Finding(
            rule="PV-ENGINE-FAILED",
            severity=Severity.HIGH,
            title="The analysis failed",
            message="pipvet could not finish analysing this archive, so it was not vetted.",
            evidence=_clip(message, 300),
        )
        return Analysis(
            result=Result(
                target=label,
                artifact=Artifact(filename=filename, sha256=contents.sha256, size=contents.size),
                verdict=Verdict.ERROR,
                findings=(finding,),
                error=message,
            ),
            package=PackageContext(filename=filename),
            format=contents.format,
            files=0,
            python_files=0,
            unparsed=(),
            bytes_read=contents.bytes_read,
            uncompressed=contents.uncompressed,
            seconds=time.perf_counter() - start,
        )


def _analyze(
    contents: ArchiveContents,
    filename: str,
    label: str,
    rules: Sequence[Rule] | None,
    limits: Limits,
    start: float,
) -> Analysis:
    from pipvet.analysis import score as scoring

    if rules is None:
        from pipvet.analysis.rules import ALL_RULES

        rules = ALL_RULES
    files = [m for m in contents.members if m.type is MemberType.FILE]
    layout, pyproject = _layout(files)
    contexts = _file_contexts(files, layout, limits, own_names(split_filename(filename)[0]))
    texts = {
        layout.relative(c.path): c.text
        for c in contexts
        if c.text is not None
        and (c.kind is FileKind.METADATA or layout.relative(c.path) in ("setup.py", *CONFIG_NAMES))
    }
    facts = package_facts(
        filename=filename,
        layout=layout,
        paths=[layout.relative(m.path) for m in files],
        texts=texts,
        pyproject=pyproject,
    )
    package = PackageContext(
        filename=filename,
        name=facts.name,
        version=facts.version,
        is_wheel=layout.is_wheel,
        pure_python=facts.pure_python,
        members=tuple(m.path for m in contents.members),
        metadata=facts.metadata,
        prefix=layout.prefix,
        top_level=top_level_names(texts) if not layout.is_wheel else frozenset(),
        build_backend="" if layout.is_wheel else build_backend(pyproject)[0] or "",
        sources=tuple((c.path, c.text) for c in contexts if c.text is not None and _names_modules(c)),
    )
    outcome = _run_rules(contexts, package, rules, start + limits.max_seconds)
    findings = [f for _, f in outcome.findings]
    crashed = outcome.crashed
    stopped_at = outcome.stopped_at[1] if outcome.stopped_at is not None else None
    floors: list[Verdict] = []
    errors: list[str] = []
    if stopped_at is not None:
        floors.append(Verdict.ERROR)
        errors.append(f"analysis exceeded {limits.max_seconds:g} s")
        findings.append(
            Finding(
                rule="PV-ENGINE-TIMEOUT",
                severity=Severity.HIGH,
                title="Analysis ran out of time",
                message=f"Analysing this archive took longer than {limits.max_seconds:g} s, so pipvet "
                "stopped and could not vet all of it. Archives crafted to slow scanners down exist; "
                "a very large package can also get here.",
                path=stopped_at,
                evidence=f"stopped at {stopped_at}",
            )
        )
    for issue in contents.issues:
        findings.append(issue.finding)
        if issue.floor is not None:
            floors.append(issue.floor)
            if issue.floor is Verdict.ERROR:
                errors.append(issue.finding.title)
    unparsed = tuple(path for _, path, _ in outcome.unparsed)
    if unparsed:
        findings.append(_unparsed_finding([(path, why) for _, path, why in outcome.unparsed]))
    if crashed:
        floors.append(Verdict.SUSPICIOUS)
        findings.append(
            Finding(
                rule="PV-ENGINE-RULE-FAILED",
                severity=Severity.LOW,
                title="A detection rule failed on this package",
                message="A rule raised an error, so part of this package was not checked by it. "
                "The package is reported as at least suspicious until the rule is fixed.",
                evidence="; ".join(crashed[:3])
                + (f" (+{len(crashed) - 3} more)" if len(crashed) > 3 else ""),
            )
        )
    # the project's folder names, and the test folders its code imports (see _file_contexts)
    own = own_names(facts.name) | next((c.own for c in contexts), frozenset())
    scored = scoring.score(findings, own, _not_installed(contexts, package, findings))
    verdict, total = scored.verdict, scored.score
    for floor in floors:
        if VERDICT_ORDER[floor] > VERDICT_ORDER[verdict]:
            verdict = floor
    if verdict is Verdict.MALICIOUS:
        total = max(total, scoring.MALICIOUS_AT)
    elif verdict is Verdict.SUSPICIOUS:
        total = max(total, scoring.SUSPICIOUS_AT)
    result = Result(
        target=label,
        package=(PackageRef(name=normalize_name(facts.name), version=facts.version) if facts.name else None),
        artifact=(
            Artifact(filename=filename, sha256=contents.sha256, size=contents.size)
            if contents.format != "folder"
            else None
        ),
        verdict=verdict,
        score=total,
        findings=scored.findings,
        error="; ".join(dict.fromkeys(errors)) if verdict is Verdict.ERROR else None,
    )
    return Analysis(
        result=result,
        package=package,
        format=contents.format,
        files=len(files),
        python_files=sum(1 for c in contexts if c.kind is FileKind.PYTHON),
        unparsed=unparsed,
        bytes_read=contents.bytes_read,
        uncompressed=contents.uncompressed,
        seconds=time.perf_counter() - start,
    )


def _not_installed(
    contexts: Sequence[FileContext], package: PackageContext, findings: Sequence[Finding]
) -> frozenset[str]:
    """The sdist's files with findings that are outside what its build would install (scoring
    weighs them as files no user runs): Python files no import reaches, and other files outside
    every package folder (an archive among the test data of a top-level ``data/``).
    Install-time and start-up files are weighed by their stage anyway, and so is a file that
    install-time code names (``setup.py`` may import it, ``exec`` it, run or unpack it)."""
    flagged = {f.path for f in findings}
    if package.is_wheel or not flagged:
        return frozenset()
    from pipvet.analysis.rules._base import importable

    install_texts = [c.text for c in contexts if c.stage is Stage.INSTALL and c.text]
    members = frozenset(c.path for c in contexts)
    left: set[str] = set()
    for c in contexts:
        if c.path not in flagged or c.stage in (Stage.INSTALL, Stage.STARTUP):
            continue
        python = c.kind is FileKind.PYTHON
        if importable(c.path, package) if python else _in_a_package(c.path, members):
            continue
        folder, _, name = c.path.rpartition("/")
        # a script by its name; data also by its folder's (``package_data``, ``data_files``)
        names = (name.rpartition(".")[0] or name, "" if python else folder.rpartition("/")[2])
        named = re.compile("|".join(rf"(?<![\w-]){re.escape(n)}(?![\w-])" for n in names if n))
        if not any(named.search(text) for text in install_texts):
            left.add(c.path)
    return frozenset(left)


def _in_a_package(path: str, members: frozenset[str]) -> bool:
    """Whether a data file sits in a package folder or below one (package data gets installed)."""
    folder = path.rpartition("/")[0]
    while folder:
        if f"{folder}/__init__.py" in members:
            return True
        folder = folder.rpartition("/")[0]
    return False


def _unparsed_finding(failed: Sequence[tuple[str, str]]) -> Finding:
    shown = ", ".join(f"{path} ({why})" for path, why in failed[:_UNPARSED_SHOWN])
    more = f" (+{len(failed) - _UNPARSED_SHOWN} more)" if len(failed) > _UNPARSED_SHOWN else ""
    return Finding(
        rule="PV-ENGINE-UNPARSED",
        severity=Severity.INFO,
        title=f"{len(failed)} Python file{'s' if len(failed) != 1 else ''} could not be parsed",
        message="These files are not valid Python 3 (Python 2 code, syntax errors, or too large to "
        "parse). Rules checked them as text instead, which is less precise.",
        path=failed[0][0],
        evidence=_clip(shown + more, 400),
    )


def _unparsed(c: FileContext) -> bool:
    """A Python file whose parse was attempted (eagerly or by a rule) and failed."""
    return c.kind is FileKind.PYTHON and c.parsed and c.parse_error is not None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
