"""Decode-then-execute: code hidden in encoded, compressed or reversed data, then run.

Benign code executes *visible* source: template engines compile generated text, setup scripts
``exec(open('pkg/version.py').read())``. Malware executes what it first decodes: base64, zlib,
lzma, bz2, hex, rot13, marshal, reversed strings, ``chr()`` arithmetic, often in many nested
layers (aiocpa had 50). The data flow is followed through local names, lambdas and helpers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import replace

from pipvet.analysis.context import FileContext, FileKind, PackageContext
from pipvet.analysis.facts import (
    CODE_STRING_RUNNERS,
    CallFact,
    Facts,
    capabilities,
    facts_of,
    line_of,
    may_call,
    telling_part,
)
from pipvet.analysis.flow import DECODER_METHODS, Trace, trace
from pipvet.analysis.lazyre import LazyPattern
from pipvet.analysis.rules._base import BaseRule, call_stage, stage_of
from pipvet.analysis.rules._decoded import MAX_DEPTH, depth_of, read_as_python
from pipvet.analysis.rules._shell import command_parts
from pipvet.models import UNASKED_STAGES, Finding, Severity

#: Calls that turn their first argument into running code.
SINKS: frozenset[str] = frozenset(
    {"exec", "eval", "execfile", "compile", "types.FunctionType", "types.CodeType", "runpy.run_path"}
    | set(CODE_STRING_RUNNERS)
)
_SINK_WORDS = tuple(sorted({telling_part(n) for n in SINKS}))
_IMPORTERS = ("__import__", "import_module")
_DECODE_WORDS = (*sorted(DECODER_METHODS), "chr", "unichr", "pickle")
#: A slice with a step of -1 (``[::-1]``, ``[n: :-1]``, ``[::(-1)]``): reversal.
_REVERSING = LazyPattern(r":[^\[\]\n:]*:\s*\(?\s*-\s*\(?\s*1\b")
#: ``^`` after an operand (``a ^ b``, ``x^=k``): XOR, not a regex anchor or character class.
_XOR = LazyPattern(r"[\w)\]]\s*\^")
#: ``int(bits, 2)``, ``int(h, base=16)``: digits of another base read as numbers.
_RADIX = LazyPattern(r"\bint\s*\([^\n]{0,200}?,\s*(?:base\s*=\s*)?(?:[2-9]|1\d|2\d|3[0-6])\s*\)")


def may_execute(file: FileContext, *capabilities: str, words: tuple[str, ...] = ()) -> bool:
    """Whether the file can call ``exec``/``eval``/``compile`` & co. (or ``capabilities``, or a
    name in ``words``)."""
    return may_call(file, *capabilities, words=(*_SINK_WORDS, *words))


def may_decode(file: FileContext) -> bool:
    """Whether anything the data-flow counts as a decoding layer can occur in the file: a decoding
    call, ``chr`` codes, XOR, a reversing slice or ``int`` in another base. (Cheap; ``True`` means
    "look".)"""
    text = file.text or ""
    if "^" in text and _XOR.search(text) is not None:
        return True
    if "-" in text and _REVERSING.search(text) is not None:
        return True
    if "int" in text and _RADIX.search(text) is not None:
        return True
    return may_call(file, "decode", words=_DECODE_WORDS)


def _payload(call: CallFact) -> ast.expr | None:
    if call.name == "types.FunctionType":
        return call.node.args[0] if call.node.args else None
    if call.node.args:
        return call.node.args[0]
    for kw in call.node.keywords:
        if kw.arg in {"source", "object", "expression"}:
            return kw.value
    return None


def _spelled(call: CallFact) -> bool:
    """The call names its function as what it resolves to (``exec(...)``, ``builtins.exec(...)``),
    not through a name bound to it (``_x = __builtins__["exec"]; _x(...)``)."""
    func = call.node.func
    short = call.name.rpartition(".")[2]
    if type(func) is ast.Name:
        return func.id == short
    return type(func) is ast.Attribute and func.attr == short


def _handed_in(flow: Trace) -> bool:
    """No payload of its own: nearly no literal text, nothing fetched or read flows in."""
    return flow.literal_chars < _OWN_PAYLOAD_CHARS and not flow.fetched and not flow.file_read


_OWN_PAYLOAD_CHARS = 64
"""Literal characters below which a decoded flow carries no payload of its own (codec names)."""


def _layers(flow: Trace) -> str:
    names = [d.rpartition(".")[2] if d != "[::-1]" else "reverse" for d in flow.decoders]
    unique = list(dict.fromkeys(n.lstrip("?") for n in names))
    return ", ".join(unique[:6])


class DecodeExec(BaseRule):
    """exec/eval/compile/FunctionType fed by decoded, decompressed or reversed data."""

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if file.kind is not FileKind.PYTHON or not may_execute(file, "process", words=("__code__",)):
            return
        if not may_decode(file):
            return
        facts = facts_of(file)
        if facts is None:
            return
        yield from self._code_swaps(file, package, facts)
        reported: set[int] = set()
        for call in facts.calls:
            shell = call.name not in SINKS and "process" in capabilities(call)
            if call.name not in SINKS and not shell:
                continue
            payload = _payload(call)
            if payload is None:
                continue
            if shell:
                # what runs (a command string, the program, what follows ``-c``), not the
                # arguments a fixed program is handed (xmlsec1 given a decoded signature's file)
                # (a command list a parameter carries mixes program and arguments: not followed)
                flows = [trace(facts, part, call.function, callers=False) for part in command_parts(payload)]
                flow = max(flows, key=lambda f: f.depth)
            else:
                flow = trace(facts, payload, call.function)
            if not flow.decoded and not flow.chr_join:
                continue
            if shell and not flow.decoded:
                continue
            if call.name in CODE_STRING_RUNNERS and not any(d != "[::-1]" for d in flow.decoders):
                continue  # a timing of statements sliced backwards (scipy's) decodes nothing
            if call.line in reported:
                continue
            reported.add(call.line)
            stage = call_stage(file, package, facts, call)
            privileged = stage in UNASKED_STAGES
            inner: list[Finding] = []
            if flow.decoded:
                severity = Severity.CRITICAL if privileged or flow.depth >= 3 else Severity.HIGH
                depth = f"{flow.depth} nested layer{'s' if flow.depth > 1 else ''}"
                what = "a shell command" if shell else "code"
                message = (
                    f"{call.name}() runs {what} that is first decoded ({_layers(flow)}; {depth}). "
                    "Hiding source in encoded data and executing it is how payloads evade review."
                )
                peel = _peel(file, package) if not shell else None
                decoded_here = peel is not None and call.line in peel.lines
                if severity is Severity.HIGH and _handed_in(flow) and not decoded_here:
                    if _spelled(call):
                        # Deserialisers (a saved model's lambda layer) decode what their caller passes.
                        severity = Severity.MEDIUM
                        message += " Here the encoded data comes from the caller, not from this file."
                    else:
                        message += (
                            " The encoded data comes from the caller, and the call reaches "
                            f"{call.name}() under another name: a deserialiser has nothing to hide."
                        )
                if peel is not None and decoded_here:
                    if peel.risky:
                        message += (
                            f" pipvet decoded it ({peel.lines[call.line]:,} lines of Python) and read "
                            "the file with it in place: see the other findings."
                        )
                        inner = peel.take_findings()
                    else:
                        # The decoded code was read like any other, in place, and holds nothing
                        # risky (a build tool shipping itself as one encoded blob): hidden on
                        # purpose, so still suspicious, but no longer alone a proof of malice.
                        severity = min(severity, Severity.HIGH)
                        message += (
                            f" pipvet decoded it ({peel.lines[call.line]:,} lines of Python) and found "
                            "nothing risky in it; still, a reviewer reading this file cannot see that code."
                        )
            else:
                severity = Severity.HIGH if privileged else Severity.MEDIUM
                message = (
                    f"{call.name}() runs code assembled from character codes (chr()), "
                    "text deliberately unreadable to a reviewer."
                )
                peel = _peel(file, package) if not shell else None
                if peel is not None and call.line in peel.lines and peel.risky:
                    message += (
                        f" pipvet decoded it ({peel.lines[call.line]:,} lines of Python) and read the "
                        "file with it in place: see the other findings."
                    )
                    inner = peel.take_findings()
            yield self.at_call(
                file,
                call,
                severity=severity,
                stage=stage,
                message=message,
            )
            yield from inner

    def _code_swaps(self, file: FileContext, package: PackageContext, facts: Facts) -> Iterator[Finding]:
        """``f.__code__ = marshal.loads(b64decode(...))``: a function's code replaced with
        decoded code, run by an ordinary call of the function (no ``exec`` in sight)."""
        for assign in facts.attr_assigns:
            if not assign.target.endswith(".__code__"):
                continue
            flow = trace(facts, assign.value, assign.function)
            if not flow.decoded:
                continue
            stage = stage_of(file, package, on_load=assign.function is None)
            yield self.finding(
                file,
                line=assign.line,
                evidence=line_of(file, assign.line),
                severity=Severity.CRITICAL if stage in UNASKED_STAGES else Severity.HIGH,
                stage=stage,
                message=f"Replaces the code of a function ({assign.target}) with code that is first decoded "
                f"({_layers(flow)}): calling that function runs code no reader of this file can see.",
            )


_PEEL_KEY = "peel.result"


class _Peel:
    """The file with its literal payloads decoded in place, as the rules see it."""

    __slots__ = ("_findings", "lines", "risky")

    def __init__(self, lines: dict[int, int], findings: list[Finding], risky: bool) -> None:
        self.lines = lines
        """Line of each ``exec`` whose payload was decoded -> lines of Python it held."""
        self._findings = findings
        self.risky = risky
        """The file, with the decoded code in place, still does something risky."""

    def take_findings(self) -> list[Finding]:
        """The findings the decoded code adds (once per file: later calls get none)."""
        taken, self._findings = self._findings, []
        return taken


def _peel(file: FileContext, package: PackageContext) -> _Peel | None:
    """Decode every literal payload an ``exec`` statement of this file runs
    (:mod:`pipvet.analysis.peel`), put the code in place of the statement, and run every rule
    on the result: what the decoded code does, alone or with the code around it (a helper it
    defines that the file then calls, one statement split over many ``exec`` lines). Findings
    the file already has without decoding are left out. ``None`` when nothing could be decoded
    or the result does not parse. Computed once per file."""
    cached = file.cache.get(_PEEL_KEY, False)
    if cached is not False:
        return cached if isinstance(cached, _Peel) else None
    file.cache[_PEEL_KEY] = None  # a rule asking again while this runs gets nothing, not a loop
    result = _splice_and_check(file, package)
    file.cache[_PEEL_KEY] = result
    return result


def _splice_and_check(file: FileContext, package: PackageContext) -> _Peel | None:
    from pipvet.analysis.peel import decoded_source
    from pipvet.analysis.rules import ALL_RULES

    depth = depth_of(file)
    tree, text = file.tree, file.text
    if depth >= MAX_DEPTH or tree is None or text is None:
        return None
    facts = facts_of(file)
    names = {id(c.node): c.name for c in facts.calls} if facts is not None else {}
    known = _imported_constants(file, package, facts) if facts is not None else {}
    lines = text.split("\n")
    spliced: list[tuple[int, int, str]] = []  # first line, last line (1-based), decoded code
    kept = list(lines)  # the file's own lines, as they go around the decoded code
    written: set[int] = set()  # exec lines whose code is a plain string, nothing decoded
    for stmt in ast.walk(tree):
        if not isinstance(stmt, ast.stmt):
            continue
        whole = isinstance(stmt, ast.Expr) and _runs_code(stmt.value, names)
        calls: list[ast.AST]
        if whole:
            # ``exec(...)`` as a statement of its own: the code takes its place
            assert isinstance(stmt, ast.Expr)
            calls, first = [stmt.value], stmt.lineno
        else:
            # ``def f(x=exec(...))``, ``y = eval(...)``: the code runs as the statement starts,
            # so it goes in before it (before its decorators, for a ``def`` or ``class``)
            calls = [c for c in _own_expressions(stmt) if _runs_code(c, names)]
            if not calls:
                continue
            decorators = getattr(stmt, "decorator_list", None) or []
            first = min([stmt.lineno, *(d.lineno for d in decorators)])
        end = stmt.end_lineno or stmt.lineno
        leads = lines[first - 1][: _column(stmt, first)].strip() == ""
        if not leads or (whole and lines[end - 1][stmt.end_col_offset or 0 :].strip()):
            continue  # shares its line with another statement: cannot be replaced alone
        for call in calls:
            assert isinstance(call, ast.Call)  # as _runs_code made sure
            payload = _source_run(call)
            source = decoded_source(payload, tree, names=names, known=known)
            if source is not None:
                spliced.append((first, end if whole else first - 1, source))
                if isinstance(payload, ast.Constant) and payload.value == source:
                    written.add(first)
                if not whole:
                    _blank(kept, call)  # the code now runs before; the statement keeps a None
    if not spliced:
        return None
    spliced.sort()
    # Build the spliced text and where each of its lines came from: (host line, exec line or 0).
    out: list[str] = []
    origin: list[tuple[int, int]] = []
    decoded_lines: dict[int, int] = {}
    at = 1
    for first, last, source in spliced:
        if first < at:
            continue  # nested in an earlier one (cannot happen for statements; be safe)
        for number in range(at, first):
            out.append(kept[number - 1])
            origin.append((number, 0))
        indent = lines[first - 1][: len(lines[first - 1]) - len(lines[first - 1].lstrip())]
        body = source.split("\n")
        if not any(piece.strip() for piece in body):
            body = ["pass"]
        decoded_lines[first] = len(body)
        for piece in body:
            out.append(indent + piece)
            origin.append((first, first))
        at = last + 1
    for number in range(at, len(lines) + 1):
        out.append(kept[number - 1])
        origin.append((number, 0))
    read = read_as_python(
        "\n".join(out), path=file.path, stage=file.stage, depth=depth, package=package, own=file.own
    )
    if read is None:
        return None
    _, after = read
    before: set[tuple[str, int | None]] = set()
    try:
        for rule in ALL_RULES:
            if rule.id not in _PEELERS:  # the rules asking: they report the file's own calls
                before.update((f.rule, f.line) for f in rule.check(file, package))
    except Exception:  # a rule that cannot read it: the payload stays opaque (fail closed)
        return None
    found: list[Finding] = []
    first_exec = min(decoded_lines)
    starts = {exec_line: i for i, (_, exec_line) in reversed(list(enumerate(origin))) if exec_line}
    for f in after:
        at = f.line or 0
        line, exec_line = origin[at - 1] if 0 < at <= len(origin) else (0, 0)
        if exec_line:
            number = at - starts[exec_line]  # 1-based line within the decoded code
            found.append(
                replace(
                    f,
                    path=file.path,
                    line=exec_line,
                    stage=f.stage or file.stage,
                    evidence=(
                        f"{'line' if exec_line in written else 'decoded line'} {number}: {f.evidence}"
                        if f.evidence
                        else None
                    ),
                    message=(
                        f"In the code that line {exec_line} runs from a string: {f.message}"
                        if exec_line in written
                        else f"In the code decoded at line {exec_line}: {f.message}"
                    ),
                )
            )
        elif (f.rule, line or None) not in before and f.rule != "PV-EXE-001":
            found.append(
                replace(
                    f,
                    path=file.path,
                    line=line or first_exec,
                    stage=f.stage or file.stage,
                    message=f"With the code decoded at line {first_exec} in place: {f.message}",
                )
            )
    # Risky: anything of medium or more in the whole file with the code in place (the helper
    # devicespoof's setup.py decodes is harmless alone; its next line calls it with a download
    # command), apart from the findings about the encoded blob itself (this rule and PV-OBF-001).
    risky = any(f.severity >= Severity.MEDIUM and f.rule not in _ABOUT_THE_BLOB for f in after)
    return _Peel(decoded_lines, found, risky)


def _imported_constants(file: FileContext, package: PackageContext, facts: Facts) -> dict[str, str | bytes]:
    """The values of the names this file imports from a module of its own package
    (``from ._consts import BLOB``) that the module binds once to text: a payload kept one file
    away from the ``exec`` that runs it. Read from the module's source, never imported."""
    from pipvet.analysis.limits import DEFAULT_LIMITS
    from pipvet.analysis.parsing import parse_python
    from pipvet.analysis.peel import decoded_value

    wanted = [i for i in facts.imports if i.name not in (None, "*")]
    if not wanted:
        return {}
    texts = dict(package.sources)
    trees: dict[str, ast.Module | None] = {}
    out: dict[str, str | bytes] = {}
    for imp in wanted:
        path = _module_file(imp.module, file.path, package.prefix, texts)
        if path is None or path == file.path:
            continue
        if path not in trees:
            trees[path] = parse_python(texts[path], path, DEFAULT_LIMITS)[0]
        tree = trees[path]
        if tree is None:
            continue
        assert imp.name is not None  # as filtered above
        value = decoded_value(ast.Name(id=imp.name, ctx=ast.Load()), tree)
        if value is not None:
            out[imp.bound] = value
    return out


def _module_file(module: str, importer: str, prefix: str, texts: dict[str, str]) -> str | None:
    """The package file a ``from MODULE import ...`` in ``importer`` reads, if the archive has it."""
    from pipvet.analysis.where import module_bases

    dotted = module.lstrip(".")
    roots = ["", prefix, f"{prefix}src/"] if prefix else ["", "src/"]
    for base in module_bases(module[: len(module) - len(dotted)], dotted, importer.rpartition("/")[0], roots):
        for candidate in (f"{base}.py", f"{base}/__init__.py"):
            if candidate in texts:
                return candidate
    return None


def _source_run(call: ast.Call) -> ast.expr:
    """What an ``exec``/``eval`` runs: its first argument, or the source handed to ``compile``
    in it (``exec(compile(source, name, "exec"))``)."""
    payload = call.args[0]
    if (
        isinstance(payload, ast.Call)
        and isinstance(payload.func, ast.Name)
        and payload.func.id == "compile"
        and payload.args
    ):
        return payload.args[0]
    return payload


def _runs_code(node: ast.AST, names: dict[int, str]) -> bool:
    """``exec(...)``/``eval(...)`` with an argument, as written or as resolved (``builtins.exec``)."""
    if not isinstance(node, ast.Call) or not node.args:
        return False
    spelled = node.func.id if isinstance(node.func, ast.Name) else None
    return spelled in _LITERAL_SINKS or names.get(id(node)) in _LITERAL_SINKS


def _own_expressions(stmt: ast.stmt) -> Iterator[ast.AST]:
    """The nodes of ``stmt``'s own expressions, evaluated when it runs: not the statements of
    its body, nor what a lambda or a nested function only runs when called."""
    todo: list[ast.AST] = [c for c in ast.iter_child_nodes(stmt) if not isinstance(c, ast.stmt)]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.Lambda):
            todo.extend(node.args.defaults)
            continue
        todo.extend(c for c in ast.iter_child_nodes(node) if not isinstance(c, ast.stmt))


def _blank(lines: list[str], node: ast.expr) -> None:
    """Write ``None`` over ``node`` in ``lines``, keeping every line where it is (the node sits
    inside brackets or ends its statement, where emptied lines are allowed)."""
    first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    start = len(lines[first].encode("utf-8")[: node.col_offset].decode("utf-8", "replace"))
    end_col = node.end_col_offset if node.end_col_offset is not None else len(lines[last].encode("utf-8"))
    stop = len(lines[last].encode("utf-8")[:end_col].decode("utf-8", "replace"))
    head, tail = lines[first][:start], lines[last][stop:]
    for number in range(first, last + 1):
        lines[number] = ""
    lines[first] = head + "None" + (tail if first == last else "")
    if first != last:
        lines[last] = tail


def _column(stmt: ast.stmt, line: int) -> int:
    """The column at which what ``stmt`` puts on ``line`` starts: itself, or a decorator's ``@``
    (the text before it must be indentation only, for the statement to start the line)."""
    if line == stmt.lineno:
        return stmt.col_offset
    decorators = getattr(stmt, "decorator_list", None) or []
    return min((d.col_offset - 1 for d in decorators if d.lineno == line), default=0)


_ABOUT_THE_BLOB = frozenset({"PV-EXE-001", "PV-OBF-001"})
_PEELERS = frozenset({"PV-EXE-001", "PV-EXE-004"})


class LiteralExec(BaseRule):
    """``exec``/``eval`` of source written out in string literals, read in place.

    Running visible source is no trick in itself (six defines Python 2 syntax this way), so this
    rule reports nothing of its own: at install, start-up and import time it puts the literal
    code in place of the statement, like decoded code, and reports what the other rules find in
    it. Without this, ``exec("import os; os.system('curl ... | sh')")`` in a setup.py hid the
    command from every rule that reads calls."""

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if file.kind is not FileKind.PYTHON or not may_execute(file):
            return
        facts = facts_of(file)
        tree = file.tree
        if facts is None or tree is None:
            return
        from pipvet.analysis.peel import decoded_source

        names: dict[int, str] | None = None
        for call in facts.calls:
            if call.name not in _LITERAL_SINKS or not call.node.args:
                continue
            if call_stage(file, package, facts, call) not in UNASKED_STAGES:
                continue
            if names is None:
                names = {id(c.node): c.name for c in facts.calls}
            if decoded_source(_source_run(call.node), tree, names=names) is None:
                continue  # not built from literals (``exec(open("version.py").read())``)
            peel = _peel(file, package)
            if peel is not None:
                yield from peel.take_findings()
            return


_LITERAL_SINKS = frozenset({"exec", "eval"})


class DecodedImport(BaseRule):
    """``__import__``/``importlib.import_module`` of a name that is decoded or computed."""

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if file.kind is not FileKind.PYTHON or not may_call(file, words=_IMPORTERS) or not may_decode(file):
            return
        facts = facts_of(file)
        if facts is None:
            return
        for call in facts.calls:
            if call.name not in {"__import__", "importlib.import_module"} or not call.node.args:
                continue
            flow = trace(facts, call.node.args[0], call.function)
            if not (flow.decoded or flow.chr_join):
                continue
            yield self.weighed_at_call(
                file,
                package,
                facts,
                call,
                message=f"{call.name}() loads a module whose name is decoded at run time, so a "
                "reader cannot see which module (e.g. os, subprocess, socket) is used.",
            )


class HiddenEndpoint(BaseRule):
    """A network call whose address or payload is decoded first (base64 host names ...)."""

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if file.kind is not FileKind.PYTHON or not may_call(file, "network", "dns") or not may_decode(file):
            return
        facts = facts_of(file)
        if facts is None:
            return
        for call in facts.calls:
            caps = capabilities(call)
            if "network" not in caps and "dns" not in caps:
                continue
            args = [*call.node.args[:2], *(k.value for k in call.node.keywords if k.arg in {"url", "host"})]
            # the address as this function makes it: a caller handing in a decoded token or
            # claim (an OAuth issuer) is no hidden destination
            flows = [trace(facts, a, call.function, callers=False) for a in args]
            decoded = next((f for f in flows if f.decoded), None)
            if decoded is None:
                continue
            yield self.weighed_at_call(
                file,
                package,
                facts,
                call,
                message=f"{call.name}() contacts an address that is decoded at run time "
                f"({_layers(decoded)}): the destination is hidden from readers on purpose.",
            )
            return


class DecodedDrop(BaseRule):
    """Decoded data written to a file that the same code then runs: ``open(p, 'wb').write(
    b64decode(BLOB))`` followed by ``runpy.run_path(p)``, ``spec.loader.exec_module(...)`` or a
    process started on ``p``. The same payload as ``exec(b64decode(BLOB))``, one file away."""

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if file.kind is not FileKind.PYTHON or not may_call(file, "file_write", words=_WRITE_WORDS):
            return
        if not may_decode(file) or not may_call(file, "process", words=_LOADER_WORDS):
            return
        facts = facts_of(file)
        if facts is None:
            return
        for call in facts.calls:
            if call.name.rpartition(".")[2] not in _WRITES or not call.node.args:
                continue
            flow = trace(facts, call.node.args[0], call.function)
            if not flow.decoded:
                continue
            if flow.literal_chars < _OWN_PAYLOAD_CHARS and not (flow.file_read and _disguised(flow)):
                continue  # no payload of its own; unpacking a shipped archive is no disguise
            runner = _runs_written(facts, call)
            if runner is None:
                continue
            stage = call_stage(file, package, facts, call)
            yield self.at_call(
                file,
                call,
                severity=Severity.CRITICAL if stage in UNASKED_STAGES else Severity.HIGH,
                stage=stage,
                message=f"Writes data it first decodes ({_layers(flow)}) to a file and runs it "
                f"({runner.name}(), line {runner.line}): a payload hidden in the source, run from disk.",
            )
            return


def _disguised(flow: Trace) -> bool:
    """A decoding layer that hides rather than compresses (XOR, base64, character shifts): a
    package that unpacks its own ``.gz`` to run it saves space, one that XORs a file it ships
    (Lazarus' ``test.py`` holding a DLL) hides what the file is."""
    return any(
        not any(word in name for word in ("decompress", "gzip", "lzma", "bz2", "zlib", "zipfile", "tarfile"))
        for name in flow.decoders
    )


_WRITES = frozenset({"write", "write_bytes", "write_text", "writelines"})
_WRITE_WORDS = tuple(sorted(_WRITES))
_CODE_LOADERS = frozenset(
    {
        *("runpy.run_path", "runpy.run_module", "importlib.util.spec_from_file_location", "imp.load_source"),
        *("importlib.machinery.SourceFileLoader", "importlib.machinery.SourcelessFileLoader", "execfile"),
        *("zipimport.zipimporter",),
    }
)
_LOADER_WORDS = (
    *("run_path", "run_module", "spec_from_file_location", "load_source", "SourceFileLoader"),
    *("SourcelessFileLoader", "exec_module", "load_module", "zipimporter", "execfile", "startfile"),
)
"""Identifiers one of which every code-loading call (or ``os.startfile``) spells."""


def _loads_code(call: CallFact) -> bool:
    return call.name in _CODE_LOADERS or call.name.endswith((".exec_module", ".load_module"))


def _runs_written(facts: Facts, write: CallFact) -> CallFact | None:
    """A code loader or process call in the same function handed the file that ``write``
    writes (the same variable or literal path)."""
    target = _written_file(facts, write)
    if target is None:
        return None
    for call in facts.calls_in.get(write.function, ()):
        if not _loads_code(call) and "process" not in capabilities(call) and call.name != "os.startfile":
            continue
        for arg in call.node.args:
            for node in ast.walk(arg):
                if (type(node) is ast.Name and node.id == target) or (
                    type(node) is ast.Constant and node.value == target
                ):
                    return call
    return None


def _written_file(facts: Facts, write: CallFact) -> str | None:
    """The variable name or literal path of the file ``write`` writes into: ``open(p, 'wb')``
    or ``Path(p)`` as the receiver, directly or bound by ``with ... as f`` / ``f = ...``."""
    func = write.node.func
    if type(func) is not ast.Attribute:
        return None
    receiver = func.value
    if type(receiver) is ast.Name:
        bound = [a.value for a in facts.assigns.get(receiver.id, ()) if a.function == write.function]
        receiver = bound[-1] if bound else receiver
    if type(receiver) is not ast.Call or not receiver.args:
        return None
    path = receiver.args[0]
    if type(path) is ast.Name:
        return path.id
    if type(path) is ast.Constant and isinstance(path.value, str):
        return path.value
    return None


class ShippedCodeLoader(BaseRule):
    """A code loader (``zipimport.zipimporter``, ``SourceFileLoader``, ``runpy.run_path``)
    pointed at a file the package ships that is not Python source: code kept in a nested
    archive or under a data file's name, which pipvet reads as data and never vetted."""

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if file.kind is not FileKind.PYTHON or not may_call(file, words=PATH_LOADER_WORDS):
            return
        facts = facts_of(file)
        if facts is None:
            return
        shipped: dict[str, str] | None = None  # the package's data files, listed at the first loader
        for call in facts.calls:
            path = loaded_path(call)
            tail = _path_tail(facts, path, call.function, 0) if path is not None else None
            if tail is None:
                continue
            shipped = _data_files(package) if shipped is None else shipped
            named = shipped.get(tail)
            if named is None:
                continue
            yield self.weighed_at_call(
                file,
                package,
                facts,
                call,
                message=f"{call.name}() loads code from {named}, a file the package ships that is not "
                "Python source: code kept in an archive or under a data file's name is read by pipvet "
                "as data, so what it runs was not vetted.",
            )
            return


#: Loaders that take a file's path, and where: ``zipimporter(path)``, ``SourceFileLoader(name, path)``.
_PATH_LOADERS = {
    "zipimport.zipimporter": 0,
    "runpy.run_path": 0,
    "execfile": 0,
    "SourceFileLoader": 1,
    "SourcelessFileLoader": 1,
    "importlib.util.spec_from_file_location": 1,
    "imp.load_source": 1,
}
PATH_LOADER_WORDS = (
    *("zipimporter", "run_path", "execfile", "SourceFileLoader", "SourcelessFileLoader"),
    *("spec_from_file_location", "load_source"),
)
"""Identifiers one of which every call :func:`loaded_path` knows spells."""


def loaded_path(call: CallFact) -> ast.expr | None:
    """The path of the file a code loader runs (``zipimporter(path)``, ``runpy.run_path(path)``,
    ``SourceFileLoader(name, path)``, ``spec_from_file_location(name, path)``), or ``None``."""
    at = _PATH_LOADERS.get(call.name.removeprefix("importlib.machinery."))
    return call.node.args[at] if at is not None and len(call.node.args) > at else None


#: Files a loader is handed for what they are: sources, compiled modules and native libraries.
_NOT_HIDING = (
    ".py",
    ".pyw",
    ".pyi",
    ".pyc",
    ".pyx",
    ".pxd",
    ".c",
    ".h",
    ".cc",
    ".cpp",
    ".so",
    ".pyd",
    ".dll",
)


def _path_tail(facts: Facts, node: ast.expr, function: str | None, depth: int) -> str | None:
    """The file name a path expression ends in, as written: ``"core.bin"`` of
    ``os.path.join(HERE, "core.bin")``, ``Path(__file__).parent / "core.bin"`` or a name bound
    to one (followed to its one assignment)."""
    if depth > 3:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.replace("\\", "/").rpartition("/")[2] or None
    if isinstance(node, ast.Name):
        bound = [a for a in facts.assigns.get(node.id, []) if a.function in (function, None)]
        return _path_tail(facts, bound[0].value, bound[0].function, depth + 1) if len(bound) == 1 else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return _path_tail(facts, node.right, function, depth + 1)
    if isinstance(node, ast.JoinedStr) and node.values:
        return (
            _path_tail(facts, node.values[-1], function, depth + 1)
            if isinstance(node.values[-1], ast.Constant)
            else None
        )
    if isinstance(node, ast.Call) and node.args:
        fact = facts.by_node.get(id(node))
        if fact is not None and (
            fact.name in {"os.path.join", "pathlib.Path"} or fact.name.endswith(".joinpath")
        ):
            return _path_tail(facts, node.args[-1], function, depth + 1)
    return None


def _data_files(package: PackageContext) -> dict[str, str]:
    """Base name -> path of the package's files that are not Python source (``core.bin``,
    ``assets.dat``), for the names a loader may be handed."""
    out: dict[str, str] = {}
    for member in package.members:
        name = member.rpartition("/")[2]
        if "." in name and not name.lower().endswith(_NOT_HIDING):
            out.setdefault(name, member)
    return out


RULES = (
    DecodeExec(
        id="PV-EXE-001",
        title="Executes decoded code",
        severity=Severity.CRITICAL,
        rationale="exec/eval/compile of base64/zlib/hex/rot13/marshal/reversed data hides the real "
        "payload (aiocpa, W4SP, litellm .pth) (THREATS signal 4).",
    ),
    LiteralExec(
        id="PV-EXE-004",
        title="Executes source written in a string",
        severity=Severity.HIGH,
        rationale="exec() of literal source hides calls from a reader and from rules that read "
        "calls; the code is read in place and its findings reported at the exec line.",
    ),
    ShippedCodeLoader(
        id="PV-EXE-006",
        title="Loads code from a shipped file that is not source",
        severity=Severity.HIGH,
        rationale="A zip or data file imported with zipimport or a source loader hides code from review "
        "and from pipvet, which does not open archives inside archives.",
    ),
    DecodedImport(
        id="PV-EXE-002",
        title="Imports a module named by decoded data",
        severity=Severity.HIGH,
        rationale="Decoding a module name before importing it only serves to hide the capability used.",
    ),
    DecodedDrop(
        id="PV-EXE-005",
        title="Writes decoded code to a file and runs it",
        severity=Severity.CRITICAL,
        rationale="Writing a decoded blob to disk before running it (runpy, an import loader, a process) "
        "is exec of decoded code one step removed (THREATS signal 4).",
    ),
    HiddenEndpoint(
        id="PV-EXE-003",
        title="Network address hidden by encoding",
        severity=Severity.HIGH,
        rationale="Encoding a URL or host name serves only to hide where data goes (THREATS signal 10).",
    ),
)
