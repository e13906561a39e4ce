"""Behaviour: what malicious code does once it runs, beyond stealing files.

Monkey-patching other code at import (aiocpa, the solana key stealers), cryptominers, fileless
execution and shellcode loaders, sandbox/VM evasion, clipboard hijackers that swap crypto
addresses, remote shells, and launching downloaded files on Windows.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pipvet.analysis.context import FileContext, PackageContext
from pipvet.analysis.facts import (
    CallFact,
    Facts,
    Scope,
    capabilities,
    facts_of,
    is_environ,
    known_facts,
    load_facts,
)
from pipvet.analysis.lazyre import LazyPattern
from pipvet.analysis.rules._base import stage_of
from pipvet.analysis.rules._shell import command_text, program_name
from pipvet.analysis.rules._signals import (
    NETWORK_SINK,
    SINK_WORDS,
    Gated,
    Match,
    RuleBase,
    evidence_for,
    find,
    first,
    first_in_code,
    has,
    in_data_table,
    in_function,
    line_text,
    longest_token,
    mentions,
    source,
    stage_at,
)
from pipvet.models import UNASKED_STAGES, Finding, Severity, Stage

# --- monkey-patching at import --------------------------------------------------------------

_DUNDER_TARGETS = frozenset(
    {
        "__init__",
        "__new__",
        "__call__",
        "__getattribute__",
        "__getattr__",
        "__setattr__",
        "__enter__",
        "__del__",
        "__init_subclass__",
        "__reduce__",
    }
)
_ASSIGNED_ROOT = LazyPattern(r"\s*([A-Za-z_]\w*)\s*\.")
#: An assignment to an attribute of a name other than self/cls, at the start of a line
#: (``requests.get = f``, also a tuple target ``m.f, m.g = a, b``) or chained after another
#: target (``x = m.f = g``): without one, no monkey-patch can be written (the facts check the
#: rest). Two patterns that each start with a literal character, which the regex engine finds
#: fast; one alternation of both would be tried at every position.
_ATTR_ASSIGN_LINE = LazyPattern(r"\n[ \t]*(?!self\b|cls\b)[A-Za-z_]\w*(?:[ \t]*\.[ \t]*\w+)+[ \t]*[=,](?!=)")
_ATTR_ASSIGN_CHAINED = LazyPattern(r"=[ \t]*(?!self\b|cls\b)[A-Za-z_]\w*(?:[ \t]*\.[ \t]*\w+)+[ \t]*=(?!=)")


def _may_patch(file: FileContext) -> bool:
    text = file.text or ""
    return _ATTR_ASSIGN_LINE.search("\n" + text) is not None or _ATTR_ASSIGN_CHAINED.search(text) is not None


#: Modules whose patching customises the interpreter or the build rather than another library's
#: behaviour towards its user (apsw's setup.py replaces distutils' config file lookup).
_BUILTINS_MODULES = frozenset({"builtins", "__builtin__"})
_BENIGN_PATCH_ROOTS = frozenset(
    {"sys", "warnings", "logging", "typing", "copyreg", "doctest", "unittest", "distutils", "setuptools"}
)


@dataclass(frozen=True, kw_only=True, slots=True)
class _Patch:
    line: int
    target: str
    root_module: str
    dunder: bool
    quiet: bool = False
    """The replacement is a function of this module that makes no network call itself, nor
    through the functions it calls (pyhocon's ``__getattr__`` fix for pyparsing)."""
    reports_to: str | None = None
    """A literal address the replacement itself (or what it calls) sends to: a wrapper that
    reports what passes through the patched function to a fixed place."""


def monkey_patches(file: FileContext) -> list[_Patch]:
    """Module-level assignments that replace a constructor, or an imported module's function."""
    key = "rules2.monkey_patches"
    cached = file.cache.get(key)
    if isinstance(cached, list):
        return cached
    found: list[_Patch] = []
    facts = known_facts(file)
    # The text gate scans every line; once the file is parsed (another rule asked), walking its
    # module level, or reusing that walk, costs less and answers exactly.
    if facts is None and (file.parsed or _may_patch(file)):
        # Module-level and class-body assignments are all in the import-time facts (function
        # bodies are not walked); only when there is one do the imports anywhere in the file
        # matter, and then the full facts answer.
        loaded = load_facts(file)
        if loaded is not None and any(
            a.scope is not Scope.FUNCTION and not a.augmented for a in loaded.attr_assigns
        ):
            facts = facts_of(file)
    if facts is not None and facts.attr_assigns:
        modules: set[str] = set()
        for imp in facts.imports:
            modules.add(imp.module)
            if imp.name:
                modules.add(f"{imp.module}.{imp.name}")
        local = set(facts.functions)
        bound = {imp.bound for imp in facts.imports}
        for fact in facts.attr_assigns:
            if fact.scope is Scope.FUNCTION or fact.augmented:
                continue
            # The name written in the source must be an import (not a local instance such as
            # ``app = FastAPI()``, which the facts resolve to its constructor's module).
            written = _ASSIGNED_ROOT.match(line_text(file, fact.line))
            if written is None or written.group(1) not in bound:
                continue
            target = fact.target
            if written.group(1) in _BUILTINS_MODULES and "." not in target:
                target = f"builtins.{target}"  # ``builtins.open = f``: the facts name it ``open``
            parts = target.split(".")
            # the most specific import it goes through (a set's order is not stable between runs)
            root = max(
                (m for m in modules | _BUILTINS_MODULES if target.startswith(m + ".")), key=len, default=None
            )
            if len(parts) < 2 or root is None or root.split(".")[0] in _BENIGN_PATCH_ROOTS:
                continue
            value = fact.value
            replaces_code = (
                isinstance(value, ast.Lambda)
                or (isinstance(value, ast.Name) and value.id in local)
                or (
                    isinstance(value, ast.Call)
                    and isinstance(value.func, ast.Name)
                    and value.func.id in local
                )
            )
            dunder = parts[-1] in _DUNDER_TARGETS
            if not dunder and _fills_a_gap(file.tree, fact.line, parts[-1]):
                continue  # ``if not hasattr(socket, "inet_pton"):`` defines what is missing
            if dunder or replaces_code:
                sends = _sends(facts, value.id) if isinstance(value, ast.Name) and value.id in local else None
                found.append(
                    _Patch(
                        line=fact.line,
                        target=target,
                        root_module=root,
                        dunder=dunder,
                        quiet=sends is not None and not sends,
                        reports_to=next(iter(sends), None) if sends else None,
                    )
                )
    if not found and file.entries and _PARAM_ATTR_ASSIGN.search(file.text or ""):
        found = _patches_of_arguments(file)
    file.cache[key] = found
    return found


def _fills_a_gap(tree: ast.Module | None, line: int, attr: str) -> bool:
    """The assignment on ``line`` sits under ``if not hasattr(x, "attr"):``: it adds a function
    the module lacks on this platform or version (ip2location's ``socket.inet_pton`` on
    Windows), replacing nothing."""
    if tree is None:
        return False
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.If) and node.body and node.body[0].lineno <= line <= (node.end_lineno or 0)
        ):
            continue
        if line > max((n.end_lineno or n.lineno) for n in node.body):
            continue  # in the else branch
        test = node.test
        if (
            isinstance(test, ast.UnaryOp)
            and isinstance(test.op, ast.Not)
            and isinstance(test.operand, ast.Call)
            and isinstance(test.operand.func, ast.Name)
            and test.operand.func.id == "hasattr"
            and len(test.operand.args) == 2
            and isinstance(test.operand.args[1], ast.Constant)
            and test.operand.args[1].value == attr
        ):
            return True
    return False


_PARAM_ATTR_ASSIGN = LazyPattern(
    r"\n[ \t]+(?!self\b)[A-Za-z_]\w*\.\w+[ \t]*=[ \t]*[A-Za-z_]\w*[ \t]*(?:\n|#)"
)
"""An indented ``obj.attr = name``: a function may be patching what it was handed."""


def _patches_of_arguments(file: FileContext) -> list[_Patch]:
    """Patches a function makes on what its caller hands it, when another module calls that
    function as it loads: ``patch(ccxt.mexc)`` in ``__init__.py``, and ``def patch(cls):
    cls.create_order = create_order`` here. Only a replacement that reports to an address
    written into this module counts: class decorators and registries set attributes on the
    classes they are given all the time."""
    facts = facts_of(file)
    if facts is None:
        return []
    classes = {c.qualname for c in facts.classes}
    found: list[_Patch] = []
    for entry in sorted(file.entries):
        definition = facts.functions.get(entry)
        if not isinstance(definition, ast.FunctionDef | ast.AsyncFunctionDef) or entry in classes:
            continue
        facts.ensure(entry)
        params = {a.arg for a in (*definition.args.posonlyargs, *definition.args.args)} - {"self"}
        for fact in facts.attr_assigns:
            root, _, attr = fact.target.lstrip("?").partition(".")
            if fact.function != entry or fact.augmented or root not in params or not attr:
                continue
            value = fact.value
            if not isinstance(value, ast.Name):
                continue
            replacement = f"{entry}.{value.id}" if f"{entry}.{value.id}" in facts.functions else value.id
            if replacement not in facts.functions:
                continue
            sends = _sends(facts, replacement)
            reports_to = next((u for u in sends if u), None)
            if reports_to is not None:
                found.append(
                    _Patch(
                        line=fact.line,
                        target=f"{attr} of the object handed to {entry}()",
                        root_module="its caller",
                        dunder=False,
                        reports_to=reports_to,
                    )
                )
    return found


def _sends(facts: Facts, function: str) -> list[str]:
    """The network calls ``function`` makes, itself or through local functions it calls: the
    literal URLs they are handed first (``""`` for a call with none), empty when it sends nothing."""
    facts.ensure(function)
    reached = facts.reachable_calls(list(facts.calls_in.get(function, ())))
    senders = [c for c in reached if capabilities(c) & {"network", "dns"}]
    literal = [u for c in senders for u in _literal_urls(facts, c.node)]
    return literal + [""] * (len(senders) > 0 and not literal)


def _literal_urls(facts: Facts, node: ast.Call) -> Iterator[str]:
    """URLs written into the call, or into a module-level name it uses (``_RPC = "https://..."``)."""
    for arg in (*node.args, *(k.value for k in node.keywords)):
        for sub in ast.walk(arg):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                values = [a.value for a in facts.assigns.get(sub.id, ()) if a.function is None]
                sub = values[0] if len(values) == 1 else sub
            text = sub.value if isinstance(sub, ast.Constant) else None
            if isinstance(text, str) and text.startswith(_SCHEMES):
                yield text


_SCHEMES = ("http://", "https://", "ws://", "wss://")


class MonkeyPatch(RuleBase):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        # Plugins and kernels patch their dependencies; without a sender a patch proves nothing,
        # so the text-level question comes first and spares most files a parse.
        if not (mentions(file, SINK_WORDS) and has(file, NETWORK_SINK)):
            return []
        patches = monkey_patches(file)
        if not patches:
            return []
        patch = next((p for p in patches if p.reports_to), None)
        patch = patch or next((p for p in patches if p.dunder and not p.quiet), None)
        patch = patch or next((p for p in patches if p.dunder), patches[0])
        # High when a constructor or special method is swapped for code that may send (aiocpa's
        # wrapper posted the token it caught); a local replacement that sends nothing is a fix.
        # Critical when the replacement itself sends to an address written into it: every call
        # of the patched function, with what it is handed, is reported to that address.
        severity = (
            Severity.CRITICAL
            if patch.reports_to
            else Severity.HIGH
            if patch.dunder and not patch.quiet
            else Severity.MEDIUM
        )
        also = f", and the replacement sends to {patch.reports_to[:80]}" if patch.reports_to else ""
        return [
            self.finding(
                file,
                line=patch.line,
                message=(
                    f"Replaces {patch.target} (from {patch.root_module}) when the module is imported, "
                    f"in a file that also sends data over the network{also}: aiocpa wrapped a client's "
                    "constructor this way to steal its API token."
                ),
                severity=severity,
                # patches are made at module level: one that reports what it catches weighs
                # where its module loads (a local fix keeps the file's own stage)
                stage=stage_of(file, package, on_load=True) if patch.reports_to else None,
            )
        ]


# --- cryptominers ---------------------------------------------------------------------------

MINER: dict[str, LazyPattern[str]] = {
    "miner binary": LazyPattern(
        r"\bxmrig\b|\bxmr-stak\b|\bcpuminer\b|\bminerd\b|\bccminer\b|\blolMiner\b|\bPhoenixMiner\b|\bnbminer\b|"
        r"\bt-rex\.exe\b|\bsrbminer\b",
        re.I,
    ),
    "mining pool protocol": LazyPattern(r"stratum(?:\+(?:tcp|ssl|tls))?://", re.I),
    "mining pool host": LazyPattern(
        r"(?:nanopool\.org|minexmr\.com|supportxmr\.com|moneroocean\.stream|c3pool\.(?:com|org)|"
        r"hashvault\.pro|2miners\.com|f2pool\.com|herominers\.com|unmineable\.com|nicehash\.com|"
        r"ethermine\.org|xmrpool\.eu|minergate\.com|monerohash\.com|viabtc\.com)",
        re.I,
    ),
    "miner options": LazyPattern(
        r"--donate-level|--cpu-max-threads-hint|\brx/0\b|--algo[= ](?:rx|cn|kawpow)"
    ),
    "miner config": LazyPattern(
        r"""['"]donate-level['"]\s*:|['"]nicehash['"]\s*:\s*true|['"]randomx['"]\s*:\s*\{|"""
        r"""['"]pools['"]\s*:\s*\[\s*\{?\s*['"](?:url|user)['"]"""
    ),
    "Monero wallet": LazyPattern(r"\b4[0-9AB][1-9A-HJ-NP-Za-km-z]{93}\b"),
}


_MINER_WORDS = (
    "xmr",
    "miner",
    "t-rex",
    "stratum",
    "pool",
    "nicehash",
    "ethermine",
    "monero",
    "viabtc",
    "hashvault",
    "unmineable",
    "2miners",
    "--donate",
    "rx/0",
    "--algo",
    "--cpu-max",
    "donate-level",
    "nicehash",
    "randomx",
    "pools",
    "wallet",
)


class CryptoMiner(RuleBase):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        text = source(file)
        if not text:
            return []
        found: dict[str, Match] = {}
        if not mentions(file, _MINER_WORDS):
            return []
        for label, pattern in MINER.items():
            if label == "Monero wallet" and longest_token(file) < 95:
                continue  # its matches are runs of 95 ASCII letters and digits
            hit = first(file, pattern if label == "Monero wallet" else Gated(pattern, _MINER_WORDS))
            if hit:
                found[label] = hit
        if not found:
            return []
        if len(found) >= 2:
            severity = Severity.CRITICAL
        elif set(found) == {"Monero wallet"}:
            severity = Severity.MEDIUM
        else:
            severity = Severity.HIGH
        hit = min(found.values(), key=lambda m: m.line)
        return [
            self.finding(
                file,
                line=hit.line,
                evidence=evidence_for(file, hit),
                message=(
                    f"Cryptominer indicators: {', '.join(sorted(found))}. smb, maratlib and "
                    "ultralytics 8.3.41 ran XMRig on their users' machines."
                ),
                severity=severity,
            )
        ]


# --- fileless execution and shellcode ----------------------------------------------------------

SHELLCODE_ALLOC = LazyPattern(
    r"\bVirtualAlloc(?:Ex)?\b|\bNtAllocateVirtualMemory\b|\bmmap\s*\.\s*PROT_EXEC\b"
)
SHELLCODE_RUN = LazyPattern(
    r"\b(?:RtlMoveMemory|CreateThread|CreateRemoteThread|WriteProcessMemory|VirtualProtect(?:Ex)?|"
    r"NtCreateThreadEx|QueueUserAPC|EnumSystemLocalesA|CFUNCTYPE)\b"
)
MEMFD = LazyPattern(r"\bmemfd_create\s*\(")
MEMFD_EXEC = LazyPattern(
    r"\bfexecve\s*\(|\b(?:execve?|execv|execvp|execl|Popen|run|call|system|spawnv)\s*\(\s*[^\n]{0,40}/proc/self/fd"
)
"""Running the in-memory file itself (passing /proc/self/fd paths to a library is legitimate)."""


SHELLCODE_BINDING = LazyPattern(
    r"^[ \t]*def[ \t]+(?:VirtualAlloc(?:Ex)?|NtAllocateVirtualMemory|CreateRemoteThread|CreateThread|"
    r"WriteProcessMemory)[ \t]*\(",
    re.M,
)
"""A Win32 binding that *defines* the allocation and thread APIs as Python wrappers (debuggers)."""
SHELLCODE_SOURCE = LazyPattern(
    r"\b(?:b64decode|b32decode|b85decode|a85decode|unhexlify|fromhex|decompress|urlopen|urlretrieve|"
    r"recv|recvfrom)\s*\(|\brequests\s*\.\s*(?:get|post)\b|(?:\\x[0-9a-fA-F]{2}){48}"
)
"""Where a loader gets the machine code it runs: decoded, downloaded, or a long escaped literal."""
CPU_PROBE = LazyPattern(r"\b(?:cpuid|xgetbv|rdtsc)\b", re.I)
"""CPU-feature probes (archspec, polars, uv) run a few bytes of cpuid/xgetbv from executable memory."""


class FilelessExec(RuleBase):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        text = source(file)
        if not text:
            return []
        if not mentions(file, ("virtualalloc", "ntallocate", "prot_exec", "memfd_create")):
            return []
        alloc = first(file, SHELLCODE_ALLOC)
        memfd = first(file, MEMFD)
        if alloc is not None:
            # API names in a scanner's keyword table (oletools) are looked for, not called
            alloc = first_in_code(file, SHELLCODE_ALLOC)
            run = first_in_code(file, SHELLCODE_RUN)
            if alloc is None or run is None or first(file, SHELLCODE_BINDING) is not None:
                return []
            payload = first(file, SHELLCODE_SOURCE)
            probe = first(file, CPU_PROBE)
            if payload is not None and probe is None:
                severity = Severity.CRITICAL
                source_text = payload.text.strip()[:24]
                why = f"with machine code from {source_text!r}: a shellcode loader that never writes a file."
            elif probe is not None:
                severity = Severity.LOW
                why = f"around {probe.text}: the CPU-feature probe idiom, worth a look but common."
            else:
                severity = Severity.MEDIUM
                why = (
                    "but the file shows no machine code it would run (nothing decoded, fetched or embedded)."
                )
            return [
                self.finding(
                    file,
                    line=alloc.line,
                    evidence=evidence_for(file, alloc),
                    message=f"Allocates executable memory and runs it ({alloc.text} + {run.text}), {why}",
                    severity=severity,
                )
            ]
        if memfd is not None and first(file, MEMFD_EXEC) is not None:
            return [
                self.finding(
                    file,
                    line=memfd.line,
                    evidence=evidence_for(file, memfd),
                    message="Creates an anonymous in-memory file and executes it: fileless execution "
                    "(sympy-dev, secretslib).",
                )
            ]
        return []


# --- sandbox / VM / debugger evasion ---------------------------------------------------------------

EVASION = LazyPattern(
    r"\b(?:vboxservice|vboxtray|vmtoolsd|vmwaretray|vmwareuser|vmsrvc|vmusrvc|prl_cc|prl_tools|xenservice|"
    r"qemu-ga|sbiedll|sandboxie|wireshark|fiddler|httpdebuggerui|procmon|processhacker|x64dbg|x32dbg|"
    r"ollydbg|ida64|idaq|immunitydebugger|dumpcap|ksdumper|IsDebuggerPresent|CheckRemoteDebuggerPresent|"
    r"WDAGUtilityAccount|vmacthlp|joeboxcontrol|joeboxserver|df5serv|pestudio|regedit\.exe|"
    r"7AB5C494-39F5-4941-9163-47F54D6D5016)\b",
    re.I,
)


_EVASION_WORDS = (
    "vbox",
    "vmtools",
    "vmware",
    "vmsrvc",
    "vmusrvc",
    "prl_",
    "xenservice",
    "qemu-ga",
    "sbiedll",
    "sandboxie",
    "wireshark",
    "fiddler",
    "httpdebugger",
    "procmon",
    "processhacker",
    "x64dbg",
    "x32dbg",
    "ollydbg",
    "ida64",
    "idaq",
    "immunitydebugger",
    "dumpcap",
    "ksdumper",
    "debuggerpresent",
    "wdagutilityaccount",
    "vmacthlp",
    "joebox",
    "df5serv",
    "pestudio",
    "regedit",
    "7ab5c494",
)


class SandboxEvasion(RuleBase):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not source(file):
            return []
        if not mentions(file, _EVASION_WORDS):
            return []
        hits = find(file, Gated(EVASION, _EVASION_WORDS), limit=60)
        distinct = {h.text.lower() for h in hits}
        if len(distinct) < 3:
            return []
        return [
            self.finding(
                file,
                line=hits[0].line,
                evidence=evidence_for(file, hits[0]),
                message=(
                    f"Looks for analysis tools, VMs or debuggers ({', '.join(sorted(distinct)[:6])}): "
                    "stealers hide from sandboxes this way."
                ),
                severity=Severity.HIGH if len(distinct) >= 5 else Severity.MEDIUM,
            )
        ]


# --- clipboard hijacking -----------------------------------------------------------------------

CLIPBOARD = LazyPattern(
    r"\bpyperclip\b|\bclipboard_(?:append|get)\b|\b(?:Set|Get)ClipboardData\b|\bOpenClipboard\b|"
    r"\bwin32clipboard\b|\bxclip\b|\bxsel\b|\bpbcopy\b|\bpbpaste\b|\bclipboard\s*\.\s*(?:copy|paste)\b"
)
CRYPTO_ADDRESS = LazyPattern(
    r"""(?x)
    \(bc1\|\[13\]\) | bc1\|\[13\] | \[13\]\[a-km-zA-HJ-NP-Z1-9\] | 0x\[a-fA-F0-9\]\{40\} | \^0x\[
    | \b(?:bc1q[0-9a-z]{38,58}|[13][1-9A-HJ-NP-Za-km-z]{25,34})\b
    | \b0x[a-fA-F0-9]{40}\b | \bT[1-9A-HJ-NP-Za-km-z]{33}\b | \b4[0-9AB][1-9A-HJ-NP-Za-km-z]{93}\b
    """
)


class ClipboardHijack(RuleBase):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not source(file):
            return []
        if not mentions(file, ("clip", "xsel", "pbcopy", "pbpaste")):
            return []
        clip = first(file, CLIPBOARD)
        if clip is None:
            return []
        address = first(file, CRYPTO_ADDRESS)
        if address is None:
            return []
        return [
            self.finding(
                file,
                line=clip.line,
                evidence=evidence_for(file, clip),
                message=(
                    f"Reads or writes the clipboard and matches or holds crypto-wallet addresses "
                    f"(line {address.line}): a clipper swaps the address a victim copies for the attacker's."
                ),
            )
        ]


# --- remote shells -----------------------------------------------------------------------------

SHELL_TEXT = LazyPattern(
    # /dev/tcp with a shell's input or output tied to it (``bash -i >& /dev/tcp/h/p 0>&1``,
    # ``exec 5<>/dev/tcp/h/p``); ``cat < /dev/null > /dev/tcp/h/p`` only tests that a port opens.
    r"(?:>&|<&|<>|\s-i\b)[^\n]{0,80}/dev/tcp/|/dev/tcp/[^\n]{0,80}(?:>&|<&)|"
    r"\bn(?:c|cat)\b[^\n'\"]{0,60}\s-e\s|\bbash\s+-i\s*>&|\bsh\s+-i\b[^\n]{0,40}\|\s*nc\b|"
    r"\bmkfifo\b[^\n]{0,60}\bnc\b|\bInvoke-PowerShellTcp\b|\bSystem\.Net\.Sockets\.TCPClient\b"
)
_SHELL_WORDS = ("/dev/tcp", "nc ", "ncat", "bash", "sh -i", "mkfifo", "powershelltcp", "tcpclient")
DUP2 = LazyPattern(r"\bdup2\s*\(\s*\w+\s*\.\s*fileno\s*\(\s*\)")
SHELL_SPAWN = LazyPattern(
    r"\bpty\s*\.\s*spawn\b|['\"]/bin/(?:ba)?sh['\"]|['\"]cmd(?:\.exe)?['\"]|['\"]-i['\"]"
)
SERVER_RUN = LazyPattern(r"\.run\s*\([^)\n]{0,80}\bhost\s*=|\bserve_forever\s*\(|\bHTTPServer\s*\(")
REQUEST_INPUT = LazyPattern(
    r"\brequest\s*\.\s*(?:args|form|values|data|json|get_json|headers|cookies)\b|\bself\s*\.\s*(?:path|rfile)\b"
)
RECV_EXEC = LazyPattern(r"\.recv\s*\(")
SHELL_COMMAND = LazyPattern(
    r"\bshell\s*=\s*True\b|\bos\s*\.\s*(?:popen|system)\b|\bgetoutput\b|"
    r"['\"](?:/bin/)?(?:ba|z|da)?sh['\"]\s*,\s*['\"]-c['\"]|\bcmd(?:\.exe)?['\"]\s*,\s*['\"]/c['\"]"
)
"""A command handed to a shell (request text there runs as any command line)."""
_EXEC_CMD_WORDS = ("subprocess", "popen", "system")
"""Words one of which every :data:`EXEC_CMD` match holds."""
EXEC_CMD = LazyPattern(
    r"\bsubprocess\s*\.\s*(?:Popen|run|call|check_output|getoutput)\b|\bos\s*\.\s*(?:popen|system)\b"
)


def _local_sockets_only(file: FileContext) -> bool:
    """Every socket the file makes is a Unix domain socket (``socket.socket(socket.AF_UNIX)``):
    talking to a local process (a media player's control socket), not to a remote host."""
    return has(file, re.compile(r"\bAF_UNIX\b")) and not has(
        file, re.compile(r"\bAF_INET6?\b|\bcreate_connection\b")
    )


#: Programs that run whatever they read on their input: fixed as a command line, a shell still
#: takes its orders from a socket wired to it.
_TAKES_ORDERS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "csh", "tcsh", "cmd", "powershell", "pwsh"})


def _fixed_programs_only(file: FileContext) -> bool:
    """Every program the file starts is a fully literal command line (``['netstat', '-an']``)
    whose program is not a shell or an interpreter: nothing a socket delivers can pick or
    feed what runs. ``False`` when the file's calls cannot be read or it starts nothing known."""
    facts = facts_of(file)
    if facts is None:
        return False
    runs = [call for call in facts.calls if "process" in capabilities(call)]
    for call in runs:
        text, literal = command_text(facts, call)
        words = text.split()
        program = program_name(words[0]) if words else ""
        if not literal or program in _TAKES_ORDERS or program.startswith("python"):
            return False
    return bool(runs)


class RemoteShell(RuleBase):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not source(file):
            return []
        if not mentions(
            file,
            (
                "/dev/tcp",
                "nc ",
                "ncat",
                "bash",
                "sh -i",
                "mkfifo",
                "powershelltcp",
                "tcpclient",
                "dup2",
                "serve_forever",
                "request",
                ".recv",
            ),
        ):
            return []
        # Each pattern below is searched only in files holding a word every match contains.
        text_hit = first(file, Gated(SHELL_TEXT, _SHELL_WORDS))
        dup = find(file, DUP2, limit=3) if mentions(file, ("dup2",)) else []
        if dup and first(file, SHELL_SPAWN) is not None and has(file, re.compile(r"\bsocket\b")):
            hit, how = dup[0], "wires a socket to a shell's stdin/stdout"
        elif text_hit is not None:
            hit, how = text_hit, "runs a shell one-liner that connects back to a remote host"
        elif (
            mentions(file, (".recv",))
            and mentions(file, _EXEC_CMD_WORDS)
            and first(file, RECV_EXEC) is not None
            and first(file, EXEC_CMD) is not None
            and has(file, re.compile(r"\bsocket\s*\.\s*socket\b"))
            and has(file, re.compile(r"\.connect\s*\("))
            and not _local_sockets_only(file)
        ):
            recv = first(file, RECV_EXEC)
            assert recv is not None
            fixed = _fixed_programs_only(file)
            return [
                self.finding(
                    file,
                    line=recv.line,
                    message="Receives data from a socket and runs commands in the same file: a backdoor "
                    "taking orders from a remote server."
                    + (
                        " Every command it runs is fixed text naming no shell, so what it receives "
                        "cannot choose what runs."
                        if fixed
                        else ""
                    ),
                    severity=Severity.LOW if fixed else Severity.HIGH,
                )
            ]
        else:
            return self._web_shell(file)
        return [
            self.finding(
                file,
                line=hit.line,
                evidence=evidence_for(file, hit),
                message=f"Reverse shell: {how}, handing the machine to whoever listens.",
            )
        ]

    def _web_shell(self, file: FileContext) -> list[Finding]:
        if not mentions(file, ("request", "serve_forever", "recv")):
            return []
        if not (mentions(file, (".run", "serve_forever", "httpserver")) and mentions(file, _EXEC_CMD_WORDS)):
            return []
        served = first(file, SERVER_RUN)
        if served is None or first(file, REQUEST_INPUT) is None:
            return []
        run = first(file, EXEC_CMD)
        if run is None:
            return []
        shell = first(file, SHELL_COMMAND)
        if shell is None:
            # CGI handlers and build-graph browsers start one fixed program per request
            return [
                self.finding(
                    file,
                    line=run.line,
                    message=f"Serves HTTP (line {served.line}) and starts programs while handling requests, "
                    "though never through a shell; a web shell would pass request text to one.",
                    severity=Severity.LOW,
                )
            ]
        return [
            self.finding(
                file,
                line=shell.line,
                message=(
                    f"Serves HTTP (line {served.line}) and runs shell commands taken from requests: a web "
                    "shell that lets anyone who can reach the port run commands."
                ),
                severity=Severity.HIGH,
            )
        ]


# --- wipers and ransomware ---------------------------------------------------------------------------

#: Calls that list a folder tree, and those that take a file away.
_WALKS = frozenset({"os.walk", "os.scandir", "os.listdir", "glob.glob", "glob.iglob"})
_PATH_WALKS = frozenset({"rglob", "glob", "iterdir", "walk"})
_DESTROYS = frozenset({"os.remove", "os.unlink", "shutil.rmtree"})
_DESTROY_METHODS = frozenset({"unlink", "rmtree"})
#: A path that is the whole home folder (or a document folder in it), or a drive, as written:
#: ``~``, ``~/Documents``, ``C:\\``, ``/``, ``/home`` (a glob after it, ``/**/*.docx``, is left
#: off before matching).
_WHOLE_TREE = LazyPattern(
    r"(?:~|[A-Za-z]:|/home|/Users|/root)[/\\]*(?:(?:Desktop|Documents|Pictures|Downloads|Music|Videos|OneDrive)"
    r"[/\\]*)?|[/\\]+",
    re.I,
)
#: Parts joined onto a home folder that keep it whole: a document folder or a glob.
_KEEPS_WHOLE = LazyPattern(
    r"[/\\]*(?:Desktop|Documents|Pictures|Downloads|Music|Videos|OneDrive|[*?.\w/\\]*\*[*?.\w/\\]*)?[/\\]*",
    re.I,
)
_HOME_VARIABLES = frozenset({"HOME", "USERPROFILE"})
_RANSOM_NOTE = LazyPattern(
    r"\b(?:bitcoin|BTC|monero|XMR|ransom|decrypt(?:ion)? key|files (?:are|have been) encrypted)\b", re.I
)


def _walks_whole_tree(facts: Facts, call: CallFact) -> bool:
    """``call`` lists the user's home folder or a drive root: ``os.walk(expanduser("~"))``,
    ``Path.home().rglob("*")``, ``glob.glob("C:\\**", recursive=True)``."""
    if call.name in _WALKS:
        root: ast.expr | None = call.node.args[0] if call.node.args else None
    elif call.name.rpartition(".")[2] in _PATH_WALKS and isinstance(call.node.func, ast.Attribute):
        root = call.node.func.value
    else:
        return False
    return root is not None and _whole_tree(facts, root, call.function, 0)


def _whole_tree(facts: Facts, node: ast.expr, function: str | None, depth: int) -> bool:
    """Whether ``node`` is, as written, the user's home folder or a drive root (a document
    folder or a glob joined onto it still counts). Names are followed to their one assignment."""
    if depth > 4:
        return False
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        folder = node.value.split("*", 1)[0]
        return bool(folder) and _WHOLE_TREE.fullmatch(folder) is not None
    if isinstance(node, ast.Name):
        bound = [a for a in facts.assigns.get(node.id, []) if a.function in (function, None)]
        return len(bound) == 1 and _whole_tree(facts, bound[0].value, bound[0].function, depth + 1)
    if isinstance(node, ast.Subscript):  # os.environ["USERPROFILE"]
        key = node.slice
        return (
            isinstance(key, ast.Constant) and key.value in _HOME_VARIABLES and is_environ(node.value, facts)
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):  # Path.home() / "Documents"
        return _whole_tree(facts, node.left, function, depth + 1) and _keeps_whole(node.right)
    if isinstance(node, ast.JoinedStr) and node.values:  # f"{home}/**/*"
        head, *rest = node.values
        return (
            isinstance(head, ast.FormattedValue)
            and _whole_tree(facts, head.value, function, depth + 1)
            and all(_keeps_whole(v) for v in rest)
        )
    if not isinstance(node, ast.Call):
        return False
    fact = facts.by_node.get(id(node))
    name = fact.name if fact is not None else ""
    args = node.args
    if name.endswith("Path.home") and not args:
        return True
    method_of = node.func.value if isinstance(node.func, ast.Attribute) else None
    if name.endswith(".expanduser") and not args and method_of is not None:  # Path("~").expanduser()
        return _whole_tree(facts, method_of, function, depth + 1)
    if name == "os.path.expanduser" and len(args) == 1:
        return isinstance(args[0], ast.Constant) and _whole_tree(facts, args[0], function, depth + 1)
    if name in {"os.getenv", "os.environ.get"} and args:
        return isinstance(args[0], ast.Constant) and args[0].value in _HOME_VARIABLES
    if name in {"os.path.join", "pathlib.Path"} or name.endswith(".joinpath"):
        parts = [method_of, *args] if name.endswith(".joinpath") and method_of is not None else list(args)
        return (
            bool(parts)
            and _whole_tree(facts, parts[0], function, depth + 1)
            and all(_keeps_whole(p) for p in parts[1:])
        )
    return False


def _keeps_whole(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and bool(_KEEPS_WHOLE.fullmatch(node.value))
    )


def _destroys(facts: Facts, function: str | None) -> str | None:
    """What in ``function`` (or what it calls) takes files away: a delete, or an encryption
    written back."""
    calls = facts.reachable_calls(list(facts.calls_in.get(function, ())), depth=2)
    for call in calls:
        last = call.name.rpartition(".")[2]
        if call.name in _DESTROYS or (call.name.startswith("?") and last in _DESTROY_METHODS):
            return "deletes"
    if any(c.name.rpartition(".")[2] == "encrypt" for c in calls) and any(
        "file_write" in capabilities(c) or c.name.rpartition(".")[2] in {"write", "write_bytes"}
        for c in calls
    ):
        return "encrypts and rewrites"
    return None


class Wiper(RuleBase):
    """A walk over the user's whole home folder (or a drive) that deletes or encrypts what it
    finds: a wiper, or ransomware when it leaves a note asking for money."""

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not mentions(file, ("walk", "glob", "scandir", "listdir", "iterdir")):
            return []
        if not mentions(file, ("remove", "unlink", "rmtree", "encrypt")):
            return []
        facts = facts_of(file)
        if facts is None:
            return []
        for call in facts.calls:
            if not _walks_whole_tree(facts, call):
                continue
            how = _destroys(facts, call.function)
            if how is None:
                continue
            stage = stage_of(file, package, on_load=facts.runs_on_load(call))
            note = first(file, _RANSOM_NOTE)
            if stage in (Stage.INSTALL, Stage.STARTUP, Stage.IMPORT):
                severity = Severity.CRITICAL
            else:
                severity = Severity.HIGH if note is not None else Severity.MEDIUM
            return [
                self.finding(
                    file,
                    line=call.line,
                    message=f"Walks the user's whole home folder or a drive ({call.name}) and {how} "
                    "the files it finds: a wiper"
                    + (f", or ransomware (it also writes {note.text!r})" if note is not None else "")
                    + ". No library takes away a user's files it was never pointed at.",
                    severity=severity,
                    stage=stage,
                )
            ]
        return []


# --- launching downloaded files on Windows -----------------------------------------------------------

START = LazyPattern(
    r"\bos\s*\.\s*startfile\s*\(|\bstartfile\s*\(|['\"]pythonw(?:\.exe)?['\"]|\bpythonw\.exe\b|\bStart-Process\b|"
    r"(?:system|popen|Popen|call|run)\s*\(\s*[fr]?['\"](?:cmd(?:\.exe)?\s+/c\s+)?start\s|"
    r"(?:system|popen|Popen|call|run)\s*\(\s*\[\s*['\"](?:start|cmd(?:\.exe)?)['\"]"
)
START_LOCAL_EXE = LazyPattern(
    r"(?:system|popen|Popen|call|run)\s*\(\s*\[?\s*[fr]?['\"][^'\"\n]{0,80}\.(?:exe|bat|cmd|scr|vbs|ps1)['\"\s]"
)
"""Running a program by file name: a dropper only when the file also fetches from a throw-away host."""
EXECUTABLE_WRITE = LazyPattern(
    r"""['"][^'"\n]{0,200}\.(?:exe|bat|cmd|scr|vbs|ps1|msi|dll)['"]|\bchmod\b|\bos\s*\.\s*chmod\s*\("""
)
_START_WORDS = (
    "startfile",
    "pythonw",
    "start-process",
    "start",
    ".exe",
    ".bat",
    ".cmd",
    ".scr",
    ".vbs",
    ".ps1",
)
_DOWNLOAD_WORDS = (
    "urlretrieve",
    "urlopen",
    "requests",
    "httpx",
    "wget",
    "curl",
    "invoke-webrequest",
    "downloadfile",
)
DOWNLOAD = LazyPattern(
    r"\burlretrieve\b|\burlopen\b|\brequests\s*\.\s*get\s*\(|\bhttpx\s*\.\s*get\s*\(|\bwget\b|"
    r"\bcurl\b|Invoke-WebRequest|DownloadFile"
)


class LaunchDownloaded(RuleBase):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not source(file):
            return []
        if not mentions(file, _START_WORDS) or not mentions(file, _DOWNLOAD_WORDS):
            return []  # a finding needs a START and a DOWNLOAD match, each holding one of these words
        from pipvet.analysis.rules import exfiltration

        shady_source = bool(exfiltration.channels(file) or exfiltration.raw_ips(file))
        # command names in a scanner's keyword table (oletools) are looked for, not run
        start = first_in_code(file, Gated(START, _START_WORDS))
        if start is None and shady_source:
            start = first_in_code(file, Gated(START_LOCAL_EXE, _START_WORDS))
        if start is None:
            return []
        download = first_in_code(file, Gated(DOWNLOAD, _DOWNLOAD_WORDS))
        if download is None:
            return []
        if _IMPORT_LINE.match(line_text(file, download.line)):
            # ``from urllib.request import urlopen`` names the downloader; where it is used says
            # more (which function fetches), so that is the line weighed, when there is one.
            download = next(
                (
                    m
                    for m in find(file, Gated(DOWNLOAD, _DOWNLOAD_WORDS), limit=50)
                    if not _IMPORT_LINE.match(line_text(file, m.line)) and not in_data_table(file, m.line)
                ),
                download,
            )
        writes_executable = first(file, EXECUTABLE_WRITE) is not None
        severity = Severity.CRITICAL if shady_source or writes_executable else Severity.HIGH
        apart = not shady_source and _apart(file, start.line, download.line)
        if apart:
            # A command-line tool's updater and its open-in-browser helper: two features that
            # share a file, not one dropper (that starts what it fetched, or runs on load).
            severity = Severity.MEDIUM
        return [
            self.finding(
                file,
                line=start.line,
                evidence=evidence_for(file, start),
                message=(
                    f"Starts a file or a windowless Python ({start.text.strip()}) in code that downloads "
                    f"(line {download.line}: {line_text(file, download.line).strip()[:60]}): the Windows "
                    "dropper pattern."
                    + (" It fetches from a throw-away host." if shady_source else "")
                    + (" The two are in different functions, neither run on import." if apart else "")
                    + (" It writes or marks an executable." if writes_executable else "")
                ),
                severity=severity,
            )
        ]


_IMPORT_LINE = LazyPattern(r"\s*(?:from\s+[\w.]+\s+)?import\s")


def _apart(file: FileContext, line: int, other: int) -> bool:
    """Both lines sit in function bodies that the module does not run as it loads
    (:func:`in_function`), and not in the same function. False when the file does not parse."""
    if not (in_function(file, line) and in_function(file, other)) or file.tree is None:
        return False
    return _enclosing(file.tree, line) is not _enclosing(file.tree, other)


def _enclosing(tree: ast.Module, line: int) -> ast.AST | None:
    """The innermost function definition whose body holds ``line``."""
    best: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            end = node.end_lineno or node.lineno
            if node.lineno <= line <= end and (best is None or node.lineno > best.lineno):
                best = node
    return best


# --- turning off the machine's defences -----------------------------------------------------------

DEFENCES_OFF = LazyPattern(
    r"""(?xi)
    \bAdd-MpPreference\b[^\n'"]{0,40}-Exclusion(?:Path|Process|Extension)\b
    | \bSet-MpPreference\b[^\n'"]{0,40}-Disable\w+
    | \bDisable(?:AntiSpyware|AntiVirus|RealtimeMonitoring|BehaviorMonitoring|IOAVProtection|ScriptScanning)\b
    | \bnetsh\s+(?:advfirewall\s+set\s+\w+\s+state\s+off|firewall\s+set\s+opmode\s+(?:mode=)?disable)
    | \bvssadmin(?:\.exe)?\s+delete\s+shadows\b | \bwevtutil(?:\.exe)?\s+cl\b
    | \bsc(?:\.exe)?\s+(?:stop|delete)\s+WinDefend\b
    | \bsetenforce\s+0\b | \bsystemctl\s+(?:stop|disable|mask)\s+(?:auditd|apparmor|firewalld|ufw)\b
    | \b(?:ms-settings|mscfile|exefile|Folder)[/\\]{1,2}shell[/\\]{1,2}open[/\\]{1,2}command\b
    | \b(?:fodhelper|computerdefaults|sdclt)(?:\.exe)?\b
    """
)
"""Commands and settings that switch off antivirus, the firewall, security logging or recovery,
and the file-handler keys that auto-elevating Windows programs (``fodhelper``) read: set, they
start the attacker's command with administrator rights and no UAC prompt."""
_DEFENCE_WORDS = (
    "mppreference",
    "disableantispyware",
    "disableantivirus",
    "disablerealtimemonitoring",
    "disablebehaviormonitoring",
    "disableioavprotection",
    "disablescriptscanning",
    "netsh",
    "vssadmin",
    "wevtutil",
    "windefend",
    "setenforce",
    "systemctl",
    "ms-settings",
    "mscfile",
    "open\\command",
    "open/command",
    "fodhelper",
    "computerdefaults",
    "sdclt",
)


class DefencesOff(RuleBase):
    """Code that blinds the machine's security: Defender exclusions or real-time protection
    off, the firewall off, shadow copies or event logs deleted, SELinux or auditd stopped."""

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not source(file) or not mentions(file, _DEFENCE_WORDS):
            return []
        hit = first_in_code(file, Gated(DEFENCES_OFF, _DEFENCE_WORDS))
        if hit is None:
            return []
        stage = stage_at(file, hit.line)
        return [
            self.finding(
                file,
                line=hit.line,
                evidence=evidence_for(file, hit),
                message=(
                    f"Switches off or bypasses a defence of the machine ({hit.text.strip()[:60]!r}): "
                    "malware does this before it drops its payload, so that antivirus, the firewall, the "
                    "logs or the administrator prompt (UAC) miss it."
                ),
                severity=Severity.CRITICAL if stage in UNASKED_STAGES else Severity.MEDIUM,
                stage=stage,
            )
        ]


RULES = (
    MonkeyPatch(
        id="PV-BEH-MONKEYPATCH",
        title="Patches other code at import",
        severity=Severity.MEDIUM,
        rationale="aiocpa replaced CryptoPay.__init__ and solana stealers patched key constructors at import "
        "to copy secrets; gevent-style patching happens only when explicitly called.",
    ),
    CryptoMiner(
        id="PV-BEH-MINER",
        title="Cryptominer",
        severity=Severity.HIGH,
        rationale="XMRig binaries, stratum pool URLs, pool hosts and Monero wallets (smb, maratlib, "
        "ultralytics).",
    ),
    FilelessExec(
        id="PV-BEH-FILELESS",
        title="Fileless execution or shellcode loader",
        severity=Severity.HIGH,
        rationale="memfd_create + exec and VirtualAlloc + thread creation run payloads without a file "
        "on disk.",
    ),
    SandboxEvasion(
        id="PV-BEH-EVASION",
        title="Sandbox, VM or debugger evasion",
        severity=Severity.MEDIUM,
        rationale="Stealers bail out under VirtualBox, VMware, Wireshark or debuggers to dodge analysis.",
    ),
    ClipboardHijack(
        id="PV-BEH-CLIPPER",
        title="Clipboard hijacker",
        severity=Severity.CRITICAL,
        rationale="Clippers watch the clipboard for wallet addresses and replace them with the attacker's.",
    ),
    Wiper(
        id="PV-BEH-WIPER",
        title="Deletes or encrypts the user's files",
        severity=Severity.CRITICAL,
        rationale="Wipers and ransomware walk the home folder or a drive and delete or encrypt what they "
        "find; as a package installs or loads, that is destruction, not a feature.",
    ),
    RemoteShell(
        id="PV-BEH-REVSHELL",
        title="Reverse shell or remote command channel",
        severity=Severity.CRITICAL,
        rationale="Install-time reverse shells (socket + dup2 + pty.spawn, bash /dev/tcp) appear across the "
        "typosquat campaigns.",
    ),
    DefencesOff(
        id="PV-BEH-DEFENCE",
        title="Turns off security defences",
        severity=Severity.HIGH,
        rationale="Windows stealers and loaders add Defender exclusions or stop real-time protection "
        "first (Add-MpPreference -ExclusionPath); ransomware deletes shadow copies and event logs.",
    ),
    LaunchDownloaded(
        id="PV-BEH-LAUNCH",
        title="Launches a downloaded file",
        severity=Severity.HIGH,
        rationale="Windows droppers fetch an executable or script then os.startfile/pythonw it.",
    ),
)
