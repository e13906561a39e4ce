"""Undo the encoding of a literal payload statically, the way a reviewer would by hand.

``exec(base64.b64decode(BLOB).decode())`` hides its code from a reader, but when ``BLOB`` is a
literal in the same file the hidden code is right there: decoding it is reading data, not running
it. :func:`decoded_source` evaluates just that: string and bytes literals, names bound once in the
file, ``+``, ``[::-1]``, ``.decode()``/``.encode()`` and the standard library's pure decoders
(base64/binascii/codecs/bytes.fromhex, zlib/gzip/bz2/lzma), and text spelled as character codes
(``''.join(chr(c) for c in CODES)``, ``map(chr, CODES)``, ``chr(c ^ K)``, ``bytes(CODES)``).
Anything else (a call it does not know, a name bound twice, data read or fetched at run time)
makes it give up with ``None``.

Output is bounded (``limit`` bytes per value, decompression included) and so is the work (a step
budget over the expression and the names it goes through): a crafted blob can make it give up,
never make it use unbounded memory or time.
"""

from __future__ import annotations

import ast
import base64
import binascii
import bz2
import codecs
import lzma
import weakref
import zlib
from collections.abc import Callable, Mapping
from typing import TypeGuard

from pipvet.analysis.facts import reverses

__all__ = ["DECODED_LIMIT", "decoded_source", "decoded_value"]

#: Largest decoded value (bytes or characters) followed; past it the payload stays opaque.
DECODED_LIMIT = 8 * 1024 * 1024

_STEPS = 200
"""Nodes evaluated per payload at most (names followed included)."""

Value = str | bytes


class _GiveUp(Exception):
    pass


def _bounded_decompress(make: Callable[[], object], data: bytes, limit: int) -> bytes:
    decompressor = make()
    out: bytes = decompressor.decompress(data, limit + 1)  # type: ignore[attr-defined]
    if len(out) > limit:
        raise _GiveUp
    return out


def _gzip(data: bytes, limit: int) -> bytes:
    return _bounded_decompress(lambda: zlib.decompressobj(16 + zlib.MAX_WBITS), data, limit)


def _zlib(data: bytes, limit: int) -> bytes:
    return _bounded_decompress(lambda: zlib.decompressobj(zlib.MAX_WBITS), data, limit)


def _bz2(data: bytes, limit: int) -> bytes:
    return _bounded_decompress(bz2.BZ2Decompressor, data, limit)


def _lzma(data: bytes, limit: int) -> bytes:
    return _bounded_decompress(lzma.LZMADecompressor, data, limit)


def decompress(how: str, data: bytes, limit: int) -> bytes | None:
    """``data`` through the decompressor ``how`` (``zlib.decompress``, ``gzip.decompress``,
    ``bz2.decompress``, ``lzma.decompress``), at most ``limit`` bytes; ``None`` for a broken
    stream or one that would grow past ``limit``."""
    try:
        return _DECOMPRESSORS[how](data, limit)
    except (_GiveUp, zlib.error, lzma.LZMAError, OSError, EOFError, ValueError):
        return None


def _bytes_of(value: Value) -> bytes:
    return value.encode("ascii") if isinstance(value, str) else value


_DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "b64decode": lambda b: base64.b64decode(b, validate=False),
    "standard_b64decode": base64.standard_b64decode,
    "urlsafe_b64decode": base64.urlsafe_b64decode,
    "decodebytes": base64.decodebytes,
    "decodestring": base64.decodebytes,
    "a2b_base64": binascii.a2b_base64,
    "b32decode": base64.b32decode,
    "b16decode": lambda b: base64.b16decode(b, casefold=True),
    "b85decode": base64.b85decode,
    "a85decode": base64.a85decode,
    "unhexlify": binascii.unhexlify,
    "a2b_hex": binascii.a2b_hex,
    "fromhex": lambda b: bytes.fromhex(b.decode("ascii")),
}
"""Decoders of encoded text, by the called name's last part; their output is never larger than
their input, so only the decompressors need a bound."""

_DECOMPRESSORS: dict[str, Callable[[bytes, int], bytes]] = {
    "zlib.decompress": _zlib,
    "gzip.decompress": _gzip,
    "bz2.decompress": _bz2,
    "lzma.decompress": _lzma,
}

_CODECS: dict[str, Callable[[Value, int], Value]] = {
    "rot13": lambda v, _: codecs.decode(v, "rot13") if isinstance(v, str) else _fail(),
    "rot_13": lambda v, _: codecs.decode(v, "rot13") if isinstance(v, str) else _fail(),
    "base64": lambda v, _: base64.b64decode(_bytes_of(v)),
    "base64_codec": lambda v, _: base64.b64decode(_bytes_of(v)),
    "hex": lambda v, _: binascii.unhexlify(_bytes_of(v)),
    "hex_codec": lambda v, _: binascii.unhexlify(_bytes_of(v)),
    "zlib": lambda v, limit: _zlib(_bytes_of(v), limit),
    "zlib_codec": lambda v, limit: _zlib(_bytes_of(v), limit),
    "bz2": lambda v, limit: _bz2(_bytes_of(v), limit),
    "bz2_codec": lambda v, limit: _bz2(_bytes_of(v), limit),
}

_TEXT_ENCODINGS = frozenset({"utf-8", "utf8", "ascii", "latin-1", "latin1", "iso-8859-1"})


def _fail() -> Value:
    raise _GiveUp


def decoded_source(
    expr: ast.expr,
    tree: ast.Module,
    *,
    limit: int = DECODED_LIMIT,
    names: Mapping[int, str] | None = None,
    known: Mapping[str, Value] | None = None,
) -> str | None:
    """The text ``expr`` evaluates to, when it is built from literals of ``tree`` by pure
    decoding steps only; ``None`` when that cannot be told without running anything.

    ``names``: the resolved callee of each call node, by ``id`` (the facts walk's, which sees
    through ``import zlib as z``); without it, callees are read as written."""
    value = decoded_value(expr, tree, limit=limit, names=names, known=known)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except ValueError:
            return None
    return value


def decoded_value(
    expr: ast.expr,
    tree: ast.Module,
    *,
    limit: int = DECODED_LIMIT,
    names: Mapping[int, str] | None = None,
    known: Mapping[str, Value] | None = None,
) -> Value | None:
    """Like :func:`decoded_source`, but bytes stay bytes (a pickle, a program): the value
    ``expr`` evaluates to by pure decoding steps over literals, or ``None``. ``known``: values
    of names the file binds only by importing them (another module's constants)."""
    evaluator = _Evaluator(tree, limit, names or {}, known or {})
    try:
        return evaluator.value(expr)
    except (_GiveUp, ValueError, TypeError, binascii.Error, zlib.error, lzma.LZMAError, OSError, EOFError):
        return None
    except RecursionError:
        return None


class _Evaluator:
    __slots__ = ("_bindings", "_known", "_limit", "_names", "_steps", "_tree")

    def __init__(
        self, tree: ast.Module, limit: int, names: Mapping[int, str], known: Mapping[str, Value]
    ) -> None:
        self._tree = tree
        self._limit = limit
        self._names = names
        self._known = known
        self._steps = _STEPS
        self._bindings: dict[str, list[ast.expr]] | None = None

    def value(self, node: ast.expr) -> Value:
        self._steps -= 1
        if self._steps < 0:
            raise _GiveUp
        if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
            return node.value
        if isinstance(node, ast.Name):
            return self.value(self._bound(node.id))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.value(node.left), self.value(node.right)
            if type(left) is not type(right) or len(left) + len(right) > self._limit:
                raise _GiveUp
            return left + right  # type: ignore[operator]
        if isinstance(node, ast.Subscript) and reverses(node.slice):
            return self.value(node.value)[::-1]
        if isinstance(node, ast.Call) and not any(isinstance(a, ast.Starred) for a in node.args):
            return self._call(node)
        raise _GiveUp

    def _bound(self, name: str) -> ast.expr:
        """The one value ``name`` is ever bound to in the file (any other binding: give up)."""
        if self._bindings is None:
            self._bindings = _BINDINGS.get(self._tree)
            if self._bindings is None:
                self._bindings = _BINDINGS[self._tree] = _bindings(self._tree)
        values = self._bindings.get(name)
        if values is None or len(values) != 1:
            raise _GiveUp
        if values[0] is _OPAQUE and name in self._known:
            return ast.Constant(value=self._known[name])  # bound only by its import
        return values[0]

    def _call(self, node: ast.Call) -> Value:
        resolved = self._names.get(id(node), "")
        func = resolved if resolved and not resolved.startswith("?") else _dotted(node.func)
        last = func.rpartition(".")[2]
        if isinstance(node.func, ast.Attribute) and last in ("decode", "encode") and func != "codecs.decode":
            subject = self.value(node.func.value)
            encoding = self._encoding(node)
            if last == "decode" and isinstance(subject, bytes):
                return subject.decode(encoding)
            if last == "encode" and isinstance(subject, str):
                return subject.encode(encoding)
            raise _GiveUp
        if not node.args:
            raise _GiveUp
        if last == "join" and isinstance(node.func, ast.Attribute) and len(node.args) == 1:
            separator = self.value(node.func.value)
            if not isinstance(separator, str):
                raise _GiveUp
            return separator.join(self._characters(node.args[0]))
        if func == "chr" and len(node.args) == 1:
            return _chr(self._int(node.args[0]))
        if func in ("bytes", "bytearray") and len(node.args) == 1:
            return bytes(self._ints(node.args[0]))
        if last in _DECODERS and (func == last or func.startswith(("base64.", "binascii.", "bytes."))):
            return _DECODERS[last](_bytes_of(self.value(node.args[0])))
        if func in _DECOMPRESSORS or (func == "decompress" and len(node.args) == 1):
            decompress = _DECOMPRESSORS.get(func, _zlib)
            return decompress(_bytes_of(self.value(node.args[0])), self._limit)
        if func in ("codecs.decode", "codecs.encode") and len(node.args) == 2:
            codec = self.value(node.args[1])
            if not isinstance(codec, str) or codec.lower() not in _CODECS:
                raise _GiveUp
            if func == "codecs.encode" and codec.lower() not in ("rot13", "rot_13"):
                raise _GiveUp
            return _CODECS[codec.lower()](self.value(node.args[0]), self._limit)
        raise _GiveUp

    def _characters(self, node: ast.expr) -> list[str]:
        """The pieces ``''.join(...)`` gets: a literal list of texts (``chr(105)``, ``'m'``),
        ``map(chr, CODES)``, ``chr(c)`` / ``chr(c ^ K)`` for ``c`` in ``CODES``, or the characters
        of a text, reversed or not."""
        if isinstance(node, ast.List | ast.Tuple):
            if len(node.elts) > self._limit:
                raise _GiveUp
            pieces: list[str] = []
            for element in node.elts:
                piece = self._piece(element)
                if not isinstance(piece, str):
                    raise _GiveUp
                pieces.append(piece)
            return pieces
        if _call_of(node, "map", 2) and isinstance(node.args[0], ast.Name) and node.args[0].id == "chr":
            return [_chr(c) for c in self._ints(node.args[1])]
        if isinstance(node, ast.GeneratorExp | ast.ListComp) and len(node.generators) == 1:
            loop = node.generators[0]
            if loop.ifs or loop.is_async or not isinstance(loop.target, ast.Name):
                raise _GiveUp
            shift = _shift(node.elt, loop.target.id)
            return [_chr(shift(c)) for c in self._ints(loop.iter)]
        backwards = _call_of(node, "reversed", 1)
        text = self.value(node.args[0] if _call_of(node, "reversed", 1) else node)
        if not isinstance(text, str):
            raise _GiveUp
        # ``''.join(reversed(S))`` and ``''.join(S)``: the characters of a text, in either order
        return list(reversed(text)) if backwards else list(text)

    def _piece(self, node: ast.expr) -> Value:
        if _call_of(node, "chr", 1) and isinstance(node.args[0], ast.Constant):
            return _chr(self._int(node.args[0]))  # the common case, without spending steps
        return self.value(node)

    def _int(self, node: ast.expr) -> int:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        raise _GiveUp

    def _ints(self, node: ast.expr) -> list[int]:
        """A literal list (or tuple) of integers, directly or through a name bound once."""
        self._steps -= 1
        if self._steps < 0:
            raise _GiveUp
        if isinstance(node, ast.Name):
            node = self._bound(node.id)
        if not isinstance(node, ast.List | ast.Tuple) or len(node.elts) > self._limit:
            raise _GiveUp
        return [self._int(e) for e in node.elts]

    def _encoding(self, node: ast.Call) -> str:
        if not node.args:
            return "utf-8"
        encoding = self.value(node.args[0])
        if not isinstance(encoding, str) or encoding.lower() not in _TEXT_ENCODINGS:
            raise _GiveUp
        return encoding


def _chr(code: int) -> str:
    if not 0 <= code <= 0x10FFFF:
        raise _GiveUp
    return chr(code)


_SHIFTS: dict[type, Callable[[int, int], int]] = {
    ast.Add: lambda c, k: c + k,
    ast.Sub: lambda c, k: c - k,
    ast.BitXor: lambda c, k: c ^ k,
}


def _call_of(node: ast.AST, name: str, arity: int) -> TypeGuard[ast.Call]:
    """``node`` calls the plain name ``name`` with ``arity`` positional arguments."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == name
        and len(node.args) == arity
    )


def _shift(elt: ast.expr, name: str) -> Callable[[int], int]:
    """For ``chr(c)``, ``chr(c + K)``, ``chr(c - K)``, ``chr(c ^ K)`` (``c`` the loop name): what
    turns each code into the character's."""
    if not _call_of(elt, "chr", 1):
        raise _GiveUp
    arg = elt.args[0]
    if isinstance(arg, ast.Name) and arg.id == name:
        return lambda c: c
    if (
        isinstance(arg, ast.BinOp)
        and type(arg.op) in _SHIFTS
        and isinstance(arg.left, ast.Name)
        and arg.left.id == name
        and isinstance(arg.right, ast.Constant)
        and type(arg.right.value) is int
    ):
        op, key = _SHIFTS[type(arg.op)], arg.right.value
        return lambda c: op(c, key)
    raise _GiveUp


def _dotted(node: ast.expr) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif _call_of(node, "__import__", 1) and isinstance(node.args[0], ast.Constant):
        parts.append(str(node.args[0].value))  # ``__import__("base64").b64decode``
    elif parts:
        parts.append("?")  # a call on a value: ``x.decode()`` keeps its method name last
    return ".".join(reversed(parts))


_BINDINGS: weakref.WeakKeyDictionary[ast.Module, dict[str, list[ast.expr]]] = weakref.WeakKeyDictionary()
"""Each tree's bindings, read once: a file with many decodable calls (typing_extensions' tests
unpickle dozens of values) had its whole tree walked again per call. Weak, so a released tree
takes its entry with it (its nodes point only downwards, never back at the module)."""


_OPAQUE: ast.expr = ast.Constant(value=None)
"""The placeholder value of a name bound other than by a plain assignment."""


def _bindings(tree: ast.Module) -> dict[str, list[ast.expr]]:
    """Every value each plain name is bound to; a name bound any other way (augmented,
    unpacked, a loop, ``with ... as``, an import, a parameter...) also gets a placeholder, so it
    never counts as bound once."""
    found: dict[str, list[ast.expr]] = {}
    opaque = _OPAQUE
    plain: set[int] = set()
    for node in ast.walk(tree):  # breadth first: an assignment comes before its target
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and node.value is not None:
                    plain.add(id(target))
                    found.setdefault(target.id, []).append(node.value)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load) and id(node) not in plain:
            found.setdefault(node.id, []).append(opaque)
        elif isinstance(node, ast.arg):
            found.setdefault(node.arg, []).append(opaque)
        elif isinstance(node, ast.alias):
            found.setdefault((node.asname or node.name).partition(".")[0], []).append(opaque)
    return found
