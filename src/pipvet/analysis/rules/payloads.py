"""Payloads hidden in files that are not Python source.

Native executables where no compiled code belongs (or disguised as something else), executables
encoded into string literals, data appended after the logical end of images and audio, pickles
whose opcode stream imports a process/exec/network primitive (read with ``pickletools.genops``:
never unpickled), foreign-runtime droppers (huge obfuscated JavaScript, downloading Bun/Node/Deno)
and code that opens its own data file and executes what it decodes.
"""

from __future__ import annotations

import io
import itertools
import math
import re
import struct
from collections import Counter
from collections.abc import Iterable, Iterator

from pipvet.analysis.context import FileContext, FileKind, PackageContext
from pipvet.analysis.lazyre import LazyPattern
from pipvet.analysis.rules._signals import (
    Match,
    RuleBase,
    evidence_for,
    find,
    first,
    line_text,
    mentions,
    source,
)
from pipvet.models import Finding, Severity, Stage

# --- native executables -----------------------------------------------------------------------


def native_format(data: bytes) -> str | None:
    """``ELF``, ``PE``, ``Mach-O`` or ``None``, from magic bytes alone."""
    if data[:4] == b"\x7fELF":
        return "ELF"
    if data[:2] == b"MZ" and len(data) >= 0x40:
        (offset,) = struct.unpack_from("<I", data, 0x3C)
        if offset + 4 <= len(data) and data[offset : offset + 4] == b"PE\0\0":
            return "PE"
        return None
    if data[:4] in (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe"):
        return "Mach-O"
    if data[:4] == b"\xca\xfe\xba\xbe" and len(data) >= 8:
        # Fat Mach-O holds a handful of architectures; a Java class file has its version here.
        (count,) = struct.unpack_from(">I", data, 4)
        return "Mach-O" if 0 < count < 20 else None
    return None


def upx_packed(data: bytes) -> bool:
    head = data[:4096]
    return b"UPX!" in head or (b"UPX0" in head and b"UPX1" in head)


_NATIVE_EXTENSIONS = frozenset({".so", ".pyd", ".dll", ".dylib", ".exe", ".bin", ".node", ".a", ".o", ".lib"})
_DISGUISE_EXTENSIONS = frozenset(
    {
        ".py",
        ".pyw",
        ".txt",
        ".md",
        ".rst",
        ".json",
        ".cfg",
        ".ini",
        ".toml",
        ".yaml",
        ".yml",
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".bmp",
        ".ico",
        ".wav",
        ".mp3",
        ".pth",
        ".csv",
        ".xml",
        ".html",
        ".css",
        ".js",
        ".pdf",
        ".doc",
        ".docx",
        ".zip",
        ".pkl",
        ".dat",
        ".log",
    }
)


_LIBRARY_EXTENSIONS = frozenset({".so", ".dll", ".dylib", ".pyd"})


def _extension(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    if "." not in name.lstrip("."):
        return ""
    ext = "." + name.rsplit(".", 1)[-1].lower()
    # Versioned shared objects: libfoo.so.1.2
    if re.search(r"\.so(?:\.\d+)+$", name):
        return ".so"
    return ext


_SECRET_PATHS = (
    b".ssh/", b".gitconfig", b".aws/credentials", b".bash_history", b"Login Data", b"Local State",
    b"discord", b".kube/config", b"wallet.dat", b".git-credentials",
)  # fmt: skip
"""Strings a stealer binary carries (torchtriton's ``triton`` read .ssh and .gitconfig). Not
/etc/passwd or /etc/hosts: every statically linked C library names those."""


def _snooping_strings(data: bytes) -> list[str]:
    """The secret paths among a program's strings, when there are at least two of them."""
    found = [marker.decode() for marker in _SECRET_PATHS if marker in data]
    return found if len(found) >= 2 else []


class NativeBinary(RuleBase):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        fmt = native_format(file.data)
        if fmt is None:
            return []
        ext = _extension(file.path)
        packed = upx_packed(file.data)
        # ELF and Mach-O programs have no extension by convention (torch/bin/protoc); a PE
        # without one, or any of them named like text, code or media, is hiding what it is.
        bare_program = ext == "" and fmt != "PE"
        disguised = ext in _DISGUISE_EXTENSIONS or (ext == "" and not bare_program)
        snoops = bare_program and _snooping_strings(file.data)
        if snoops:
            severity = Severity.HIGH
            why = f"that holds the paths of secrets ({', '.join(snoops)})"
        elif bare_program and not packed:
            if not package.pure_python:
                return []  # a platform wheel's helper programs (ray, triton, playwright)
            severity, why = Severity.LOW, "in a package that declares no compiled code"
        elif disguised:
            severity = Severity.HIGH
            why = f"disguised as {'a file without extension' if not ext else repr(ext)}"
        elif packed:
            severity, why = Severity.HIGH, "packed with UPX, which hides its code from inspection"
        elif package.pure_python:
            severity, why = Severity.LOW, "in a package that declares no compiled code"
        else:
            return []
        if packed and disguised:
            why += ", and packed with UPX"
        # A shared library its own code loads (blingfire's tokenizer, through ctypes) is how a
        # wheel without a compiled extension reaches C; a *program* that a package claiming no
        # compiled code starts as soon as it is imported runs where no reader looks.
        stage = Stage.DATA if ext in _LIBRARY_EXTENSIONS or ".so." in file.path else file.stage
        if package.pure_python and stage in (Stage.IMPORT, Stage.STARTUP):
            severity = Severity.CRITICAL
        elif package.pure_python and stage is Stage.INSTALL:
            # started by setup.py: a program kept under a data file's name (or packed) runs
            # hidden the moment pip installs; a plainly named one is a build step's shape
            severity = Severity.CRITICAL if disguised or packed else Severity.HIGH
        elif stage is not Stage.DATA and severity is Severity.LOW:
            severity = Severity.MEDIUM
        return [
            self.finding(
                file,
                line=None,
                evidence=f"{fmt} executable, {len(file.data)} bytes" + (" (UPX)" if packed else ""),
                message=(
                    f"Ships a native {fmt} binary {why}; it can run anything and cannot be read as source."
                    + _LOADED.get(stage, "")
                ),
                severity=severity,
                stage=stage,
            )
        ]


ENCODED_EXECUTABLE: tuple[LazyPattern[str], ...] = (
    LazyPattern(r"TV(?:qQ|pQ|oA|qA)AA[A-Za-z0-9+/]{8}"),  # base64 of an MZ header
    LazyPattern(r"f0VMR[gk][A-Za-z0-9+/]{6}"),  # base64 of \x7fELF
    LazyPattern(r"4[dD]5[aA]90000[0-9a-fA-F]{6}"),  # hex MZ header
    LazyPattern(r"7[fF]454[cC]460[12]0[12]"),  # hex ELF header
    LazyPattern(r"\\x4[dD]\\x5[aA]\\x90\\x00|\\x7fELF\\x0[12]|MZ\\x90\\x00\\x03"),  # escaped bytes
)


_ENCODED_EXECUTABLE_WORDS: tuple[tuple[str, ...], ...] = (
    ("tvqqaa", "tvpqaa", "tvoaaa", "tvqaaa"),
    ("f0vmr",),
    ("4d5a90000",),
    ("7f454c460",),
    ("\\x4d\\x5a\\x90\\x00", "\\x7felf\\x0", "mz\\x90\\x00\\x03"),
)
"""Lower-cased words, one of which every match of the matching :data:`ENCODED_EXECUTABLE` holds."""


_SHORTEST_PROGRAM = 96
"""Characters of base64, hex or escaped bytes below which a literal holds a header, not a program."""


def _header_only(file: FileContext, hit: Match) -> bool:
    """Whether the literal a match starts ends within :data:`_SHORTEST_PROGRAM` characters and
    no other literal continues it: ``ELF_HEADER = b'\\x7fELF\\x02\\x01'``, the magic number a
    file-type check compares with (spaces' ``elf.py``), not a program."""
    line = line_text(file, hit.line)
    at = line.find(hit.text)
    if at < 0:
        return False
    after = line[at + len(hit.text) :]
    ends = [i for i in (after.find("'"), after.find('"')) if i >= 0]
    if not ends or len(hit.text) + min(ends) >= _SHORTEST_PROGRAM:
        return False  # the literal runs on past the line, or is long enough for a program
    rest = after[min(ends) + 1 :].lstrip(" \t)")
    if not rest or rest.startswith("\\"):
        rest = line_text(file, hit.line + 1).lstrip()
    return not _STRING_START.match(rest)


_STRING_START = LazyPattern(r"""[bBrRuUfF]{0,2}['"]""")


class EncodedExecutable(RuleBase):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        text = source(file)
        if not text or not any(k in text for k in ("TV", "f0VMR", "4d5a", "4D5A", "7f454c46", "\\x", "MZ")):
            return []
        # A pattern is searched only when the text holds what each of its matches starts with.
        hit = next(
            (
                h
                for p, words in zip(ENCODED_EXECUTABLE, _ENCODED_EXECUTABLE_WORDS, strict=True)
                if mentions(file, words)
                for h in find(file, p, limit=5)
                if not _header_only(file, h)
            ),
            None,
        )
        if hit is None:
            return []
        return [
            self.finding(
                file,
                line=hit.line,
                evidence=evidence_for(file, hit),
                message=(
                    "Carries a Windows/Linux executable encoded in a string literal: a dropper writes it out "
                    "and runs it, and no reviewer reads base64."
                ),
            )
        ]


# --- media with appended data -----------------------------------------------------------------

MIN_TRAILING = 32
"""Bytes after the logical end of an image/audio file below which padding is tolerated."""


def _png_end(data: bytes) -> int | None:
    pos = 8
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        pos += 12 + length
        if kind == b"IEND":
            return pos
    return None


def _jpeg_end(data: bytes) -> int | None:
    pos, size = 2, len(data)
    while pos + 2 <= size:  # the end-of-image marker may be the file's last two bytes
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xD9:
            return pos + 2
        if marker in (0x01, 0xFF) or 0xD0 <= marker <= 0xD7:
            pos += 1 if marker == 0xFF else 2
            continue
        if pos + 4 > size:
            return None
        (length,) = struct.unpack_from(">H", data, pos + 2)
        pos += 2 + length
        if marker == 0xDA:  # entropy-coded scan data follows: skip to the next real marker
            while True:
                pos = data.find(b"\xff", pos)
                if pos < 0 or pos + 1 >= size:
                    return None
                following = data[pos + 1]
                if following != 0 and not 0xD0 <= following <= 0xD7 and following != 0xFF:
                    break
                pos += 1
    return None


def _gif_end(data: bytes) -> int | None:
    if len(data) < 13:
        return None
    flags = data[10]
    pos = 13 + (3 * (2 ** ((flags & 7) + 1)) if flags & 0x80 else 0)

    def skip_blocks(p: int) -> int:
        while p < len(data):
            n = data[p]
            p += 1 + n
            if n == 0:
                return p
        return len(data) + 1

    while pos < len(data):
        tag = data[pos]
        if tag == 0x3B:
            return pos + 1
        if tag == 0x21:
            pos = skip_blocks(pos + 2)
        elif tag == 0x2C:
            if pos + 10 > len(data):
                return None
            local = data[pos + 9]
            pos += 10 + (3 * (2 ** ((local & 7) + 1)) if local & 0x80 else 0)
            pos = skip_blocks(pos + 1)
        else:
            return None
    return None


def _riff_end(data: bytes) -> int | None:
    if len(data) < 12:
        return None
    return int.from_bytes(data[4:8], "little") + 8


_CLOSINGS: dict[str, bytes] = {"PNG": b"IEND\xaeB`\x82", "JPEG": b"\xff\xd9", "GIF": b"\x00;"}
"""How a file of each format ends (PNG's IEND chunk with its fixed CRC, JPEG's end-of-image
marker, GIF's block terminator and trailer). RIFF has no closing mark."""


def media_end(data: bytes) -> tuple[str, int] | None:
    """(format, offset where the file logically ends) for PNG, JPEG, GIF and RIFF/WAV."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        end = _png_end(data)
        return ("PNG", end) if end else None
    if data[:3] == b"\xff\xd8\xff":
        end = _jpeg_end(data)
        return ("JPEG", end) if end else None
    if data[:6] in (b"GIF87a", b"GIF89a"):
        end = _gif_end(data)
        return ("GIF", end) if end else None
    if data[:4] == b"RIFF" and data[8:12] in (b"WAVE", b"AVI ", b"WEBP"):
        end = _riff_end(data)
        return (data[8:12].decode().strip(), end) if end else None
    return None


def _after_pictures(data: bytes, fmt: str, end: int) -> int:
    """Where the data of a file ends once whole further images of its own format that follow it
    are skipped: a JPEG may carry more JPEGs after its first (CIPA multi-picture files, the gain
    map of an HDR photo), each starting with its own start-of-image marker. Whatever follows the
    last of them is still looked at."""
    for _ in range(8):
        rest = data[end:]
        found = media_end(rest) if rest[:3] == b"\xff\xd8\xff" and fmt == "JPEG" else None
        if found is None:
            break
        end += found[1]
    return end


def entropy(data: bytes) -> float:
    if not data:
        return 0.0
    counts = Counter(data)
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


class AppendedToMedia(RuleBase):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if file.kind in (FileKind.PYTHON, FileKind.PTH):
            return []
        found = media_end(file.data)
        if found is None:
            return []
        fmt, end = found
        end = _after_pictures(file.data, fmt, end)
        trailing = file.data[end:]
        payload = trailing.strip(b"\0\r\n\t ")
        if len(payload) < MIN_TRAILING:
            return []
        native = native_format(payload) is not None
        scripted = re.search(rb"exec\(|eval\(|import |base64|powershell|http", payload[:65536]) is not None
        closing = _CLOSINGS.get(fmt)
        if not native and not scripted and closing is not None and payload.endswith(closing):
            # The extra bytes close the way this format closes: the tail of a longer, older
            # version of the image that an editor overwrote in place without truncating it
            # (Qt's designer icons, easygui's logo), or a second image (JPEG thumbnails, MPO).
            return [
                self.finding(
                    file,
                    line=None,
                    evidence=f"{fmt} ends at byte {end}; {len(payload)} more bytes follow, ending like a "
                    f"{fmt} file: {payload[-12:]!r}",
                    message=(
                        f"Bytes follow the end of this {fmt} file and end the way a {fmt} file ends: most "
                        "likely the rest of an older, longer version of the image that was overwritten in "
                        "place. Nothing runs them; a loader that reads them is reported on its own."
                    ),
                    severity=Severity.LOW,
                    stage=Stage.DATA,
                )
            ]
        looks_bad = native or scripted or entropy(payload[:65536]) > 7.0 or len(payload) >= 4096
        run = file.stage is not Stage.DATA and (native or scripted)
        return [
            self.finding(
                file,
                line=None,
                evidence=f"{fmt} ends at byte {end}; {len(payload)} more bytes follow: {payload[:40]!r}",
                message=(
                    f"Data is hidden after the end of this {fmt} file; viewers ignore it, a loader reads it "
                    "(requests-darwin-lite, telnyx)." + _LOADED.get(file.stage, "")
                ),
                # hidden code *and* the package's own code executing what it reads from the file
                severity=Severity.CRITICAL if run else Severity.HIGH if looks_bad else Severity.MEDIUM,
                stage=file.stage,
            )
        ]


#: Said of a data file that the package's own code runs (see ``engine._loaded_payloads``).
_LOADED = {
    stage: f" The package's own {where} code names this file next to a call that runs what it holds."
    for stage, where in (
        (Stage.INSTALL, "install-time"),
        (Stage.STARTUP, "start-up"),
        (Stage.IMPORT, "import-time"),
        (Stage.RUNTIME, "run-time"),
    )
}


# --- pickles ----------------------------------------------------------------------------------

PICKLE_EXTENSIONS = frozenset(
    {".pkl", ".pickle", ".pt", ".pth", ".bin", ".joblib", ".ckpt", ".sav", ".p", ".dill"}
)
MAX_PICKLE_OPS = 2_000_000

DANGEROUS_GLOBALS: dict[str, frozenset[str] | None] = {
    "os": None,
    "posix": None,
    "nt": None,
    "subprocess": None,
    "socket": None,
    "runpy": None,
    "pty": None,
    "commands": None,
    "shutil": None,
    "webbrowser": None,
    "ctypes": None,
    "marshal": None,
    "code": None,
    "importlib": None,
    "requests": None,
    "urllib.request": None,
    "http.client": None,
    "sys": frozenset({"modules", "exit", "settrace", "setprofile"}),
    "builtins": frozenset(
        {
            "eval",
            "exec",
            "compile",
            "open",
            "__import__",
            "getattr",
            "setattr",
            "globals",
            "breakpoint",
            "input",
            "vars",
            "delattr",
        }
    ),
    "__builtin__": frozenset(
        {
            "eval",
            "exec",
            "execfile",
            "compile",
            "open",
            "file",
            "__import__",
            "getattr",
            "setattr",
            "globals",
            "input",
        }
    ),
    "pickle": frozenset({"loads", "load"}),
    "_pickle": frozenset({"loads", "load"}),
    "types": frozenset({"FunctionType", "CodeType"}),
    "operator": frozenset({"attrgetter", "methodcaller"}),
    "pip": None,
    "asyncio": frozenset({"create_subprocess_exec", "create_subprocess_shell"}),
}
"""Modules (all names, or only the listed ones) a pickle must never import."""

_CALL_OPS = frozenset({"REDUCE", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "BUILD"})


def _dangerous(module: str, name: str) -> bool:
    for mod, names in DANGEROUS_GLOBALS.items():
        if module == mod or module.startswith(mod + "."):
            return names is None or name in names
    return False


def pickle_globals(data: bytes) -> Iterator[tuple[str, str, bool]]:
    """(module, name, followed by a call opcode) for every global a pickle stream imports."""
    import pickletools  # only for pickle files: not on every start-up

    stream = io.BytesIO(data)
    strings: list[str] = []
    memo: dict[int, str] = {}
    pending: list[tuple[str, str]] = []
    ops = 0
    for _ in range(16):  # legacy torch files hold several pickles back to back
        start = stream.tell()
        if start >= len(data):
            break
        try:
            for opcode, arg, _pos in pickletools.genops(stream):
                ops += 1
                if ops > MAX_PICKLE_OPS:
                    break
                name = opcode.name
                if isinstance(arg, str) and ("UNICODE" in name or "STRING" in name):
                    strings.append(arg)
                    del strings[:-4]
                elif name in ("PUT", "BINPUT", "LONG_BINPUT") and strings and isinstance(arg, int):
                    memo[arg] = strings[-1]
                elif name == "MEMOIZE" and strings:
                    memo[len(memo)] = strings[-1]
                elif name in ("GET", "BINGET", "LONG_BINGET") and isinstance(arg, int) and arg in memo:
                    strings.append(memo[arg])
                    del strings[:-4]
                if name == "GLOBAL" and isinstance(arg, str) and " " in arg:
                    module, attr = arg.split(" ", 1)
                    pending.append((module, attr))
                elif name == "STACK_GLOBAL" and len(strings) >= 2:
                    pending.append((strings[-2], strings[-1]))
                elif name in _CALL_OPS and pending:
                    for module, attr in pending:
                        yield module, attr, True
                    pending.clear()
        except Exception:  # a truncated or foreign stream just ends the scan
            break
        if ops > MAX_PICKLE_OPS or stream.tell() == start:
            break
    for module, attr in pending:
        yield module, attr, False


def _pickle_streams(file: FileContext) -> Iterator[tuple[str, bytes]]:
    data = file.data
    if data[:4] == b"PK\x03\x04":
        import zipfile  # only for zip-packed pickles (torch files): not on every start-up

        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for info in archive.infolist()[:64]:
                    if info.filename.endswith((".pkl", ".pickle")) and info.file_size <= len(data) * 4:
                        yield f"{file.path}!{info.filename}", archive.read(info)
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError):
            return
        return
    ext = _extension(file.path)
    looks_pickle = data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")
    if file.kind is FileKind.PICKLE or (
        ext in PICKLE_EXTENSIONS and (looks_pickle or data[:1] in (b"c", b"("))
    ):
        yield file.path, data


class DangerousPickle(RuleBase):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if file.kind is FileKind.PYTHON:
            return self._embedded(file, package)
        if file.kind in (FileKind.TEXT, FileKind.METADATA):
            return []
        out: list[Finding] = []
        for where, stream in _pickle_streams(file):
            bad = sorted({(m, n, called) for m, n, called in pickle_globals(stream) if _dangerous(m, n)})
            if not bad:
                continue
            called = any(c for _, _, c in bad)
            names = ", ".join(sorted({f"{m}.{n}" for m, n, _ in bad}))
            out.append(
                self.finding(
                    file,
                    line=None,
                    evidence=f"{where}: imports {names}" + (" and calls it" if called else ""),
                    message=(
                        f"Loading this pickle imports {names}"
                        + (" and calls it: unpickling runs that code" if called else "")
                        + ". Model and data files must not reach process, exec or network primitives."
                        + _LOADED.get(file.stage, "")
                    ),
                    severity=Severity.CRITICAL if called else Severity.HIGH,
                    stage=file.stage,
                )
            )
        return out

    def _embedded(self, file: FileContext, package: PackageContext) -> list[Finding]:
        """``pickle.loads(b64decode(BLOB))``: a pickle kept in a literal of the source and
        unpickled by it. The literal is decoded as data (:func:`decoded_value`), never loaded."""
        if not (mentions(file, _UNPICKLERS_WORDS) and mentions(file, ("loads",))):
            return []
        from pipvet.analysis.facts import facts_of, line_of
        from pipvet.analysis.peel import decoded_value
        from pipvet.analysis.rules._base import call_stage

        facts = facts_of(file)
        if facts is None or file.tree is None:
            return []
        names = {key: call.name for key, call in facts.by_node.items()}
        out: list[Finding] = []
        for call in facts.calls:
            if call.name not in _UNPICKLERS or not call.node.args:
                continue
            value = decoded_value(call.node.args[0], file.tree, names=names)
            if not isinstance(value, bytes):
                continue
            bad = sorted({(m, n) for m, n, called in pickle_globals(value) if called and _dangerous(m, n)})
            if not bad:
                continue
            stage = call_stage(file, package, facts, call)
            shown = ", ".join(f"{m}.{n}" for m, n in bad)
            out.append(
                self.finding(
                    file,
                    line=call.line,
                    evidence=line_of(file, call.line),
                    message=f"{call.name}() unpickles a pickle kept in the source, which calls {shown} "
                    "as it loads: code hidden as data (pipvet decoded the literal without loading it).",
                    severity=Severity.CRITICAL,
                    stage=stage,
                )
            )
        return out


_UNPICKLERS = frozenset({"pickle.loads", "_pickle.loads", "cPickle.loads", "dill.loads", "cloudpickle.loads"})
_UNPICKLERS_WORDS = ("pickle", "dill")


# --- foreign runtimes ---------------------------------------------------------------------------

LARGE_JS = 1_000_000
RUNTIME_DOWNLOAD = LazyPattern(
    r"bun\.sh/install|github\.com/oven-sh/bun/releases|nodejs\.org/dist/|deno\.land/(?:x/)?install|"
    r"deno\.land/install\.sh|get\.pnpm\.io|raw\.githubusercontent\.com/nvm-sh/nvm",
    re.I,
)
RUNTIME_SPAWN = LazyPattern(
    r"""['"](?:bun|node|nodejs|deno)(?:\.exe)?['"]\s*,\s*['"]?(?:run\b|[^'"\n]*\.(?:js|mjs|cjs|ts)\b)"""
    r"""|['"](?:bun|node|deno)\s+(?:run\s+)?[^'"\n]*\.(?:js|mjs|cjs|ts)\b""",
)


_RUNTIME_DOWNLOAD_WORDS = ("bun.sh", "oven-sh", "nodejs.org", "deno.land", "pnpm.io", "nvm-sh")
"""One of these is in every :data:`RUNTIME_DOWNLOAD` match (lower-cased)."""
_RUNTIME_SPAWN_WORDS = ("'bun", '"bun', "'node", '"node', "'deno", '"deno')
"""... and one of these in every :data:`RUNTIME_SPAWN` match."""


class ForeignRuntime(RuleBase):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if file.path.lower().endswith((".js", ".mjs", ".cjs")):
            return self._js(file)
        text = source(file)
        if not text:
            return []
        if not mentions(
            file,
            (
                "bun.sh",
                "oven-sh",
                "nodejs.org",
                "deno.land",
                "pnpm.io",
                "nvm-sh",
                "'bun'",
                '"bun"',
                "'node",
                '"node',
                "'deno",
                '"deno',
                "bun run",
                "node ",
            ),
        ):
            return []
        download = first(file, RUNTIME_DOWNLOAD) if mentions(file, _RUNTIME_DOWNLOAD_WORDS) else None
        spawn = first(file, RUNTIME_SPAWN) if mentions(file, _RUNTIME_SPAWN_WORDS) else None
        if download is None and spawn is None:
            return []
        hit = download or spawn
        assert hit is not None
        if download and spawn:
            severity, what = Severity.HIGH, "downloads a JavaScript runtime and runs a script with it"
        elif download:
            severity, what = Severity.MEDIUM, "downloads a JavaScript runtime"
        else:
            severity, what = Severity.LOW, "runs a JavaScript file with a JS runtime"
        return [
            self.finding(
                file,
                line=hit.line,
                evidence=evidence_for(file, hit),
                message=(
                    f"Python code {what}: the lightning and Hades droppers hid a stealer in JS run by Bun."
                ),
                severity=severity,
            )
        ]

    def _js(self, file: FileContext) -> list[Finding]:
        data = file.data
        obfuscated = data.count(b"_0x") >= 200 or (
            len(data) >= 100_000
            and max((len(line) for line in data[:2_000_000].split(b"\n")), default=0) > 500_000
            and data.count(b"\\x") > 1000
        )
        if not obfuscated and len(data) < LARGE_JS:
            return []
        if obfuscated and len(data) >= LARGE_JS:
            severity, what = Severity.MEDIUM, "a large, obfuscated JavaScript file"
        elif obfuscated:
            severity, what = Severity.LOW, "an obfuscated JavaScript file"
        else:
            severity, what = Severity.INFO, "a large JavaScript file"
        return [
            self.finding(
                file,
                line=None,
                evidence=f"{len(data)} bytes; {data.count(b'_0x')} '_0x' identifiers",
                message=(
                    f"A Python package ships {what}; foreign-runtime droppers carry their payload this way."
                ),
                severity=severity,
                stage=Stage.DATA,
            )
        ]


# --- code that runs its own data files -----------------------------------------------------------

OWN_DATA_READ = LazyPattern(
    r"""(?x)
    \bwave\s*\.\s*open\s*\(
    | \bImage\s*\.\s*open\s*\(
    | \b(?:files|open_binary|read_binary)\s*\([^)\n]{0,200}\)
      (?:\s*\.\s*joinpath\([^)\n]{0,200}\))?\s*\.\s*read_bytes
    | \bopen\s*\([^)\n]{0,200}?['"][^'"\n]{1,200}\.(?:png|jpe?g|gif|bmp|ico|wav|mp3|ogg|dat|bin)['"]
    """
)
DECODE_STEP = LazyPattern(
    r"\b(?:b64decode|b85decode|b32decode|decompress|fromhex|unhexlify|readframes|getdata|getpixel|"
    r"frombuffer|tobytes|marshal\s*\.\s*loads)\b|\^\s*\w"
)
DECODE_EXEC = LazyPattern(
    r"""\bexec\s*\(|\beval\s*\(|\bmarshal\s*\.\s*loads\s*\(|\bcompile\s*\([^)\n]{0,300}['"]exec['"]|\bFunctionType\s*\("""
)


_OWN_DATA_READ_WORDS = ("wave", "image", "read_bytes", "open")
_DECODE_STEP_WORDS = (
    "b64decode", "b85decode", "b32decode", "decompress", "fromhex", "unhexlify", "readframes", "getdata",
    "getpixel", "frombuffer", "tobytes", "marshal", "^",
)  # fmt: skip
_DECODE_EXEC_WORDS = ("exec", "eval", "marshal", "functiontype")
"""Lower-cased words one of which every match of :data:`OWN_DATA_READ`, :data:`DECODE_STEP` and
:data:`DECODE_EXEC` respectively holds."""


_OWN_DATA_SPAN = 60
"""Most lines between the read of a data file and the exec for the two to count as one story."""


class RunsOwnData(RuleBase):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not source(file):
            return []
        # A finding needs a match of all three patterns; each match holds one of its words.
        if not (
            mentions(file, _DECODE_EXEC_WORDS)
            and mentions(file, _OWN_DATA_READ_WORDS)
            and mentions(file, _DECODE_STEP_WORDS)
        ):
            return []
        reads = find(file, OWN_DATA_READ, limit=10)
        if not reads:
            return []
        execs = find(file, DECODE_EXEC, limit=20)
        if not execs or first(file, DECODE_STEP) is None:
            return []
        # One story: the read and the exec sit in one routine, not at the two ends of a module
        # that opens images in one place and evaluates expressions in another.
        pair = next(((r, e) for r in reads for e in execs if abs(e.line - r.line) <= _OWN_DATA_SPAN), None)
        if pair is None:
            return []
        hit, run = pair
        return [
            self.finding(
                file,
                line=hit.line,
                evidence=evidence_for(file, hit),
                message=(
                    f"Reads a data/media file and executes code nearby (line {run.line}): "
                    "the telnyx stealer decoded its payload from a WAV file this way."
                ),
            )
        ]


# --- programs encoded inside data files ---------------------------------------------------------

_MIN_RUN = 96
"""Shortest base64 (or hex) run read as a possible program."""
_BASE64_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_RUN_MAP = bytes(0x61 if i in _BASE64_LETTERS else 0x20 for i in range(256))
"""Maps every base64 letter to ``a`` and every other byte to a space: the runs are then found with
``bytes.find`` (a regular expression over botocore's 90 MB of JSON took 2 s; this takes 0.1 s)."""
_HIDDEN_MAX_DATA = 8 << 20
"""Largest data file (after decompressing a gzip/bz2/xz one) searched for encoded programs."""
_HIDDEN_MAX_RUNS = 32
_HIDDEN_MAX_DECODED = 1 << 20
"""Most bytes one run may decode (and decompress) to; a larger payload is not read as code. The
programs of one file are read up to twice this in all."""
_COMPRESSED_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip.decompress"),
    (b"BZh", "bz2.decompress"),
    (b"\xfd7zXZ\x00", "lzma.decompress"),
    (b"\x78\x9c", "zlib.decompress"),
    (b"\x78\xda", "zlib.decompress"),
    (b"\x78\x01", "zlib.decompress"),
)
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_CODE_MARKS = (b"import ", b"__import__", b"exec(", b"eval(", b"def ", b"os.", b"subprocess")
"""One of these is in any program worth reading; text without any is prose or data."""


def _unpacked(data: bytes, limit: int) -> bytes | None:
    """``data`` decompressed if it starts with a gzip, bz2, xz or zlib header (at most ``limit``
    bytes), as it is otherwise; ``None`` when a header is there but the stream is bad or too big."""
    from pipvet.analysis.peel import decompress

    for magic, how in _COMPRESSED_MAGIC:
        if data.startswith(magic):
            return decompress(how, data, limit)
    return data


def _runs(data: bytes, mapped: bytes | None = None) -> Iterator[tuple[int, bytes]]:
    """(offset, run) of each run of at least ``_MIN_RUN`` base64 letters (with its ``=`` padding).
    ``mapped``: ``data`` through :data:`_RUN_MAP`, if the caller has it already."""
    mapped = data.translate(_RUN_MAP) if mapped is None else mapped
    needle = b"a" * _MIN_RUN
    start = mapped.find(needle)
    while start >= 0:
        end = mapped.find(b" ", start)
        end = len(data) if end < 0 else end
        stop = end
        while stop < len(data) and stop - end < 2 and data[stop] == 0x3D:  # "=" padding
            stop += 1
        yield start, data[start:stop]
        start = mapped.find(needle, end)


_MIN_WRAPPED = 60
"""Shortest line of a wrapped base64 block (``base64.encodebytes`` writes 76 letters a line)."""


def _wrapped_blocks(data: bytes, mapped: bytes | None = None) -> Iterator[tuple[int, bytes]]:
    """(offset, letters) of each block of two or more lines that hold nothing but base64 letters
    (indented or not), every line but the last at least ``_MIN_WRAPPED`` long: how MIME and
    ``base64.encodebytes`` wrap their output, with no line long enough for :func:`_runs`."""
    mapped = data.translate(_RUN_MAP) if mapped is None else mapped
    needle = b"a" * _MIN_WRAPPED
    at = mapped.find(needle)
    while at >= 0:
        start = mapped.rfind(b" ", 0, at) + 1
        lines: list[bytes] = []
        pos, done = start, start
        if not data[data.rfind(b"\n", 0, start) + 1 : start].strip(b" \t"):  # first on its line
            while mapped[pos : pos + 1] == b"a":  # a line that starts with letters
                end = mapped.find(b" ", pos)
                end = len(data) if end < 0 else end
                stop = end
                while stop < len(data) and stop - end < 2 and data[stop] == 0x3D:  # "=" padding
                    stop += 1
                newline = data.find(b"\n", stop)
                newline = len(data) if newline < 0 else newline
                if data[stop:newline].strip(b" \t\r"):
                    break  # more than letters on this line: not part of a block
                lines.append(data[pos:stop])
                done = newline
                if end - pos < _MIN_WRAPPED or stop != end or newline >= len(data):
                    break  # a short or padded line is the last
                pos = newline + 1
                while pos < len(data) and data[pos] in b" \t":
                    pos += 1  # the block's indentation
        if len(lines) >= 2:
            yield start, b"".join(lines)
        following = mapped.find(b" ", max(done, at))
        at = -1 if following < 0 else mapped.find(needle, following)


def _decoded_run(run: bytes) -> tuple[str, bool] | None:
    """(Python source, whether it was compressed) that ``run`` decodes to as hex or base64
    (hex digits are base64 letters too: hex first), then decompressed if it is; ``None`` unless
    the result is UTF-8 text that reads like code."""
    import base64
    import binascii

    try:
        if len(run) % 2 == 0 and not run.strip(_HEX_DIGITS):
            raw = binascii.unhexlify(run)
        else:
            raw = base64.b64decode(run + b"=" * (-len(run) % 4))
    except (binascii.Error, ValueError):
        return None
    plain = _unpacked(raw, _HIDDEN_MAX_DECODED)
    if plain is None or len(plain) > _HIDDEN_MAX_DECODED or b"\x00" in plain[:4096]:
        return None
    if not any(mark in plain for mark in _CODE_MARKS):
        return None
    try:
        return plain.decode("utf-8"), plain is not raw
    except UnicodeDecodeError:
        return None


def _encoded_programs(data: bytes) -> Iterator[tuple[int, str, bool]]:
    """(line, Python source, whether it was compressed) for each base64 or hex run of ``data``
    (or block of wrapped lines) that decodes (as written or reversed, the ``[::-1]`` of many
    loaders), after any decompression, to text that reads like code."""
    mapped = data.translate(_RUN_MAP)
    found = itertools.chain(_runs(data, mapped), _wrapped_blocks(data, mapped) if b"\n" in data else ())
    for count, (offset, run) in enumerate(found):
        if count >= _HIDDEN_MAX_RUNS:
            return
        decoded = _decoded_run(run) or _decoded_run(run[::-1])
        if decoded is not None:
            yield data.count(b"\n", 0, offset) + 1, *decoded


class HiddenProgram(RuleBase):
    """A program kept base64-encoded (and maybe compressed) inside a data file the package
    ships: the spellcheckerpy / spellcheckpy shape (2026), a downloader stored under a key of a
    gzipped JSON dictionary and ``exec``'d by the class that loads the dictionary. The program
    is decoded as data and read with every rule; what they find in it is the evidence."""

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        from pipvet.analysis.rules._decoded import depth_of, read_as_python

        if file.kind not in (FileKind.TEXT, FileKind.BINARY) or len(file.data) > _HIDDEN_MAX_DATA:
            return []
        data = file.data if file.kind is FileKind.TEXT else _unpacked(file.data, _HIDDEN_MAX_DATA)
        if data is None or len(data) < _MIN_RUN:
            return []
        packed = data is not file.data
        depth = depth_of(file)
        out: list[Finding] = []
        budget = _HIDDEN_MAX_DECODED * 2
        for line, text, compressed in _encoded_programs(data):
            budget -= len(text)
            if budget < 0:
                break  # a file stuffed with programs: the first ones read are evidence enough
            # read at the data file's own stage: what the program's top level does "on import"
            # is no evidence (a documentation snippet makes a request too); what it is, is
            read = read_as_python(
                text, path=file.path, stage=file.stage, depth=depth, package=package, own=file.own
            )
            if read is None:
                continue
            telling = sorted(
                (f for f in read[1] if f.severity >= Severity.MEDIUM and f.rule not in _ABOUT_A_BLOB),
                key=lambda f: (-f.severity.rank, f.rule),
            )
            if not telling:
                continue
            worst = telling[0]
            shown = ", ".join(dict.fromkeys(f"{f.rule} ({f.severity.value})" for f in telling[:4]))
            layers = " and compressed" if compressed else ""
            inside = " (the file itself compressed)" if packed else ""
            out.append(
                self.finding(
                    file,
                    line=None if packed else line,
                    evidence=f"{len(text.splitlines()):,} lines of Python decoded: {worst.evidence or shown}",
                    message=(
                        f"This data file{inside} carries a Python program, encoded{layers}; pipvet "
                        f"decoded it without running it and the rules find in it: {shown}. "
                        f"{worst.message} Code kept as data is code no reviewer reads: spellcheckerpy hid "
                        "its downloader in a dictionary file and exec'd it when its class loaded."
                    ),
                    severity=worst.severity,
                    stage=file.stage,
                )
            )
            if len(out) >= 3:
                break
        return out


_ABOUT_A_BLOB = frozenset({"PV-OBF-001", "PV-OBF-003"})
"""Findings about a literal's shape (long, high-entropy): said of any decoded program."""


# --- compiled Python without its source ------------------------------------------------------

_BYTECODE_EXTENSIONS = (".pyc", ".pyo")
_BYTECODE_RUNS = (
    b"exec",
    b"eval",
    b"system",
    b"Popen",
    b"subprocess",
    b"startfile",
    b"b64decode",
    b"marshal",
)
_BYTECODE_SENDS = (b"http://", b"https://", b"socket", b"urlopen", b"requests", b"webhook", b"smtplib")
"""Names and strings in a code object's constants that show what compiled code can do."""


def _bytecode_source(path: str) -> str:
    """The source file a ``.pyc`` was compiled from: ``m.py`` beside a legacy ``m.pyc``,
    ``pkg/m.py`` for ``pkg/__pycache__/m.cpython-311.pyc``."""
    folder, _, name = path.rpartition("/")
    if folder == "__pycache__" or folder.endswith("/__pycache__"):
        parent = folder[: -len("__pycache__")]
        return f"{parent}{name.split('.', 1)[0]}.py"
    return path[:-1]


def _imported_module(path: str, package: PackageContext) -> bool:
    """Whether the package's own code names the module a legacy ``.pyc`` provides, in an import
    or as its file name (for a loader)."""
    name = path.rpartition("/")[2]
    module = name.rsplit(".", 1)[0]
    if module == "__init__":
        return True  # the package itself: importing it runs this
    pattern = re.compile(
        rf"^\s*(?:from\s+\S+\s+)?import\s[^\n]*\b{re.escape(module)}\b|\bfrom\s+[\w.]*\b{re.escape(module)}"
        rf"\s+import\b|['\"/]{re.escape(name)}['\"]",
        re.MULTILINE,
    )
    return any(pattern.search(text) for _, text in package.sources)


class SourcelessBytecode(RuleBase):
    """A compiled module (``.pyc``) shipped without the source it was compiled from.

    Python imports a ``m.pyc`` that sits where ``m.py`` would (and loaders such as
    ``SourcelessFileLoader`` run one from anywhere): code that no reviewer and no text rule can
    read. A ``__pycache__`` file whose source is shipped is a stale cache, and one without its
    source is never imported from there by Python. Only the code object's names and strings are
    looked at, as bytes: nothing is unmarshalled.
    """

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        path = file.path
        if path.lower().endswith((".py", ".pyw")) and _pyc_magic(file.data):
            return self._disguised(file)
        if not path.lower().endswith(_BYTECODE_EXTENSIONS) or file.data[2:4] != b"\r\n":
            return []
        if _bytecode_source(path) in package.members:
            return []
        data = file.data
        runs = sorted({w.decode() for w in _BYTECODE_RUNS if w in data})
        sends = sorted({w.decode() for w in _BYTECODE_SENDS if w in data})
        snoops = [m.decode() for m in _SECRET_PATHS if m in data]
        cached = "/__pycache__/" in f"/{path}"
        if cached and not (sends and (runs or snoops)):
            return []  # never imported from there, and nothing in it that reaches out
        stage = Stage.IMPORT if not cached and _imported_module(path, package) else Stage.RUNTIME
        shows = [*runs, *sends, *snoops]
        if sends and (runs or snoops):
            severity = Severity.CRITICAL if stage is Stage.IMPORT else Severity.HIGH
            why = "and its code both reaches the network and runs commands or reads secrets"
        elif stage is Stage.IMPORT:
            severity, why = Severity.HIGH, "and the package imports it"
        else:
            severity, why = Severity.MEDIUM, "which the package does not visibly import"
        return [
            self.finding(
                file,
                line=None,
                evidence=f"{path.rpartition('/')[2]} without {_bytecode_source(path).rpartition('/')[2]}"
                + (f"; names in its code: {', '.join(shows[:8])}" if shows else ""),
                message=f"Ships compiled Python without its source, {why}: no reviewer or text "
                "search can read what it does (fshec2 hid its loader in a .pyc this way).",
                severity=severity,
                stage=stage,
            )
        ]

    def _disguised(self, file: FileContext) -> list[Finding]:
        """A ``.py`` file whose bytes are compiled bytecode: ``python engine.py`` checks the magic
        number and runs it as compiled code, while it looks like source in any listing."""
        data = file.data
        shows = sorted({w.decode() for w in (*_BYTECODE_RUNS, *_BYTECODE_SENDS) if w in data})
        shows += [m.decode() for m in _SECRET_PATHS if m in data]
        return [
            self.finding(
                file,
                line=None,
                evidence=f"{file.path.rpartition('/')[2]} starts with the magic number of compiled Python"
                + (f"; names in its code: {', '.join(shows[:8])}" if shows else ""),
                message="A .py file that holds compiled bytecode, not source: Python runs it all the "
                "same, and no reviewer or text search can read it (Kramer-style droppers hide this way).",
                # the disguise is the intent; code that runs or reaches out is the capability
                severity=Severity.CRITICAL
                if file.stage in (Stage.INSTALL, Stage.STARTUP) or shows
                else Severity.HIGH,
                stage=file.stage,
            )
        ]


def _pyc_magic(data: bytes) -> bool:
    """``data`` starts like a ``.pyc`` file: a Python 3 (or 2) magic number, then ``\\r\\n``."""
    if len(data) < 16 or data[2:4] != b"\r\n":
        return False
    number = data[0] | data[1] << 8
    return 2900 <= number < 4000 or 62000 <= number < 63000


RULES = (
    NativeBinary(
        id="PV-PAY-NATIVE",
        title="Native executable where none belongs",
        severity=Severity.LOW,
        rationale="torchtriton shipped an ELF stealer and other packages Go binaries and DLLs; pure-Python "
        "packages rarely need one, and a binary named like a text or image file is a disguise.",
    ),
    EncodedExecutable(
        id="PV-PAY-ENCODED-EXE",
        title="Executable encoded in source",
        severity=Severity.HIGH,
        rationale="Droppers embed a base64/hex PE or ELF and write it to disk before running it.",
    ),
    AppendedToMedia(
        id="PV-PAY-MEDIA",
        title="Data appended to an image or audio file",
        severity=Severity.HIGH,
        rationale="requests-darwin-lite hid a binary after a PNG's IEND; telnyx hid its payload in a WAV.",
    ),
    DangerousPickle(
        id="PV-PAY-PICKLE",
        title="Pickle that runs code when loaded",
        severity=Severity.CRITICAL,
        rationale="Unpickling calls whatever GLOBAL/STACK_GLOBAL + REDUCE name: fake model SDKs (nullifAI) "
        "shipped pickles calling os.system or exec.",
    ),
    ForeignRuntime(
        id="PV-PAY-JSRUNTIME",
        title="Foreign-runtime dropper",
        severity=Severity.MEDIUM,
        rationale="lightning 2.6.2 and the Hades .pth dropper ran an 11 MB obfuscated JS stealer under Bun.",
    ),
    SourcelessBytecode(
        id="PV-PAY-BYTECODE",
        title="Compiled Python without its source",
        severity=Severity.HIGH,
        rationale="fshec2 (2023) shipped its loader only as a .pyc, which text scanners skip and Python "
        "imports like source; a published package has no reason to withhold the code it runs.",
    ),
    HiddenProgram(
        id="PV-PAY-HIDDEN-CODE",
        title="Program encoded inside a data file",
        severity=Severity.HIGH,
        rationale="spellcheckerpy (2026) kept a base64 downloader under a key of a gzipped JSON "
        "dictionary and exec'd it when its class loaded the dictionary.",
    ),
    RunsOwnData(
        id="PV-PAY-OWNDATA",
        title="Executes code decoded from its own data file",
        severity=Severity.HIGH,
        rationale="Stego loaders (telnyx WAV, image payloads) read a shipped media file and exec its bytes.",
    ),
)
