"""Reading the commands that code hands to a shell or ``subprocess``: build tool, or dropper?"""

from __future__ import annotations

import ast
import enum
import re

from pipvet.analysis.facts import CallFact, Facts, constant_text
from pipvet.analysis.flow import trace
from pipvet.analysis.lazyre import LazyPattern

#: Programs that build or describe software; spawning them from setup.py or at import is routine.
BUILD_TOOLS: frozenset[str] = frozenset(
    {
        "git",
        "hg",
        "svn",
        "cmake",
        "make",
        "nmake",
        "msbuild",
        "cl",
        "ml64",
        "ninja",
        "meson",
        "gcc",
        "g++",
        "cc",
        "c++",
        "clang",
        "clang++",
        "nvcc",
        "pkg-config",
        "uname",
        "sw_vers",
        "lsb_release",
        "ldconfig",
        "xcrun",
        "xcodebuild",
        "xcode-select",
        "where",
        "which",
        "rustc",
        "cargo",
        "go",
        "npm",
        "yarn",
        "jlpm",
        "swig",
        "cython",
        "protoc",
        "patch",
        "nvidia-smi",
        # the other accelerators' device queries (liger-kernel's setup.py picks its build by them)
        *("rocm-smi", "rocminfo", "hipconfig", "xpu-smi", "sycl-ls", "npu-smi", "clinfo"),
        "sysctl",
        "ver",
        "llvm-config",
        "mysql_config",
        "pg_config",
        "brew",
        "lscpu",
        "getconf",
        "sphinx-build",
        "ar",
        "ranlib",
        "strip",
        "install_name_tool",
        "otool",
        "ldd",
        "lipo",
        "codesign",
        "twine",
        "tox",
        "pytest",
        "gpg",
        "sphinx-apidoc",
    }
)

_DOWNLOAD = LazyPattern(
    r"(?:^|[\s;&|(])(?:curl|wget)(?:\.exe)?\s|Invoke-WebRequest|\biwr\b|DownloadString|DownloadFile"
    r"|Net\.WebClient|certutil\b[^\n]*-urlcache|bitsadmin\b[^\n]*/transfer|Start-BitsTransfer",
    re.IGNORECASE,
)
_SAVES = LazyPattern(
    r"\s-[a-zA-Z]*[oO](?:\s|$)|--output\b|--remote-name|>|\bwget\b|-OutFile|DownloadFile|DownloadString"
    r"|Invoke-WebRequest|\biwr\b|Net\.WebClient|certutil|bitsadmin|Start-BitsTransfer",
    re.IGNORECASE,
)
"""What makes a fetch a download: curl told to save (``-o``, ``-O``, a redirect), or a tool
that saves or hands the file on by itself. A bare ``curl URL`` whose output the caller reads is
a request, like ``requests.get``."""
_RUN = LazyPattern(
    r"\|\s*(?:ba|z|da|k)?sh\b|\|\s*(?:perl|python[0-9.]*|ruby|node|php)\b|\bchmod\s+(?:[ugoa]*\+x|[0-7]*[1357][0-7]*)\b|\bnohup\b|\biex\b|Invoke-Expression"
    r"|Start-Process|(?:^|[\s;&|])\./\S|\.exe\b|-EncodedCommand|\s-enc\s|\bmshta\b|\brundll32\b|\bregsvr32\b"
    r"|\bwscript\b|\bcscript\b|\bpython[0-9.]*\s+-c\b|&&\s*start\b|^\s*start\s",
    re.IGNORECASE,
)
_HIDDEN = LazyPattern(
    r"-WindowStyle\s+Hidden|-w\s+hidden|/tmp/\.|\bdisown\b|>\s*/dev/null\s+2>&1\s*&", re.IGNORECASE
)


_ENCODED = LazyPattern(
    r"powershell[^\n]*\s[-/](?:e|ec|enc|encodedcommand)\s+[A-Za-z0-9+/=]{20,}", re.IGNORECASE
)


#: Programs whose job is to talk to the network.
NETWORK_TOOLS: frozenset[str] = frozenset(
    {
        "dig",
        "nslookup",
        "host",
        "nc",
        "ncat",
        "netcat",
        "telnet",
        "ping",
        "ssh",
        "scp",
        "ftp",
        "tftp",
        "socat",
    }
)


class Command(enum.Enum):
    BUILD_TOOL = "build tool"
    NETWORK = "network tool"
    """dig/nslookup/nc ...: the command itself contacts another machine."""
    ENCODED = "encoded shell"
    """PowerShell with an ``-EncodedCommand`` blob: hides what it runs."""
    BEACON = "identity beacon"
    """``curl https://h/$(whoami)``, ``nslookup $(hostname).h``: tells another machine who runs it."""
    DOWNLOAD_AND_RUN = "download and run"
    DOWNLOAD = "download"
    HIDDEN = "hidden"
    OTHER = "other"
    UNKNOWN = "unknown"
    """Built at run time: nothing literal to read."""


def command_text(facts: Facts, call: CallFact) -> tuple[str, bool]:
    """The literal text of a process call's command (joined), and whether it is fully literal."""
    parts: list[str] = []
    literal = True
    args: list[ast.expr] = _command_args(call) + [k.value for k in call.node.keywords if k.arg == "args"]
    for arg in args:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str | bytes):
            parts.append(_text(arg.value))  # bytes: os.system(b"..."), a C library's system()
        elif isinstance(arg, ast.List | ast.Tuple):
            for elt in arg.elts:
                if isinstance(elt, ast.Constant) and isinstance(elt.value, str | bytes):
                    parts.append(_text(elt.value))
                else:
                    literal = False
                    parts.extend(trace(facts, elt, call.function).strings)
        elif (spelled := constant_text(arg)) is not None:
            parts.append(spelled)  # ``'{} | {}'.format('curl ...', 'sh')``, ``'%s' % ...``, joins
        else:
            literal = False
            parts.extend(trace(facts, arg, call.function).strings)
    return " ".join(parts), literal and bool(parts)


#: Flags after which a shell or PowerShell takes the command to run.
_COMMAND_FLAGS = frozenset({"-c", "/c", "/C", "/k", "-Command", "-command", "-EncodedCommand", "-e"})


def command_parts(command: ast.expr) -> list[ast.expr]:
    """The parts of a process call's command that say *what* runs: a whole command string; of
    an argument list the program and what follows ``-c``/``/c`` (``["sh", "-c", cmd]``), not
    the plain arguments a fixed program is handed (``["pip", "show", name]``)."""
    if not isinstance(command, ast.List | ast.Tuple):
        return [command]
    elts = command.elts
    parts = elts[:1]
    for at in range(len(elts) - 1):
        flag = elts[at]
        if isinstance(flag, ast.Constant) and flag.value in _COMMAND_FLAGS:
            parts.append(elts[at + 1])
    return parts


def _command_args(call: CallFact) -> list[ast.expr]:
    """The positional arguments that spell the command: the first for a shell or ``subprocess``;
    for ``os.exec*`` the path's arguments (``execvp("sh", ["sh", "-c", cmd])``), for ``os.spawn*``
    those after the mode, and never a trailing environment (``execve``, ``spawnve``)."""
    name, args = call.name, call.node.args
    if name.startswith(("os.exec", "os.spawn")):
        picked = args[1:]
        return picked[:-1] if name.endswith("e") and len(picked) > 1 else picked
    if name == "os.posix_spawn":
        return args[1:2]
    return args[:1]


def program_name(token: str) -> str:
    """The program a command word names: ``/usr/bin/Curl.exe`` -> ``curl``."""
    return token.replace("\\", "/").rsplit("/", 1)[-1].lower().removesuffix(".exe")


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode("latin-1")


#: Package managers and lookups: ``dpkg -l curl``, ``apt-get install -y wget`` name a download tool
#: as a package, they do not run it.
PACKAGE_TOOLS: frozenset[str] = frozenset(
    {
        *("dpkg", "dpkg-query", "rpm", "pacman", "apk", "apt", "apt-get", "apt-cache", "yum", "dnf"),
        *("zypper", "brew", "port", "choco", "winget", "scoop", "conda", "mamba", "emerge", "pkg"),
        *("which", "where", "type", "command", "whereis"),
    }
)
_SEGMENT = LazyPattern(r"[^;&|\n]+")
_WRAPPERS = frozenset({"sudo", "env", "doas"})


def _without_package_queries(text: str) -> str:
    """``text`` with every command segment (between ``;``, ``&&``, ``|`` ...) run by a package
    manager or a lookup blanked out."""

    def keep(match: re.Match[str]) -> str:
        words = [w for w in match.group(0).split() if w.lower() not in _WRAPPERS]
        return (
            " " * len(match.group(0)) if words and program_name(words[0]) in PACKAGE_TOOLS else match.group(0)
        )

    return _SEGMENT.sub(keep, text)


_EXE = LazyPattern(r"[^\s'\"]*\.exe\b", re.IGNORECASE)


def is_build_tool(program: str) -> bool:
    """``cmake``, ``gcc``, ``pg_config``, ``sdl2-config``: builds software or prints library flags."""
    return (
        program in BUILD_TOOLS
        or program.endswith(("-config", "_config"))
        # cross and versioned compilers: x86_64-w64-mingw32-g++, aarch64-linux-gnu-gcc, gcc-12
        or _COMPILER.fullmatch(program) is not None
    )


_COMPILER = LazyPattern(r"(?:[\w.]+-)*(?:gcc|g\+\+|cc|c\+\+|clang|clang\+\+)(?:-\d+(?:\.\d+)*)?")


def _without_build_tool_exes(text: str) -> str:
    """``text`` with the Windows spellings of build tools (``pg_config.exe``, ``cmake.exe``)
    blanked out: a ``.exe`` word counts as running a program unless it names one of those."""
    return _EXE.sub(
        lambda m: " " * len(m.group(0)) if is_build_tool(program_name(m.group(0))) else m.group(0), text
    )


def classify(text: str) -> Command:
    if not text.strip():
        return Command.UNKNOWN
    if _VERSION_QUERY.match(text):
        return Command.BUILD_TOOL  # ``docker --version``: is the tool there? (cua's providers)
    if _ENCODED.search(text):
        return Command.ENCODED
    if _IDENTITY.search(text) and _REACHES.search(text):
        return Command.BEACON
    download = bool(_DOWNLOAD.search(text)) and bool(_DOWNLOAD.search(_without_package_queries(text)))
    run = bool(_RUN.search(text)) and bool(_RUN.search(_without_build_tool_exes(text)))
    if download and run:
        return Command.DOWNLOAD_AND_RUN
    if download:
        if not _SAVES.search(text):
            return Command.NETWORK  # ``curl -s -X POST http://{host}/api``: an HTTP client
        return Command.DOWNLOAD
    if run or _HIDDEN.search(text):
        return Command.HIDDEN
    if re.search(r"\bsetup\.py\b", text):
        return Command.BUILD_TOOL  # "python setup.py sdist upload" release helpers
    if _LOCAL_PIP.search(text):
        return Command.BUILD_TOOL  # "pip install ." builds the tree it sits in
    for token in text.split()[:3]:
        program = program_name(token)
        if program in NETWORK_TOOLS:
            return Command.NETWORK
        if is_build_tool(program):
            return Command.BUILD_TOOL  # odbc_config, sdl2-config: library flags, like pkg-config
    return Command.OTHER


_VERSION_QUERY = LazyPattern(r"\s*[\w.+-]+(?:\.exe)?\s+(?:--version|-V|version|--help|-h)\s*$")
"""A program asked only for its version or its help: a check that it is installed."""

#: The shell's own ways to say who and where it runs: command substitution of an identity
#: command, or the variables a login sets (not ``$HOME``/``$PWD``: paths a build passes around).
_IDENTITY = LazyPattern(
    r"""\$\(\s*(?:whoami|hostname|id|uname|logname)\b[^)]*\)|`\s*(?:whoami|hostname|id|uname)\b[^`]*`|"""
    r"""\$\{?(?:USER|USERNAME|HOSTNAME|LOGNAME)\b|%(?:USERNAME|COMPUTERNAME|USERDOMAIN)%"""
)
#: Programs that contact another machine with what they are given on the command line.
_REACHES = LazyPattern(r"\b(?:curl|wget|nslookup|dig|host|ping|nc|ncat|telnet|drill|Invoke-WebRequest|iwr)\b")

_CONSOLE_ONLY = LazyPattern(r"^\s*(?:(?:color|cls|clear|reset)(?:\s+[0-9a-fA-F]{1,2})?)?\s*$", re.IGNORECASE)


def console_only(text: str, literal: bool) -> bool:
    """Whether a fully literal command only touches the terminal: ``os.system("")`` and
    ``os.system("color")`` switch on ANSI colours in a Windows console, ``cls``/``clear`` wipe it.
    No program of the package's choosing runs."""
    return literal and _CONSOLE_ONLY.search(text) is not None


_LOCAL_PIP = LazyPattern(
    r"^\s*(?:\S*python[0-9.]*\s+-m\s+)?pip[0-9.]*\s+(?:install|wheel)\s+(?:-\S+\s+)*\.(?:\s|$)"
)
_LOCAL_PROGRAM = LazyPattern(r"(?:^|[\s;&|])\./([\w.+-]+)")


def local_programs(text: str) -> tuple[list[str], Command]:
    """The ``./name`` programs a command runs from its working folder, and how the command
    classifies without them (a build that runs its own ``./configure`` is otherwise plain)."""
    names = [m.group(1) for m in _LOCAL_PROGRAM.finditer(text)]
    rest = _LOCAL_PROGRAM.sub(" true", text) if names else text
    return names, classify(rest)
