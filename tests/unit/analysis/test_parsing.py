"""Parsing code newer than the running interpreter: Python 3.14's ``except A, B:``."""

from __future__ import annotations

import ast
import gc

from pipvet.analysis.limits import DEFAULT_LIMITS
from pipvet.analysis.parsing import parenthesize_except, parse_python


def test_unparenthesized_except_of_python_3_14_parses() -> None:
    source = (
        "import requests\n"
        "try:\n"
        "    response = requests.get(URL)\n"
        "except requests.Timeout, requests.ConnectionError:  # PEP 758\n"
        "    response = None\n"
    )
    tree, error = parse_python(source, "acme/flow.py", DEFAULT_LIMITS)
    assert error is None
    assert tree is not None
    [handler] = [n for n in ast.walk(tree) if isinstance(n, ast.ExceptHandler)]
    assert isinstance(handler.type, ast.Tuple)
    assert len(handler.type.elts) == 2
    assert handler.lineno == 4


def test_python_2_stays_unparsed_and_keeps_its_reason() -> None:
    source = "try:\n    x()\nexcept ValueError, e:\n    print e\n"
    tree, error = parse_python(source, "old.py", DEFAULT_LIMITS)
    assert tree is None
    assert error == "line 3: multiple exception types must be parenthesized"


def test_only_clauses_without_as_are_rewritten() -> None:
    assert parenthesize_except("try:\n    pass\nexcept (A, B) as e:\n    pass\n") is None
    assert parenthesize_except("try:\n    pass\nexcept A, B as e:\n    pass\n") is None
    both = parenthesize_except("def f[T](x: T):\n    try:\n        x()\n    except A, B:\n        pass\n")
    assert both is not None
    assert "except(A, B):" in both
    tree, error = parse_python(
        "def f[T](x: T):\n    try:\n        x()\n    except A, B:\n        pass\n", "t.py", DEFAULT_LIMITS
    )
    assert tree is not None
    assert error is None


def test_a_failed_parse_leaves_nothing_for_the_cycle_collector() -> None:
    """The engine pauses the cyclic collector while it analyses: an exception kept in a local
    would tie the callers' frames, and with them the whole archive, into a cycle."""
    gc.collect()
    gc.disable()
    try:
        for source in ("def broken(:\n", "try:\n    pass\nexcept A, B:\n    pass\nprint 1\n"):
            tree, reason = parse_python(source, "x.py", DEFAULT_LIMITS)
            assert tree is None
            assert reason
        assert gc.collect() == 0
    finally:
        gc.enable()
