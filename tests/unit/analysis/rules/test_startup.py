"""Start-up rules: executable .pth lines and shipped sitecustomize modules."""

from __future__ import annotations

from rulekit import ids, package, py, run, text

from pipvet.analysis.context import FileKind
from pipvet.analysis.rules.startup import RULES
from pipvet.models import Severity, Stage

# The shapes setuptools writes (namespaces.py template; distutils-precedence.pth; editable finder).
NSPKG = (
    "import sys, types, os;p = os.path.join(sys._getframe(1).f_locals['sitedir'], *('acme',));"
    "importlib = __import__('importlib.util');__import__('importlib.machinery');"
    "m = sys.modules.setdefault('acme', importlib.util.module_from_spec("
    "importlib.machinery.PathFinder.find_spec('acme', [os.path.dirname(p)])));"
    "m = m or sys.modules.setdefault('acme', types.ModuleType('acme'));"
    "mp = (m or []) and m.__dict__.setdefault('__path__',[]);(p not in mp) and mp.append(p)\n"
)
DISTUTILS = (
    "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'local') == 'local'; "
    "enabled and __import__('_distutils_hack').add_shim(); \n"
)


def _pth(content: str, members: tuple[str, ...] = ()) -> list:  # type: ignore[type-arg]
    file = text(content, path="evil.pth", kind=FileKind.PTH, stage=Stage.STARTUP)
    return run(RULES, file, package(members=members, is_wheel=True))


def test_pth_that_decodes_and_executes_is_critical() -> None:
    findings = _pth("import base64; exec(base64.b64decode('cHJpbnQoMSk='))\n")
    assert ids(findings) == {"PV-PTH-001"}
    assert findings[0].severity is Severity.CRITICAL
    assert findings[0].stage is Stage.STARTUP


def test_pth_spawning_a_process_is_critical() -> None:
    findings = _pth("/some/path\nimport subprocess; subprocess.Popen(['sh', '-c', 'id'])\n")
    assert findings[0].severity is Severity.CRITICAL
    assert findings[0].line == 2


def test_setuptools_housekeeping_lines_are_quiet() -> None:
    assert _pth(NSPKG) == []
    assert _pth(DISTUTILS) == []
    assert _pth("src/acme\n../lib\n# comment\n") == []


def test_start_up_hook_of_a_shipped_module_stays_informational() -> None:
    findings = _pth(
        "import __editable___acme_finder; __editable___acme_finder.install()\n",
        members=("__editable___acme_finder.py",),
    )
    assert [f.severity for f in findings] == [Severity.INFO]
    foreign = _pth("import notshipped; notshipped.go()\n", members=("acme/__init__.py",))
    assert foreign[0].severity is Severity.MEDIUM


def test_sitecustomize_at_top_level_is_high_and_nested_is_low() -> None:
    top = run(RULES, py("x = 1\n", path="sitecustomize.py", stage=Stage.STARTUP), package(is_wheel=True))
    assert [f.severity for f in top] == [Severity.HIGH]
    nested = run(RULES, py("x = 1\n", path="acme/tools/sitecustomize.py"), package(is_wheel=True))
    assert [f.severity for f in nested] == [Severity.LOW]
    assert run(RULES, py("x = 1\n", path="acme/customize.py")) == []


def test_exec_of_visible_source_is_judged_by_that_source() -> None:
    hook = (
        'import sys; exec(\'import os\\nif os.getenv("COV_START"):\\n import acme\\n '
        "acme.process_startup()')\n"
    )
    benign = _pth(hook, members=("acme/__init__.py",))
    assert [f.severity for f in benign] == [Severity.INFO]
    hostile = _pth("import sys; exec('import os; os.system(\"id\")')\n", members=("acme/__init__.py",))
    assert hostile[0].severity is Severity.CRITICAL


def test_message_names_the_exec_and_the_gravest_calls_around_it() -> None:
    line = (
        'import os, shutil, subprocess; exec(\'open("/tmp/x", "w").write("1")\'); '
        "shutil.copy2('a', 'b'); subprocess.run(['id']); os.remove('c'); os.rename('d', 'e'); "
        "shutil.move('f', 'g'); open('h', 'w').write('i')\n"
    )
    [finding] = _pth(line)
    assert finding.severity is Severity.CRITICAL
    # exec first (with what its code does), then running a program, then the writes.
    assert "calls exec (of code that calls open), subprocess.run, " in finding.message
    assert "(and 1 more)" in finding.message


def test_module_handed_in_as_a_default_parameter_is_still_seen() -> None:
    line = "import subprocess; (lambda _s=subprocess: _s.Popen(['sh', '-c', 'id']))()\n"
    [finding] = _pth(line)
    assert finding.severity is Severity.CRITICAL
    assert "subprocess.Popen" in finding.message


def test_code_filled_in_from_the_environment_is_judged_by_its_template() -> None:
    """manhole's start-up hook evals a call its own module offers, with arguments from an
    environment variable; whoever sets the environment can already run code at start-up."""
    hook = (
        'import os, sys;exec(\'if "ACME_HOOK" in os.environ:\\n try:\\n  from acme import install\\n'
        '  eval("install({0[ACME_HOOK]})".format(os.environ))\\n except Exception:\\n  pass\\n\')\n'
    )
    found = [f for f in _pth(hook, members=("acme/__init__.py",)) if f.rule.startswith("PV-PTH")]
    assert [f.severity for f in found] == [Severity.MEDIUM]
    assert "environment variable" in found[0].message
    hostile = hook.replace("install({0[ACME_HOOK]})", "__import__('os').system({0[ACME_HOOK]})")
    found = [f for f in _pth(hostile, members=("acme/__init__.py",)) if f.rule.startswith("PV-PTH")]
    assert [f.severity for f in found] == [Severity.CRITICAL]
    raw = "import os;exec(os.environ.get('ACME_HOOK', ''))\n"  # no template: any code at all
    assert [f.severity for f in _pth(raw) if f.rule.startswith("PV-PTH")] == [Severity.CRITICAL]
