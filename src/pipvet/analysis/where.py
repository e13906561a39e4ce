"""Where a file sits says whether it ever runs for a user of the package.

Test suites, documentation, examples and maintainer tools travel in sdists but are neither
installed nor imported: ``pip install`` builds the package, ``import pkg`` loads the package.
Code there runs only when a developer runs it on purpose.
"""

from __future__ import annotations

import functools
import re
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


#: A call at the start of a line, perhaps assigned (``x = go(``, ``run.boot(``): name and attribute.
_CALL_AT_LINE_START = LazyPattern(
    r"[ \t]*(?:[\w.]+[ \t]*=[ \t]*)?([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?[ \t]*\("
)
#: ``if __name__ == "__main__":``: a body that importing the module never runs.
_MAIN_GUARD = LazyPattern(r"[ \t]*if[ \t]+__name__[ \t]*==")
#: Block headers whose body runs where the header runs (not a ``def``, ``class`` or ``lambda``).
_INLINE_BLOCK = LazyPattern(r"[ \t]*(?:try|except|else|finally|if|elif|with|for|while|async[ \t]+with)\b")


def called_on_load(text: str, here: str, roots: Sequence[str]) -> Iterator[tuple[str, str]]:
    """(module path, name) of the package's own functions and classes that this module calls
    while it loads: ``from .env import prepare`` then ``prepare()`` at the top level (also in a
    top-level ``try``/``if``/``with`` block), or ``from . import env`` (``import env``) then
    ``env.prepare()``.

    ``here`` is the module's folder relative to the package root; ``roots`` where absolute
    imports start. Read from the text, without parsing: ``__init__.py`` calling a helper module
    is how a payload gets out of the file that a reviewer opens first."""
    bound: dict[str, list[tuple[str, str | None]]] = {}
    for line in _import_lines(text):
        if found := _FROM.match(line):
            dots, module, names = found.group(1), found.group(2), found.group(3)
            for base in module_bases(dots, module, here, roots):
                for part in names.split(","):
                    name, _, alias = part.strip().partition(" as ")
                    name, alias = name.strip(), (alias.strip() or name.strip())
                    if name.isidentifier() and alias.isidentifier():
                        bound.setdefault(alias, []).append((base, name))
        elif found := _IMPORT.match(line):
            for module in found.group(1).split(","):
                dotted, _, alias = module.strip().partition(" as ")
                dotted, alias = dotted.strip(), alias.strip() or dotted.strip()
                if alias.isidentifier():  # ``import env as e``, ``import env`` (not ``import a.b``)
                    for root in roots:
                        bound.setdefault(alias, []).append((f"{root}{dotted.replace('.', '/')}", None))
    if not bound:
        return
    for line in _top_level_lines(text):
        found = _CALL_AT_LINE_START.match(line)
        if found is None or found.group(1) not in bound:
            continue
        attribute = found.group(2)
        for base, name in bound[found.group(1)]:
            if name is None:  # ``import pkg.env as env``: ``env.prepare()``
                if attribute:
                    yield base, attribute
            elif attribute is None:  # ``from .env import prepare``: ``prepare()``
                yield base, name
            else:  # ``from . import env``: ``env.prepare()``
                yield f"{base}/{name}".strip("/"), attribute


def module_bases(dots: str, module: str, here: str, roots: Sequence[str]) -> list[str]:
    """The paths (without ``.py``) that ``from DOTS MODULE import ...`` in a module of the folder
    ``here`` may load: relative to ``here`` with leading dots, else under each of ``roots``."""
    if dots:
        base = here
        for _ in range(len(dots) - 1):
            base = base.rpartition("/")[0]
        return [f"{base}/{module.replace('.', '/')}".strip("/") if module else base]
    return [f"{root}{module.replace('.', '/')}" for root in roots]


def called_at_top_level(text: str, name: str) -> bool:
    """Whether a line that runs as the module loads (:func:`_top_level_lines`) calls ``name``."""
    call = re.compile(rf"\b{re.escape(name)}\s*\(")
    return any(
        call.search(line) and not line.lstrip().startswith(("def ", "async def ", "class "))
        for line in _top_level_lines(text)
    )


def _top_level_lines(text: str) -> Iterator[str]:
    """Lines that run as the module loads: not in a ``def`` or ``class`` body (blocks are told by
    indentation; lines inside brackets or strings may be misread, which only adds candidates
    that must still name an imported function)."""
    headers: list[tuple[int, bool]] = []  # (indent, body runs here) of the enclosing block headers
    for line in text.splitlines():
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        while headers and headers[-1][0] >= indent:
            headers.pop()
        inline = all(runs for _, runs in headers)
        if inline and (indent == 0 or headers):
            yield line
        if stripped.rstrip().endswith(":"):
            runs = _INLINE_BLOCK.match(line) is not None and _MAIN_GUARD.match(line) is None
            headers.append((indent, inline and runs))


__all__ = [
    "NOT_IMPORTED_DIRS",
    "TEST_DIRS",
    "called_at_top_level",
    "called_on_load",
    "imported_by_setup",
    "imported_by_users",
    "imported_test_folders",
    "own_names",
    "within",
]
