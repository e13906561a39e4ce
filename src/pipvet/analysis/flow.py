"""Simple data flow: what feeds an expression, following local names, lambdas and helpers.

:func:`trace` looks at an expression (say, the argument of ``exec``) and everything that flows
into it through plain-name assignments (``x = b64decode(s); exec(x)``), lambdas and local
functions' ``return`` values, bounded so adversarial code cannot make it slow. It reports the
transforms seen (base64, zlib, hex, rot13, reversal ...), how deeply they nest, and whether
fetched data, file contents or ``chr()`` arithmetic flow in.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field

from pipvet.analysis.facts import CAPABILITIES, CallFact, Facts

#: Calls that turn opaque data into code or text: one "layer" each. The decoding calls that the
#: shared facts know (``CAPABILITIES["decode"]``), less those that only build a decrypter (its
#: ``.decrypt`` is a layer through :data:`DECODER_METHODS`), plus unpickling.
DECODERS: frozenset[str] = (
    frozenset(CAPABILITIES["decode"]) - {"cryptography.fernet.Fernet", "?.decrypt"}
) | {"pickle.loads"}
#: Method names that decode when the receiver is unknown (``x.b64decode``, ``f.decrypt``).
DECODER_METHODS: frozenset[str] = frozenset(
    {"b64decode", "b32decode", "b85decode", "a85decode", "decompress", "decrypt", "unhexlify", "fromhex"}
)
NETWORK_READS: frozenset[str] = frozenset(
    n for n in CAPABILITIES["network"] if not n.startswith(("socket.gethostbyname", "socket.getaddrinfo"))
)

_MAX_NODES = 4000


# eq=False: never compared, so no __eq__/__hash__ to generate at import
@dataclass(slots=True, eq=False)
class Trace:
    """What flows into one expression: decoders, network or file reads, character tricks."""

    decoders: list[str] = field(default_factory=list)
    """Decoding calls seen in the flow (resolved names, ``[::-1]`` for reversal)."""
    depth: int = 0
    """Longest chain of nested decoding layers."""
    fetched: bool = False
    """Data read from the network flows in."""
    file_read: bool = False
    """Data read from a file (``open(...).read()``) flows in."""
    chr_calls: int = 0
    """``chr``/``unichr`` calls (or ``map(chr, ...)``) seen in the flow."""
    int_list: int = 0
    """Length of the longest literal list/tuple of integers seen (character codes?)."""
    chr_constants: int = 0
    """``chr(<int literal>)`` calls seen."""
    literal_chars: int = 0
    """Total length of string/bytes literals flowing in."""
    names: set[str] = field(default_factory=set)
    """Every resolved call name in the flow."""
    strings: list[str] = field(default_factory=list)
    """Text of the (first few) string literals flowing in, for command/URL checks."""

    @property
    def decoded(self) -> bool:
        return self.depth > 0

    @property
    def chr_join(self) -> bool:
        """Text assembled from character codes (``''.join(map(chr, [...]))``, ``chr(1)+chr(2)...``)."""
        return self.chr_calls > 0 and (self.int_list >= 8 or self.chr_constants >= 8)


#: Calls that return what the command they run prints.
_COMMAND_OUTPUT = frozenset(
    {"subprocess.getoutput", "subprocess.check_output", "os.popen", "commands.getoutput", "subprocess.run"}
)


def _fetching_command(node: ast.Call) -> bool:
    """The literal command is ``curl``/``wget`` with an address (not ``--version``): its output
    is what the address answered (pymocks ran ``getoutput(getoutput('curl http://h/msg'))``)."""
    head = node.args[0] if node.args else None
    if isinstance(head, ast.List | ast.Tuple):
        words = [e.value for e in head.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        text = " ".join(words)
    else:
        text = head.value if isinstance(head, ast.Constant) and isinstance(head.value, str) else ""
    if not text.split():
        return False
    program, *words = text.split()
    if program.lower().removesuffix(".exe") not in ("curl", "wget"):
        return False
    return any("://" in word or ("." in word and not word.startswith("-")) for word in words)


def _is_decoder(name: str) -> bool:
    if name in DECODERS:
        return True
    method = name.rpartition(".")[2]
    return name.startswith("?") and method in DECODER_METHODS


def _is_network(name: str) -> bool:
    """A call that returns data read from the network (``urlopen(u)``, ``urlopen(u).read()``)."""
    if name in NETWORK_READS:
        return True
    head, sep, _rest = name.partition("().")
    return bool(sep) and (head + "()" in NETWORK_READS or head in NETWORK_READS)


_HIDDEN_TEXT_MIN = 16
"""Characters of literal text that make reversing a part of an object worth calling decoding."""


def _is_reverse(node: ast.AST) -> bool:
    if not (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice)):
        return False
    step = node.slice.step
    return (
        isinstance(step, ast.UnaryOp)
        and isinstance(step.op, ast.USub)
        and isinstance(step.operand, ast.Constant)
        and step.operand.value == 1
    )


def _radix_decode(node: ast.Call) -> bool:
    """``int(x, 2)``, ``int(x, base=16)``: a computed value read as digits of a base other than 10."""
    base = (
        node.args[1]
        if len(node.args) > 1
        else next((k.value for k in node.keywords if k.arg == "base"), None)
    )
    if base is None or not node.args or isinstance(node.args[0], ast.Constant):
        return False
    return not (isinstance(base, ast.Constant) and base.value == 10)


def _constant_index(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int


class _Tracer:
    def __init__(self, facts: Facts, function: str | None, *, callers: bool = True) -> None:
        self.facts = facts
        self.function = function
        self.callers = callers
        self.trace = Trace()
        self.budget = _MAX_NODES
        self.seen_names: set[tuple[str | None, str]] = set()
        self.memo: dict[int, int] = {}
        self._classes: frozenset[str] | None = None

    def depth(self, node: ast.AST, level: int = 0, function: str | None = None) -> int:
        """``function``: the qualified name whose local variables names in ``node`` refer to."""
        """Decoding layers under ``node`` (and record everything seen on the way)."""
        key = id(node)
        if key in self.memo:
            return self.memo[key]
        self.memo[key] = 0
        if self.budget <= 0 or level > 150:
            return 0
        self.budget -= 1
        layer = 0
        extra: list[ast.AST] = []
        extra_function = function
        about: list[ast.AST] | None = None
        scoped: list[tuple[ast.expr, str | None]] = []
        reversed_at: tuple[int, tuple[int, bool, bool]] | None = None
        if isinstance(node, ast.Call):
            call = self.facts.by_node.get(id(node))
            name = call.name if call is not None else "?"
            self.trace.names.add(name)
            if _is_decoder(name):
                layer = 1
                self.trace.decoders.append(name)
                if name == "codecs.decode" and not self._codec_is_transform(node):
                    layer = 0
            if _is_network(name) or (name in _COMMAND_OUTPUT and _fetching_command(node)):
                self.trace.fetched = True
            if name in {"open", "io.open", "codecs.open"} or name.endswith(".read_text"):
                self.trace.file_read = True
            head = node.args[0] if node.args else None
            if name == "int" and layer == 0 and _radix_decode(node):
                # int(bits, 2), int(pair, 16): text of digits in another base turned into numbers
                # (then characters or bytes): whitespace, binary and hex encodings of source
                layer = 1
                self.trace.decoders.append("digits in another base")
            if name in {"chr", "unichr"}:
                self.trace.chr_calls += 1
                if isinstance(head, ast.Constant):
                    self.trace.chr_constants += 1
                elif isinstance(head, ast.BinOp) and layer == 0 and not _counts_letters(head):
                    # chr(ord(c) - key ...) / chr(x ^ k): a character-shift or XOR cipher.
                    layer = 1
                    self.trace.decoders.append("char arithmetic")
            if name == "map" and isinstance(head, ast.Name) and head.id in {"chr", "unichr"}:
                self.trace.chr_calls += 1
            extra, extra_function = self._follow_call(name, function)
            if not extra and type(node.func) is ast.Attribute:
                method = self._method(node.func, function)
                if method is not None:
                    extra, extra_function = self._follow_call(method, function)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            handed = self._handed_to(node.id, function)
            if handed is None:
                extra = self._follow_name(node.id, function)
            else:
                extra, scoped = self._follow_name(node.id, function, module=False), handed
        elif type(node) is ast.Attribute and type(node.ctx) is ast.Load:
            extra = self._follow_attribute(node, function)
            if node.attr in _ABOUT_THE_OBJECT and type(node.value) is ast.Name:
                # ``f.name`` of a file the code wrote a download into: the file's name (what
                # ``f`` was made from), not the data written into it
                about = [*extra, *self._follow_name_values(node.value.id, function)[:20]]
        elif isinstance(node, ast.List | ast.Tuple) and len(node.elts) >= 8:
            ints = sum(1 for e in node.elts[:64] if isinstance(e, ast.Constant) and type(e.value) is int)
            if ints >= min(8, len(node.elts)):
                self.trace.int_list = max(self.trace.int_list, len(node.elts))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitXor):
            layer = 1
            self.trace.decoders.append("xor")
        elif _is_reverse(node):
            layer = 1
            self.trace.decoders.append("[::-1]")
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Attribute | ast.Subscript)
                and not self._module_constant(node.value)
            ):
                # ``image.shape[:2][::-1]``: a part of some object, unknown unless text reaches it
                reversed_at = (len(self.trace.decoders) - 1, self._carried())
        elif isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
            self.trace.literal_chars += len(node.value)
            if isinstance(node.value, str) and len(self.trace.strings) < 40:
                self.trace.strings.append(node.value[:4000])
        children: list[ast.AST] = (
            [node.body] if isinstance(node, ast.Lambda) else list(ast.iter_child_nodes(node))
        )
        if about is not None:
            children, extra = [], about
        if isinstance(node, ast.Call) and _counts(node, self.facts):
            # ``len(data)``, ``range(n)``: a count or a truth value, whatever it was taken of
            children = []
        if isinstance(node, ast.IfExp):
            # ``open(p).read() if os.path.exists(p) else ""``: the value is one of the branches;
            # the condition only picks which (its calls carry nothing into the value)
            children = [node.body, node.orelse]
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            # ``text[a:b]``: the bounds are positions; what flows is the text, whatever decoding
            # went into finding them (``re.search(p, s[::-1]).start()``)
            children = [node.value]
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Subscript)
            and _is_reverse(node.value)
            and _constant_index(node.slice)
        ):
            # ``order[::-1][0]`` is ``order[-1]``: one element picked, nothing decoded
            children = [node.value.value, node.slice]
        inner = 0
        for child in children:
            inner = max(inner, self.depth(child, level + 1, function))
        for child in extra:
            inner = max(inner, self.depth(child, level + 1, extra_function))
        for child, caller in scoped:
            inner = max(inner, self.depth(child, level + 1, caller))
        if reversed_at is not None and not self._carried_since(reversed_at[1]):
            # ``shape[:2][::-1]``, ``self.items[::-1]``: reversing a part of an object that holds
            # no text, downloaded data or file contents decodes nothing (a bare name may be a
            # parameter carrying anything, so it keeps its layer)
            layer = 0
            del self.trace.decoders[reversed_at[0]]
        result = layer + inner
        self.memo[key] = result
        return result

    def _module_constant(self, node: ast.expr) -> bool:
        """``string.ascii_letters``: reached from an imported module, so text as good as a literal."""
        while isinstance(node, ast.Attribute | ast.Subscript):
            node = node.value
        return isinstance(node, ast.Name) and any(i.bound == node.id for i in self.facts.imports)

    def _carried(self) -> tuple[int, bool, bool]:
        """How much text, downloaded data and file contents the flow has met so far."""
        return (self.trace.literal_chars, self.trace.fetched, self.trace.file_read)

    def _carried_since(self, before: tuple[int, bool, bool]) -> bool:
        """Whether text worth hiding (a few words, not ``"uint8"`` passed to a method on the way),
        downloaded data or file contents has reached the flow since ``before``."""
        chars, fetched, file_read = self._carried()
        return chars - before[0] >= _HIDDEN_TEXT_MIN or fetched > before[1] or file_read > before[2]

    @staticmethod
    def _codec_is_transform(node: ast.Call) -> bool:
        args = [*node.args[1:], *(k.value for k in node.keywords if k.arg == "encoding")]
        for a in args:
            if isinstance(a, ast.Constant) and isinstance(a.value, str):
                return a.value.lower().replace("-", "_") in {
                    "rot13",
                    "rot_13",
                    "hex",
                    "hex_codec",
                    "base64",
                    "base64_codec",
                    "zlib",
                    "zlib_codec",
                    "bz2",
                    "bz2_codec",
                    "uu",
                }
        return False

    def _follow_name(self, name: str, function: str | None, *, module: bool = True) -> list[ast.AST]:
        if (function, name) in self.seen_names:
            return []
        self.seen_names.add((function, name))
        assigns = self.facts.assigns.get(name, ())
        # The name as seen from where the flow starts: its function's own assignments, else the
        # module's (globals). Assignments in unrelated functions are different variables.
        local: list[ast.AST] = [a.value for a in assigns if a.function == function]
        scope = function
        if not local and function is not None and module:
            local = [a.value for a in assigns if a.function is None]
            scope = None
        return local[:20] + self._fills(name, scope)[:20]

    def _handed_to(self, name: str, function: str | None) -> list[tuple[ast.expr, str | None]] | None:
        """When ``name`` is a parameter of the file's own ``function``: the arguments the file's
        calls of that function hand it, each with the function the call sits in, so that
        ``def run(c): exec(c)`` then ``run(b64decode(BLOB))`` reads as one flow. ``None`` when
        ``name`` is no parameter."""
        fn = self.facts.functions.get(function) if function is not None and self.callers else None
        if fn is None or (function, "param " + name) in self.seen_names:
            return None
        args = fn.args
        positional = [a.arg for a in (*args.posonlyargs, *args.args)]
        if name not in positional and name not in {a.arg for a in args.kwonlyargs}:
            return None
        self.seen_names.add((function, "param " + name))
        assert function is not None
        owner, _, short = function.rpartition(".")
        found: list[tuple[ast.expr, str | None]] = []
        for call in self._calls_of(function, owner, short):
            bound_self = (
                bool(owner)
                and positional[:1] in (["self"], ["cls"])
                and not call.name.endswith(f"{owner}.{short}")
            )
            at = positional.index(name) - bound_self if name in positional else -1
            for index, arg in enumerate(call.node.args):
                if isinstance(arg, ast.Starred):
                    break
                if index == at:
                    found.append((arg, call.function))
            found.extend((k.value, call.function) for k in call.node.keywords if k.arg == name)
            if len(found) >= 10:
                break
        return found

    def _calls_of(self, function: str, owner: str, short: str) -> Iterator[CallFact]:
        """The file's calls of its own ``function`` (``run(...)``; a method through its class, an
        instance made on the spot or ``self``)."""
        index = self.facts.calls_by_name
        if index is None:
            index = self.facts.calls_by_name = {}
            for call in self.facts.calls:
                index.setdefault(call.name.lstrip("?"), []).append(call)
        yield from index.get(function, ())
        if owner:
            yield from index.get(f"{owner}().{short}", ())
            for call in index.get(f"self.{short}", ()):
                if (call.function or "").startswith(owner + "."):
                    yield call

    def _fills(self, name: str, function: str | None) -> list[ast.AST]:
        """What calls in the same scope put into the object ``name`` holds:
        ``msg.set_content(text)``, ``parts.append(chunk)``, ``buf.write(data)``."""
        index = self.facts.fills
        if index is None:
            index = self.facts.fills = {}
            for call in self.facts.calls:
                func = call.node.func
                if type(func) is ast.Attribute and func.attr in _FILLS and type(func.value) is ast.Name:
                    index.setdefault((call.function, func.value.id), []).extend(call.node.args)
        return list(index.get((function, name), ()))

    def _class_of(self, receiver: ast.expr, function: str | None) -> str | None:
        """The file's own class an instance expression belongs to: ``self`` inside one of its
        methods, ``K()`` made on the spot, or a name bound to ``K(...)``."""
        if not self.facts.classes:
            return None
        classes = self._classes
        if classes is None:
            classes = self._classes = frozenset(c.qualname for c in self.facts.classes)
        if type(receiver) is ast.Call and type(receiver.func) is ast.Name and receiver.func.id in classes:
            return receiver.func.id
        if type(receiver) is not ast.Name:
            return None
        if receiver.id == "self" and function is not None:
            owner = function.rpartition(".")[0]
            return owner if owner in classes else None
        for value in self._follow_name_values(receiver.id, function):
            if type(value) is ast.Call and type(value.func) is ast.Name and value.func.id in classes:
                return value.func.id
        return None

    def _method(self, func: ast.Attribute, function: str | None) -> str | None:
        """``D().run(...)``, ``d.run(...)``, ``self.run(...)``: the method of the file's own
        class that the call reaches, by qualified name."""
        owner = self._class_of(func.value, function)
        method = f"{owner}.{func.attr}" if owner is not None else None
        return method if method in self.facts.functions else None

    def _follow_attribute(self, node: ast.Attribute, function: str | None) -> list[ast.AST]:
        """``k.r`` where ``k = K(...)`` and ``K``'s methods assign ``self.r``: those values."""
        owner = self._class_of(node.value, function)
        if owner is None or (None, f"attr {owner}.{node.attr}") in self.seen_names:
            return []
        self.seen_names.add((None, f"attr {owner}.{node.attr}"))
        index = self.facts.self_attrs
        if index is None:
            index = self.facts.self_attrs = {}
            for a in self.facts.attr_assigns:
                if a.target.startswith(("self.", "?self.")):
                    index.setdefault(a.target.rpartition(".")[2], []).append(a)
        prefix = owner + "."
        found: list[ast.AST] = [
            a.value
            for a in index.get(node.attr, ())
            if a.function is not None and a.function.startswith(prefix) and a.target.count(".") == 1
        ]
        return found[:20]

    def _follow_name_values(self, name: str, function: str | None) -> list[ast.expr]:
        assigns = self.facts.assigns.get(name, ())
        local = [a.value for a in assigns if a.function == function]
        return local or [a.value for a in assigns if a.function is None]

    def _follow_call(self, name: str, function: str | None) -> tuple[list[ast.AST], str | None]:
        """The values a local function or lambda returns, so ``_(payload)`` is looked into;
        with the function whose variables those values use."""
        local = name.lstrip("?")
        fn = self.facts.functions.get(local)
        if fn is None or (None, "def " + local) in self.seen_names:
            return [], function
        self.seen_names.add((None, "def " + local))
        self.facts.ensure(local)
        if isinstance(fn, ast.Lambda):
            return [fn.body], local
        returns: list[ast.AST] = []
        for stmt in fn.body:
            returns.extend(_returns(stmt))
        return returns[:20], local


#: Attributes that describe an object rather than hold what was put into it.
_ABOUT_THE_OBJECT = frozenset({"name", "path", "filename", "mode", "closed", "encoding"})

_FILLS = frozenset(
    {
        "set_content",
        "set_payload",
        "attach",
        "add_attachment",
        "append",
        "extend",
        "insert",
        "write",
        "writelines",
    }
)
"""Methods that put their argument into the object they are called on (a message, a list, a buffer)."""


_COUNTS = frozenset({"len", "range", "bool", "isinstance", "issubclass", "hasattr", "callable", "id", "hash"})
"""Builtins whose result carries none of their arguments' content: a number or a truth value."""


def _counts(node: ast.Call, facts: Facts) -> bool:
    call = facts.by_node.get(id(node))
    return call is not None and call.name in _COUNTS


def _counts_letters(expr: ast.BinOp) -> bool:
    """``chr(ord('a') + i)``: letters counted from a one-character literal (column names, drive
    letters), not a cipher shifting the characters of hidden text."""
    return any(
        isinstance(sub, ast.Call)
        and isinstance(sub.func, ast.Name)
        and sub.func.id == "ord"
        and len(sub.args) == 1
        and isinstance(sub.args[0], ast.Constant)
        and isinstance(sub.args[0].value, str)
        and len(sub.args[0].value) == 1
        for sub in ast.walk(expr)
    )


def _returns(stmt: ast.stmt) -> list[ast.AST]:
    out: list[ast.AST] = []
    todo: list[ast.AST] = [stmt]
    while todo and len(out) < 20:
        node = todo.pop()
        if isinstance(node, ast.Return) and node.value is not None:
            out.append(node.value)
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            todo.extend(ast.iter_child_nodes(node))
    return out


def trace(facts: Facts, node: ast.AST, function: str | None = None, *, callers: bool = True) -> Trace:
    """What flows into ``node``: decoding layers, fetched data, file reads, ``chr`` arithmetic.

    ``function`` is the qualified name of the function ``node`` sits in (``None``: module level),
    so local names resolve to that function's assignments. With ``callers``, a parameter of the
    file's own function takes what the file's calls of it pass (see :meth:`_Tracer._handed_to`).
    """
    tracer = _Tracer(facts, function, callers=callers)
    tracer.trace.depth = tracer.depth(node, 0, function)
    return tracer.trace
