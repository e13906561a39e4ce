"""Where a file sits says whether it ever runs for a user of the package.

Test suites, documentation, examples and maintainer tools travel in sdists but are neither
installed nor imported: ``pip install`` builds the package, ``import pkg`` loads the package.
Code there runs only when a developer runs it on purpose.
"""

from __future__ import annotations

import functools

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
    ``tools`` or ``demo`` ships its code in ``tools/`` or ``demo/``, and users import it."""
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


__all__ = ["NOT_IMPORTED_DIRS", "TEST_DIRS", "imported_by_users", "own_names"]
