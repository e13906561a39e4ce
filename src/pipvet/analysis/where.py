"""Where a file sits says whether it ever runs for a user of the package.

Test suites, documentation, examples and maintainer tools travel in sdists but are neither
installed nor imported: ``pip install`` builds the package, ``import pkg`` loads the package.
Code there runs only when a developer runs it on purpose.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence

from pipvet.analysis.lazyre import LazyPattern

#: Folders whose code nobody imports as part of the package: test suites, docs, examples, tools.
NOT_IMPORTED_DIRS: frozenset[str] = frozenset(
    {
        "tests",
        "test",
        "testing",
        "docs",
        "doc",
        "examples",
        "example",
        "scripts",
        "script",
        "benchmarks",
        "benchmark",
        "bench",
        "tools",
        "devscripts",
        "release",
        "demo",
        "demos",
        "samples",
        "tasks",
        "ci",
        "dev",
        "bin",
        ".github",
    }
)


#: Test suites and documentation, wherever they sit (numpy installs ``numpy/_core/tests``).
TEST_DIRS: frozenset[str] = frozenset({"tests", "test", "testing", "docs", "doc"})


@functools.lru_cache(maxsize=64)  # asked once per rule and call site: the same few names
def own_names(project: str | None) -> frozenset[str]:
    """Folder names that are the project's own package (``my-tools`` -> ``my_tools``)."""
    if not project:
        return frozenset()
    name = project.lower().replace("-", "_").replace(".", "_")
    return frozenset({name})


def imported_by_users(path: str, own: frozenset[str] = frozenset()) -> bool:
    """False for files that only run when a developer runs them (tests, docs, examples ...).

    ``own`` (:func:`own_names`) are the project's own package folders: a project called
    ``tools`` or ``demo`` ships its code in ``tools/`` or ``demo/``, and users import it. It may
    also hold folder paths (with a ``/``: :func:`imported_test_folders`): a test folder that the
    package's own code imports runs for users like the rest of the package."""
    if within(path, own):
        return True
    parts = path.lower().split("/")
    name = parts[-1]
    if name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py"):
        return False
    if name in {"noxfile.py", "tasks.py", "fabfile.py", "conf.py", "runtests.py", "dodo.py", "pavement.py"}:
        return False
    folders = parts[:-1]
    if any(part in TEST_DIRS for part in folders):
        return False
    # Other project folders (examples/, scripts/, tools/ ...) only at the top of the archive:
    # inside a package they are installed with it and may well be imported.
    return not any(part in NOT_IMPORTED_DIRS and part not in own for part in folders[:2])


def within(path: str, own: frozenset[str]) -> bool:
    """Whether ``path`` is a Python module in one of the folder paths (entries with a ``/``) of
    ``own``: an import reaches the folder's modules, not the data files beside them (pex's
    ``pex/docs`` package serves gzipped HTML fragments that are still documentation)."""
    if not own or not path.endswith((".py", ".pyw")):
        return False
    return any("/" in entry and path.startswith(entry + "/") for entry in own)


_FROM = LazyPattern(r"[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+\(?([\w \t,]+)")
_IMPORT = LazyPattern(r"[ \t]*import[ \t]+([\w. \t,]+)")


def imported_test_folders(
    folders: Mapping[str, str], sources: Iterable[tuple[str, str]], roots: Sequence[str]
) -> frozenset[str]:
    """The test and docs folders that code users import imports, as archive paths.

    ``folders``: each candidate folder's path relative to the package root (``demo/tests``) ->
    its archive path. ``sources``: (path relative to the root, text) of the Python files users
    import. ``roots``: where absolute imports start (``""``, ``"src/"``). A test suite is skipped
    as code no user runs; one that ``demo/__init__.py`` imports (``from .tests import boot``,
    ``from . import tests``, ``import demo.tests.boot``) runs at every import of the package.
    Read from the text, without parsing: an import line naming one of the folders."""
    if not folders:
        return frozenset()
    names = tuple({folder.rpartition("/")[2] for folder in folders})
    reached: set[str] = set()
    for path, text in sources:
        here = path.rpartition("/")[0]
        for line in _import_lines(text):
            if not any(name in line for name in names):
                continue
            for module in _imports(line, here, roots):
                parts = module.split("/")
                reached.update(p for i in range(len(parts)) if (p := "/".join(parts[: i + 1])) in folders)
    return frozenset(folders[f] for f in reached)


def imported_by_setup(setup_text: str, root_modules: frozenset[str]) -> frozenset[str]:
    """The project-root modules (``helper`` for ``helper.py``) that ``setup.py`` imports: pip runs
    them while it installs, as part of the setup script (a dropper split over two files)."""
    found: set[str] = set()
    for line in _import_lines(setup_text):
        for module in _imports(line, "", ("",)):
            if module in root_modules:
                found.add(module)
    return frozenset(found)


def _import_lines(text: str) -> Iterator[str]:
    """Each line holding ``import`` (one pass over the text, not one per folder name)."""
    at = text.find("import")
    while at >= 0:
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        if end < 0:
            end = len(text)
        yield text[start:end]
        at = text.find("import", end)


def _imports(line: str, here: str, roots: Sequence[str]) -> Iterator[str]:
    """Module paths (``demo/tests/boot``) an import line may load, relative to the package root."""
    if found := _FROM.match(line):
        dots, module, names = found.group(1), found.group(2), found.group(3)
        if dots:
            base = here
            for _ in range(len(dots) - 1):
                base = base.rpartition("/")[0]
            bases = [f"{base}/{module.replace('.', '/')}".strip("/") if module else base]
        else:
            bases = [f"{root}{module.replace('.', '/')}" for root in roots]
        for base in bases:
            yield base
            for name in names.split(","):
                name = name.split(" as ")[0].strip()
                if name.isidentifier():
                    yield f"{base}/{name}".strip("/")
    elif found := _IMPORT.match(line):
        for module in found.group(1).split(","):
            dotted = module.split(" as ")[0].strip()
            yield from (f"{root}{dotted.replace('.', '/')}" for root in roots)


__all__ = [
    "NOT_IMPORTED_DIRS",
    "TEST_DIRS",
    "imported_by_setup",
    "imported_by_users",
    "imported_test_folders",
    "own_names",
    "within",
]
