"""setup.py branches that only a maintainer's own command line reaches.

Old setup scripts carry release helpers: ``if sys.argv[-1] == "publish": os.system("twine
upload dist/*")``. pip never passes such a word: it runs setup.py with a setuptools command
(``egg_info``, ``bdist_wheel``, ``install`` ...) followed by options and paths. A branch that
runs only when ``sys.argv`` holds another plain word therefore never runs on install.

Conservative by construction: only the *body* of ``==``/``in`` tests counts (never ``!=``,
``not in`` or ``else``), only plain words that are no setuptools command, only ``sys.argv`` or a
name bound once to a part of it, and nothing at all when the script changes ``sys.argv`` itself.
"""

from __future__ import annotations

import ast
import re

from pipvet.analysis.lazyre import LazyPattern

#: Words pip or a PEP 517 setuptools backend can put on setup.py's command line.
PIP_COMMANDS: frozenset[str] = frozenset(
    {
        "install",
        "develop",
        "egg_info",
        "dist_info",
        "bdist_wheel",
        "bdist_egg",
        "build",
        "build_ext",
        "build_py",
        "build_clib",
        "build_scripts",
        "sdist",
        "editable_wheel",
        "clean",
        "install_lib",
        "install_scripts",
        "install_data",
        "install_headers",
        "install_egg_info",
        "gztar",
        "zip",
    }
)

_WORD = LazyPattern(r"[a-z][a-z0-9_-]*\Z", re.IGNORECASE)
_READ_ONLY = frozenset({"index", "count", "copy"})


def developer_only_spans(tree: ast.Module) -> list[tuple[int, int]]:
    """Line ranges (first, last) of branches that run only for a maintainer's own command."""
    stores: dict[str, int] = {}
    argv_names: set[str] = set()
    functions: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
    calls: list[ast.Call] = []
    parameters: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            stores[node.id] = stores.get(node.id, 0) + 1
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            functions.setdefault(node.name, []).append(node)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            calls.append(node)
        elif isinstance(node, ast.arg):
            parameters[node.arg] = parameters.get(node.arg, 0) + 1
        bound = _argv_binding(node)
        if bound is not None:
            argv_names.add(bound)
    whole = _argv_parameters(functions, calls, stores, parameters)
    if _changes_argv(tree, whole):
        return []
    names = frozenset(n for n in argv_names if stores.get(n) == 1)
    spans: list[tuple[int, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and node.body and _developer_test(node.test, names, whole):
            last = max(getattr(n, "end_lineno", None) or n.lineno for n in node.body)
            spans.append((node.body[0].lineno, last))
    return spans


def _argv_parameters(
    functions: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]],
    calls: list[ast.Call],
    stores: dict[str, int],
    parameters: dict[str, int],
) -> frozenset[str]:
    """Parameters that are ``sys.argv`` itself: ``def main(argv): ...`` defined once and every
    call in the file ``main(sys.argv)`` (telethon's ``setup.py pypi``). The name must be no other
    parameter and never be assigned anywhere in the file, so it means that list wherever it appears."""
    found: set[str] = set()
    for name, defs in functions.items():
        if len(defs) != 1:
            continue
        params = [a.arg for a in (*defs[0].args.posonlyargs, *defs[0].args.args)]
        made = [c for c in calls if isinstance(c.func, ast.Name) and c.func.id == name]
        if not made or any(c.keywords or any(isinstance(a, ast.Starred) for a in c.args) for c in made):
            continue
        for index, param in enumerate(params):
            if stores.get(param) or parameters.get(param) != 1:
                continue
            if all(len(c.args) > index and _is_sys_argv(c.args[index]) for c in made):
                found.add(param)
    return frozenset(found)


def _argv_binding(node: ast.AST) -> str | None:
    """The name in ``command = sys.argv[-1]``, else ``None``."""
    if not isinstance(node, ast.Assign) or len(node.targets) != 1:
        return None
    target = node.targets[0]
    if not isinstance(target, ast.Name):
        return None
    return target.id if _is_argv_item(node.value, frozenset()) else None


def inside(line: int, spans: list[tuple[int, int]]) -> bool:
    return any(first <= line <= last for first, last in spans)


def _changes_argv(tree: ast.Module, whole: frozenset[str] = frozenset()) -> bool:
    return any(_changes(node, whole) for node in ast.walk(tree))


def _changes(node: ast.AST, whole: frozenset[str]) -> bool:
    """``sys.argv = ...``, ``sys.argv[i] = ...``, ``sys.argv.append(...)`` (or the same on a
    parameter that is ``sys.argv``) or ``from sys import argv`` (a bare ``argv`` could be changed
    unseen): any of them and nothing is exempt."""
    if isinstance(node, ast.Attribute | ast.Subscript) and not isinstance(node.ctx, ast.Load):
        return _is_sys_argv(node if isinstance(node, ast.Attribute) else node.value, whole)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return _is_sys_argv(node.func.value, whole) and node.func.attr not in _READ_ONLY
    if isinstance(node, ast.ImportFrom):
        return node.module == "sys" and any(alias.name in ("argv", "*") for alias in node.names)
    return False


def _is_sys_argv(node: ast.expr, whole: frozenset[str] = frozenset()) -> bool:
    """``sys.argv``, or a parameter in ``whole`` that every call fills with it."""
    if isinstance(node, ast.Name):
        return node.id in whole
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "argv"
        and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
    )


def _is_argv_item(node: ast.expr, names: frozenset[str], whole: frozenset[str] = frozenset()) -> bool:
    """``sys.argv[1]``, ``sys.argv[-1]`` (a constant index), or a name bound once to one."""
    if isinstance(node, ast.Subscript) and _is_sys_argv(node.value, whole):
        index = node.slice
        if isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub):
            index = index.operand
        return isinstance(index, ast.Constant) and isinstance(index.value, int)
    return isinstance(node, ast.Name) and node.id in names


def _words(node: ast.expr) -> list[str] | None:
    """The plain, non-setuptools words of a constant or a constant tuple/list/set, else None."""
    items = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    words: list[str] = []
    for item in items:
        if not (isinstance(item, ast.Constant) and isinstance(item.value, str)):
            return None
        if not _WORD.match(item.value) or item.value.lower() in PIP_COMMANDS:
            return None
        words.append(item.value)
    return words or None


def _developer_test(test: ast.expr, names: frozenset[str], whole: frozenset[str] = frozenset()) -> bool:
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
        return all(_developer_test(v, names, whole) for v in test.values)
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return any(_developer_test(v, names, whole) for v in test.values)
    if isinstance(test, ast.Call):
        return _developer_prefix(test, names, whole)
    if not isinstance(test, ast.Compare) or len(test.ops) != 1:
        return False
    op, left, right = test.ops[0], test.left, test.comparators[0]
    if isinstance(op, ast.Eq):
        item = left if _is_argv_item(left, names, whole) else right
        other = right if item is left else left
        return (
            _is_argv_item(item, names, whole)
            and isinstance(other, ast.Constant)
            and _words(other) is not None
        )
    if isinstance(op, ast.In):
        if _is_sys_argv(right, whole):
            return _words(left) is not None  # "publish" in sys.argv
        # sys.argv[1] in ("a", "b")
        return _is_argv_item(left, names, whole) and _words(right) is not None
    return False


def _developer_prefix(call: ast.Call, names: frozenset[str], whole: frozenset[str]) -> bool:
    """``sys.argv[-1].startswith("publish")`` (arpeggio): a word of three letters or more that
    begins no setuptools command; pip's other arguments are options and absolute paths."""
    func = call.func
    if not (
        isinstance(func, ast.Attribute)
        and func.attr == "startswith"
        and _is_argv_item(func.value, names, whole)
        and len(call.args) == 1
        and not call.keywords
    ):
        return False
    words = _words(call.args[0])
    return words is not None and all(
        len(w) >= 3 and not any(c.startswith(w.lower()) for c in PIP_COMMANDS) for w in words
    )
