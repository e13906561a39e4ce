"""Which files users run: tests, docs and maintainer tools ship in sdists but never load."""

from __future__ import annotations

import pytest

from pipvet.analysis.where import (
    called_at_top_level,
    called_on_load,
    imported_by_setup,
    imported_by_users,
    imported_test_folders,
    own_names,
)


@pytest.mark.parametrize(
    "path",
    [
        "demo-1.0/tests/test_x.py",
        "demo-1.0/runtests.py",
        "demo-1.0/bin/demo_freeze",
        "demo-1.0/devscripts/check.py",  # yt-dlp's maintainer scripts
        "demo-1.0/release/windows/make_portable.py",  # hatch's release tooling
        "demo-1.0/dev/memmonitor.py",
        "demo/script/quitserver.py",
        "demo/_core/tests/helpers.py",
    ],
)
def test_not_imported(path: str) -> None:
    assert not imported_by_users(path)


@pytest.mark.parametrize(
    "path",
    ["pkg-1.0/pkg/__init__.py", "pkg/core/utils/bin/tool.py", "pkg/devices.py", "pkg/scripting.py"],
)
def test_imported(path: str) -> None:
    assert imported_by_users(path)


@pytest.mark.parametrize(
    ("project", "path"),
    [
        ("demo", "demo-1.0/demo/__init__.py"),
        ("Tools", "tools-2.0/tools/net.py"),
        ("dev", "dev/core.py"),  # a wheel's root folder
    ],
)
def test_a_project_named_like_a_tools_folder_is_imported(project: str, path: str) -> None:
    assert not imported_by_users(path)
    assert imported_by_users(path, own_names(project))


def test_own_folder_does_not_excuse_tests() -> None:
    assert not imported_by_users("tools-1.0/tools/tests/helpers.py", own_names("tools"))
    assert not imported_by_users("demo-1.0/examples/run.py", own_names("demo"))
    assert own_names(None) == frozenset()
    assert own_names("my-tools.x") == {"my_tools_x"}


def test_test_folders_the_package_imports_are_found_from_its_import_lines() -> None:
    folders = {
        "demo/tests": "demo-1.0/demo/tests",
        "demo/sub/testing": "demo-1.0/demo/sub/testing",
        "tests": "demo-1.0/tests",
        "docs": "demo-1.0/docs",
    }
    found = imported_test_folders(
        folders,
        [
            ("demo/__init__.py", "from .tests import boot\n"),
            (
                "demo/sub/mod.py",
                '"""Use demo.sub.testing for checks."""\nfrom demo.sub.testing import helpers as h\n',
            ),
        ],
        ("",),
    )
    assert found == {"demo-1.0/demo/tests", "demo-1.0/demo/sub/testing"}
    relative = imported_test_folders(folders, [("demo/__init__.py", "from . import api, tests\n")], ("",))
    assert relative == {"demo-1.0/demo/tests"}
    src = imported_test_folders(
        {"src/demo/tests": "x/src/demo/tests"}, [("src/demo/a.py", "import demo.tests.boot\n")], ("src/",)
    )
    assert src == {"x/src/demo/tests"}
    # a docstring or a comment that mentions the folder imports nothing
    assert (
        imported_test_folders(
            folders, [("demo/a.py", "# see demo.tests and .tests\nx = 'import tests'\n")], ("",)
        )
        == set()
    )


def test_a_folder_path_in_own_counts_as_imported_by_users() -> None:
    assert not imported_by_users("demo-1.0/demo/tests/boot.py")
    assert imported_by_users("demo-1.0/demo/tests/boot.py", frozenset({"demo", "demo-1.0/demo/tests"}))
    assert not imported_by_users("demo-1.0/demo/tests2/boot.py", frozenset({"demo-1.0/demo/tests"}))
    assert not imported_by_users("demo-1.0/demo/tests/data/page.gz", frozenset({"demo-1.0/demo/tests"}))


def test_the_root_modules_setup_imports_are_found_in_every_import_form() -> None:
    roots = frozenset({"helper", "versioneer", "other"})
    text = "import os, versioneer\nfrom helper import go as run\nimport setuptools\n# import other\n"
    assert imported_by_setup(text, roots) == {"helper", "versioneer"}
    assert imported_by_setup("from setuptools import setup\nsetup()\n", roots) == frozenset()


def test_functions_of_sibling_modules_called_as_a_module_loads() -> None:
    text = (
        '"""Package."""\n'
        "from .env import prepare, other as alias\n"
        "from . import tools\n"
        "import demo.net as net\n"
        "from .cli import main\n"
        "try:\n    prepare()\nexcept Exception:\n    pass\n"
        "x = tools.boot(1)\n"
        "net.ping()\n"
        "def f():\n    alias()\n"
        "if __name__ == '__main__':\n    main()\n"
        "class K:\n    def m(self):\n        tools.run()\n"
    )
    found = set(called_on_load(text, "demo", ("",)))
    assert found == {("demo/env", "prepare"), ("demo/tools", "boot"), ("demo/net", "ping")}
    assert set(called_on_load("from .env import prepare\n", "demo", ("",))) == set()


def test_a_call_counts_at_top_level_in_blocks_that_run_on_load_only() -> None:
    text = "def go():\n    pass\ntry:\n    x = go()\nexcept OSError:\n    pass\n"
    assert called_at_top_level(text, "go")
    guarded = "def go():\n    pass\nif __name__ == '__main__':\n    go()\n"
    assert not called_at_top_level(guarded, "go")
    assert not called_at_top_level("def go():\n    return go()\n", "go")
