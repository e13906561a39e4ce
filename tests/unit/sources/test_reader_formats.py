"""Every format through the reader: names, content, folders, --format-in and stdin."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from pipvet.errors import InputError
from pipvet.sources.markers import TargetEnvironment
from pipvet.sources.reader import detect_format, find_in_folder, read_source

LOCKS = Path(__file__).resolve().parents[2] / "fixtures" / "lockfiles"
TARGET = TargetEnvironment.for_target(python_version="3.11", platform="linux")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("uv.lock", "uv.lock"),
        ("poetry.lock", "poetry.lock"),
        ("Pipfile.lock", "Pipfile.lock"),
        ("pylock.toml", "pylock.toml"),
        ("pylock.dev.toml", "pylock.toml"),
        ("pyproject.toml", "pyproject.toml"),
        ("report.json", "pip-report"),
        ("requirements.txt", "requirements"),
    ],
)
def test_detection_by_name(name: str, expected: str) -> None:
    assert detect_format(Path(name)).name == expected


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("uv/uv.lock", "uv.lock"),
        ("poetry-1/poetry.lock", "poetry.lock"),
        ("pipenv/Pipfile.lock", "Pipfile.lock"),
        ("uv/pylock.toml", "pylock.toml"),
        ("uv/pyproject.toml", "pyproject.toml"),
        ("pip-report.json", "pip-report"),
    ],
)
def test_detection_by_content_when_the_name_says_nothing(tmp_path: Path, fixture: str, expected: str) -> None:
    renamed = tmp_path / "deps.lst"
    shutil.copyfile(LOCKS / fixture, renamed)
    parsed = read_source(renamed, TARGET)
    assert parsed.format == expected
    assert parsed.path == str(renamed)
    assert any(d.name == "idna" for d in parsed.dependencies)


def test_folder_prefers_the_lockfile_then_pyproject_then_requirements(tmp_path: Path) -> None:
    shutil.copyfile(LOCKS / "uv" / "requirements.txt", tmp_path / "requirements.txt")
    assert find_in_folder(tmp_path).name == "requirements.txt"
    shutil.copyfile(LOCKS / "uv" / "pyproject.toml", tmp_path / "pyproject.toml")
    assert find_in_folder(tmp_path).name == "pyproject.toml"
    shutil.copyfile(LOCKS / "pipenv" / "Pipfile.lock", tmp_path / "Pipfile.lock")
    assert find_in_folder(tmp_path).name == "Pipfile.lock"
    shutil.copyfile(LOCKS / "uv" / "uv.lock", tmp_path / "uv.lock")
    assert find_in_folder(tmp_path).name == "uv.lock"
    assert read_source(tmp_path, TARGET).format == "uv.lock"


def test_format_in_forces_a_format(tmp_path: Path) -> None:
    odd = tmp_path / "requirements.txt"
    shutil.copyfile(LOCKS / "uv" / "uv.lock", odd)
    assert read_source(odd, TARGET, fmt="uv.lock").format == "uv.lock"
    with pytest.raises(InputError) as err:
        read_source(odd, TARGET, fmt="Pipfile.lock")
    assert err.value.path == str(odd)
    assert err.value.line == 1


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = (LOCKS / "pip-report.json").read_bytes()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    parsed = read_source(Path("-"), TARGET)
    assert parsed.format == "pip-report"
    assert parsed.path == "-"
    assert {d.name for d in parsed.dependencies} >= {"idna", "urllib3", "six"}


def test_stdin_that_is_not_utf8(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"six==1.0\n\xff\n")))
    with pytest.raises(InputError) as err:
        read_source(Path("-"), TARGET)
    assert err.value.path == "-"
    assert err.value.line == 2


def test_format_in_choices_are_the_registered_formats() -> None:
    import click

    from pipvet.cli.audit import audit
    from pipvet.sources.reader import FORMATS

    option = next(p for p in audit.params if p.name == "format_in")
    assert isinstance(option.type, click.Choice)
    assert sorted(option.type.choices) == sorted(spec.name for spec in FORMATS)
