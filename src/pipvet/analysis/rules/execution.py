"""Decode-then-execute: code hidden in encoded, compressed or reversed data, then run.

Benign code executes *visible* source: template engines compile generated text, setup scripts
``exec(open('pkg/version.py').read())``. Malware executes what it first decodes: base64, zlib,
lzma, bz2, hex, rot13, marshal, reversed strings, ``chr()`` arithmetic, often in many nested
layers (aiocpa had 50). The data flow is followed through local names, lambdas and helpers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from pipvet.analysis.context import FileContext, FileKind, PackageContext
from pipvet.analysis.facts import (
    CallFact,
    capabilities,
    facts_of,
    line_of,
    may_call,
    telling_part,
)
from pipvet.analysis.flow import DECODER_METHODS, Trace, trace
from pipvet.analysis.lazyre import LazyPattern
from pipvet.analysis.rules._base import BaseRule, stage_of
from pipvet.models import Finding, Severity, Stage

#: Calls that turn their first argument into running code.
SINKS: frozenset[str] = frozenset(
    {"exec", "eval", "execfile", "compile", "types.FunctionType", "types.CodeType", "runpy.run_path"}
)
_PRIVILEGED = (Stage.INSTALL, Stage.STARTUP, Stage.IMPORT)
_SINK_WORDS = tuple(sorted({telling_part(n) for n in SINKS}))
_IMPORTERS = ("__import__", "import_module")
_DECODE_WORDS = (*sorted(DECODER_METHODS), "chr", "unichr", "pickle")
#: A slice with a step of -1 (``[::-1]``, ``[n: :-1]``, ``[::(-1)]``): reversal.
_REVERSING = LazyPattern(r":[^\[\]\n:]*:\s*\(?\s*-\s*\(?\s*1\b")
#: ``^`` after an operand (``a ^ b``, ``x^=k``): XOR, not a regex anchor or character class.
_XOR = LazyPattern(r"[\w)\]]\s*\^")


def may_execute(file: FileContext, *capabilities: str, words: tuple[str, ...] = ()) -> bool:
    """Whether the file can call ``exec``/``eval``/``compile`` & co. (or ``capabilities``, or a
    name in ``words``)."""
    return may_call(file, *capabilities, words=(*_SINK_WORDS, *words))


def may_decode(file: FileContext) -> bool:
    """Whether anything the data-flow counts as a decoding layer can occur in the file: a decoding
    call, ``chr`` codes, XOR, or a reversing slice. (Cheap; ``True`` means "look".)"""
    text = file.text or ""
    if "^" in text and _XOR.search(text) is not None:
        return True
    if "-" in text and _REVERSING.search(text) is not None:
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
        if file.kind is not FileKind.PYTHON or not may_execute(file, "process"):
            return
        if not may_decode(file):
            return
        facts = facts_of(file)
        if facts is None:
            return
        reported: set[int] = set()
        for call in facts.calls:
            shell = call.name not in SINKS and "process" in capabilities(call)
            if call.name not in SINKS and not shell:
                continue
            payload = _payload(call)
            if payload is None:
                continue
            flow = trace(facts, payload, call.function)
            if not flow.decoded and not flow.chr_join:
                continue
            if shell and not flow.decoded:
                continue
            if call.line in reported:
                continue
            reported.add(call.line)
            stage = stage_of(file, package, on_load=facts.runs_on_load(call))
            privileged = stage in _PRIVILEGED
            if flow.decoded:
                severity = Severity.CRITICAL if privileged or flow.depth >= 3 else Severity.HIGH
                depth = f"{flow.depth} nested layer{'s' if flow.depth > 1 else ''}"
                what = "a shell command" if shell else "code"
                message = (
                    f"{call.name}() runs {what} that is first decoded ({_layers(flow)}; {depth}). "
                    "Hiding source in encoded data and executing it is how payloads evade review."
                )
                if severity is Severity.HIGH and _handed_in(flow):
                    # Deserialisers (a saved model's lambda layer) decode what their caller passes.
                    severity = Severity.MEDIUM
                    message += " Here the encoded data comes from the caller, not from this file."
            else:
                severity = Severity.HIGH if privileged else Severity.MEDIUM
                message = (
                    f"{call.name}() runs code assembled from character codes (chr()), "
                    "text deliberately unreadable to a reviewer."
                )
            yield self.finding(
                file,
                line=call.line,
                evidence=line_of(file, call.line),
                severity=severity,
                stage=stage,
                message=message,
            )


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
            stage = stage_of(file, package, on_load=facts.runs_on_load(call))
            yield self.finding(
                file,
                line=call.line,
                evidence=line_of(file, call.line),
                severity=Severity.HIGH if stage in _PRIVILEGED else Severity.MEDIUM,
                stage=stage,
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
            flows = [trace(facts, a, call.function) for a in args]
            decoded = next((f for f in flows if f.decoded), None)
            if decoded is None:
                continue
            stage = stage_of(file, package, on_load=facts.runs_on_load(call))
            yield self.finding(
                file,
                line=call.line,
                evidence=line_of(file, call.line),
                severity=Severity.HIGH if stage in _PRIVILEGED else Severity.MEDIUM,
                stage=stage,
                message=f"{call.name}() contacts an address that is decoded at run time "
                f"({_layers(decoded)}): the destination is hidden from readers on purpose.",
            )
            return


RULES = (
    DecodeExec(
        id="PV-EXE-001",
        title="Executes decoded code",
        severity=Severity.CRITICAL,
        rationale="exec/eval/compile of base64/zlib/hex/rot13/marshal/reversed data hides the real "
        "payload (aiocpa, W4SP, litellm .pth) (THREATS signal 4).",
    ),
    DecodedImport(
        id="PV-EXE-002",
        title="Imports a module named by decoded data",
        severity=Severity.HIGH,
        rationale="Decoding a module name before importing it only serves to hide the capability used.",
    ),
    HiddenEndpoint(
        id="PV-EXE-003",
        title="Network address hidden by encoding",
        severity=Severity.HIGH,
        rationale="Encoding a URL or host name serves only to hide where data goes (THREATS signal 10).",
    ),
)
