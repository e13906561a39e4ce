"""Property tests: any input gives a ParsedSource or an InputError naming the file, never a crash.

Three kinds of input per format: arbitrary text, the real fixture with lines dropped, repeated or
altered, and (for the structured formats) the fixture's decoded data with one value replaced by
an arbitrary one and re-encoded. ``PV_EXAMPLES=1500`` runs a longer search.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipvet.errors import InputError
from pipvet.sources import (
    ParsedSource,
    pipfilelock,
    pipreport,
    poetrylock,
    pylock,
    pyproject,
    requirements,
    uvlock,
)
from pipvet.sources.markers import TargetEnvironment

LOCKS = Path(__file__).resolve().parents[2] / "fixtures" / "lockfiles"
TARGET = TargetEnvironment.for_target(python_version="3.11", platform="linux")
PATH = "some/dir/input.file"

Parser = Callable[..., ParsedSource]


def _pylock_builtin(text: str, *, path: str, target: TargetEnvironment) -> ParsedSource:
    return pylock.parse(text, path=path, target=target, use_packaging=False)


FORMATS: list[tuple[str, Parser, Path]] = [
    ("uv.lock", uvlock.parse, LOCKS / "uv" / "uv.lock"),
    ("poetry-2", poetrylock.parse, LOCKS / "poetry-2" / "poetry.lock"),
    ("poetry-1", poetrylock.parse, LOCKS / "poetry-1" / "poetry.lock"),
    ("Pipfile.lock", pipfilelock.parse, LOCKS / "pipenv" / "Pipfile.lock"),
    ("pylock", pylock.parse, LOCKS / "uv" / "pylock.toml"),
    ("pylock-builtin", _pylock_builtin, LOCKS / "uv" / "pylock.toml"),
    ("pip-report", pipreport.parse, LOCKS / "pip-report.json"),
    ("pyproject-uv", pyproject.parse, LOCKS / "uv" / "pyproject.toml"),
    ("pyproject-poetry", pyproject.parse, LOCKS / "poetry-1" / "pyproject.toml"),
    ("requirements", requirements.parse, LOCKS / "uv" / "requirements.txt"),
]
IDS = [f[0] for f in FORMATS]
STRUCTURED = [f for f in FORMATS if f[0] != "requirements"]  # requirements: covered by line edits
SETTINGS = settings(
    max_examples=int(os.environ.get("PV_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _check(parser: Parser, text: str) -> None:
    error: InputError | None = None
    try:
        result = parser(text, path=PATH, target=TARGET)
    except InputError as exc:
        error = exc
    if error is not None:
        assert error.path == PATH
        assert str(error).startswith(PATH)
        # pip (and the requirements parser) count lines like str.splitlines(), TOML/JSON by "\n"
        last = max(text.count("\n"), len(text.splitlines())) + 1
        assert error.line is None or 1 <= error.line <= last
        return
    assert isinstance(result, ParsedSource)
    assert result.path == PATH
    for dep in result.dependencies:
        assert dep.origin.path == PATH


@pytest.mark.parametrize(("label", "parser", "fixture"), FORMATS, ids=IDS)
@SETTINGS
@given(text=st.text(max_size=400))
def test_arbitrary_text(label: str, parser: Parser, fixture: Path, text: str) -> None:
    _check(parser, text)


@pytest.mark.parametrize(("label", "parser", "fixture"), FORMATS, ids=IDS)
@SETTINGS
@given(data=st.data())
def test_mutated_fixture_lines(label: str, parser: Parser, fixture: Path, data: st.DataObject) -> None:
    lines = fixture.read_text().splitlines()
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        i = data.draw(st.integers(0, len(lines) - 1), label="line")
        action = data.draw(st.sampled_from(["drop", "repeat", "replace", "splice"]), label="action")
        if action == "drop":
            del lines[i]
        elif action == "repeat":
            lines.insert(i, lines[i])
        elif action == "replace":
            lines[i] = data.draw(st.text(max_size=60), label="new line")
        else:
            cut = data.draw(st.integers(0, len(lines[i])), label="cut")
            lines[i] = lines[i][:cut] + data.draw(st.text(max_size=10), label="insert") + lines[i][cut:]
        if not lines:
            break
    _check(parser, "\n".join(lines))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: (_replace(v, rest, new) if k == head else v) for k, v in value.items()}
    return [(_replace(v, rest, new) if i == head else v) for i, v in enumerate(value)]


def _toml_dump(value: Any) -> str:
    """A tiny TOML writer: everything as inline values under top-level keys (enough for fuzzing)."""

    def inline(v: Any) -> str:
        if v is None:
            return '""'
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return str(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(inline(i) for i in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(str(k))} = {inline(i)}" for k, i in v.items()) + "}"
        return json.dumps(str(v))

    if not isinstance(value, dict):
        return f"x = {inline(value)}\n"
    return "".join(f"{json.dumps(str(k))} = {inline(v)}\n" for k, v in value.items())


def _decoded(fixture: Path) -> Any:
    text = fixture.read_text()
    if fixture.suffix == ".json" or fixture.name == "Pipfile.lock":
        return json.loads(text)
    from pipvet.sources._common import load_toml

    return json.loads(json.dumps(load_toml(text, path=str(fixture)), default=str))


@pytest.mark.parametrize(("label", "parser", "fixture"), STRUCTURED, ids=[f[0] for f in STRUCTURED])
@SETTINGS
@given(data=st.data())
def test_structural_mutation(label: str, parser: Parser, fixture: Path, data: st.DataObject) -> None:
    decoded = _decoded(fixture)
    paths = _paths(decoded)
    where = data.draw(st.sampled_from(paths), label="path")
    mutated = _replace(decoded, where, data.draw(JSON_VALUES, label="value"))
    is_json = fixture.suffix == ".json" or fixture.name == "Pipfile.lock"
    _check(parser, json.dumps(mutated, indent=2) if is_json else _toml_dump(mutated))


REQUIREMENT_LINES = st.lists(
    st.one_of(
        st.text(alphabet="abcxyz-_.[],;=<>!~*@:/ '\"\\#\t+0123456789", max_size=40),
        st.sampled_from(
            [
                "-r other.txt",
                "-c constraints.txt",
                "--hash=sha256:00",
                "-e ./pkg",
                "--index-url http://127.0.0.1:9/simple",
                "--extra-index-url http://127.0.0.1:9/private",
                "pkg @ git+https://127.0.0.1/pkg.git",
                "six==1.16.0 ; python_version < '3'",
                "a[b]==1 \\",
                "    --hash=sha256:ab",
            ]
        ),
    ),
    max_size=8,
)


@SETTINGS
@given(lines=REQUIREMENT_LINES, included=st.text(max_size=60))
def test_requirements_lines_with_includes(lines: list[str], included: str) -> None:
    """Any mix of pip's syntax (includes answered by a loader) parses or fails naming file and line."""

    def load(reference: str, including: str, line: int) -> tuple[str, str]:
        return included, f"some/dir/{reference}"

    text = "\n".join(lines)
    error: InputError | None = None
    try:
        result = requirements.parse(text, path=PATH, target=TARGET, load=load)
    except InputError as exc:
        error = exc
    if error is not None:
        assert error.path is not None
        assert error.path == PATH or error.path.startswith("some/dir/")
        return
    assert result.path == PATH
