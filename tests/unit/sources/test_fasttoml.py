"""The fast lockfile TOML reader: whenever it answers, tomllib must give the same value."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipvet.sources import _fasttoml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LOCKS = Path(__file__).resolve().parents[2] / "fixtures" / "lockfiles"
TOML_FIXTURES = sorted(
    p for p in LOCKS.rglob("*") if p.suffix in (".lock", ".toml") and p.name != "Pipfile.lock"
)


def _reference(text: str) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = tomllib.loads(text)
        return data
    except tomllib.TOMLDecodeError:
        return None


def _agrees(text: str) -> None:
    fast = _fasttoml.loads(text)
    if fast is None:
        return  # outside the subset: the caller uses tomllib
    assert fast == _reference(text)


@pytest.mark.parametrize("fixture", TOML_FIXTURES, ids=[str(p.relative_to(LOCKS)) for p in TOML_FIXTURES])
def test_real_lockfiles_take_the_fast_path_and_agree(fixture: Path) -> None:
    text = fixture.read_text()
    fast = _fasttoml.loads(text)
    assert fast is not None
    assert fast == tomllib.loads(text)


@pytest.mark.parametrize(
    "text",
    [
        'a = """multi\nline"""\n',
        "a.b = 1\n",
        "[a]\nx = 1\n[a]\ny = 2\n",
        "a = { x = 1, x = 2 }\n",
        "a = { x = 1,\n y = 2 }\n",
        "a = [1\nb = 2], 3\n",
        "a = null\n",
        "a = NaN\n",
        'a = "\\/"\n',
        'a = "\\ud800"\n',
        "a = 1_000\n",
        "a = 0x10\n",
        "a = [1, 2] # note\n",
        "a = 1\na = 2\n",
        "a = inf\n",
    ],
)
def test_outside_the_subset_or_invalid_is_left_to_tomllib(text: str) -> None:
    fast = _fasttoml.loads(text)
    assert fast is None or fast == _reference(text)
    if _reference(text) is None:
        assert fast is None


def test_values_of_every_kind() -> None:
    text = (
        "title = \"x\"\nlit = 'C:\\path'\nn = -3\nf = 1.5e3\nt = true\n"
        "when = 2024-01-02T03:04:05.1234567Z\nday = 2024-01-02\nclock = 07:08:09\n"
        "local = 2024-01-02 03:04:05\n"
        '[[p]]\nname = "a"\nwheels = [\n    { url = "u", hash = "h" },\n]\n[p.extra]\nk = [1, [2, 3]]\n'
        '[[p]]\n"quoted key" = { "in line" = \'v\', e = [] }\n'
    )
    fast = _fasttoml.loads(text)
    assert fast is not None
    assert fast == tomllib.loads(text)


KEYS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,6}", fullmatch=True)
SCALARS = (
    st.integers(-(10**6), 10**6)
    | st.booleans()
    | st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
    | st.datetimes().map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=6,
)


def _dump(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        out = value.replace("\\", "\\\\").replace('"', '\\"')
        out = "".join(c if c >= " " and c != "\x7f" else f"\\u{ord(c):04x}" for c in out)
        return f'"{out}"'
    if isinstance(value, list):
        return "[" + ", ".join(_dump(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_dump(v)}" for k, v in value.items()) + "}"
    return value.isoformat()  # type: ignore[no-any-return]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    doc=st.dictionaries(KEYS, VALUES, max_size=5),
    tables=st.lists(st.dictionaries(KEYS, VALUES, max_size=3), max_size=3),
)
# A string holding NUL and "dt:" once read as the marker the fast path gives datetimes.
@example(doc={"A": [datetime.datetime(2000, 1, 1)]}, tables=[{"A": "\x00dt:"}])
def test_generated_documents_agree(doc: dict[str, Any], tables: list[dict[str, Any]]) -> None:
    text = "".join(f"{k} = {_dump(v)}\n" for k, v in doc.items())
    for t in tables:
        text += "\n[[package]]\n" + "".join(f"{k} = {_dump(v)}\n" for k, v in t.items())
    expected = tomllib.loads(text)
    fast = _fasttoml.loads(text)
    # the fast reader may decline (e.g. a backslash it does not vouch for); if it answers, it agrees
    assert fast is None or fast == expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_lockfiles_agree(data: st.DataObject) -> None:
    fixture = data.draw(st.sampled_from(TOML_FIXTURES), label="fixture")
    text = fixture.read_text()
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        pos = data.draw(st.integers(0, len(text)), label="pos")
        cut = data.draw(st.integers(0, 8), label="cut")
        insert = data.draw(st.text(alphabet="[]{}\",='\n #\\.-0123456789abtrue", max_size=6), label="insert")
        text = text[:pos] + insert + text[pos + cut :]
    _agrees(text)


@pytest.mark.parametrize("text", ["a = { k  = 1 }\n", "a = { k\t= 1, j =2 }\n", "a = {k=1,j= 2}\n"])
def test_spacing_around_inline_keys(text: str) -> None:
    fast = _fasttoml.loads(text)
    assert fast is not None
    assert fast == tomllib.loads(text)
