from __future__ import annotations

import ast

from rulekit import py

from pipvet.analysis.facts import Scope, capabilities, collect, facts_of

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
