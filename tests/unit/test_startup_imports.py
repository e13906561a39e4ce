"""Start-up stays lean: a fast path imports only what it uses.

Each test runs a real command in a fresh interpreter and lists the modules it loaded. Modules
that only other paths need (the index client, the database, a fork, a config file, suggestions
for a mistyped option) are imported inside the functions that use them; these tests make sure
a later top-level import does not quietly bring them back. No timing is asserted
(``bench/startup.py`` prints the figures).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

LIST_MODULES = (
    "import contextlib, io, json, sys\n"
    "from pipvet.cli import main\n"
    "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
    "    code = main(sys.argv[1:])\n"
    "print(json.dumps({'code': code, 'output': out.getvalue(), 'modules': sorted(sys.modules)}))\n"
)

#: Never needed to inspect a local folder (nor to print the version).
NOT_FOR_LOCAL_INSPECT = (
    "concurrent.futures",
    "difflib",
    "httpx",
    "multiprocessing",
    "packaging",
    "pickle",
    "pipvet.analysis.forked",
    "pipvet.analysis.names",
    "pipvet.index",
    "pipvet.vulndb",
    "rich",
    "sqlite3",
    "tempfile",
    "tomllib",
)

#: Not needed to print the version, in addition to the above.
NOT_FOR_VERSION = (
    *NOT_FOR_LOCAL_INSPECT,
    "dataclasses",
    "pipvet.analysis",
    "pipvet.config",
    "pipvet.inspection",
    "pipvet.models",
    "pipvet.policy",
    "pipvet.report",
)


def _run(args: list[str], cwd: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPVET_")}
    env["HOME"] = str(cwd)  # no user configuration, and a cache folder without platformdirs
    env.pop("XDG_CACHE_HOME", None)
    proc = subprocess.run(
        [sys.executable, "-c", LIST_MODULES, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def _loaded(modules: object, names: tuple[str, ...]) -> list[str]:
    assert isinstance(modules, list)
    return [m for m in modules if any(m == n or m.startswith(n + ".") for n in names)]


def test_version_imports_neither_the_models_nor_the_analysis(tmp_path: Path) -> None:
    run = _run(["--version"], tmp_path)
    assert run["code"] == 0
    assert "0." in str(run["output"])
    modules = run["modules"]
    assert isinstance(modules, list)
    assert "pipvet.errors" in modules  # the probe did run the CLI
    assert _loaded(modules, NOT_FOR_VERSION) == []


def test_inspect_of_a_local_folder_imports_only_the_analysis(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "mod.py").write_text('"""A tiny module."""\n\nimport os\n\nHERE = os.getcwd()\n')
    run = _run(["inspect", "--quiet", "--format", "json", str(package)], tmp_path)
    assert run["code"] == 0
    report = json.loads(str(run["output"]))
    assert [r["verdict"] for r in report["results"]] == ["clean"]
    modules = run["modules"]
    assert isinstance(modules, list)
    assert "pipvet.analysis.engine" in modules  # the folder was analysed in this process
    assert _loaded(modules, NOT_FOR_LOCAL_INSPECT) == []
    if sys.platform == "linux":  # elsewhere the cache folder comes from platformdirs
        assert _loaded(modules, ("platformdirs",)) == []


@pytest.mark.parametrize("module", ["pipvet.cli.inspect", "pipvet.inspection", "pipvet.analysis.engine"])
def test_importing_the_inspect_path_imports_no_pickle_or_index(module: str, tmp_path: Path) -> None:
    code = f"import json, sys\nimport {module}\nprint(json.dumps(sorted(sys.modules)))\n"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True, timeout=120
    )
    assert _loaded(json.loads(proc.stdout), NOT_FOR_LOCAL_INSPECT) == []


def test_the_console_entry_point_freezes_the_collector_before_exiting(tmp_path: Path) -> None:
    """``run()`` leaves every object to the permanent generation, so exiting does not walk them."""
    code = (
        "import atexit, gc, sys\n"
        "from pipvet.cli import run\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0, file=sys.stderr))\n"
        "sys.argv = ['pipvet', '--version']\n"
        "run()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False, timeout=120
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith("pipvet, version ")
    assert proc.stderr.strip() == "frozen True"
