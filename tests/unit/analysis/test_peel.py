"""Static decoding of literal payloads: what it follows, where it gives up, and its bounds."""

from __future__ import annotations

import ast
import base64
import bz2
import codecs
import gzip
import lzma
import zlib

import pytest

from pipvet.analysis.peel import decoded_source


def _peel(source: str, limit: int = 1 << 20) -> str | None:
    """Decode the first argument of the last statement's call."""
    tree = ast.parse(source)
    last = tree.body[-1]
    assert isinstance(last, ast.Expr)
    assert isinstance(last.value, ast.Call)
    return decoded_source(last.value.args[0], tree, limit=limit)


CODE = b"import os\nos.system('id')\n"


@pytest.mark.parametrize(
    "expr",
    [
        f"base64.b64decode({base64.b64encode(CODE)!r})",
        f"base64.b64decode({base64.b64encode(CODE).decode()!r}).decode('utf-8')",
        f"zlib.decompress(base64.b64decode({base64.b64encode(zlib.compress(CODE))!r}))",
        f"lzma.decompress(base64.b85decode({base64.b85encode(lzma.compress(CODE))!r}))",
        f"bz2.decompress(binascii.unhexlify({bz2.compress(CODE).hex()!r}))",
        f"gzip.decompress(bytes.fromhex({gzip.compress(CODE).hex()!r}))",
        f"codecs.decode({codecs.encode(CODE.decode(), 'rot13')!r}, 'rot13')",
        f"base64.b32decode({base64.b32encode(CODE).decode()[::-1]!r}[::-1])",
        f"base64.b64decode({base64.b64encode(CODE)[:8]!r} + {base64.b64encode(CODE)[8:]!r})",
        # modules named through __import__, and a codec name that is itself encoded
        f"__import__('base64').b64decode({base64.b64encode(CODE)!r})",
        f"__import__('codecs').decode({codecs.encode(CODE.decode(), 'rot13')!r}, "
        f"__import__('base64').b64decode({base64.b64encode(b'rot13')!r}).decode())",
    ],
)
def test_pure_decoders_of_literals_are_undone(expr: str) -> None:
    assert _peel(f"exec({expr})") == CODE.decode()


def test_a_name_bound_once_is_followed_but_one_bound_twice_is_not() -> None:
    blob = base64.b64encode(CODE).decode()
    assert _peel(f"P = {blob!r}\nQ = base64.b64decode(P)\nexec(Q)") == CODE.decode()
    assert _peel(f"P = {blob!r}\nP = P\nexec(base64.b64decode(P))") is None
    assert _peel(f"for P in []: pass\nP = {blob!r}\nexec(base64.b64decode(P))") is None
    assert _peel(f"def f(P):\n    pass\nP = {blob!r}\nexec(base64.b64decode(P))") is None


@pytest.mark.parametrize(
    "source",
    [
        "exec(base64.b64decode(open('x').read()))",  # read at run time
        "exec(base64.b64decode(requests.get(u).content))",  # fetched
        "exec(marshal.loads(b'\\xe3'))",  # unknown decoder
        "exec(base64.b64decode(UNDEFINED))",  # never bound
        "exec(base64.b64decode('!!not base64!!', validate=True))",
        "exec(base64.b64decode('gA=='))",  # not UTF-8
    ],
)
def test_anything_it_cannot_tell_without_running_is_none(source: str) -> None:
    assert _peel(source) is None


def test_decompression_is_bounded() -> None:
    bomb = base64.b64encode(zlib.compress(b"a" * 5_000_000)).decode()
    assert _peel(f"exec(zlib.decompress(base64.b64decode({bomb!r})))", limit=1_000_000) is None
    assert _peel(f"exec(zlib.decompress(base64.b64decode({bomb!r})))", limit=6_000_000) == "a" * 5_000_000


def test_self_reference_and_long_chains_give_up() -> None:
    assert _peel("A = B\nB = A\nexec(A)") is None
    chain = "\n".join(f"V{i} = V{i + 1}" for i in range(300)) + "\nV300 = 'x'\nexec(V0)"
    assert _peel(chain) is None


def test_a_trees_bindings_are_read_once_and_go_with_the_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every decodable call of a file used to walk the whole tree again for its names."""
    import gc

    from pipvet.analysis import peel

    walks: list[int] = []
    real = peel._bindings

    def counting(tree: ast.Module) -> dict[str, list[ast.expr]]:
        walks.append(id(tree))
        return real(tree)

    monkeypatch.setattr(peel, "_bindings", counting)
    before = len(peel._BINDINGS)
    encoded = base64.b64encode(CODE).decode()
    tree = ast.parse(f"import base64\nA = {encoded!r}\nf(base64.b64decode(A))\ng(base64.b64decode(A))\n")
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    assert [decoded_source(c.args[0], tree) for c in calls] == [CODE.decode(), CODE.decode()]
    assert len(walks) == 1
    del tree, calls
    gc.collect()
    assert len(peel._BINDINGS) == before
