"""pyproject.toml: PEP 621, PEP 735 groups, Poetry tables, uv/poetry index configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipvet.errors import InputError
from pipvet.models import Resolved, Skipped
from pipvet.sources import pyproject
from pipvet.sources.findings import DIRECT_REF, INDEX_MIXING
from pipvet.sources.markers import TargetEnvironment

LOCKS = Path(__file__).resolve().parents[2] / "fixtures" / "lockfiles"
LINUX = TargetEnvironment.for_target(python_version="3.11", platform="linux")
PRIVATE = "http://127.0.0.1:38741/private/simple"
PINNED = {"colorama": "0.4.6", "idna": "3.6", "iniconfig": "2.0.0", "six": "1.16.0", "urllib3": "1.26.5"}


@pytest.mark.parametrize("project", ["uv", "poetry-1", "poetry-2"])
def test_real_projects(project: str) -> None:
    text = (LOCKS / project / "pyproject.toml").read_text()
    parsed = pyproject.parse(text, path="pyproject.toml", target=LINUX)
    resolved = {str(d.name): d for d in parsed.dependencies if isinstance(d, Resolved)}
    expected = dict(PINNED, pysocks="1.7.1") if project == "uv" else PINNED
    assert {n: d.version for n, d in resolved.items()} == expected
    assert resolved["six"].index_url == PRIVATE
    assert resolved["urllib3"].extras == ("socks",)
    assert resolved["colorama"].applies is False
    lines = text.splitlines()
    for dep in resolved.values():
        assert dep.name in lines[dep.origin.line - 1].lower()  # type: ignore[operator]
    (git,) = [d for d in parsed.dependencies if isinstance(d, Skipped)]
    assert git.name == "localgit"
    assert "git" in git.reason
    rules = sorted(f.rule for f in parsed.findings)
    # poetry 1.x "secondary" sources are searched for every package: the confusion setup
    assert rules == ([DIRECT_REF, INDEX_MIXING] if project == "poetry-1" else [DIRECT_REF])


PEP = """\
[project]
name = "x"
dependencies = [
    "requests>=2",
    "flask==2.0.1",
    "pkg @ https://127.0.0.1/pkg-1.0.tar.gz",
    "wild==1.*",
]

[project.optional-dependencies]
fast = ["ujson===5.0"]

[dependency-groups]
lint = ["ruff==0.5.0"]
test = ["pytest==8.0.0", {include-group = "lint"}]
all = [{include-group = "test"}, {include-group = "lint"}]
"""


def test_pep621_and_pep735() -> None:
    parsed = pyproject.parse(PEP, path="pyproject.toml", target=LINUX)
    by_name = {str(d.name): d for d in parsed.dependencies}
    assert isinstance(by_name["requests"], Skipped)
    assert "not pinned to an exact version (>=2)" in by_name["requests"].reason
    assert by_name["requests"].origin.line == 4
    assert isinstance(by_name["wild"], Skipped)
    assert isinstance(by_name["flask"], Resolved)
    assert by_name["flask"].version == "2.0.1"
    assert isinstance(by_name["ujson"], Resolved)
    assert by_name["ujson"].origin.line == 11
    assert isinstance(by_name["pytest"], Resolved)
    assert by_name["pytest"].origin.line == 15
    # included groups are expanded, and each requirement is listed once
    assert [str(d.name) for d in parsed.dependencies].count("ruff") == 1
    (direct,) = parsed.findings
    assert direct.rule == DIRECT_REF
    assert direct.line == 6


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (
            '[dependency-groups]\na = [{include-group = "b"}]\nb = [{include-group = "a"}]\n',
            2,
            "cycle a -> b -> a",
        ),
        ('[dependency-groups]\na = [{include-group = "zzz"}]\n', 2, "'zzz' is not defined"),
        ('[project]\ndependencies = [\n  "ok==1",\n  "bad ==<>",\n]\n', 4, "invalid requirement"),
        ('[project]\ndependencies = ["a==1; os_name =="]\n', 2, "invalid requirement"),
        ("[tool.poetry.dependencies]\npython = '^3.10'\nfoo = 3\n", 3, "foo: expected a version string"),
        ('[tool.poetry.dependencies]\nfoo = {version = "1.0", markers = "os_name =="}\n', 2, "marker"),
        ("[project\n", 1, "not valid TOML"),
    ],
)
def test_errors_name_file_and_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(InputError) as err:
        pyproject.parse(text, path="svc/pyproject.toml", target=LINUX)
    assert err.value.path == "svc/pyproject.toml"
    assert err.value.line == line
    assert fragment in str(err.value)


POETRY = """\
[tool.poetry.dependencies]
python = "^3.10"
exact = "1.2.3"
caret = "^1.2"
multi = [
    {version = "1.0", python = "<3.11"},
    {version = "2.0", python = ">=3.11"},
]
local = {path = "../local", develop = true}

[tool.poetry.dev-dependencies]
legacy = "==0.1"
"""


def test_poetry_constraints() -> None:
    parsed = pyproject.parse(POETRY, path="pyproject.toml", target=LINUX)
    got = [(str(d.name), getattr(d, "version", None), d.origin.line) for d in parsed.dependencies]
    assert got == [
        ("exact", "1.2.3", 3),
        ("caret", None, 4),
        ("multi", "1.0", 5),
        ("multi", "2.0", 5),
        ("local", None, 9),
        ("legacy", "0.1", 12),
    ]
    assert "not pinned to an exact version (^1.2)" in parsed.dependencies[1].reason  # type: ignore[union-attr]
    assert [f.rule for f in parsed.findings] == [DIRECT_REF]


UV_EXTRA_INDEX = """\
[project]
name = "x"
dependencies = ["a==1"]

[tool.uv]
extra-index-url = ["http://127.0.0.1:9/private/simple"]
"""


def test_extra_index_url_is_index_mixing() -> None:
    parsed = pyproject.parse(UV_EXTRA_INDEX, path="pyproject.toml", target=LINUX)
    (mixing,) = parsed.findings
    assert mixing.rule == INDEX_MIXING
    assert mixing.line == 6
    assert "(default index)" in mixing.message


def test_unpinned_and_direct_dependencies_keep_their_marker() -> None:
    text = (
        "[project]\ndependencies = [\n"
        "  \"pywin32>=300; sys_platform == 'win32'\",\n"
        "  \"x @ https://127.0.0.1/x.whl ; os_name == 'nt'\",\n]\n"
    )
    parsed = pyproject.parse(text, path="pyproject.toml", target=LINUX)
    assert [(type(d).__name__, d.marker, d.applies) for d in parsed.dependencies] == [
        ("Skipped", 'sys_platform == "win32"', False),
        ("Skipped", 'os_name == "nt"', False),
    ]


@pytest.mark.parametrize(
    ("constraint", "requirement"),
    [
        ("^1.2.3", "pkg>=1.2.3,<2.0.0"),
        ("^0.2.3", "pkg>=0.2.3,<0.3.0"),
        ("^0.0.3", "pkg>=0.0.3,<0.0.4"),
        ("~1.2.3", "pkg>=1.2.3,<1.3.0"),
        ("~1", "pkg>=1,<2.0"),
        ("1.2.*", "pkg==1.2.*"),
        (">= 1.2 < 2.0", "pkg>=1.2,<2.0"),
        ("*", "pkg"),
        ("^1.2 || ^2.0", "pkg ^1.2 || ^2.0"),
    ],
)
def test_poetry_ranges_become_pep508_requirements(constraint: str, requirement: str) -> None:
    parsed = pyproject.parse(f'[tool.poetry.dependencies]\npkg = "{constraint}"\n', path="p", target=LINUX)
    (dep,) = parsed.dependencies
    assert isinstance(dep, Skipped)
    assert dep.requirement == requirement
