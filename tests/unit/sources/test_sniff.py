"""Content sniffing: every real fixture is recognised without its file name."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipvet.sources.sniff import sniff

LOCKS = Path(__file__).resolve().parents[2] / "fixtures" / "lockfiles"


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("uv/uv.lock", "uv.lock"),
        ("uv/pylock.toml", "pylock.toml"),
        ("uv/pyproject.toml", "pyproject.toml"),
        ("poetry-1/poetry.lock", "poetry.lock"),
        ("poetry-2/poetry.lock", "poetry.lock"),
        ("poetry-2/pyproject.toml", "pyproject.toml"),
        ("pipenv/Pipfile.lock", "Pipfile.lock"),
        ("pip-report.json", "pip-report"),
        ("uv/requirements.txt", None),
    ],
)
def test_real_files(fixture: str, expected: str | None) -> None:
    assert sniff((LOCKS / fixture).read_text()) == expected


@pytest.mark.parametrize("text", ["", "requests==2.0\n", "{}", "[[package]]\n", '{"x": 1}', "\ufeff  "])
def test_other_text_is_not_claimed(text: str) -> None:
    assert sniff(text) is None
