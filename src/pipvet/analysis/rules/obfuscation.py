"""Obfuscation: code written so that a reviewer (or a grep) cannot read it.

Long base64/hex blobs, strings made only of whitespace (loquru), text assembled from ``chr()``
codes, code hidden past a screen-width of spaces or squeezed into ``;``-chained one-liners,
PyArmor-style opaque loaders, identifiers in look-alike Unicode letters that Python folds to
ASCII (onyxproxy), and ``getattr(__builtins__, ...)`` indirections that hide which builtin runs.
Each alone is a weak-to-medium signal (generated code and data tables exist); combined with
execution or install-time code they become strong. Files that do not parse (Python 2, syntax
errors) get text-level checks for the strongest patterns so they do not blind the engine.
"""

from __future__ import annotations

import ast
import io
import math
import re
import sys
import tokenize
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator

from pipvet.analysis.context import FileContext, FileKind, PackageContext
from pipvet.analysis.facts import (
    Scope,
    facts_of,
    identifiers,
    line_of,
    may_call,
    spells_names_plainly,
    trim,
    unhidden_text,
)
from pipvet.analysis.flow import trace
from pipvet.analysis.lazyre import LazyPattern
from pipvet.analysis.rules._base import BaseRule, call_stage, stage_of
from pipvet.models import UNASKED_STAGES, Finding, Severity

#: A literal at least this long (characters) is a "blob" worth a look.
BLOB_MIN = 2048
#: ... and at least this long is large enough to hold a full second stage.
BLOB_LARGE = 20_000
#: Entropy (bits/char) above which base64-alphabet text is encoded binary, not prose.
B64_ENTROPY = 5.0
#: Entropy above which hex-alphabet text is an encoded blob rather than e.g. a repeated pattern.
HEX_ENTROPY = 3.5
#: Whitespace-only literals at least this long carry data (loquru's "singleton" string).
WHITESPACE_MIN = 200
#: Code found after this many consecutive spaces on one line is hidden past the screen edge.
HIDDEN_RUN = 120
#: ...unless a line within 3 has this many spaces ending at the same column: code aligned in
#: columns, not one statement pushed out of sight.
TABLE_GAP = 8
#: Lines at least this long with this many ';' statements are minified code.
MINIFIED_LINE = 1000
MINIFIED_SEMICOLONS = 10

_B64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_")
_HEX = frozenset("0123456789abcdefABCDEF")
_SPACES = frozenset(" \t\u200b\u200c\u200d\u2060\ufeff")
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff")
#: Zero-width characters in a row, more than any emoji sequence or word joiner spells: bits.
INVISIBLE_RUN = 64
_INVISIBLE_RUN = LazyPattern("[\u200b\u200c\u200d\u2060\ufeff]{" + str(INVISIBLE_RUN) + ",}")


def entropy(text: str | bytes) -> float:
    """Shannon entropy in bits per symbol."""
    if not text:
        return 0.0
    counts = Counter(text)
    total = len(text)
    return -sum(c / total * math.log2(c / total) for c in counts.values())


def blob_kind(value: str | bytes) -> str | None:
    """``base64``/``hex`` when ``value`` looks like an encoded blob, else ``None``."""
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    compact = "".join(text.split())
    if len(compact) < BLOB_MIN:
        return None
    sample = compact[:65536]
    chars = set(sample)
    if chars <= _HEX and entropy(sample) >= HEX_ENTROPY:
        return "hex"
    if chars <= _B64 and entropy(sample) >= B64_ENTROPY:
        return "base64"
    return None


def _python(file: FileContext) -> bool:
    return file.kind is FileKind.PYTHON


#: One line of an encoded blob wrapped over several lines: base64/hex characters only, maybe
#: between quotes or followed by a comma, ``+`` or a backslash.
_BLOB_LINE = LazyPattern(r"[rRbBuU'\"]{0,4}[A-Za-z0-9+/=_-]{16,}['\"]{0,3}[,+)\\]*")
_DIGIT = LazyPattern(r"\d")


def _text_shape(file: FileContext) -> tuple[int, bool]:
    """The longest line of the file and whether a line looks like part of a wrapped blob
    (memoised; one pass over the lines, no parse)."""
    cached = file.cache.get("pipvet.obfuscation.shape")
    if isinstance(cached, tuple):
        return cached
    longest = 0
    wrapped = False
    for line in (file.text or "").split("\n"):
        size = len(line)
        if size > longest:
            longest = size
        if size >= 16 and not wrapped:
            word = line.strip()
            wrapped = (
                len(word) >= 16
                and " " not in word
                and _BLOB_LINE.fullmatch(word) is not None
                and _DIGIT.search(word) is not None
            )
    shape = (longest, wrapped)
    file.cache["pipvet.obfuscation.shape"] = shape
    return shape


def may_hold_literal(file: FileContext, size: int, *, wrapped: bool = False) -> bool:
    """Whether the file can hold a string literal of ``size`` characters (cheap, no parse): a line
    that long, a line of a wrapped blob (with ``wrapped``), or implicitly joined pieces that add
    up to that many. ``False`` is certain for single-line literals; a blob wrapped into lines
    shorter than 16 characters is not looked for."""
    longest, blob_line = _text_shape(file)
    if longest >= size or (wrapped and blob_line):
        return True
    # Implicitly joined pieces are the way a single-line literal outgrows the lines it is written
    # on (an escape is longer in the text than in the value): with them undone, such a literal
    # is a line at least that long.
    hidden = unhidden_text(file)
    return hidden is not None and _longest_line(file, hidden) >= size


def _longest_line(file: FileContext, hidden: str) -> int:
    cached = file.cache.get("pipvet.obfuscation.unhidden_longest")
    if isinstance(cached, int):
        return cached
    longest = max(map(len, hidden.split("\n")))
    file.cache["pipvet.obfuscation.unhidden_longest"] = longest
    return longest


class EncodedBlob(BaseRule):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not _python(file) or not may_hold_literal(file, BLOB_MIN, wrapped=True):
            return
        facts = facts_of(file)
        if facts is None:
            return
        best: tuple[int, str, int] | None = None
        for lit in facts.literals:
            if lit.docstring or len(lit.value) < BLOB_MIN:
                continue
            kind = blob_kind(lit.value)
            if kind is not None and (best is None or len(lit.value) > best[0]):
                best = (len(lit.value), kind, lit.line)
        if best is None:
            return
        size, kind, line = best
        severity = Severity.MEDIUM if size >= BLOB_LARGE else Severity.LOW
        yield self.finding(
            file,
            line=line,
            evidence=line_of(file, line, 100),
            severity=severity,
            stage=stage_of(file, package, on_load=True),
            message=f"A {size:,}-character {kind} literal: an encoded blob in source code usually hides a "
            "binary or a second-stage script.",
        )


class WhitespacePayload(BaseRule):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not _python(file) or not may_hold_literal(file, WHITESPACE_MIN):
            return
        facts = facts_of(file)
        if facts is None:
            return
        for lit in facts.literals:
            value = lit.value
            if isinstance(value, bytes) or len(value) < WHITESPACE_MIN:
                continue
            hidden = _whitespace_payload(value)
            if hidden is not None:
                evidence, message = hidden
                yield self.finding(
                    file,
                    line=lit.line,
                    evidence=evidence,
                    stage=stage_of(file, package, on_load=lit.scope is not Scope.FUNCTION),
                    message=message,
                )
                return


def _whitespace_payload(value: str) -> tuple[str, str] | None:
    """(evidence, message) when ``value`` is all spaces, tabs and invisible characters, or hides
    a run of zero-width characters behind visible text; else ``None``."""
    chars = set(value)
    if chars <= _SPACES and (len(chars) > 1 or not chars <= {" "}):
        return (
            f"string of {len(value)} whitespace characters",
            f"A {len(value):,}-character string made only of spaces, tabs or invisible characters: "
            "whitespace encoding hides a payload as 'empty' text (loquru).",
        )
    run = _INVISIBLE_RUN.search(value) if chars & _INVISIBLE else None
    if run is None:
        return None
    length = run.end() - run.start()
    return (
        f"{length} invisible characters after {value[: min(run.start(), 40)]!r}",
        f"A string hides {length:,} zero-width characters in a row behind visible text: two "
        "invisible characters are the bits of a payload no reader sees.",
    )


class CharCodeText(BaseRule):
    """Text assembled from ``chr()`` codes outside an exec (the exec case is PV-EXE-001)."""

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not _python(file) or not may_call(file, words=("chr", "unichr")):
            return
        facts = facts_of(file)
        if facts is None:
            return
        for call in facts.calls:
            if call.name != "?.join" and not call.name.endswith(".join"):
                continue
            if not call.node.args:
                continue
            flow = trace(facts, call.node.args[0], call.function)
            if not flow.chr_join:
                continue
            on_load = facts.runs_on_load(call)
            stage = stage_of(file, package, on_load=on_load)
            yield self.at_call(
                file,
                call,
                severity=Severity.MEDIUM if stage in UNASKED_STAGES else Severity.LOW,
                stage=stage,
                message="Builds text from character codes (''.join(map(chr, ...))), a way to keep "
                "strings such as URLs or commands out of sight of a reader or scanner.",
            )
            return


class HiddenCode(BaseRule):
    """Code placed far to the right after a run of spaces, or ';'-chained minified lines."""

    __slots__ = ()

    _hidden = LazyPattern(r"\S[ \t]{" + str(HIDDEN_RUN) + r",}(\S.*)$")

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not _python(file) or file.text is None:
            return
        text = file.text
        if len(text) < 200 or (" " * HIDDEN_RUN not in text and ";" not in text):
            return
        lines = text.splitlines()
        for number, line in enumerate(lines, start=1):
            if len(line) < HIDDEN_RUN:
                continue
            match = self._hidden.search(line) if " " * HIDDEN_RUN in line else None
            if (
                match is not None
                and _hidden_code(line, match)
                and not _table_column(lines, number, match)
                and not _in_bare_string(file, number, len(line[: match.start(1)].encode()))
            ):
                yield self.finding(
                    file,
                    line=number,
                    evidence=trim(match.group(1)),
                    severity=Severity.HIGH,
                    stage=stage_of(file, package, on_load=True),
                    message=f"Code sits after {HIDDEN_RUN}+ spaces on line {number}, beyond the edge of any "
                    "editor window: written to be overlooked.",
                )
                return
            if len(line) >= MINIFIED_LINE and line.count(";") >= MINIFIED_SEMICOLONS and not _data_line(line):
                yield self.finding(
                    file,
                    line=number,
                    evidence=trim(line),
                    severity=Severity.LOW,
                    stage=stage_of(file, package, on_load=True),
                    message=f"A {len(line):,}-character line of ';'-chained statements: minified code that "
                    "resists review.",
                )
                return


def _hidden_code(line: str, match: re.Match[str]) -> bool:
    """The text after the run of spaces is code (not a comment, and the spaces are not inside
    a string literal: an even number of quotes precedes them)."""
    tail = match.group(1)
    if tail.lstrip().startswith("#") or len(tail) < 5 or not re.search(r"[A-Za-z_]{2}", tail):
        return False
    head = line[: match.start(1)]
    return head.count("'") % 2 == 0 and head.count('"') % 2 == 0


def _in_bare_string(file: FileContext, number: int, column: int) -> bool:
    """Line ``number`` at byte ``column`` lies inside a string that is a statement of its own (a
    docstring or a bare string expression): text nothing executes or reads, however far it is
    indented. A string assigned or passed anywhere still counts, since it may reach ``exec``, and
    so does code after the closing quotes. Asked only when a line matched, so it may parse; the
    strings are found once per file."""
    key = "obfuscation.bare_strings"
    spans = file.cache.get(key)
    if not isinstance(spans, list):
        tree = file.tree
        spans = [
            ((node.lineno, node.col_offset), (node.end_lineno or node.lineno, node.end_col_offset or 0))
            for node in (ast.walk(tree) if tree is not None else ())
            if isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ]
        file.cache[key] = spans
    return any(start < (number, column) < end for start, end in spans)


_RISKY_TAIL = LazyPattern(
    r"^\s*[;:]|\b(?:import|exec|eval|compile|__import__|getattr|globals|system|popen|subprocess|"
    r"b64decode|decompress|marshal|urlopen|requests|socket|open)\b"
)


def _table_column(lines: list[str], number: int, match: re.Match[str]) -> bool:
    """Code laid out in aligned columns (``"name":   value   if cond``): a line nearby has a gap
    (of :data:`TABLE_GAP`+ spaces) ending at the same column. Hidden code is a statement pushed
    out of sight; a tail that starts a statement (``;``) or names anything that runs, decodes or
    reaches out never counts as a column, so repeating the trick on several lines hides nothing."""
    if _RISKY_TAIL.search(match.group(1)):
        return False
    column = match.start(1)
    gap = " " * TABLE_GAP
    for other in range(max(0, number - 4), min(len(lines), number + 3)):  # 3 lines up and down
        neighbour = lines[other]
        if (
            other != number - 1
            and len(neighbour) > column
            and neighbour[column] not in " \t"
            and neighbour[column - TABLE_GAP : column] == gap
        ):
            return True
    return False


def _data_line(line: str) -> bool:
    """Long lines that are mostly one string literal (CSS/JS/HTML in a string) are data."""
    quoted = max((len(m) for m in re.findall(r"'[^']*'|\"[^\"]*\"", line[:20000])), default=0)
    return quoted > len(line) * 0.6


_ARMOR = LazyPattern(r"__pyarmor__|pytransform|pyarmor_runtime|__pyarmor_enter|\bpyc_magic\b|__armor_enter__")
_ARMORED = LazyPattern(r"__pyarmor__\(|__pyarmor_enter_\d*__\(|pyarmor_runtime\(\)")


class OpaqueLoader(BaseRule):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not _python(file) or file.text is None:
            return
        text = file.text
        # Every _ARMOR match holds one of these: three fast substring scans instead of a regex
        # alternation tried at every position.
        if "armor" not in text and "pytransform" not in text and "pyc_magic" not in text:
            return
        match = _ARMOR.search(text)
        if match is None:
            return
        line = file.text.count("\n", 0, match.start()) + 1
        armored = _ARMORED.search(file.text) is not None
        yield self.finding(
            file,
            line=line,
            evidence=line_of(file, line),
            severity=Severity.HIGH if armored else Severity.LOW,
            stage=stage_of(file, package, on_load=True),
            message=f"Uses a PyArmor-style runtime ({match.group(0)}): the real code is encrypted and "
            "cannot be reviewed before it runs.",
        )


class NormalisedIdentifier(BaseRule):
    """Identifiers written in Unicode look-alikes that Python folds (NFKC) to other names."""

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not _python(file) or file.text is None or file.text.isascii():
            return
        found = next(_folded_names(file.text), None)
        if found is None:
            return
        line, raw, folded = found
        severity = Severity.HIGH if folded.isascii() else Severity.LOW
        yield self.finding(
            file,
            line=line,
            evidence=line_of(file, line),
            severity=severity,
            stage=stage_of(file, package, on_load=True),
            message=f"Identifier {raw!r} is written in look-alike Unicode letters that Python reads as "
            f"{folded!r}: text searches for {folded!r} miss it (onyxproxy).",
        )


_BIDI = LazyPattern("[\u202a-\u202e\u2066-\u2069]")
"""Unicode bidirectional embeddings, overrides and isolates (CVE-2021-42574, Trojan Source)."""


class BidiControls(BaseRule):
    """Bidirectional control characters that make source display otherwise than it runs."""

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        text = file.text
        if not _python(file) or text is None or text.isascii():
            return
        first = _BIDI.search(text)
        if first is None:
            return
        reordered = _reorders_code(text)
        line = reordered or text.count("\n", 0, first.start()) + 1
        if reordered is None:
            severity = Severity.LOW
            message = (
                "Holds Unicode bidirectional controls with no code after them on their line: "
                "right-to-left text, or a table of the controls themselves, shown as data."
            )
        else:
            severity = self.severity
            message = (
                "Holds Unicode bidirectional controls followed by code on the same line: the editor "
                "and the review show that line in another order than Python reads it (Trojan Source, "
                "CVE-2021-42574), hiding what the code does."
            )
        yield self.finding(
            file,
            line=line,
            evidence=(line_of(file, line) or "").encode("unicode_escape").decode("ascii")[:200],
            severity=severity,
            stage=stage_of(file, package, on_load=True),
            message=message,
        )


def _reorders_code(text: str) -> int | None:
    """The first line where code follows a bidirectional control: after the last control on
    the line and the end of the string it sits in, more than quotes, brackets and separators
    (``RTL = "\u202e"`` or a frozenset of the controls reorder nothing that runs)."""
    for match in _BIDI.finditer(text):
        end = text.find("\n", match.end())
        rest = text[match.end() : end if end >= 0 else len(text)]
        if _BIDI.search(rest):
            continue  # judged from the line's last control
        closing = min((at for at in (rest.find("'"), rest.find('"')) if at >= 0), default=-1)
        after = rest[closing + 1 :] if closing >= 0 else rest
        if after.strip(" \t\r'\"()[]{},:;\\"):
            return text.count("\n", 0, match.start()) + 1
    return None


def _folded_names(text: str) -> Iterator[tuple[int, str, str]]:
    # Cheap screen first (linear, in C): only characters that NFKC changes and that may appear
    # in an identifier matter; most non-ASCII text (comments, CJK names) has none.
    if not any(
        ord(c) > 127 and ("_" + c).isidentifier() and unicodedata.normalize("NFKC", c) != c for c in set(text)
    ):
        return
    if _non_ascii_only_in_literals(text):
        return  # then every NAME token is ASCII: nothing to fold (and no slow tokenize)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return
    for tok in tokens:
        if tok.type == tokenize.NAME and not tok.string.isascii():
            folded = unicodedata.normalize("NFKC", tok.string)
            if folded != tok.string:
                yield tok.start[0], tok.string, folded


_LITERALS = LazyPattern(
    r"""(?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|"""
    r"""'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")|(?P<comment>\#[^\r\n]*)|(?P<bad>['"])""",
    re.S,
)
"""String literals and comments as ``tokenize`` delimits them; ``bad``: a quote that opens none."""
_LONE_CR = LazyPattern(r"\r(?!\n)")


def _non_ascii_only_in_literals(text: str) -> bool:
    """Whether every non-ASCII character of ``text`` sits in a string literal or a comment.

    A fast stand-in for tokenizing a whole (often large, data-table) file just to learn that
    its non-ASCII characters are all in strings. Conservative: any quote that opens no string
    (an unterminated or unusual literal) answers ``False``, and so do a carriage return not
    followed by a newline and f-strings from Python 3.12 on (whose tokenizer yields the names
    inside their braces); the caller then tokenizes.
    """
    if "\r" in text and _LONE_CR.search(text) is not None:
        return False  # tokenize skips a line whose code starts with a bare CR: not modelled
    code: list[str] = []
    pos = 0
    for match in _LITERALS.finditer(text):
        kind = match.lastgroup
        if kind == "bad":
            return False
        start = match.start()
        if (
            kind == "string"
            and sys.version_info >= (3, 12)
            and "f" in text[max(0, start - 2) : start].lower()
        ):
            return False
        code.append(text[pos:start])
        pos = match.end()
    code.append(text[pos:])
    return "".join(code).isascii()


_SENSITIVE_BUILTINS = frozenset({"exec", "eval", "compile", "__import__", "open", "getattr", "execfile"})


class BuiltinIndirection(BaseRule):
    """``getattr(__builtins__, <computed>)`` and ``__import__('builtins').exec`` style calls."""

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not _python(file) or not _may_reach_indirectly(file):
            return
        facts = facts_of(file)
        if facts is None:
            return
        for call in facts.calls:
            if call.name not in {"getattr", "eval", "exec"} and not call.indirect:
                continue
            stage = call_stage(file, package, facts, call)
            why = self._why(call.node, call.name, call.indirect, stage in UNASKED_STAGES)
            if why is None:
                continue
            severity = Severity.HIGH if stage in UNASKED_STAGES else Severity.MEDIUM
            if call.name == "eval" and _in_version_branch(file, call.line):
                # six-style compat modules: ``exec_ = eval("exec")`` where Python 3 is told from
                # Python 2, whose exec was a statement (whoosh, plac).
                severity = Severity.MEDIUM
                why += " Here it sits in a branch on the Python version, as compatibility modules do."
            yield self.at_call(
                file,
                call,
                severity=severity,
                stage=stage,
                message=why,
            )
            return

    @staticmethod
    def _why(node: ast.Call, name: str, indirect: bool, privileged: bool) -> str | None:
        if name == "getattr" and len(node.args) >= 2 and privileged:
            target = node.args[0]
            label = target.id if isinstance(target, ast.Name) else ""
            if label in {"__builtins__", "builtins", "__builtin__"} and not isinstance(
                node.args[1], ast.Constant | ast.Name
            ):
                return (
                    "Looks up a builtin by a computed name (getattr(__builtins__, ...)), hiding which "
                    "function (exec, eval, chr ...) is called."
                )
        first = node.args[0] if node.args else None
        if (
            name in {"eval", "exec"}
            and isinstance(first, ast.Constant)
            and isinstance(first.value, str)
            and first.value.strip() in _SENSITIVE_BUILTINS | {"chr", "ord", "bytes", "str", "map", "__name__"}
        ):
            return (
                f"Obtains a builtin through {name}({first.value.strip()!r}), hiding which function is called."
            )
        if indirect and (name in _SENSITIVE_BUILTINS or capabilities_hint(name)):
            return (
                f"Calls {name}() through __import__/getattr/builtins indirection instead of by name, a "
                "trick to slip past text searches."
            )
        return None


def _in_version_branch(file: FileContext, line: int) -> bool:
    """``line`` lies in a branch of an ``if`` that tests the Python version (``sys.version_info``,
    ``sys.version``, ``PY2``/``PY3``, or a module-level name bound to the version:
    ``major = sys.version_info[0]`` ... ``if major == 2:``, as empy does)."""
    if file.tree is None:
        return False
    versions = {
        target.id
        for node in file.tree.body
        if isinstance(node, ast.Assign) and _names_version(ast.unparse(node.value))
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    for node in ast.walk(file.tree):
        if not isinstance(node, ast.If) or not node.lineno < line <= (node.end_lineno or 0):
            continue
        test = ast.unparse(node.test)
        if _names_version(test) or any(
            isinstance(n, ast.Name) and n.id in versions for n in ast.walk(node.test)
        ):
            return True
    return False


def _names_version(text: str) -> bool:
    return "version_info" in text or "sys.version" in text or _PY_FLAG.search(text) is not None


_PY_FLAG = LazyPattern(r"\bPY_?[23]K?\b|\bPYTHON_?[23]\b")


#: Ways a call becomes ``indirect`` in the facts besides ``getattr`` and a subscripted call
#: (``d['exec']()``).
_INDIRECTIONS = (
    "eval",
    "__import__",
    "import_module",
    "globals",
    "locals",
    "vars",
    "builtins",
    "__builtins__",
    "__builtin__",
)
#: Names a finding of :class:`BuiltinIndirection` is about: each is spelled where it is called.
_HINTED = ("system", "popen", "subprocess", "socket", "urllib")
_INDIRECT_TARGETS = (*sorted(_SENSITIVE_BUILTINS), *_HINTED)
_SUBSCRIPT_CALL = LazyPattern(r"['\"]\s*\]\s*[(.]")


def _may_reach_indirectly(file: FileContext) -> bool:
    """Cheap pre-check for :class:`BuiltinIndirection`: an indirection and a name worth hiding.
    ``getattr`` on its own only reaches a builtin through a builtins name (listed as an
    indirection), so with plain ``getattr`` only the capability names count."""
    text = file.text or ""
    strong = may_call(file, words=_INDIRECTIONS) or (
        ("']" in text or '"]' in text) and _SUBSCRIPT_CALL.search(text) is not None
    )
    if strong:
        return may_call(file, words=_INDIRECT_TARGETS)
    return "getattr" in identifiers(file) and may_call(file, words=(*_HINTED, "exec", "eval", "execfile"))


def capabilities_hint(name: str) -> bool:
    return name.startswith(("os.system", "os.popen", "subprocess.", "socket.", "urllib.request.url"))


_ESCAPE = LazyPattern(r"\\(?:x([0-9a-fA-F]{2})|([0-7]{3}))")
_ESCAPE_RUN = LazyPattern(r"(?:\\(?:x[0-9a-fA-F]{2}|[0-7]{3}))+")
#: Escapes needed before a file counts as escape-obfuscated, and the share that must spell
#: plain printable ASCII (which never needs escaping; binary data escapes non-printables).
ESCAPES_MIN = 200
ESCAPED_PRINTABLE_SHARE = 0.8
#: ... and past this many, nothing but an obfuscator writes code that way.
ESCAPES_HEAVY = 1000


class EscapedText(BaseRule):
    """Plain ASCII letters written as ``\\x65``/``\\145`` escapes (BlankOBF and friends).

    Reaching the threshold takes that many escapes in *distinct* runs: generated code repeats
    one escaped constant (flatbuffers' ``b"\\x54\\x46\\x4C\\x33"`` file identifier, hundreds of
    times in tensorflow), while an obfuscator escapes every name and string it hides. Once there,
    all escapes count (obfuscators repeat their escaped names too).
    """

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not _python(file) or file.text is None or file.text.count("\\") < ESCAPES_MIN:
            return
        printable = total = distinct = 0
        first_at = -1
        counted: dict[str, tuple[int, int]] = {}
        for run in _ESCAPE_RUN.finditer(file.text):
            text = run.group()
            known = counted.get(text)
            if known is None:
                run_printable = run_total = 0
                for match in _ESCAPE.finditer(text):
                    run_total += 1
                    code = int(match.group(1), 16) if match.group(1) else int(match.group(2), 8)
                    run_printable += 0x20 <= code < 0x7F
                known = counted[text] = (run_printable, run_total)
                distinct += run_printable
            printable += known[0]
            total += known[1]
            if first_at < 0 and known[0]:
                first_at = run.start()
        if distinct < ESCAPES_MIN or printable < total * ESCAPED_PRINTABLE_SHARE:
            return
        line = file.text.count("\n", 0, first_at) + 1
        heavy = printable >= ESCAPES_HEAVY and printable >= total * 0.9
        yield self.finding(
            file,
            line=line,
            evidence=line_of(file, line),
            severity=Severity.HIGH if heavy else Severity.MEDIUM,
            stage=stage_of(file, package, on_load=True),
            message=f"{printable:,} plain ASCII characters are written as \\x/octal escapes, which only "
            "serves to make names and strings unreadable (escape-based obfuscators).",
        )


_TEXT_EXEC = LazyPattern(
    r"\b(?:exec|eval)\b\s*\(?\s*(?:[\w.]+\.)?"
    r"(?:b64decode|b32decode|b85decode|decodestring|decodebytes|decompress|unhexlify|fromhex|loads|decode\(['\"]rot)"
)
_TEXT_NET = LazyPattern(
    r"\b(?:urlopen|urlretrieve|requests\.(?:get|post)|socket\.socket|HTTPS?Connection)\s*\("
)
_TEXT_PROC = LazyPattern(r"\b(?:os\.system|os\.popen|subprocess\.\w+|Popen|os\.startfile)\s*\(")


class UnparsedText(BaseRule):
    """Text-level checks for Python files that do not parse, so they cannot hide behind a syntax error."""

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not _python(file) or file.skimmed or file.text is None or (file.parsed and file.tree is not None):
            return
        text = file.text
        # Search the text first (each pattern only when the text holds a word all its matches
        # hold, same case), and ask whether the file parses only when something matched: asking
        # parses the file.
        found = [
            (index, match)
            for index, (pattern, words) in enumerate(
                (
                    (_TEXT_EXEC, ("exec", "eval")),
                    (_TEXT_NET, ("urlopen", "urlretrieve", "requests.", "socket.socket", "Connection")),
                    (_TEXT_PROC, ("os.system", "os.popen", "subprocess.", "Popen", "os.startfile")),
                )
            )
            if any(w in text for w in words) and (match := pattern.search(text)) is not None
        ]
        if not found or file.tree is not None:
            return
        note = f" (this file does not parse: {file.parse_error or 'syntax error'}; checked as text)"
        python2 = _python2(file.parse_error or "", text)
        for index, match in found:
            line = text.count("\n", 0, match.start()) + 1
            # Python 2 code (print statements, ``except E, e``) is old, not hidden: it runs on no
            # Python that installs it today. Its function bodies are told from the indentation,
            # and at run time a program run or a connection weighs as in code that parses, where
            # neither is reported. Any other syntax error may be a trick: all of it counts as
            # running on import. Executing decoded data stays high either way.
            on_load = not (python2 and _in_def(text, match.start()))
            stage = stage_of(file, package, on_load=on_load)
            privileged = stage in UNASKED_STAGES
            quiet = Severity.LOW if python2 else Severity.MEDIUM
            severity, what = (
                (Severity.CRITICAL if privileged else Severity.HIGH, "executes decoded data"),
                (Severity.HIGH if privileged else quiet, "opens network connections"),
                (Severity.HIGH if privileged else quiet, "runs programs"),
            )[index]
            yield self.finding(
                file,
                line=line,
                evidence=line_of(file, line),
                severity=severity,
                stage=stage,
                message=f"Code that {what}{note}.",
            )


def _python2(error: str, text: str) -> bool:
    """The syntax error is one only Python 2 source makes: a print or exec statement, ``except
    E, e``, a long literal (``1 << 32L``) or an old-style octal (``0777``)."""
    if _PYTHON2_ERROR.search(error) is not None:
        return True
    if "invalid decimal literal" in error or "invalid hexadecimal literal" in error:
        return _LONG_LITERAL.search(text) is not None
    return "leading zeros in decimal integer literals are not permitted" in error


_LONG_LITERAL = LazyPattern(r"(?<![\w.])(?:0[xX][0-9a-fA-F]+|\d+)[lL]\b")
"""A Python 2 long integer literal (``32L``, ``0xffL``)."""

_PYTHON2_ERROR = LazyPattern(
    r"Missing parentheses in call to '(?:print|exec)'|multiple exception types must be parenthesized"
)
"""Syntax errors that only Python 2 source makes (CPython's own wording)."""


def _in_def(text: str, offset: int) -> bool:
    """Whether the line at ``offset`` sits in a ``def`` body, judged by indentation alone (for
    text that does not parse): the nearest less-indented line above it, and so on outwards,
    opens a function. Module-level and class-body lines run on import."""
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", start)
    line = text[start : end if end >= 0 else len(text)]
    indent = len(line) - len(line.lstrip(" \t"))
    while indent > 0 and start > 0:
        end = start - 1
        start = text.rfind("\n", 0, end) + 1
        above = text[start:end]
        stripped = above.lstrip(" \t")
        if not stripped or stripped.startswith("#"):
            continue
        depth = len(above) - len(stripped)
        if depth < indent:
            if stripped.startswith(("def ", "async def ")):
                return True
            indent = depth
    return False


#: javascript-obfuscator's renamed identifiers (``_0x3f2a1c``), embedded as text.
_JS_OBFUSCATED = LazyPattern(r"\b_0x[0-9a-f]{4,6}\b")
_TEXT_EXEC_FETCH = LazyPattern(
    r"\b(?:exec|eval)\s*\(\s*[^\n]{0,200}?(?:urlopen|urlretrieve|requests\.get|\.get\([^\n]{0,80}\)\.(?:text|content))"
)


#: Any hex, unicode, named or octal escape: it can spell any character of a literal's value.
_ANY_ESCAPE = LazyPattern(r"\\(?:[xuUN0-7])")


def _may_carry_code(file: FileContext) -> bool:
    """Cheap pre-check for :class:`CodeInString`: a literal's text is part of the file's text
    (unless escapes or joined pieces change it), so a pattern that matches the literal matches
    the text where its ``exec``/``eval`` is written."""
    text = file.text or ""
    if "exec" not in text and "eval" not in text and "_0x" not in text:
        return False
    if not spells_names_plainly(file) or _ANY_ESCAPE.search(text) is not None:
        return True
    # Line breaks, tabs and quotes written as escapes inside the literal (exec("""\\nexec(...")
    # are real characters in its value: undo them so word boundaries match as in the value.
    for escape, char in (("\\n", "\n"), ("\\r", "\r"), ("\\t", "\t"), ("\\'", "'"), ('\\"', '"')):
        if escape in text:
            text = text.replace(escape, char)
    for word in ("exec", "eval"):
        at = text.find(word)
        while at >= 0:
            if _TEXT_EXEC_FETCH.match(text, at) or _TEXT_EXEC.match(text, at):
                return True
            at = text.find(word, at + len(word))
    return "_0x" in text and len(_JS_OBFUSCATED.findall(text)) >= 20


class CodeInString(BaseRule):
    """A second stage carried as a string literal: code that decodes or downloads and executes,
    stored as text to be written to a file, passed to ``python -c`` or exec'd later."""

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not _python(file) or not _may_carry_code(file):
            return
        facts = facts_of(file)
        if facts is None:
            return
        for lit in facts.literals:
            value = lit.value.decode("latin-1") if isinstance(lit.value, bytes) else lit.value
            if lit.docstring or len(value) < 30:
                continue
            if "exec" not in value and "eval" not in value and "_0x" not in value:
                continue
            match = _TEXT_EXEC_FETCH.search(value) or _TEXT_EXEC.search(value)
            if match is None and len(_JS_OBFUSCATED.findall(value[:100_000])) >= 20:
                match = _JS_OBFUSCATED.search(value)
            if match is None:
                continue
            stage = stage_of(file, package, on_load=lit.scope is not Scope.FUNCTION)
            yield self.finding(
                file,
                line=lit.line,
                evidence=trim(match.group(0)),
                severity=Severity.HIGH if stage in UNASKED_STAGES else Severity.MEDIUM,
                stage=stage,
                message="A string literal holds Python code that downloads or decodes code and "
                "executes it: a second stage kept as text to slip past code scanners.",
            )
            return


RULES = (
    EncodedBlob(
        id="PV-OBF-001",
        title="Large encoded literal",
        severity=Severity.LOW,
        rationale="Long high-entropy base64/hex literals carry hidden binaries or second stages "
        "(aiocpa, litellm, W4SP) (THREATS signal 5).",
    ),
    WhitespacePayload(
        id="PV-OBF-002",
        title="Whitespace-encoded payload",
        severity=Severity.HIGH,
        rationale="Strings of only spaces/tabs/zero-width characters encode data invisibly (loquru) "
        "(THREATS signal 6).",
    ),
    CharCodeText(
        id="PV-OBF-003",
        title="Text built from character codes",
        severity=Severity.MEDIUM,
        rationale="chr()-joined strings hide URLs, commands and module names from reviewers.",
    ),
    HiddenCode(
        id="PV-OBF-004",
        title="Hidden or minified code",
        severity=Severity.HIGH,
        rationale="Code past long runs of spaces or minified one-liners are written not to be read "
        "(THREATS signals 5, 6).",
    ),
    OpaqueLoader(
        id="PV-OBF-005",
        title="PyArmor-style encrypted code",
        severity=Severity.MEDIUM,
        rationale="Encrypted bytecode loaders make review impossible (THREATS signal 20).",
    ),
    NormalisedIdentifier(
        id="PV-OBF-006",
        title="Look-alike Unicode identifiers",
        severity=Severity.HIGH,
        rationale="Python NFKC-folds identifiers, so look-alike letters hide names like exec (onyxproxy) "
        "(THREATS signal 7).",
    ),
    BuiltinIndirection(
        id="PV-OBF-007",
        title="Builtin called through indirection",
        severity=Severity.MEDIUM,
        rationale="__import__('builtins').exec and getattr(__builtins__, computed) hide the called "
        "function (W4SP) (THREATS signal 4).",
    ),
    EscapedText(
        id="PV-OBF-009",
        title="Text hidden in escape sequences",
        severity=Severity.MEDIUM,
        rationale="Escaping printable ASCII as \\x/octal codes defeats greps and reviewers alike.",
    ),
    CodeInString(
        id="PV-OBF-010",
        title="Loader code hidden in a string",
        severity=Severity.HIGH,
        rationale="Droppers carry their next stage as text (written to a temp file or run with python -c).",
    ),
    BidiControls(
        id="PV-OBF-011",
        title="Bidirectional control characters in source",
        severity=Severity.HIGH,
        rationale="Bidi overrides and isolates in comments or strings make reviewed code differ from "
        "the code that runs (Trojan Source, CVE-2021-42574); compilers such as Rust's reject them.",
    ),
    UnparsedText(
        id="PV-OBF-008",
        title="Dangerous code in a file that does not parse",
        severity=Severity.HIGH,
        rationale="Python 2 or broken files must not blind the scanner; their text is checked instead.",
    ),
)
