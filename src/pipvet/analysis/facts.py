"""Facts many rules share, collected in ONE walk over a file's syntax tree and memoised.

Rules ask :func:`facts_of` for a :class:`Facts` object instead of walking the tree themselves:

- every call, with its callee resolved to a dotted name that honours import aliases
  (``import base64 as b; b.b64decode`` -> ``base64.b64decode``, ``from os import system`` ->
  ``os.system``), ``__import__('os').system`` and ``getattr(builtins, 'exec')`` indirections
  (``builtins.exec`` is reported as plain ``exec`` with ``indirect=True``), and simple name
  aliases (``e = exec``);
- *when* each call runs: at load (module level, class bodies, decorators and defaults; i.e. when
  the file is executed or imported) or only when a function is called, and whether it sits
  under an ``if __name__ == "__main__"`` guard;
- string and bytes literals with positions;
- assignments to plain names (for simple data flow) and to attributes (monkey-patching);
- imports, function and class definitions (with resolved base classes), and which calls
  each function makes, so a rule can follow ``def run(): ...`` / ``run()`` at module level.

The walk is iterative (deeply nested expressions cannot overflow the stack) and visits every
node once. :data:`CAPABILITIES` maps resolved names to what they can do (network, process,
exec, decode, file write ...), so rules share one vocabulary.
"""

from __future__ import annotations

import ast
import binascii
import builtins
import enum
import re
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pipvet.analysis.context import FileContext
from pipvet.analysis.lazyre import LazyPattern

_CACHE_KEY = "pipvet.facts"


class Scope(enum.Enum):
    MODULE = "module"
    CLASS = "class"
    FUNCTION = "function"


class CallFact(NamedTuple):
    """One call site. (A named tuple: there are hundreds of thousands in big packages.)"""

    name: str
    """Resolved dotted callee (``os.system``, ``exec``). Names rooted in a local variable or an
    unknown expression start with ``?`` (``?data.decode``, ``?.read``)."""
    node: ast.Call
    line: int
    scope: Scope
    function: str | None
    """Qualified name of the innermost enclosing function (``Install.run``), if any."""
    main_guard: bool
    """Inside ``if __name__ == "__main__":`` (runs only when the file is executed as a script)."""
    indirect: bool
    """Reached through ``__import__``/``getattr``/``builtins``/``importlib`` rather than by name."""

    @property
    def at_load(self) -> bool:
        """Runs when the module is imported (module level or class body, not under a main guard)."""
        return self.scope is not Scope.FUNCTION and not self.main_guard

    @property
    def at_exec(self) -> bool:
        """Runs when the file is executed as a script (setup.py): module level incl. main guard."""
        return self.scope is not Scope.FUNCTION


class LiteralFact(NamedTuple):
    """One string or bytes literal."""

    value: str | bytes
    line: int
    col: int
    end_line: int
    scope: Scope
    docstring: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class AssignFact:
    """One assignment (``=``, ``+=``, annotated) to a name or attribute."""

    target: str
    """A plain name (``x``) or a dotted attribute target (``requests.get``, ``Cls.__init__``)."""
    value: ast.expr
    line: int
    scope: Scope
    function: str | None
    augmented: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class ImportFact:
    """One name bound by an ``import`` or ``from ... import`` statement."""

    module: str
    """The imported module (``os.path``; ``.sub`` for relative imports)."""
    name: str | None
    """For ``from m import name``: the name; else ``None``."""
    bound: str
    """The local name bound."""
    line: int
    scope: Scope


@dataclass(frozen=True, kw_only=True, slots=True)
class ClassFact:
    """One class definition and its resolved base classes."""

    name: str
    qualname: str
    bases: tuple[str, ...]
    """Resolved dotted names of the base classes (``setuptools.command.install.install``)."""
    node: ast.ClassDef
    line: int
    scope: Scope


# eq=False: never compared, so no __eq__/__hash__ to generate at import
@dataclass(slots=True, eq=False)
class Facts:
    """What one walk of a module's tree collects, for the rules to query."""

    calls: list[CallFact] = field(default_factory=list)
    literals: list[LiteralFact] = field(default_factory=list)
    assigns: dict[str, list[AssignFact]] = field(default_factory=dict)
    attr_assigns: list[AssignFact] = field(default_factory=list)
    imports: list[ImportFact] = field(default_factory=list)
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda] = field(default_factory=dict)
    """Qualified name -> definition (lambdas assigned to a name are listed under that name)."""
    classes: list[ClassFact] = field(default_factory=list)
    calls_in: dict[str | None, list[CallFact]] = field(default_factory=dict)
    """Calls grouped by enclosing function qualname (``None``: module level and class bodies)."""
    attributes: list[tuple[str, int, Scope, str | None]] = field(default_factory=list)
    """Resolved dotted attribute reads rooted at an imported module (``os.environ``): name, line,
    scope and enclosing function."""
    aliases: dict[str, str] = field(default_factory=dict)
    """Local name -> dotted name it stands for, as seen at the end of the walk."""
    by_node: dict[int, CallFact] = field(default_factory=dict)
    """``id(ast.Call)`` -> its fact, so data-flow code can resolve calls inside expressions."""
    _on_load: set[int] | None = None
    _pending: dict[str, list[tuple[ast.AST, _Ctx]]] = field(default_factory=dict)
    """Function bodies a lazy walk has not visited yet (see :func:`load_facts`)."""
    _walker: _Walker | None = None
    fills: dict[tuple[str | None, str], list[ast.expr]] | None = None
    """(function, name) -> arguments of calls that put something into the object ``name``
    holds (``msg.set_content(x)``); built by the data flow on first use."""
    self_attrs: dict[str, list[AssignFact]] | None = None
    """attribute -> assignments to ``self.<attribute>``; built by the data flow on first use."""
    calls_by_name: dict[str, list[CallFact]] | None = None
    """Resolved name (without a leading ``?``) -> its calls; built by the data flow on first use."""
    entries: frozenset[str] = frozenset()
    """Functions and classes of this module that other modules call as they load (set from
    :attr:`FileContext.entries <pipvet.analysis.context.FileContext.entries>`)."""

    def ensure(self, function: str) -> None:
        """Visit ``function``'s body now if a lazy walk left it for later (no-op otherwise)."""
        body = self._pending.pop(function, None)
        walker = self._walker
        if body is not None and walker is not None:
            self.fills = self.self_attrs = self.calls_by_name = None  # the body adds calls and assignments
            walker.facts = self
            try:
                walker.run(body)
            finally:
                del walker.facts

    def close(self) -> None:
        """Cut the link to a lazy walk's walker (and the bodies it had left), which points back
        here: the file is done with."""
        self._walker = None
        self._pending.clear()

    def written(self, call: CallFact) -> bool:
        """Whether ``call`` is a call the source spells out, not one inferred from a function
        handed to another (``try_call(os.getcwd)`` calls ``os.getcwd``, but not in place)."""
        return self.by_node.get(id(call.node)) is call

    def runs_on_load(self, call: CallFact) -> bool:
        """True when ``call`` runs as the module loads: at module level, or in a local function
        that module-level code calls (directly, via a class, a thread target, a callback), or
        one that another module of the package calls as it loads (:attr:`entries`)."""
        if self._on_load is None:
            self._on_load = {id(c) for c in self.reachable_calls(self.load_roots())}
        return id(call) in self._on_load

    def load_roots(self) -> list[CallFact]:
        """The calls that run as the module loads before any reachability: those at module
        level and in class bodies, and those of the functions and classes that another module
        of the package calls as it loads (``prepare()`` in ``__init__.py`` after ``from .env
        import prepare``)."""
        roots = [c for c in self.calls if c.at_load]
        for entry in self.entries:
            for target in (entry, *(f"{entry}.{method}" for method in _ON_INSTANCE)):
                if target in self.functions:
                    self.ensure(target)
                    roots.extend(self.calls_in.get(target, ()))
        return roots

    @property
    def imported_modules(self) -> set[str]:
        return {i.module for i in self.imports}

    def calls_named(self, *names: str) -> Iterator[CallFact]:
        wanted = set(names)
        return (c for c in self.calls if c.name in wanted)

    def reachable_calls(
        self, roots: list[CallFact], depth: int = 4, skip: Callable[[CallFact], bool] | None = None
    ) -> list[CallFact]:
        """Calls made by local functions that ``roots`` call (transitively, bounded), roots included.

        Follows ``f()`` to ``def f``, ``Cls()`` to ``Cls.__init__``, ``threading.Thread(target=f)``
        to ``f``, so a call hidden one level down in a helper still counts for when it runs.
        Calls for which ``skip`` is true (code that never runs in the case at hand) are neither
        returned nor followed.
        """
        seen: set[str] = set()
        out: list[CallFact] = list(roots)
        frontier = roots
        for _ in range(depth):
            nxt: list[CallFact] = []
            for call in frontier:
                for target in self._local_targets(call):
                    if target in seen:
                        continue
                    seen.add(target)
                    self.ensure(target)
                    made = self.calls_in.get(target, ())
                    nxt.extend(made if skip is None else [c for c in made if not skip(c)])
            out.extend(nxt)
            frontier = nxt
            if not frontier:
                break
        return out

    def _local_targets(self, call: CallFact) -> Iterator[str]:
        name = self._qualified(call.name.lstrip("?"), call.function)
        if name in self.functions:
            yield name
        made, _, method = name.rpartition("().")
        if made and method and f"{made}.{method}" in self.functions:
            yield f"{made}.{method}"  # ``k = K(); k.go()``: the method of the local class
        for method in _ON_INSTANCE:  # ``K()`` runs ``K.__new__`` and ``K.__init__``, ``Thread.run``
            qual = f"{name}.{method}"
            if qual in self.functions and (method != "run" or self._threadlike(name)):
                yield qual
        if call.name not in _CALLBACK_RUNNERS:
            return
        handed = [kw.value for kw in call.node.keywords if kw.arg in _RUNNER_KEYWORDS] + list(call.node.args)
        for value in handed:
            if isinstance(value, ast.Name):
                target = self._qualified(value.id, call.function)
                if target in self.functions:
                    yield target

    def _threadlike(self, name: str, depth: int = 0) -> bool:
        """Whether the file's class ``name`` is a thread or process (its ``run`` is what starting
        the instance runs; any other class's ``run`` is an ordinary method)."""
        for cls in self.classes:
            if cls.qualname == name:
                return any(
                    base.rpartition(".")[2] in _THREAD_BASES
                    or (depth < 3 and self._threadlike(base, depth + 1))
                    for base in cls.bases
                )
        return False

    def _qualified(self, name: str, function: str | None) -> str:
        """``name`` as seen from inside ``function``: a function defined in it (or in a function
        around it) before one of the module's (``def boot(): def go(): ...; Thread(target=go)``)."""
        scope = function
        while scope:
            nested = f"{scope}.{name}"
            if nested in self.functions:
                return nested
            scope = scope.rpartition(".")[0]
        return name


#: Methods of a local class that run whenever an instance is made: calling the class runs
#: ``__new__``, ``__init__`` (and a thread's ``run``), ``__del__`` runs when the instance goes
#: and ``__set_name__`` when it is made in a class body. Methods that an operation on the
#: instance runs (``with``, ``for``, ``if``, ``str()``, a call, a property) are counted where
#: that operation is written (:meth:`_Walker._protocol`).
_ON_INSTANCE = ("__new__", "__init__", "__post_init__", "run", "__del__", "__set_name__")
#: Base classes whose instances run their ``run`` method once started.
_THREAD_BASES = frozenset({"Thread", "Process", "Timer"})

#: Special methods that an operation on an instance runs (see :meth:`_Walker._protocol`).
_RUN_BY_OPERATIONS = frozenset(
    {
        *("__enter__", "__exit__", "__iter__", "__next__", "__bool__", "__len__", "__call__"),
        *("__str__", "__repr__", "__format__", "__getattr__", "__neg__", "__pos__", "__invert__"),
        *("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__contains__"),
        *("__getitem__", "__setitem__", "__delitem__"),
        *(f"__{op}__" for op in ("add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "pow")),
        *(f"__r{op}__" for op in ("add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "pow")),
        *(f"__{op}__" for op in ("lshift", "rshift", "or", "xor", "and")),
        *(f"__r{op}__" for op in ("lshift", "rshift", "or", "xor", "and")),
    }
)

#: Decorators that turn a method into code run by an attribute lookup.
_PROPERTY_DECORATORS = frozenset({"property", "cached_property"})

#: Builtins that turn an instance into text through its ``__str__``/``__repr__``/``__format__``.
_TEXT_OF = frozenset({"str", "repr", "format", "print", "ascii"})
_TEXT_METHODS = ("__str__", "__repr__", "__format__")


def _is_property(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> bool:
    if isinstance(node, ast.Lambda):
        return False
    for decorator in node.decorator_list:
        name = (
            decorator.id
            if type(decorator) is ast.Name
            else decorator.attr
            if type(decorator) is ast.Attribute
            else None
        )
        if name in _PROPERTY_DECORATORS:
            return True
    return False


#: Calls that run a function they are handed (so that function runs when they run).
_CALLBACK_RUNNERS: frozenset[str] = frozenset(
    {
        "threading.Thread",
        "threading.Timer",
        "_thread.start_new_thread",
        "thread.start_new_thread",
        "multiprocessing.Process",
        "atexit.register",
        "asyncio.run",
        "map",
        # interpreter hooks: the function runs at the next call, audited event or codec lookup
        "sys.settrace",
        "sys.setprofile",
        "threading.settrace",
        "threading.setprofile",
        "sys.addaudithook",
        "codecs.register",
        # events: a signal (``signal.alarm(1)`` right after), the object's collection, exit
        "signal.signal",
        "weakref.finalize",
        # calls that run a key or a factory they are handed, or make instances that do
        "sorted",
        "min",
        "max",
        "filter",
        "functools.reduce",
        "collections.defaultdict",
        "dataclasses.field",
        "attr.ib",
        "attr.attrib",
        "attr.Factory",
        "attrs.field",
        "attrs.Factory",
    }
)

#: Keywords through which a runner gets the function it runs.
_RUNNER_KEYWORDS = frozenset({"target", "function", "func", "key", "default_factory", "factory", "handler"})

#: Interpreter hooks that run the function assigned to them at the next import, uncaught
#: error or ``breakpoint()``; assigning a local function or lambda to one counts as calling it.
_HOOK_ATTRIBUTES = frozenset(
    {
        "__import__",  # ``builtins.__import__`` (the walk drops the module)
        "sys.excepthook",
        "sys.unraisablehook",
        "sys.breakpointhook",
        "sys.displayhook",
        "threading.excepthook",
    }
)

#: Calls that take a function as an argument without calling it (or bind it, see
#: :meth:`_Walker._bind_by_call`): no callback is counted for them.
_NOT_CALLERS: frozenset[str] = frozenset(
    {
        "setattr",
        "getattr",
        "hasattr",
        "delattr",
        "isinstance",
        "issubclass",
        "callable",
        "id",
        "print",
        "repr",
        "str",
        "type",
        "hash",
        "functools.wraps",
        "functools.update_wrapper",
        "inspect.signature",
        "inspect.getsource",
        "typing.TypeVar",
        "typing.cast",
        "typing.NewType",
        "TypeVar",
        "cast",
    }
)

#: Keywords that hand a function over to be called (``sorted(key=...)``, ``callback=``).
_CALLBACK_KEYWORDS = frozenset({"key", "callback", "func", "function", "fn", "handler", "hook"})

#: Where the function a runner is handed sits: runner -> (position of the callable, or -1 for
#: none; keyword naming it, or ""; position where its own arguments start, -1 for unknown).
_HANDED: dict[str, tuple[int, str, int]] = {
    "functools.partial": (0, "func", 1),
    "atexit.register": (0, "func", 1),
    "map": (0, "", -1),
    "threading.Thread": (-1, "target", -1),
    "multiprocessing.Process": (-1, "target", -1),
    "threading.Timer": (1, "function", -1),
    "_thread.start_new_thread": (0, "", -1),
}


def _handed(node: ast.Call, runner: str) -> tuple[ast.expr, list[ast.expr], list[ast.keyword]] | None:
    """The callable a runner call hands on, with the arguments it will get when they show
    (``functools.partial(os.system, "id")`` -> ``os.system``, ``["id"]``)."""
    where = _HANDED.get(runner)
    if where is None:
        return None
    position, keyword, first_arg = where
    func: ast.expr | None = node.args[position] if 0 <= position < len(node.args) else None
    if func is None and keyword:
        func = next((k.value for k in node.keywords if k.arg == keyword), None)
    if func is None or isinstance(func, ast.Starred):
        return None
    if first_arg >= 0:
        return func, node.args[first_arg:], [k for k in node.keywords if k.arg != keyword]
    if runner == "map" and len(node.args) > 1 and isinstance(node.args[1], ast.List | ast.Tuple | ast.Set):
        return func, node.args[1].elts[:1], []  # ``map(os.system, [cmd])`` calls ``os.system(cmd)``
    given = next((k.value for k in node.keywords if k.arg == "args"), None)
    if runner == "threading.Timer" and len(node.args) > 2:
        given = node.args[2]  # ``Timer(interval, function, args)``
    if isinstance(given, ast.Tuple | ast.List):
        return func, list(given.elts), []
    return func, [], []


#: Calls that run Python handed to them as text, like ``exec``: a timing or profiling run of a
#: statement, an interactive interpreter's ``runsource``, the C API's ``PyRun_SimpleString``.
CODE_STRING_RUNNERS: tuple[str, ...] = (
    "timeit.timeit",
    "timeit.repeat",
    "timeit.Timer",
    "cProfile.run",
    "cProfile.runctx",
    "profile.run",
    "profile.runctx",
    "pdb.run",
    "pdb.runeval",
    "ctypes.pythonapi.PyRun_SimpleString",
    "ctypes.pythonapi.PyRun_String",
    "?.runsource",
)

#: What a resolved callee can do. Keys are capability tags; values are exact names or prefixes
#: ending in ``.`` (any attribute of that module).
CAPABILITIES: dict[str, tuple[str, ...]] = {
    "network": (
        "urllib.request.urlopen",
        "urllib.request.urlretrieve",
        "urllib.request.build_opener().open",
        "urllib.urlopen",
        "urllib.urlretrieve",
        "urllib2.urlopen",
        "requests.get",
        "requests.post",
        "requests.put",
        "requests.patch",
        "requests.delete",
        "requests.head",
        "requests.options",
        "requests.request",
        "requests.api.get",
        "requests.api.post",
        "requests.api.request",
        "requests.Session().get",
        "requests.Session().post",
        "requests.Session().put",
        "requests.Session().request",
        "requests.session().get",
        "requests.session().post",
        "httpx.get",
        "httpx.post",
        "httpx.put",
        "httpx.request",
        "httpx.stream",
        "httpx.Client().get",
        "httpx.Client().post",
        "httpx.AsyncClient().get",
        "httpx.AsyncClient().post",
        "http.client.HTTPConnection().request",
        "http.client.HTTPSConnection().request",
        "http.client.HTTPConnection().getresponse",
        "http.client.HTTPSConnection().getresponse",
        "httplib.HTTPConnection().request",
        "httplib.HTTPSConnection().request",
        "socket.create_connection",
        "socket.socket().connect",
        "socket.socket().connect_ex",
        "socket.socket().sendto",
        "socket.socket().send",
        "socket.socket().sendall",
        "aiohttp.request",
        "aiohttp.ClientSession().get",
        "aiohttp.ClientSession().post",
        "aiohttp.ClientSession().request",
        "pycurl.Curl().perform",
        "ftplib.FTP",
        "ftplib.FTP_TLS",
        "ftplib.FTP().storbinary",
        "ftplib.FTP().storlines",
        "ftplib.FTP_TLS().storbinary",
        "ftplib.FTP_TLS().storlines",
        "smtplib.SMTP",
        "smtplib.SMTP_SSL",
        "smtplib.SMTP().sendmail",
        "smtplib.SMTP().send_message",
        "smtplib.SMTP_SSL().sendmail",
        "smtplib.SMTP_SSL().send_message",
        "telnetlib.Telnet",
        "wget.download",
        "urllib3.PoolManager().request",
        "urllib3.PoolManager().urlopen",
        "urllib3.request",
        "dns.resolver.resolve",
        "dns.resolver.query",
        "discord_webhook.DiscordWebhook().execute",
        "dhooks.Webhook().send",
        "websocket.create_connection",
        "websocket.WebSocket().connect",
        "websockets.connect",
        "websockets.sync.client.connect",
    ),
    "process": (
        "os.system",
        "os.popen",
        "os.execl",
        "os.execle",
        "os.execlp",
        "os.execv",
        "os.execve",
        "os.execvp",
        "os.execvpe",
        "os.spawnl",
        "os.spawnv",
        "os.spawnve",
        "os.spawnlp",
        "os.posix_spawn",
        "os.startfile",
        "subprocess.",
        "pty.spawn",
        "commands.getoutput",
        "commands.getstatusoutput",
        "asyncio.create_subprocess_shell",
        "asyncio.create_subprocess_exec",
    ),
    "exec": (
        "exec",
        "eval",
        "execfile",
        "marshal.loads",
        "types.FunctionType",
        "types.CodeType",
        "runpy.run_path",
        "runpy.run_module",
        "pickle.loads",
        "cPickle.loads",
        # they run a statement handed as text, as exec does
        *CODE_STRING_RUNNERS,
    ),
    "compile": ("compile",),
    "decode": (
        "base64.b64decode",
        "base64.b32decode",
        "base64.b16decode",
        "base64.b85decode",
        "base64.a85decode",
        "base64.decodebytes",
        "base64.decodestring",
        "base64.urlsafe_b64decode",
        "base64.standard_b64decode",
        "binascii.a2b_base64",
        "binascii.unhexlify",
        "binascii.a2b_hex",
        "bytes.fromhex",
        "bytearray.fromhex",
        "codecs.decode",
        "zlib.decompress",
        "lzma.decompress",
        "bz2.decompress",
        "gzip.decompress",
        "marshal.loads",
        "cryptography.fernet.Fernet",
        "?.decrypt",
    ),
    "thread": (
        "threading.Thread",
        "threading.Timer",
        "_thread.start_new_thread",
        "thread.start_new_thread",
        "multiprocessing.Process",
    ),
    "fingerprint": (
        "socket.gethostname",
        "socket.getfqdn",
        "getpass.getuser",
        "os.getlogin",
        "os.getuid",
        "os.getcwd",
        "os.uname",
        "platform.node",
        "platform.uname",
        "platform.platform",
        "platform.system",
        "platform.version",
        "platform.release",
        "uuid.getnode",
        "socket.gethostbyname",
        "os.environ.items",
        "os.environ.copy",
    ),
    "file_write": (
        "shutil.copyfile",
        "shutil.copy",
        "shutil.copy2",
        "shutil.move",
        "?.write_text",
        "?.write_bytes",
    ),
}

_FINGERPRINT_NAMES = frozenset(CAPABILITIES["fingerprint"])
_EXACT: dict[str, set[str]] = {}
_PREFIX: list[tuple[str, str]] = []
for _cap, _names in CAPABILITIES.items():
    for _n in _names:
        if _n.endswith("."):
            _PREFIX.append((_n, _cap))
        else:
            _EXACT.setdefault(_n, set()).add(_cap)

_MADE: frozenset[str] = frozenset(
    n.partition("().")[0] for names in CAPABILITIES.values() for n in names if "()." in n
)
"""Classes whose instances' methods have a capability (``smtplib.SMTP`` for ``SMTP().sendmail``)."""

_WRITE_MODE = LazyPattern(r"[wax+]")


def capabilities(call: CallFact) -> set[str]:
    """Capability tags of a call (``set()`` when it is none of the known ones)."""
    name = call.name
    caps = name_capabilities(name)
    if name in {"socket.gethostbyname", "socket.gethostbyname_ex", "socket.getaddrinfo"}:
        # Resolving our own host name is fingerprinting; resolving anything else is a DNS query.
        first = call.node.args[0] if call.node.args else None
        own = isinstance(first, ast.Call) and ast.unparse(first.func).endswith(("gethostname", "getfqdn"))
        if name != "socket.getaddrinfo" or not own:
            caps.discard("network")
            caps.add("fingerprint" if own else "dns")
    if name in {"open", "io.open", "codecs.open", "os.open"} and _opens_for_write(call.node):
        caps.add("file_write")
    return caps


#: Names under a capability prefix that do not exercise it: ``subprocess.STARTUPINFO()`` builds
#: a structure, ``subprocess.CalledProcessError(...)`` an exception, nothing is started.
_INERT = frozenset(
    {
        "subprocess.STARTUPINFO",
        "subprocess.CalledProcessError",
        "subprocess.TimeoutExpired",
        "subprocess.SubprocessError",
        "subprocess.CompletedProcess",
        "subprocess.list2cmdline",
    }
)


#: Calls that load a native library; what they return has the C library's functions.
_NATIVE_LOADERS = frozenset(
    {
        "ctypes.CDLL",
        "ctypes.PyDLL",
        "ctypes.WinDLL",
        "ctypes.cdll.LoadLibrary",
        "ctypes.windll.LoadLibrary",
        "ctypes.pydll.LoadLibrary",
        "ctypes.util.find_library",
        "cffi.FFI().dlopen",
    }
)
#: C library functions that start a program, reached through ``ctypes``/``cffi``:
#: ``ctypes.CDLL(None).system(b"curl ... | sh")`` is ``os.system`` by another door.
_NATIVE_RUNNERS = frozenset(
    {"system", "popen", "execv", "execve", "execvp", "execl", "execlp", "posix_spawn", "posix_spawnp"}
    | {"_wsystem", "_popen", "_wpopen", "WinExec"}
)


def _known_capability(name: str) -> bool:
    """A resolved name (not a method of an unknown object) of some capability."""
    return not name.startswith("?") and bool(name_capabilities(name))


def name_capabilities(name: str) -> set[str]:
    """Capability tags of a resolved callee name, by name alone."""
    caps = set(_EXACT.get(name, ()))
    if name.startswith(("ctypes.", "cffi.")) and name.rpartition(".")[2] in _NATIVE_RUNNERS:
        caps.add("process")
    if name.startswith("?"):
        method = "?." + name.rpartition(".")[2]
        caps.update(_EXACT.get(method, ()))
    elif "()" not in name and name not in _INERT:
        for prefix, cap in _PREFIX:
            if name.startswith(prefix):
                caps.add(cap)
    return caps


# --- cheap pre-checks: can a file's facts hold a call of some capability at all? ----------------
#
# Every part of a dotted name the walk resolves is written in the source as an identifier: in an
# import, an attribute, or a string the walk reads (``__import__('os')``, ``getattr(os,
# 'system')``). So when none of a capability's names has its telling part among the file's
# identifiers, no call of that capability can be found in it and the file need not be parsed for
# it. Two things let the walk see a name the text does not spell, and a file with either always
# passes: escapes in string literals (``'\x73ystem'``) and implicitly joined literals
# (``'sys' 'tem'``).

_IDENTIFIER_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_NOT_IDENTIFIER = bytes(c if c in _IDENTIFIER_BYTES else 0x20 for c in range(256))
"""Maps every byte that cannot be part of an ASCII identifier (non-ASCII included) to a space."""
_DIGITS = frozenset("0123456789")
#: An escape that spells a letter, digit or underscore (``\\x73``, ``\\u0073``, ``\\163``,
#: ``\\N{...}``): only those can hide part of a name; ``\\x00`` or ``\\xff`` in binary data cannot.
_ESCAPE = LazyPattern(
    r"\\(?:x[3-7][0-9a-fA-F]|u00[3-7][0-9a-fA-F]|U0000[3-7][0-9a-fA-F]|N\{|0[67][0-7]|1[0-7]{2})"
)
#: Two string literals with only blanks, line breaks and up to four comment lines between them,
#: the second followed by a word character; starting at a quote keeps the search fast (see
#: :func:`spells_names_plainly`). The comment lines are capped (and a comment stops before a CR)
#: because comments hold quotes: unbounded, every quote of a long comment block would start a
#: scan to its end (quadratic), and a CR matched two ways doubled the work per line.
_BETWEEN_PIECES = (
    r"[ \t]*(?:\\?\r?\n[ \t]*)*(?:#[^\r\n]{0,200}\r?\n[ \t]*(?:\\?\r?\n[ \t]*)*){0,4}"
    r"(?:\+[ \t]*(?:\\?\r?\n[ \t]*)*)?"
)
"""What may separate two joined literals: blanks, line breaks, up to four comment lines, and one
``+`` (``'sys' + 'tem'`` spells the same name as ``'sys' 'tem'``)."""
_JOINED = LazyPattern(r"[\"']" + _BETWEEN_PIECES + r"[rRbBuUfF]{0,2}[\"'](?=\w)")
#: Parts of dotted names too common to tell anything (the next part is used instead).
_GENERIC_PARTS = frozenset({"?", "os", "io", "sys", "http", "types", "asyncio", "bytes", "bytearray"})
#: Extra telling words for capabilities :func:`capabilities` assigns beyond the table.
_EXTRA_WORDS: dict[str, tuple[str, ...]] = {
    "dns": ("gethostbyname", "gethostbyname_ex", "getaddrinfo"),
    "fingerprint": ("gethostbyname", "gethostbyname_ex", "getaddrinfo"),
    "file_write": ("open",),
    "process": ("WinExec", "_wsystem", "_wpopen"),
}


def telling_part(name: str) -> str:
    """The part of a capability name that any source calling it must spell (``os.system`` ->
    ``system``, ``requests.Session().get`` -> ``requests``, ``?.write_text`` -> ``write_text``)."""
    parts = [p.removesuffix("()") for p in name.rstrip(".").split(".")]
    for part in parts:
        if part and part not in _GENERIC_PARTS:
            return part
    return parts[-1]


_WORDS: dict[str, frozenset[str]] = {}


def capability_words(capability: str) -> frozenset[str]:
    """Identifiers of which a file must hold one to call anything of ``capability``."""
    words = _WORDS.get(capability)
    if words is None:
        names = CAPABILITIES.get(capability, ())
        words = frozenset({telling_part(n) for n in names} | set(_EXTRA_WORDS.get(capability, ())))
        _WORDS[capability] = words
    return words


def identifiers(file: FileContext) -> frozenset[str]:
    """Every identifier-like word of the file's text (also inside strings and comments)."""
    cached = file.cache.get("pipvet.identifiers")
    if isinstance(cached, frozenset):
        return cached
    words = _identifiers_in(file.text or "")
    file.cache["pipvet.identifiers"] = words
    return words


def _identifiers_in(text: str) -> frozenset[str]:
    # The maximal runs of ASCII letters, digits and "_" (a byte translation and a split, in C),
    # with leading digits stripped: exactly what [A-Za-z_][A-Za-z0-9_]* finds, about twice as
    # fast as the regular expression.
    runs = set(text.encode("utf-8", "surrogatepass").translate(_NOT_IDENTIFIER).decode("ascii").split())
    numeric = [run for run in runs if run[0] in _DIGITS]
    if numeric:
        runs.difference_update(numeric)
        runs.update(name for name in (run.lstrip("0123456789") for run in numeric) if name)
    return frozenset(runs)


def spells_names_plainly(file: FileContext) -> bool:
    """False when string escapes or implicitly joined literals could spell a name the text hides."""
    cached = file.cache.get("pipvet.plain")
    if isinstance(cached, bool):
        return cached
    text = file.text or ""
    plain = (
        _ESCAPE.search(text) is None
        and not any(_joins(text, m.start(), m.group(0)) for m in _JOINED.finditer(text))
        and _REVERSED.search(text) is None
        and not (("fromhex" in text or "b64decode" in text) and _ENCODED_NAME.search(text))
        and not ("join" in text and _LIST_JOIN.search(text))
        and not _compatibility_letters(text)
    )
    file.cache["pipvet.plain"] = plain
    return plain


def unhidden_text(file: FileContext) -> str | None:
    """The text with what can hide a name undone, or ``None`` when it hides nothing
    (:func:`spells_names_plainly`): implicitly joined literals merged (``'sys' 'tem'`` reads
    ``'system'``), escapes decoded (``'\\x73ystem'`` reads ``'system'``) and backslash line breaks
    inside literals removed. Applied to the whole text, not only to literals: the result can
    only show more words than the source holds, never fewer, so a gate that finds no dangerous
    name in it is still right to skip the file."""
    if spells_names_plainly(file):
        return None
    cached = file.cache.get("pipvet.unhidden")
    if isinstance(cached, str):
        return cached
    text = file.text or ""
    if not text.isascii():
        import unicodedata

        # ``ｅｘｅｃ`` is ``exec`` to the parser (NFKC leaves text without such letters as it is)
        text = unicodedata.normalize("NFKC", text)
    text = _ANY_CHAR_ESCAPE.sub(_decoded, text)
    if "join" in text:
        text = _LIST_JOIN.sub(_with_joined_pieces, text)
    text = _CONTINUED.sub("", text)
    text = _ANY_JOIN.sub("", text)
    text = _REVERSED.sub(lambda m: m.group(0) + " " + (m.group(2) or m.group(4))[::-1], text)
    if "fromhex" in text or "b64decode" in text:
        text = _ENCODED_NAME.sub(_with_decoded_name, text)
    file.cache["pipvet.unhidden"] = text
    return text


def _compatibility_letters(text: str) -> bool:
    """Whether the text holds a character Python reads as another in a name (fullwidth ``ｅ``,
    mathematical ``𝐞``): the parser normalises identifiers (NFKC), so ``ｅｘｅｃ(...)`` calls
    ``exec`` while no text search for "exec" finds it."""
    if text.isascii():
        return False
    import unicodedata

    return any(
        ord(ch) > 127 and ch.isidentifier() and unicodedata.normalize("NFKC", ch) != ch for ch in set(text)
    )


_CONTINUED = LazyPattern(r"\\\r?\n")
#: A short name spelled in hex or base64 and decoded on the spot (see :func:`_decoded_name`).
_ENCODED_NAME = LazyPattern(
    r"""(fromhex|b64decode)\(\s*b?(['"])([0-9A-Za-z+/=]{2,256})\2\s*\)\s*\.\s*decode\(\s*\)"""
)


def _with_decoded_name(match: re.Match[str]) -> str:
    """The match followed by the name it decodes to (the match alone if it decodes to none)."""
    name = _decode_name(match.group(1), match.group(3))
    return match.group(0) if name is None else f"{match.group(0)} {name}"


#: Short literals joined by ``"".join([...])`` (``"".join(["de", "com", "press"])`` reads
#: ``decompress``).
_LIST_JOIN = LazyPattern(
    r"""(['"])\1\s*\.\s*join\s*\(\s*[\[(]((?:\s*[rRbBuU]?['"][\w.]{1,24}['"]\s*,?){2,12})\s*[\])]\s*\)"""
)
_PIECE = LazyPattern(r"""['"]([\w.]{1,24})['"]""")


def _with_joined_pieces(match: re.Match[str]) -> str:
    """The match followed by the name its pieces spell together."""
    return match.group(0) + " " + "".join(piece.group(1) for piece in _PIECE.finditer(match.group(2)))


#: A short literal reversed by a slice (``'metsys'[::-1]`` reads ``system``).
_REVERSED = LazyPattern(
    r"""(['"])([A-Za-z0-9_.]{2,64})\1\s*\[\s*:\s*:\s*-\s*1\s*\]"""
    r"""|reversed\(\s*(['"])([A-Za-z0-9_.]{2,64})\3\s*\)"""
)
"""A short literal reversed: ``'metsys'[::-1]``, ``"".join(reversed("cexe"))``."""
#: Like :data:`_JOINED`, whatever follows and with comments between the pieces: here a match
#: is removed, and removing one too many only shows more words.
_ANY_JOIN = LazyPattern(r"[\"']" + _BETWEEN_PIECES + r"[rRbBuUfF]{0,2}[\"']")
_ANY_CHAR_ESCAPE = LazyPattern(
    r"\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|N\{([^}\n]{1,100})\}|([0-7]{1,3}))"
)


def _decoded(match: re.Match[str]) -> str:
    hex_code = match.group(1) or match.group(2) or match.group(3)
    try:
        if hex_code:
            return chr(int(hex_code, 16))
        if match.group(4):
            import unicodedata

            return unicodedata.lookup(match.group(4))
        return chr(int(match.group(5), 8))
    except (KeyError, ValueError, OverflowError):  # \UFFFFFFFF is past what chr() takes
        return match.group(0)


#: Telling words that harmless names share: ``platform.system()`` is no ``os.system``, and an
#: attribute ``.compile`` (``re.compile``) is no builtin ``compile`` unless it is builtins'.
_FALSE_FRIENDS: dict[str, tuple[str, ...]] = {"system": ("platform.",), "compile": (".",)}
_BUILTIN_OWNERS = ("builtins.", "__builtins__.", "__builtin__.")


def _spelled(text: str, word: str) -> bool:
    """Whether ``word`` occurs where it can name the dangerous call (see :data:`_FALSE_FRIENDS`)."""
    friends = _FALSE_FRIENDS[word]
    at = text.find(word)
    while at >= 0:
        before = text[max(0, at - 16) : at]
        after = text[at + len(word) : at + len(word) + 1]
        bounded = not (before[-1:].isalnum() or before.endswith("_")) and not (
            after.isalnum() or after == "_"
        )
        if bounded and (not before.endswith(friends) or before.endswith(_BUILTIN_OWNERS)):
            return True
        at = text.find(word, at + len(word))
    return False


def _any_word(text: str, found: frozenset[str], words: frozenset[str] | tuple[str, ...]) -> bool:
    hits = found.intersection(words)
    if not hits:
        return False
    if any(w not in _FALSE_FRIENDS for w in hits):
        return True
    return any(_spelled(text, w) for w in hits)


def _joins(text: str, start: int, found: str) -> bool:
    """Whether a :data:`_JOINED` match really joins two literals: the first one ends with a word
    character or is itself a literal (``'sys' '' 'tem'``), and it is not the start of a
    triple-quoted string (``\"\"\"Doc``)."""
    before = text[start - 1 : start]
    if found in ('""', "''") and before == found[0]:
        return False
    return before.isalnum() or before in ("_", "'", '"')


def may_call(file: FileContext, *capabilities: str, words: tuple[str, ...] = ()) -> bool:
    """Whether the file's facts can hold a call of any of ``capabilities`` (or a name in
    ``words``). ``False`` is certain; ``True`` means "parse and look"."""
    text = file.text or ""
    found = identifiers(file)
    if any(_any_word(text, found, capability_words(c)) for c in capabilities):
        return True
    if words and _any_word(text, found, words):
        return True
    hidden = unhidden_text(file)
    if hidden is None:
        return False
    found = _unhidden_identifiers(file, hidden)
    return any(_any_word(hidden, found, capability_words(c)) for c in capabilities) or bool(
        words and _any_word(hidden, found, words)
    )


def _unhidden_identifiers(file: FileContext, hidden: str) -> frozenset[str]:
    cached = file.cache.get("pipvet.unhidden_identifiers")
    if isinstance(cached, frozenset):
        return cached
    found = _identifiers_in(hidden)
    file.cache["pipvet.unhidden_identifiers"] = found
    return found


def is_environ(node: ast.expr, facts: Facts) -> bool:
    """``node`` is ``os.environ`` (``os.environ``, ``o.environ`` after ``import os as o``, or
    ``environ`` after ``from os import environ``)."""
    if isinstance(node, ast.Name):
        return facts.aliases.get(node.id) == "os.environ"
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and facts.aliases.get(node.value.id) == "os"
    )


def identifies_host(
    facts: Facts, calls: list[CallFact], platform_only: frozenset[int] = frozenset()
) -> CallFact | str | None:
    """Evidence that code collects who/where it runs (hostname, user, cwd, environment).
    ``platform_only``: call nodes read for the OS name only (:func:`platform_reads`)."""
    functions = {c.function for c in calls}
    # A copy of the environment in a function that starts a program with ``env=name`` is that
    # program's environment (apsw's setup.py adds CC/CFLAGS for ./configure), not a report.
    child_env = {
        c.function
        for c in calls
        if any(k.arg == "env" and isinstance(k.value, ast.Name) for k in c.node.keywords)
        and "process" in capabilities(c)
    }
    for call in calls:
        if call.name == "os.environ.copy" and call.function in child_env:
            continue
        if "fingerprint" in capabilities(call) and call.name not in _WHERE_NOT_WHO:
            if id(call.node) not in platform_only:
                return call
            continue
        if "process" in capabilities(call) and _identity_command(call.node):
            return call
        for arg in call.node.args:
            # dict(os.environ), json.dumps(os.environ), str(os.environ): the whole environment.
            if isinstance(arg, ast.Attribute) and is_environ(arg, facts):
                return call
    # Functions handed over rather than called: try_call(os.getcwd), map(platform.node, ...).
    called: set[tuple[str, int]] | None = None
    in_place: set[tuple[str, int]] | None = None
    for name, line, _scope, function in facts.attributes:
        if function not in functions or name not in _FINGERPRINT_NAMES:
            continue
        if in_place is None:
            in_place = {(c.name, c.line) for c in calls if c.name in _FINGERPRINT_NAMES and facts.written(c)}
        if (name, line) in in_place:
            continue  # called where it stands: judged above
        if name not in _WHERE_NOT_WHO:
            return name
        # Handing os.getcwd over to a try-wrapper is the dependency-confusion probe template;
        # calling it in place is how setup scripts find their own folder.
        if called is None:
            called = {(c.name, c.line) for c in facts.calls if c.name in _WHERE_NOT_WHO and facts.written(c)}
        if (name, line) not in called:
            return name
    return None


def platform_reads(tree: ast.Module | None) -> frozenset[int]:
    """The ``os.uname()`` call nodes of ``tree`` that are read for the platform only
    (``os.uname()[0]``, ``os.uname().machine``): the OS name a build system picks its compiler
    flags by, not the host name a probe reports."""
    if tree is None:
        return frozenset()
    found: set[int] = set()
    for node in ast.walk(tree):
        value = node.value if isinstance(node, ast.Subscript | ast.Attribute) else None
        if not isinstance(value, ast.Call):
            continue
        if isinstance(node, ast.Subscript):
            index = node.slice
            if isinstance(index, ast.Constant) and index.value != 1:
                found.add(id(value))
        elif isinstance(node, ast.Attribute) and node.attr in ("sysname", "release", "version", "machine"):
            found.add(id(value))
    return frozenset(found)


#: Facts that build paths and pick platform downloads in every other setup.py (the working
#: folder, the OS name and release) rather than say whose machine it is.
_WHERE_NOT_WHO = frozenset(
    {"os.getcwd", "platform.system", "platform.release", "platform.version", "platform.platform"}
)


_IDENTITY_PROGRAMS = frozenset(
    {"whoami", "hostname", "id", "uname", "ipconfig", "ifconfig", "env", "printenv", "systeminfo", "pwd"}
)


def _identity_command(node: ast.Call) -> bool:
    """``os.popen('whoami')``, ``subprocess.check_output(['hostname'])`` and the like."""
    first = node.args[0] if node.args else None
    if isinstance(first, ast.List | ast.Tuple) and first.elts:
        first = first.elts[0]
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
        return False
    words = first.value.split()
    return bool(words) and words[0].rsplit("/", 1)[-1].lower() in _IDENTITY_PROGRAMS


def _opens_for_write(node: ast.Call) -> bool:
    mode: ast.expr | None = node.args[1] if len(node.args) > 1 else None
    for kw in node.keywords:
        if kw.arg == "mode":
            mode = kw.value
        if kw.arg == "flags":
            return True
    if isinstance(mode, ast.Constant) and isinstance(mode.value, str):
        return bool(_WRITE_MODE.search(mode.value))
    return isinstance(mode, ast.Attribute | ast.BinOp)  # os.O_WRONLY | os.O_CREAT


_BUILTINS = frozenset(dir(builtins)) | {"__builtins__", "__builtin__", "execfile", "unicode", "raw_input"}
_BUILTIN_PREFIXES = ("builtins.", "__builtins__.", "__builtin__.")


def _normalise(name: str) -> tuple[str, bool]:
    for prefix in _BUILTIN_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :], True
    if name.startswith(("posix.", "nt.")):
        return "os." + name.partition(".")[2], False  # the C modules behind ``os``
    return name, False


def constant_text(node: ast.expr, depth: int = 0) -> str | None:
    """The text a string expression built only from literals spells: a constant, ``+`` of
    such, an f-string without fields, ``"".join([...])`` of constants, ``[::-1]``."""
    if depth > 20:
        return None
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = constant_text(node.left, depth + 1), constant_text(node.right, depth + 1)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.JoinedStr):
        pieces = [constant_text(v, depth + 1) for v in node.values]
        return None if any(p is None for p in pieces) else "".join(p for p in pieces if p is not None)
    if isinstance(node, ast.FormattedValue):
        # ``f"{'curl'} ..."``: a field holding a literal, shown as it is
        plain = node.conversion in (-1, ord("s")) and node.format_spec is None
        return constant_text(node.value, depth + 1) if plain else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        # ``'%s | %s' % ('curl ...', 'sh')``: only ``%s`` fields, every argument a literal
        template = constant_text(node.left, depth + 1)
        given = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
        values = [constant_text(v, depth + 1) for v in given]
        if template is None or any(v is None for v in values) or _PERCENT_FIELD.sub("", template).count("%"):
            return None
        return template % tuple(values) if template.count("%s") == len(values) else None
    if isinstance(node, ast.Subscript) and reverses(node.slice):
        inner = constant_text(node.value, depth + 1)
        return None if inner is None else inner[::-1]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "join"
        and len(node.args) == 1
        and not node.keywords
    ):
        glue = constant_text(node.func.value, depth + 1)
        parts = _joined_pieces(node.args[0], depth)
        if glue is None or parts is None or any(p is None for p in parts):
            return None
        return glue.join(p for p in parts if p is not None)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _formatted(node, depth)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "decode":
        return _decoded_name(node)
    return None


def _joined_pieces(node: ast.expr, depth: int) -> list[str | None] | None:
    """What ``str.join`` is handed, piece by piece: a list or tuple of literals, a literal's
    characters, or ``reversed()`` of either (``"".join(reversed("cexe"))``)."""
    backwards = (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "reversed"
        and len(node.args) == 1
        and not node.keywords
    )
    if backwards:
        assert isinstance(node, ast.Call)
        node = node.args[0]
    if isinstance(node, ast.List | ast.Tuple):
        pieces: list[str | None] = [constant_text(e, depth + 1) for e in node.elts]
    else:
        text = constant_text(node, depth + 1)
        if text is None:
            return None
        pieces = list(text)
    return pieces[::-1] if backwards else pieces


def _decoded_name(node: ast.Call) -> str | None:
    """``bytes.fromhex('6578...').decode()``, ``base64.b64decode('ZXhlYw==').decode()``,
    ``b'exec'.decode()``: a short name spelled in an encoding (``getattr(builtins, ...)``)."""
    assert isinstance(node.func, ast.Attribute)
    if node.args or node.keywords:
        return None
    coded = node.func.value
    if isinstance(coded, ast.Constant) and isinstance(coded.value, bytes):
        return _short_name(coded.value)
    if (
        isinstance(coded, ast.Call)
        and isinstance(coded.func, ast.Attribute)
        and coded.func.attr in ("fromhex", "b64decode")
        and len(coded.args) == 1
        and isinstance(coded.args[0], ast.Constant)
        and isinstance(coded.args[0].value, str | bytes)
    ):
        text = coded.args[0].value
        return _decode_name(coded.func.attr, text if isinstance(text, str) else text.decode("latin-1"))
    return None


def _decode_name(how: str, text: str) -> str | None:
    """What ``bytes.fromhex(text)`` or ``b64decode(text)`` holds, if it is short UTF-8 text."""
    if len(text) > 256:
        return None
    try:
        raw = bytes.fromhex(text) if how == "fromhex" else binascii.a2b_base64(text)
    except (ValueError, binascii.Error):
        return None
    return _short_name(raw)


def _short_name(raw: bytes) -> str | None:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return None


_PERCENT_FIELD = LazyPattern(r"%%|%s")
_FORMAT_FIELD = LazyPattern(r"\{\{|\}\}|\{(\w*)\}")


def _formatted(node: ast.Call, depth: int) -> str | None:
    """``'{} | {}'.format('curl ...', 'sh')``: plain fields (``{}``, ``{0}``, ``{name}``, no
    attribute, index or format spec), every argument a literal."""
    assert isinstance(node.func, ast.Attribute)
    template = constant_text(node.func.value, depth + 1)
    if template is None:
        return None
    args = [constant_text(a, depth + 1) for a in node.args]
    named = {k.arg: constant_text(k.value, depth + 1) for k in node.keywords}
    if any(a is None for a in args) or None in named or any(v is None for v in named.values()):
        return None
    position = iter(range(len(args)))
    failed = False

    def field(match: re.Match[str]) -> str:
        nonlocal failed
        text = match.group(0)
        if text in ("{{", "}}"):
            return text[0]
        key = match.group(1)
        try:
            at = next(position) if key == "" else int(key) if key.isdigit() else None
        except StopIteration:
            at = None
        value = args[at] if at is not None and at < len(args) else named.get(key) if at is None else None
        failed = failed or value is None
        return value or ""

    out = _FORMAT_FIELD.sub(field, template)
    leftover = _FORMAT_FIELD.sub("", template)
    return None if failed or "{" in leftover or "}" in leftover else out


def reverses(node: ast.expr) -> bool:
    """``[::-1]``: the slice reverses the whole sequence."""
    return (
        isinstance(node, ast.Slice)
        and node.lower is None
        and node.upper is None
        and isinstance(node.step, ast.UnaryOp)
        and isinstance(node.step.op, ast.USub)
        and isinstance(node.step.operand, ast.Constant)
        and node.step.operand.value == 1
    )


def _dict_entry(table: ast.Dict, key: ast.expr) -> ast.expr | None:
    """The value a dict display gives for a constant key, when the key is there once."""
    wanted = constant_text(key)
    if wanted is None:
        return None
    found = [
        v
        for k, v in zip(table.keys, table.values, strict=True)
        if k is not None and constant_text(k) == wanted
    ]
    return found[0] if len(found) == 1 else None


def _position(key: ast.expr, size: int) -> int | None:
    """The position a constant index (``1``, ``-2``) picks from a sequence of ``size``."""
    negative = isinstance(key, ast.UnaryOp) and isinstance(key.op, ast.USub)
    if negative:
        key = key.operand  # type: ignore[attr-defined]
    if not isinstance(key, ast.Constant) or type(key.value) is not int:
        return None
    index = -key.value if negative else key.value
    return index % size if -size <= index < size else None


def _is_main_test(test: ast.expr) -> bool | None:
    """``True`` for ``__name__ == '__main__'``, ``False`` for ``!=``, ``None`` for anything else."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        # ``cond and __name__ == "__main__"`` still only runs as a script.
        return True if any(_is_main_test(v) is True for v in test.values) else None
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and len(test.comparators) == 1):
        return None
    left, right = test.left, test.comparators[0]
    names = {type(left), type(right)}
    if ast.Name not in names or ast.Constant not in names:
        return None
    name = left if isinstance(left, ast.Name) else right
    const = right if isinstance(right, ast.Constant) else left
    if not (isinstance(name, ast.Name) and name.id == "__name__"):
        return None
    if not (isinstance(const, ast.Constant) and const.value == "__main__"):
        return None
    if isinstance(test.ops[0], ast.Eq):
        return True
    if isinstance(test.ops[0], ast.NotEq):
        return False
    return None


_LEAVES = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)
"""Node types that carry nothing a rule needs (``Load``, ``Add`` ...): never visited."""
_LEAF_TYPES: frozenset[type] = frozenset(t for base in _LEAVES for t in base.__subclasses__())


# eq=False: never compared, so no __eq__/__hash__ to generate at import
@dataclass(frozen=True, slots=True, eq=False)
class _Ctx:
    """Where the walker is: scope, enclosing function, qualified name, ``__main__`` guard."""

    scope: Scope
    function: str | None
    qual: str
    main_guard: bool


_Todo = list[tuple[ast.AST, _Ctx]]
"""Nodes left to visit, each with where it sits."""

_SCALAR_FIELDS = frozenset(
    {"id", "attr", "name", "arg", "asname", "module", "level", "kind", "type_comment", "conversion"}
    | {"is_async", "simple", "tag", "ctx", "op", "ops", "type_ignores"}
)
"""Fields that never hold a node worth visiting (names, flags, operator singletons)."""

_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}
"""Per node type, the fields that may hold child nodes (filled on first sight of a type)."""


class _Walker:
    def __init__(self, *, lazy: bool = False) -> None:
        self.facts = Facts()
        self.aliases = self.facts.aliases
        self.local_defs: set[str] = set()
        self.local_classes: set[str] = set()
        self.protocol: dict[str, frozenset[str]] = {}
        """Classes of this module -> the methods of theirs an operation on an instance runs
        (special methods and properties, see :meth:`_protocol`); classes without any are left out."""
        self.lambda_quals: dict[int, str] = {}
        """``id()`` of a lambda bound to a name -> that name's qualname, which its calls go under."""
        self.class_attrs: dict[str, str] = {}
        """``Class.attr`` -> the capability a class body, ``K.attr = ...``, ``self.attr = ...``
        or ``obj.attr = ...`` bound it to (``run = os.system``)."""
        self.returns: dict[str, str] = {}
        """A local function -> the capability it returns (``return os.system``), once its body
        has been walked."""
        self.tables: dict[str, dict[str, str]] = {}
        """A name bound to a dict display -> the capability of each constant key's value."""
        self.sequences: dict[str, tuple[str | None, ...]] = {}
        """A name bound to a literal tuple or list -> the capability of each element, resolved
        when bound (so ``fns[1](...)`` is a lookup, never a walk that could go round in circles)."""
        self.star_modules: list[str] = []
        """Modules of ``from m import *`` (for :meth:`_from_star`)."""
        self.imported: set[str] = set()
        """Names an import statement bound (for :meth:`_bind_defaults`)."""
        self.lazy = lazy
        if lazy:
            self.facts._walker = self

    # -- name resolution -------------------------------------------------------------------
    def dotted(self, node: ast.expr) -> tuple[str, bool]:
        """Resolve an expression naming something to a dotted name; ``?`` for unknown roots."""
        parts: list[str] = []
        indirect = False
        while True:
            if isinstance(node, ast.Attribute):
                parts.append(node.attr)
                node = node.value
            elif isinstance(node, ast.NamedExpr):
                node = node.value  # ``(p := os.system)(...)``
            elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Dict):
                chosen = _dict_entry(node.value, node.slice)  # ``{"r": os.system}["r"](...)``
                if chosen is None:
                    break
                node, indirect = chosen, True
            elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Tuple | ast.List):
                at = _position(node.slice, len(node.value.elts))  # ``(os.system, print)[0](...)``
                if at is None:
                    break
                node, indirect = node.value.elts[at], True
            elif isinstance(node, ast.IfExp):
                # ``(os.system if cond else print)(...)``: whichever branch can do something
                chosen = next(
                    (b for b in (node.body, node.orelse) if name_capabilities(self.dotted(b)[0])), None
                )
                if chosen is None:
                    break
                node = chosen
            else:
                break
        while (
            parts
            and parts[0] == "__call__"
            and not (type(node) is ast.Name and node.id in self.local_classes)
        ):
            parts.pop(0)  # ``os.system.__call__(...)`` is ``os.system(...)``; ``K.__call__`` is a method
        base: str
        if isinstance(node, ast.Name):
            if node.id in self.aliases:
                base = self.aliases[node.id]
            elif node.id in _BUILTINS or node.id in self.local_defs:
                base = node.id
            else:
                # A local variable or parameter: keep its name but mark it unresolved, unless a
                # star import brought in a name of known capability (``from os import *``).
                base = self._from_star(node.id) or "?" + node.id
        elif isinstance(node, ast.Call):
            target = self._module_of_call(node)
            if target is None:
                # ``smtplib.SMTP(host).sendmail(...)``: a method of an instance made on the spot
                # (a plain dotted name only: resolving a chain of calls again at every level
                # would cost twice per link, ``a().b().c()...`` exponentially)
                root = node.func
                while type(root) is ast.Attribute:
                    root = root.value
                made = self.dotted(node.func)[0] if type(root) is ast.Name else "?"
                base = made + "()" if made in _MADE else "?"
            else:
                # a local function's return value is an alias, not reflection
                returned = isinstance(node.func, ast.Name) and node.func.id in self.returns
                base, indirect = target, not returned
        elif isinstance(node, ast.Subscript):
            # __builtins__['exec'], globals()['exec'], vars(builtins)['exec']
            key = node.slice
            held = self.sequences.get(node.value.id) if isinstance(node.value, ast.Name) else None
            if (spelled := constant_text(key)) is not None:  # also ``["".join(reversed("cexe"))]``
                base, indirect = self._entry(node.value, spelled), True
            elif held and (at := _position(key, len(held))) is not None and (element := held[at]):
                base, indirect = element, True  # ``fns = [print, os.system]; fns[1](...)``
            else:
                base = "?"
        else:
            base = "?"
        name = ".".join([base, *reversed(parts)])
        bare = base in {"__builtins__", "__builtin__"}
        name, _ = _normalise(name)
        return name, indirect or bare

    def _entry(self, table: ast.expr, key: str) -> str:
        """What ``table[key]`` names: ``vars(os)['system']`` and ``os.__dict__['system']`` ->
        ``os.system``; ``d['r']`` after ``d = {'r': os.system}`` -> ``os.system``; otherwise the
        key itself (``globals()['exec']``, ``__builtins__['exec']``, ``sys.modules['os']``)."""
        owner: ast.expr | None = None
        if isinstance(table, ast.Attribute) and table.attr == "__dict__":
            owner = table.value
        elif (
            isinstance(table, ast.Call)
            and isinstance(table.func, ast.Name)
            and table.func.id == "vars"
            and len(table.args) == 1
        ):
            owner = table.args[0]
        elif isinstance(table, ast.Name) and table.id in self.tables:
            return self.tables[table.id].get(key, "?")
        if owner is not None:
            module = self.dotted(owner)[0]
            if not module.startswith("?") and module not in {"builtins", "__builtins__", "__builtin__"}:
                return f"{module}.{key}"
        return key

    def _module_of_call(self, node: ast.Call) -> str | None:
        """``__import__('os')`` -> ``os``; ``getattr(x, 'y')`` -> ``x.y``; ``importlib.import_module``."""
        func = node.func
        fname = self.dotted(func)[0] if isinstance(func, ast.Name | ast.Attribute) else "?"
        first = node.args[0] if node.args else None
        if fname in {"__import__", "importlib.import_module", "importlib.__import__"}:
            # also ``'o' + 's'``, ``'so'[::-1]``
            return constant_text(first) if first is not None else None
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "get"
            and first is not None
            and (
                isinstance(func.value, ast.Dict)
                or (isinstance(func.value, ast.Name) and func.value.id in self.tables)
            )
            and (key := constant_text(first)) is not None
        ):
            # ``{'r': os.system}.get('r')``, ``d.get('r')``
            if isinstance(func.value, ast.Dict):
                chosen = _dict_entry(func.value, first)
                found = self.dotted(chosen)[0] if chosen is not None else "?"
            else:
                found = self.tables[func.value.id].get(key, "?")
            return None if found.startswith("?") else found
        if fname == "getattr" and len(node.args) >= 2:
            attr = constant_text(node.args[1])  # also ``'sys' + 'tem'``, ``'metsys'[::-1]``
            if attr is not None and first is not None:
                base = self.dotted(first)[0]
                return f"{base}.{attr}"
        if fname.endswith(".__getattribute__") and first is not None:
            attr = constant_text(first)  # ``os.__getattribute__('system')``
            return None if attr is None else f"{fname.rpartition('.')[0]}.{attr}"
        if type(func) is ast.Call and len(node.args) == 1 and len(func.args) == 1:
            # ``operator.attrgetter('system')(os)``
            attr = constant_text(func.args[0])
            if attr is not None and self.dotted(func.func)[0] == "operator.attrgetter":
                return f"{self.dotted(node.args[0])[0]}.{attr}"
        if fname in {"globals", "locals", "vars"}:
            return "builtins"
        if self.class_attrs and any(k.startswith(fname + ".") for k in self.class_attrs):
            return fname + "()"  # an instance of a class whose body bound a capability
        if fname in _NATIVE_LOADERS:
            return fname + "()"  # ``ctypes.CDLL(None).system``: the C library's system()
        if fname in self.returns:
            return self.returns[fname]  # ``def make(): return os.system`` ... ``make()(cmd)``
        if fname == "eval" and isinstance(first, ast.Constant) and isinstance(first.value, str):
            # eval("exec") evaluates to the builtin itself: an alias in disguise.
            name = first.value.strip()
            if name.isidentifier():
                return name
        return None

    def _bind_alias(self, target: str, value: ast.expr) -> None:
        if isinstance(value, ast.Name | ast.Attribute):
            name, _ = self.dotted(value)
            if not name.startswith("?") and name != target:
                self.aliases[target] = name
                return
        elif isinstance(value, ast.IfExp | ast.Subscript):
            # ``run = os.system if x else print``, ``run = fns[1]``: only a capability binds
            # (``cmd = options['exec']`` is data, not the builtin)
            name, _ = self.dotted(value)
            if name != target and name_capabilities(name):
                self.aliases[target] = name
                return
        elif isinstance(value, ast.Call):
            mod = self._module_of_call(value)
            if mod is not None:
                self.aliases[target] = _normalise(mod)[0]
                return
            made, _ = self.dotted(value.func)
            if not made.startswith("?") and made not in _BUILTINS:
                # An instance: ``s = requests.Session()`` makes ``s.get`` resolve to
                # ``requests.Session().get``.
                self.aliases[target] = made + "()"
                return
        self.aliases.pop(target, None)

    def _bind_class_attr(self, key: str, value: ast.expr, function: str | None) -> None:
        """``class K: run = os.system`` (or ``staticmethod(os.system)``), ``K.run = os.system``
        after the class, ``self.run = os.system`` in a method: ``K.run(...)``, ``K().run(...)``
        and ``self.run(...)`` in its methods call ``os.system``. ``key`` is ``Class.attr``."""
        if (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id in {"staticmethod", "classmethod"}
            and len(value.args) == 1
        ):
            value = value.args[0]
        held: str | None = None
        if isinstance(value, ast.Name | ast.Attribute):
            name = self.dotted(value)[0]
            if _known_capability(name):
                held = name
            elif "." in name:
                # ``K.b = K.a`` copies what ``K.a`` holds already (a lookup: no chain can loop)
                held = self._class_attr(name, function)
        if held is not None:
            self.class_attrs[key] = held
        else:
            self.class_attrs.pop(key, None)

    def _class_attr(self, name: str, function: str | None) -> str | None:
        """What ``name`` (``K.run``, ``K().run``, ``?self.run`` in a method of ``K``) was bound
        to in or after a class body, if it is a known capability."""
        return self.class_attrs.get(self._attr_key(name, function)) if self.class_attrs else None

    @staticmethod
    def _attr_key(name: str, function: str | None) -> str:
        """``Class.attr`` for an attribute named ``K.run``, ``K().run`` or ``?self.run`` (in a
        method of ``K``)."""
        owner, _, attr = name.rpartition(".")
        if owner in {"?self", "?cls"} and function is not None and "." in function:
            owner = function.rpartition(".")[0]
        return f"{owner.removesuffix('()')}.{attr}"

    def _may_bind(self, value: ast.expr) -> bool:
        """Whether ``value`` may name a capability (its root is an import or a star import's);
        a cheap test before :meth:`_bind_class_attr` for the many ``self.x = x``."""
        if isinstance(value, ast.Call) and len(value.args) == 1:
            value = value.args[0]  # ``staticmethod(os.system)``
        while isinstance(value, ast.Attribute):
            value = value.value
        return isinstance(value, ast.Name) and (value.id in self.aliases or bool(self.star_modules))

    def _bind_sequence(self, target: str, value: ast.expr) -> None:
        """``fns = [print, os.system]``: remember each element's capability for ``fns[1]``
        (``d = {'r': os.system}`` likewise for ``d['r']``)."""
        self.tables.pop(target, None)
        if isinstance(value, ast.Dict):
            entries = {
                key: name
                for k, v in zip(value.keys, value.values, strict=True)
                if k is not None
                and isinstance(v, ast.Name | ast.Attribute)
                and (key := constant_text(k)) is not None
                and _known_capability(name := self.dotted(v)[0])
            }
            if entries:
                self.tables[target] = entries
        elif isinstance(value, ast.Tuple | ast.List):
            held = tuple(
                name
                if isinstance(e, ast.Name | ast.Attribute) and _known_capability(name := self.dotted(e)[0])
                else None
                for e in value.elts
            )
            if any(held):
                self.sequences[target] = held
                return
        self.sequences.pop(target, None)

    def _from_star(self, name: str) -> str | None:
        if not self.star_modules or name in self._bound_names():
            return None  # a name the file binds itself is its own, whatever the star brings
        for module in reversed(self.star_modules):
            candidate = f"{module}.{name}"
            if name_capabilities(candidate):
                return candidate
        return None

    _bound: frozenset[str] | None = None
    _tree: ast.Module | None = None

    def _bound_names(self) -> frozenset[str]:
        """Every name the file assigns, defines, imports or takes as a parameter (computed on
        first use: only files with a star import ask)."""
        if self._bound is None:
            found: set[str] = set()
            for node in ast.walk(self._tree) if self._tree is not None else ():
                if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                    found.add(node.id)
                elif isinstance(node, ast.arg):
                    found.add(node.arg)
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    found.add(node.name)
                elif isinstance(node, ast.alias) and node.name != "*":
                    found.add(node.asname or node.name.split(".")[0])
            self._bound = frozenset(found)
        return self._bound

    def _bind_defaults(self, args: ast.arguments) -> None:
        """``def f(_os=os)`` / ``lambda _s=subprocess: _s.Popen(...)``: a parameter whose default
        is an imported module (or a name from one) is that module inside the body, a way to
        call ``os.replace`` without writing it. Bound only when the default's root is an import
        and the parameter names nothing else yet, so the file-wide alias table is not misled."""
        positional = [*args.posonlyargs, *args.args]
        pairs = list(zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True))
        pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None]
        for arg, default in pairs:
            root = default
            while isinstance(root, ast.Attribute):
                root = root.value
            if not isinstance(root, ast.Name) or root.id not in self.imported or arg.arg in self.aliases:
                continue
            name, _ = self.dotted(default)
            if not name.startswith("?") and name != arg.arg:
                self.aliases[arg.arg] = name

    # -- the walk ----------------------------------------------------------------------------
    def walk(self, tree: ast.Module) -> Facts:
        root = _Ctx(Scope.MODULE, None, "", False)
        self._tree = tree
        self._mark_docstrings(tree)
        self.local_defs = {
            n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        }
        self.local_classes = {n.name for n in tree.body if type(n) is ast.ClassDef}
        self.protocol = {}
        for n in tree.body:
            if type(n) is ast.ClassDef:
                self._note_protocol(n.name, n.body)
        self.run([(tree, root)])
        facts = self.facts
        if self.lazy:
            # The facts keep this walker for the bodies left for later; it must not keep them
            # in turn: without that cycle, reference counting frees a file's syntax tree as soon
            # as the analysis drops it, instead of a garbage-collector pass over every node.
            del self.facts
        return facts

    def run(self, todo: list[tuple[ast.AST, _Ctx]]) -> None:
        stack = list(reversed(todo))
        handlers = _HANDLERS
        children_of = self._children
        while stack:
            node, ctx = stack.pop()
            handler = handlers.get(type(node))
            children = children_of(node, ctx) if handler is None else handler(self, node, ctx)
            if children:
                # Reverse so nodes are processed roughly in source order (aliases bind before use).
                stack.extend(reversed(children))

    _docstrings: set[int]

    def _mark_docstrings(self, tree: ast.Module) -> None:
        self._docstrings = set()
        self._docstring_of(tree.body)

    def _docstring_of(self, body: list[ast.stmt]) -> None:
        first = body[0] if body else None
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        ):
            self._docstrings.add(id(first.value))

    # -- one handler per node type (:data:`_HANDLERS`); other types only pass their children on
    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: _Ctx) -> _Todo:
        f = self.facts
        qual = f"{ctx.qual}.{node.name}" if ctx.qual else node.name
        f.functions[qual] = node
        self._docstring_of(node.body)
        inner = _Ctx(Scope.FUNCTION, qual, qual, False)
        self._bind_defaults(node.args)
        # A lambda written as a decorator runs its body right here, when the def runs.
        out: _Todo = [(d.body if isinstance(d, ast.Lambda) else d, ctx) for d in node.decorator_list]
        out += [(call, ctx) for call in _applications(node)]
        if node.name == "__getattr__" and ctx.scope is Scope.MODULE:
            # a module's ``__getattr__`` (PEP 562) runs for ``from pkg import name`` of any name
            # the module lacks: as good as run when the package is used at all
            out.append((ast.copy_location(ast.Call(func=_name_of(node), args=[], keywords=[]), node), ctx))
        out += [(d, ctx) for d in (*node.args.defaults, *node.args.kw_defaults) if d is not None]
        body: _Todo = [(s, inner) for s in node.body]
        if self.lazy:
            f._pending[qual] = body
            return out
        return out + body

    def _lambda(self, node: ast.Lambda, ctx: _Ctx) -> _Todo:
        qual = self.lambda_quals.get(id(node)) or (f"{ctx.qual}.<lambda>" if ctx.qual else "<lambda>")
        inner = _Ctx(Scope.FUNCTION, qual, qual, False)
        self._bind_defaults(node.args)
        pending: _Todo = [(d, ctx) for d in node.args.defaults]
        return [*pending, (node.body, inner)]

    def _class(self, node: ast.ClassDef, ctx: _Ctx) -> _Todo:
        qual = f"{ctx.qual}.{node.name}" if ctx.qual else node.name
        bases = tuple(self.dotted(b)[0] for b in node.bases)
        self.facts.classes.append(
            ClassFact(
                name=node.name, qualname=qual, bases=bases, node=node, line=node.lineno, scope=ctx.scope
            )
        )
        self._docstring_of(node.body)
        body_scope = Scope.CLASS if ctx.scope is not Scope.FUNCTION else Scope.FUNCTION
        inner = _Ctx(body_scope, ctx.function, qual, ctx.main_guard)
        out: _Todo = [(d, ctx) for d in (*node.decorator_list, *node.bases, *node.keywords)]
        out += [(s, inner) for s in node.body]
        made = _applications(node) + (_class_makers(node, self.local_defs) if self.local_defs else [])
        return out + [(call, ctx) for call in made]

    def _if(self, node: ast.If, ctx: _Ctx) -> _Todo:
        guard = _is_main_test(node.test) if ctx.scope is Scope.MODULE else None
        body_ctx = ctx
        else_ctx = ctx
        if guard is True:
            body_ctx = _Ctx(ctx.scope, ctx.function, ctx.qual, True)
        elif guard is False:
            else_ctx = _Ctx(ctx.scope, ctx.function, ctx.qual, True)
        branches: _Todo = [(node.test, ctx)]
        if self.protocol:
            branches += self._protocol(node.test, ("__bool__", "__len__"), ctx)
        branches += [(s, body_ctx) for s in node.body]
        branches += [(s, else_ctx) for s in node.orelse]
        return branches

    def _import(self, node: ast.Import, ctx: _Ctx) -> _Todo:
        for a in node.names:
            bound = a.asname or a.name.split(".")[0]
            self.aliases[bound] = a.name if a.asname else a.name.split(".")[0]
            self.imported.add(bound)
            self.facts.imports.append(
                ImportFact(module=a.name, name=None, bound=bound, line=node.lineno, scope=ctx.scope)
            )
        return []

    def _import_from(self, node: ast.ImportFrom, ctx: _Ctx) -> _Todo:
        mod = "." * node.level + (node.module or "")
        for a in node.names:
            bound = a.asname or a.name
            if a.name != "*":
                self.aliases[bound] = f"{mod}.{a.name}" if mod else a.name
                self.imported.add(bound)
            elif mod and not mod.startswith("."):
                self.star_modules.append(mod)
            self.facts.imports.append(
                ImportFact(module=mod, name=a.name, bound=bound, line=node.lineno, scope=ctx.scope)
            )
        return []

    def _call(self, node: ast.Call, ctx: _Ctx) -> _Todo:
        f = self.facts
        name, indirect = self.dotted(node.func)
        if self.class_attrs:
            bound = self._class_attr(name, ctx.function)
            if bound is not None:
                name = bound  # an alias kept on a class or instance, not reflection
        call = CallFact(
            name=name,
            node=node,
            line=node.lineno,
            scope=ctx.scope,
            function=ctx.function,
            main_guard=ctx.main_guard,
            indirect=indirect,
        )
        f.calls.append(call)
        f.by_node[id(node)] = call
        f.calls_in.setdefault(ctx.function, []).append(call)
        if name == "setattr" or name.endswith(".append"):
            self._bind_by_call(name, node, ctx)
        handed = _handed(node, name) if name in _HANDED else None
        if handed is not None:
            # ``functools.partial(subprocess.Popen, cmd)``, ``Thread(target=os.system, ...)``:
            # the runner calls what it is handed, so that counts as called here too, with
            # the arguments it is given, when a known capability is handed over.
            target, args, keywords = handed
            handed_name, _ = self.dotted(target)
            if not handed_name.startswith("?") and name_capabilities(handed_name):
                made = ast.Call(func=target, args=args, keywords=keywords)
                ast.copy_location(made, node)
                self._add_call(call._replace(name=handed_name, node=made, indirect=True), ctx)
        elif name not in _NOT_CALLERS and (node.args or node.keywords):
            self._callbacks(call, node, ctx)
        if name.startswith("?") or name == "operator.methodcaller()":
            self._method_caller(call, node, ctx)
        children = self._children(node, ctx)
        if self.protocol:
            children += self._protocol(node.func, ("__call__",), ctx)
            if name in _TEXT_OF:
                for arg in node.args:
                    children += self._protocol(arg, _TEXT_METHODS, ctx)
        if name in _CALLBACK_RUNNERS:
            children = [_run_lambda_here(n, c, ctx) for n, c in children]
        func = node.func
        if type(func) is ast.Lambda:
            # ``(lambda x: exec(b64decode(x)))(BLOB)``: the body runs right here, not later
            self._bind_defaults(func.args)
            children = [(func.body, ctx) if n is func else (n, c) for n, c in children]
            children += [(d, ctx) for d in func.args.defaults]
        return children

    def _callbacks(self, call: CallFact, node: ast.Call, ctx: _Ctx) -> None:
        """A capability handed to another call together with what it is to be called with is
        called by it: ``executor.submit(os.system, cmd)``, ``weakref.finalize(obj, os.system,
        cmd)``, ``try_call(os.system, cmd)`` (the arguments after it), ``sorted(cmds,
        key=os.system)`` (the others, for a callback keyword). It counts as called here, with
        the elements of a literal list or tuple spread, as a callback, not as reflection. Handed
        over with nothing after it (``TypeVar('T', socket.socket, subprocess.Popen)``), it is a
        reference; constants (``subprocess.PIPE``) are no callables."""
        for position, target in enumerate(node.args):
            if type(target) is ast.Attribute or type(target) is ast.Name:
                after = node.args[position + 1 :]
                if after:
                    self._callback(call, node, target, after, ctx)
        for keyword in node.keywords:
            target = keyword.value
            if keyword.arg in _CALLBACK_KEYWORDS and (
                type(target) is ast.Attribute or type(target) is ast.Name
            ):
                self._callback(call, node, target, node.args, ctx)

    def _callback(
        self, call: CallFact, node: ast.Call, target: ast.expr, given: list[ast.expr], ctx: _Ctx
    ) -> None:
        handed_name, _ = self.dotted(target)
        if not _known_capability(handed_name) or handed_name.rpartition(".")[2].isupper():
            return
        args: list[ast.expr] = []
        for other in given:
            if type(other) is not ast.Starred:
                args.extend(other.elts if isinstance(other, ast.List | ast.Tuple | ast.Set) else [other])
        made = ast.Call(func=target, args=args, keywords=[])
        ast.copy_location(made, node)
        self._add_call(call._replace(name=handed_name, node=made), ctx)

    def _method_caller(self, call: CallFact, node: ast.Call, ctx: _Ctx) -> None:
        """``operator.methodcaller('system', cmd)(os)`` calls ``os.system(cmd)``; so does ``m(os)``
        after ``m = operator.methodcaller('system', cmd)``."""
        maker = node.func
        if type(maker) is ast.Name:
            bound = self.facts.assigns.get(maker.id)
            maker = bound[-1].value if bound else maker
        if type(maker) is not ast.Call or len(node.args) != 1 or not maker.args:
            return
        method = constant_text(maker.args[0])
        if (
            method is None
            or not method.isidentifier()
            or self.dotted(maker.func)[0] != "operator.methodcaller"
        ):
            return
        func = ast.Attribute(value=node.args[0], attr=method, ctx=ast.Load())
        made = ast.Call(func=func, args=maker.args[1:], keywords=maker.keywords)
        ast.copy_location(made, node)
        ast.copy_location(func, node)
        self._add_call(call._replace(name=self.dotted(func)[0], node=made, indirect=True), ctx)

    def _add_call(self, call: CallFact, ctx: _Ctx) -> None:
        self.facts.calls.append(call)
        self.facts.calls_in.setdefault(ctx.function, []).append(call)

    def _bind_by_call(self, name: str, node: ast.Call, ctx: _Ctx) -> None:
        """``setattr(K, 'run', os.system)`` binds like ``K.run = os.system``; ``fns.append(os.system)``
        puts the capability in ``fns`` (for ``fns[0](...)``, ``for f in fns: f(...)``)."""
        args = node.args
        if name == "setattr":
            if len(args) == 3 and (attr := constant_text(args[1])) is not None:
                owner = self.dotted(args[0])[0]
                self._bind_class_attr(self._attr_key(f"{owner}.{attr}", ctx.function), args[2], ctx.function)
            return
        func = node.func
        if (
            len(args) == 1
            and isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and isinstance(args[0], ast.Name | ast.Attribute)
        ):
            element = self.dotted(args[0])[0]
            if _known_capability(element):
                held = self.sequences.get(func.value.id, ())
                self.sequences[func.value.id] = (*held, element)

    def _return(self, node: ast.Return, ctx: _Ctx) -> _Todo:
        value = node.value
        if ctx.function is not None and isinstance(value, ast.Name | ast.Attribute):
            name = self.dotted(value)[0]
            if _known_capability(name):
                self.returns[ctx.function] = name
        return self._children(node, ctx)

    def _for(self, node: ast.For | ast.AsyncFor, ctx: _Ctx) -> _Todo:
        # ``for run in (os.system, print): run(cmd)``: the loop name takes each element in turn;
        # it is bound to the first of known capability, as an assignment would bind it.
        if isinstance(node.target, ast.Name) and isinstance(node.iter, ast.Tuple | ast.List | ast.Set):
            for element in node.iter.elts:
                if isinstance(element, ast.Name | ast.Attribute):
                    name, _ = self.dotted(element)
                    if name_capabilities(name):
                        self.aliases[node.target.id] = name
                        break
        elif isinstance(node.target, ast.Name) and isinstance(node.iter, ast.Name):
            held = next((e for e in self.sequences.get(node.iter.id, ()) if e is not None), None)
            if held is not None:  # ``fns = [os.system]`` ... ``for run in fns: run(cmd)``
                self.aliases[node.target.id] = held
        self._loop_names(node.target, node.iter, node, ctx)
        if self.protocol:
            return self._children(node, ctx) + self._protocol(node.iter, ("__iter__", "__next__"), ctx)
        return self._children(node, ctx)

    def _comprehension(self, node: ast.comprehension, ctx: _Ctx) -> _Todo:
        self._loop_names(node.target, node.iter, node.iter, ctx)
        if self.protocol:
            return self._children(node, ctx) + self._protocol(node.iter, ("__iter__", "__next__"), ctx)
        return self._children(node, ctx)

    def _while(self, node: ast.While, ctx: _Ctx) -> _Todo:
        if self.protocol:
            return self._children(node, ctx) + self._protocol(node.test, ("__bool__", "__len__"), ctx)
        return self._children(node, ctx)

    def _loop_names(self, target: ast.expr, values: ast.expr, node: ast.stmt | ast.expr, ctx: _Ctx) -> None:
        """``for c in [CMD]: os.system(c)``, ``[os.system(c) for c in CMDS]``: what the loop
        names hold comes from what the loop runs over, so data flows from ``values`` to each of
        them (recorded as an assignment, without the alias bindings an ``=`` makes)."""
        if isinstance(target, ast.Name):
            self.facts.assigns.setdefault(target.id, []).append(
                AssignFact(
                    target=target.id,
                    value=values,
                    line=node.lineno,
                    scope=ctx.scope,
                    function=ctx.function,
                )
            )
        elif isinstance(target, ast.Tuple | ast.List):
            rows = values.elts if isinstance(values, ast.Tuple | ast.List | ast.Set) else None
            if rows and all(
                isinstance(r, ast.Tuple | ast.List) and len(r.elts) == len(target.elts) for r in rows
            ):
                # ``for name, path in [("a", A), ("b", B)]``: each name takes its own column
                for row in rows:
                    assert isinstance(row, ast.Tuple | ast.List)
                    for element, value in zip(target.elts, row.elts, strict=True):
                        self._loop_names(element, value, node, ctx)
                return
            for element in target.elts:
                self._loop_names(element, values, node, ctx)
        elif isinstance(target, ast.Starred):
            self._loop_names(target.value, values, node, ctx)

    def _withitem(self, node: ast.withitem, ctx: _Ctx) -> _Todo:
        # ``with open(path) as fh:`` binds ``fh`` like ``fh = open(path)`` would (what flows
        # out of ``fh.read()`` comes from ``path``)
        if isinstance(node.optional_vars, ast.Name) and isinstance(node.context_expr, ast.Call):
            self._record_assign(node.optional_vars, node.context_expr, node.context_expr, ctx)
        if self.protocol:
            return self._children(node, ctx) + self._protocol(
                node.context_expr, ("__enter__", "__exit__"), ctx
            )
        return self._children(node, ctx)

    def _assign(self, node: ast.Assign | ast.AnnAssign | ast.AugAssign | ast.NamedExpr, ctx: _Ctx) -> _Todo:
        value = node.value
        targets: list[ast.expr] = node.targets if isinstance(node, ast.Assign) else [node.target]
        if value is None:
            return self._children(node, ctx)
        hooked = False
        for t in targets:
            self._record_assign(t, value, node, ctx)
            hooked = hooked or (type(t) is ast.Attribute and self.dotted(t)[0] in _HOOK_ATTRIBUTES)
        children = self._children(node, ctx)
        if hooked and isinstance(value, ast.Name | ast.Lambda):
            # ``sys.excepthook = lambda *a: ...``: the hook's body runs, as if called here
            made = ast.copy_location(ast.Call(func=value, args=[], keywords=[]), node)
            children.append((made, ctx))
        return children

    def _constant(self, node: ast.Constant, ctx: _Ctx) -> _Todo:
        self._literal(node, ctx)
        return []

    def _attribute(self, node: ast.Attribute, ctx: _Ctx) -> _Todo:
        if type(node.ctx) is not ast.Load:
            return self._children(node, ctx)
        # ``K().p`` runs a property ``p``; an attribute the class lacks, ``__getattr__``
        run = (
            self._protocol(node.value, (node.attr, "__getattr__"), ctx, lookup=True)
            if self.protocol and not getattr(node, "_pipvet_made", False)
            else []
        )
        root = node.value
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name) and root.id in self.aliases:
            self.facts.attributes.append((self.dotted(node)[0], node.lineno, ctx.scope, ctx.function))
            return run
        return self._children(node, ctx) + run if run else self._children(node, ctx)

    def _made_class(self, name: str, value: ast.Call) -> None:
        """``K = type("K", (), {"__init__": lambda self: ...})`` makes a class like a ``class``
        statement: its lambdas are its methods (``K.__init__``) and ``K`` a local class."""
        func, args = value.func, value.args
        if not (
            type(func) is ast.Name and func.id == "type" and len(args) == 3 and type(args[2]) is ast.Dict
        ):
            return
        self.local_classes.add(name)
        methods: list[str] = []
        for key, method in zip(args[2].keys, args[2].values, strict=True):
            text = constant_text(key) if key is not None else None
            if text is not None and type(method) is ast.Lambda:
                qual = f"{name}.{text}"
                self.facts.functions.setdefault(qual, method)
                self.lambda_quals[id(method)] = qual
                methods.append(text)
        ran = frozenset(methods) & _RUN_BY_OPERATIONS
        if ran:
            self.protocol[name] = ran

    def _operation(self, node: ast.expr | ast.stmt, ctx: _Ctx) -> _Todo:
        """An operator, comparison, truth test, subscript or f-string field: on an instance of
        a local class it runs that class's method for it (``k == 1`` runs ``K.__eq__``)."""
        children = self._children(node, ctx)
        if not self.protocol:
            return children
        if type(node) is ast.BinOp:
            name = _BINARY_METHODS.get(type(node.op))
            if name is not None:
                children += self._protocol(node.left, (f"__{name}__",), ctx)
                children += self._protocol(node.right, (f"__r{name}__",), ctx)
            return children
        operands, methods = _OPERANDS[type(node)](node)
        for operand in operands:
            children += self._protocol(operand, methods, ctx)
        return children

    def _protocol(
        self, expr: ast.expr, methods: tuple[str, ...], ctx: _Ctx, *, lookup: bool = False
    ) -> _Todo:
        """Calls of the methods Python runs for an operation on ``expr`` when it is an instance
        of a class of this module: ``with K():`` runs ``K.__enter__``, ``for x in k:`` runs
        ``K.__iter__``, ``str(k)`` ``K.__str__``, ``k()`` ``K.__call__``. They are made as calls
        written here, so that what those methods call counts as run here. With ``lookup`` the
        first method is an attribute read, a call only when it is a property."""
        place = expr
        if type(expr) is ast.Name:
            bound = self.facts.assigns.get(expr.id)
            if not bound:
                return []
            expr = bound[-1].value
        if type(expr) is not ast.Call:
            return []
        func = expr.func
        if type(func) is not ast.Name:
            return []
        ran = self.protocol.get(func.id)
        if ran is None:
            return []
        if lookup and methods[0] not in ran and f"{func.id}.{methods[0]}" in self.facts.functions:
            return []  # a method the class has: no ``__getattr__``, nothing run by reading it
        if lookup and methods[0].startswith("__") and methods[0].endswith("__"):
            return []  # reading ``k.__call__`` calls nothing
        out: _Todo = []
        for method in methods:
            if method in ran:
                attribute = ast.copy_location(ast.Attribute(value=func, attr=method, ctx=ast.Load()), place)
                # the made call's own attribute read must not be expanded again: with the class
                # name bound to its instance (``P = P()``) it would make the same call forever
                attribute._pipvet_made = True  # type: ignore[attr-defined]
                out.append((ast.copy_location(ast.Call(func=attribute, args=[], keywords=[]), place), ctx))
        return out

    def _note_protocol(self, name: str, body: list[ast.stmt]) -> None:
        """Record which of class ``name``'s methods an operation on an instance runs."""
        ran = [
            stmt.name
            for stmt in body
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef)
            and (stmt.name in _RUN_BY_OPERATIONS or _is_property(stmt))
        ]
        ran += [
            t.id
            for stmt in body
            if type(stmt) is ast.Assign and type(stmt.value) is ast.Lambda
            for t in stmt.targets
            if type(t) is ast.Name and t.id in _RUN_BY_OPERATIONS
        ]
        if ran:
            self.protocol[name] = frozenset(ran)

    def _leaf(self, node: ast.AST, ctx: _Ctx) -> _Todo:
        return []

    def _children(self, node: ast.AST, ctx: _Ctx) -> _Todo:
        """Child nodes worth visiting. Plain names and operator singletons are skipped and
        constants recorded on the spot: together they are most of any tree."""
        out: _Todo = []
        kind = type(node)
        fields = _CHILD_FIELDS.get(kind)
        if fields is None:
            fields = _CHILD_FIELDS[kind] = tuple(f for f in kind._fields if f not in _SCALAR_FIELDS)
        for name in fields:
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    kind = type(item)
                    if kind is ast.Name or kind in _LEAF_TYPES:
                        continue
                    if kind is ast.Constant:
                        self._literal(item, ctx)
                    elif isinstance(item, ast.AST):
                        out.append((item, ctx))
            elif value is not None:
                kind = type(value)
                if kind is ast.Name or kind in _LEAF_TYPES:
                    continue
                if kind is ast.Constant:
                    self._literal(value, ctx)
                elif isinstance(value, ast.AST):
                    out.append((value, ctx))
        return out

    def _literal(self, node: ast.Constant, ctx: _Ctx) -> None:
        value = node.value
        if type(value) is str or type(value) is bytes:
            self.facts.literals.append(
                LiteralFact(
                    value=value,
                    line=node.lineno,
                    col=node.col_offset,
                    end_line=node.end_lineno or node.lineno,
                    scope=ctx.scope,
                    docstring=id(node) in self._docstrings,
                )
            )

    def _record_assign(self, target: ast.expr, value: ast.expr, node: ast.stmt | ast.expr, ctx: _Ctx) -> None:
        f = self.facts
        augmented = isinstance(node, ast.AugAssign)
        if isinstance(target, ast.Name):
            fact = AssignFact(
                target=target.id,
                value=value,
                line=node.lineno,
                scope=ctx.scope,
                function=ctx.function,
                augmented=augmented,
            )
            f.assigns.setdefault(target.id, []).append(fact)
            if isinstance(value, ast.Lambda):
                qual = f"{ctx.qual}.{target.id}" if ctx.qual else target.id
                f.functions.setdefault(qual, value)
                self.lambda_quals[id(value)] = qual  # ``run = lambda: ...`` ... ``run()``
            elif isinstance(value, ast.Call) and ctx.scope is Scope.MODULE:
                self._made_class(target.id, value)
            if not augmented:
                self._bind_alias(target.id, value)
                if type(value) in _DISPLAYS or target.id in self.sequences or target.id in self.tables:
                    self._bind_sequence(target.id, value)
                if ctx.scope is Scope.CLASS:
                    self._bind_class_attr(f"{ctx.qual}.{target.id}", value, ctx.function)
        elif isinstance(target, ast.Attribute):
            dotted, _ = self.dotted(target)
            if not augmented and "." in dotted and (self.class_attrs or self._may_bind(value)):
                self._bind_class_attr(self._attr_key(dotted, ctx.function), value, ctx.function)
            f.attr_assigns.append(
                AssignFact(
                    target=dotted,
                    value=value,
                    line=node.lineno,
                    scope=ctx.scope,
                    function=ctx.function,
                    augmented=augmented,
                )
            )
        elif (
            isinstance(target, ast.Tuple | ast.List)
            and isinstance(value, ast.Tuple | ast.List)
            and len(target.elts) == len(value.elts)
        ):
            for t, v in zip(target.elts, value.elts, strict=True):
                self._record_assign(t, v, node, ctx)


_DISPLAYS = frozenset({ast.Tuple, ast.List, ast.Dict})


def _run_lambda_here(node: ast.AST, ctx: _Ctx, here: _Ctx) -> tuple[ast.AST, _Ctx]:
    """A lambda handed to a runner (``Thread(target=lambda: ...)``, ``atexit.register(lambda:
    ...)``) runs its body when the runner runs it: walk the body at the runner's level."""
    value = node.value if type(node) is ast.keyword else node
    if type(value) is ast.Lambda:
        return value.body, here
    return node, ctx


def _applications(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> list[ast.Call]:
    """``@d`` over ``def g`` runs ``d(g)`` when the def runs: one call per plain decorator
    (``@atexit.register``, a local function), so what it calls counts as called there."""
    calls: list[ast.Call] = []
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Name | ast.Attribute):
            made = ast.Call(func=decorator, args=[_name_of(node)], keywords=[])
            calls.append(ast.copy_location(made, decorator))
    return calls


def _name_of(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> ast.Name:
    """The name a ``def`` or ``class`` binds, as an expression placed at the statement."""
    return ast.copy_location(ast.Name(id=node.name, ctx=ast.Load()), node)


def _class_makers(node: ast.ClassDef, local: Container[str]) -> list[ast.Call]:
    """``class K(metaclass=M)`` calls ``M`` (its ``__new__``, ``__init__``) and ``class K(B)``
    runs ``B.__init_subclass__``, both when the class statement runs: one call each, for the
    classes of this module (``local``)."""
    makers: list[ast.expr] = [
        k.value
        for k in node.keywords
        if k.arg == "metaclass" and type(k.value) is ast.Name and k.value.id in local
    ]
    makers += [
        ast.copy_location(ast.Attribute(value=b, attr="__init_subclass__", ctx=ast.Load()), b)
        for b in node.bases
        if type(b) is ast.Name and b.id in local
    ]
    return [ast.copy_location(ast.Call(func=m, args=[_name_of(node)], keywords=[]), node) for m in makers]


_TRUTH = ("__bool__", "__len__")
_COMPARISON = ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__contains__")

#: Per node type: the operands an instance may stand in and the methods the operation runs.
_OPERANDS: dict[type, Callable[[Any], tuple[list[ast.expr], tuple[str, ...]]]] = {
    ast.Compare: lambda n: ([n.left, *n.comparators], _COMPARISON),
    ast.FormattedValue: lambda n: ([n.value], _TEXT_METHODS),
    ast.UnaryOp: lambda n: ([n.operand], (*_TRUTH, "__neg__", "__pos__", "__invert__")),
    ast.BoolOp: lambda n: (n.values, _TRUTH),
    ast.IfExp: lambda n: ([n.test], _TRUTH),
    ast.Assert: lambda n: ([n.test], _TRUTH),
    ast.Subscript: lambda n: ([n.value], ("__getitem__", "__setitem__", "__delitem__")),
}

#: Binary operators -> the method name between the underscores (``__add__``, ``__radd__``).
_BINARY_METHODS: dict[type, str] = {
    ast.Add: "add",
    ast.Sub: "sub",
    ast.Mult: "mul",
    ast.MatMult: "matmul",
    ast.Div: "truediv",
    ast.FloorDiv: "floordiv",
    ast.Mod: "mod",
    ast.Pow: "pow",
    ast.LShift: "lshift",
    ast.RShift: "rshift",
    ast.BitOr: "or",
    ast.BitXor: "xor",
    ast.BitAnd: "and",
}

_HANDLERS: dict[type, Callable[[_Walker, Any, _Ctx], _Todo]] = {
    ast.Name: _Walker._leaf,
    ast.FunctionDef: _Walker._function,
    ast.AsyncFunctionDef: _Walker._function,
    ast.Lambda: _Walker._lambda,
    ast.ClassDef: _Walker._class,
    ast.If: _Walker._if,
    ast.Import: _Walker._import,
    ast.ImportFrom: _Walker._import_from,
    ast.Call: _Walker._call,
    ast.For: _Walker._for,
    ast.Return: _Walker._return,
    ast.AsyncFor: _Walker._for,
    ast.withitem: _Walker._withitem,
    ast.comprehension: _Walker._comprehension,
    ast.While: _Walker._while,
    ast.Assign: _Walker._assign,
    ast.AnnAssign: _Walker._assign,
    ast.AugAssign: _Walker._assign,
    ast.NamedExpr: _Walker._assign,
    ast.Constant: _Walker._constant,
    ast.Attribute: _Walker._attribute,
    ast.BinOp: _Walker._operation,
    **dict.fromkeys(_OPERANDS, _Walker._operation),
}
"""What the walk does per node type; a type not listed only passes its children on."""


def collect(tree: ast.Module) -> Facts:
    """Walk ``tree`` once and return its facts (uncached; prefer :func:`facts_of`)."""
    return _Walker().walk(tree)


_LAZY_KEY = "pipvet.facts.lazy"


def load_facts(file: FileContext) -> Facts | None:
    """Facts for what runs when the module loads: module level and class bodies are walked, a
    function's body only when :meth:`Facts.reachable_calls` (or the data flow) reaches it. For
    rules about import time, on big modules most bodies are never visited. Returns the full
    facts when a rule already asked for them."""
    full = file.cache.get(_CACHE_KEY)
    if isinstance(full, Facts):
        return full
    lazy = file.cache.get(_LAZY_KEY)
    if isinstance(lazy, Facts):
        return lazy
    if file.tree is None:
        return None
    facts = _Walker(lazy=True).walk(file.tree)
    facts.entries = file.entries
    file.cache[_LAZY_KEY] = facts
    return facts


def facts_of(file: FileContext) -> Facts | None:
    """The file's facts, computed once per file; ``None`` when the file has no syntax tree."""
    if file.tree is None:
        return None
    cached = file.cache.get(_CACHE_KEY)
    if isinstance(cached, Facts):
        return cached
    facts = collect(file.tree)
    facts.entries = file.entries
    file.cache[_CACHE_KEY] = facts
    return facts


def known_facts(file: FileContext) -> Facts | None:
    """The file's full facts if a rule already computed them (never parses or walks)."""
    cached = file.cache.get(_CACHE_KEY)
    return cached if isinstance(cached, Facts) else None


def line_of(file: FileContext, line: int | None, limit: int = 160) -> str | None:
    """The source line ``line`` (1-based) trimmed to ``limit`` characters, for evidence."""
    if line is None or file.text is None:
        return None
    lines = file.cache.get("pipvet.lines")
    if not isinstance(lines, list):
        lines = file.text.splitlines()
        file.cache["pipvet.lines"] = lines
    if not 1 <= line <= len(lines):
        return None
    return trim(lines[line - 1].strip(), limit)


def trim(text: str, limit: int = 160) -> str:
    """Shorten evidence to ``limit`` characters, marking the cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 15] + f"... (+{len(text) - limit + 15} chars)"


def segment(file: FileContext, node: ast.AST, limit: int = 160) -> str | None:
    """The source of ``node`` (first line when it spans several), trimmed for evidence."""
    line = getattr(node, "lineno", None)
    return line_of(file, line, limit)
