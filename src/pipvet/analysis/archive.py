"""A read-only view of an untrusted package archive, with limits.

:func:`read_archive` turns an sdist (``.tar.gz``/``.tgz``/``.tar.bz2``/``.tar.xz``/``.tar``/
``.zip``), a wheel or egg (ZIP), an unpacked folder or a single source file into a list of
:class:`Member` objects holding *bounded* bytes, plus the structural anomalies found on the way
(:class:`Issue`, each a ``PV-ARCHIVE-*`` finding).

Guarantees, whatever the input:

* nothing is extracted or written to disk, links are never followed (their targets are only
  recorded), devices and FIFOs are never opened;
* memory is bounded: tar archives are streamed, ZIPs are read member by member, and every member
  keeps at most the byte budget the caller grants (see :mod:`pipvet.analysis.limits`);
* a malformed, truncated or hostile archive yields findings, never an exception.

ZIPs are read the way installers read them: central directory first. The local headers are then
cross-checked against it, because a disagreement between the two is how parser-differential
attacks smuggle different files past a scanner and into an installation.
"""

from __future__ import annotations

import enum
import io
import os
import posixpath
import stat
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pipvet.analysis.lazyre import LazyPattern
from pipvet.analysis.limits import DEFAULT_LIMITS, IN_MEMORY_TAR, SLURP_LIMIT, Limits, MiB
from pipvet.models import Finding, Severity, Verdict

if TYPE_CHECKING:
    import tarfile
    import zipfile

Budget = Callable[[str, int], int]
"""``budget(path, declared_size) -> bytes to keep``: the caller decides what it needs to see."""

_HASH_CHUNK = 1 * MiB
_VCS_DIRS = frozenset({".git", ".hg", ".svn", ".bzr"})
#: Names under which archives legitimately travel inside packages (documents, model and data
#: containers, Java/Python application bundles, compressed single files).
_CONTAINER_EXT = frozenset(
    {
        ".zip", ".whl", ".egg", ".jar", ".war", ".apk", ".pyz", ".pex", ".npz", ".odt", ".ods",
        ".odp", ".odg", ".docx", ".xlsx", ".pptx", ".epub", ".dia", ".svgz", ".kmz", ".3mf", ".ear",
        ".srcjar",
        ".xpi", ".vsix", ".nupkg", ".pt", ".pth", ".bin", ".ckpt", ".keras", ".mar", ".nemo",
        ".onnx", ".safetensors", ".h5", ".tar", ".tgz", ".tbz2", ".txz", ".crx", ".sketch",
        # Office Open XML / Open Packaging Conventions and ODF templates
        ".docm", ".dotx", ".dotm", ".xlsm", ".xltx", ".xltm", ".pptm", ".potx", ".ppsx",
        ".vsdx", ".vsdm", ".vstx", ".xps", ".oxps", ".appx", ".msix", ".ott", ".ots", ".otp",
        ".otg", ".aar", ".ipa", ".usdz", ".mxl", ".ora", ".kra", ".xlsb", ".xlam", ".potm", ".ppsm",
        ".ppam", ".sldx", ".sldm", ".thmx", ".vssx", ".vssm", ".vstm",
        # FIGlet 2.2 fonts may be zip-compressed
        ".flf", ".tlf",
    }
)  # fmt: skip
_COMPRESSED_EXT = frozenset({".gz", ".bz2", ".xz", ".lzma", ".z", ".gzip", ".tbz", ".emz", ".wmz"})
_CONTROL = LazyPattern(r"[\x00-\x1f]")


class MemberType(enum.Enum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    DEVICE = "device"
    FIFO = "fifo"
    OTHER = "other"


# eq=False: never compared, so no __eq__/__hash__ to generate at import
@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class Member:
    """One entry of the archive. ``data`` holds at most the granted budget of its bytes."""

    path: str
    """The name as stored, with ``\\`` turned into ``/`` and leading ``./`` removed."""
    type: MemberType
    size: int
    """Declared uncompressed size."""
    data: bytes = b""
    link_target: str | None = None

    @property
    def truncated(self) -> bool:
        return self.type is MemberType.FILE and len(self.data) < self.size


# eq=False: never compared, so no __eq__/__hash__ to generate at import
@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class Issue:
    """A structural anomaly: a finding and the least verdict it forces (if any)."""

    finding: Finding
    floor: Verdict | None = None


# eq=False: never compared, so no __eq__/__hash__ to generate at import
@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class ArchiveContents:
    """Everything read from one archive: its members, its structural issues and its size."""

    format: str
    """``tar.gz``, ``tar.bz2``, ``tar.xz``, ``tar``, ``zip``, ``folder``, ``file`` or ``unknown``."""
    members: tuple[Member, ...]
    issues: tuple[Issue, ...]
    sha256: str | None
    size: int | None
    """Size of the archive file in bytes (``None`` for folders)."""
    bytes_read: int = 0
    uncompressed: int = 0
    """Sum of the members' declared sizes."""


# --------------------------------------------------------------------------- issues


def _issue(
    rule: str,
    severity: Severity,
    title: str,
    message: str,
    *,
    path: str | None = None,
    evidence: str | None = None,
    floor: Verdict | None = None,
) -> Issue:
    return Issue(
        finding=Finding(
            rule=rule,
            severity=severity,
            title=title,
            message=message,
            path=path,
            evidence=evidence,
        ),
        floor=floor,
    )


def _clip(text: str, limit: int = 200) -> str:
    text = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Collector:
    """Accumulates members and issues while enforcing the limits."""

    def __init__(self, limits: Limits, budget: Budget, archive_size: int | None) -> None:
        self.limits = limits
        self.budget = budget
        self.archive_size = archive_size
        self.members: list[Member] = []
        self.issues: list[Issue] = []
        self.bytes_read = 0
        self.uncompressed = 0
        self._seen: dict[str, int] = {}
        self._flagged: set[str] = set()

    def add(self, issue: Issue) -> None:
        self.issues.append(issue)

    def flagged(self, key: str) -> bool:
        return key in self._flagged

    def flag_once(self, key: str, issue: Issue) -> None:
        if key not in self._flagged:
            self._flagged.add(key)
            self.issues.append(issue)

    # -- limits checked before a member's data is touched; False means stop reading the archive
    def admit(self, count: int, declared: int) -> bool:
        lim = self.limits
        if count > lim.max_members:
            self.add(
                _issue(
                    "PV-ARCHIVE-TOO-MANY-MEMBERS",
                    Severity.HIGH,
                    "Archive has too many members",
                    f"The archive has more than {lim.max_members:,} members; pipvet stopped reading "
                    "it, so the rest was not vetted. Packages this large are rare; archives built to "
                    "exhaust scanners are not.",
                    evidence=f"> {lim.max_members:,} members",
                    floor=Verdict.ERROR,
                )
            )
            return False
        self.uncompressed += declared
        if self.uncompressed > lim.max_total_uncompressed:
            self.add(
                _issue(
                    "PV-ARCHIVE-TOO-LARGE",
                    Severity.HIGH,
                    "Archive expands beyond the size limit",
                    f"The members declare more than {lim.max_total_uncompressed // MiB:,} MiB "
                    "uncompressed; pipvet stopped reading, so the rest was not vetted.",
                    evidence=f"{self.uncompressed:,} bytes declared",
                    floor=Verdict.ERROR,
                )
            )
            return False
        if (
            self.archive_size
            and self.uncompressed > lim.ratio_min_bytes
            and self.uncompressed > lim.max_ratio * self.archive_size
        ):
            self.add(_bomb_issue(None, self.uncompressed, self.archive_size, lim))
            return False
        return True

    def take(self, path: str, size: int) -> int:
        """How many bytes of a regular member to keep."""
        if size > self.limits.max_member_size:
            self.add(
                _issue(
                    "PV-ARCHIVE-MEMBER-TOO-LARGE",
                    Severity.MEDIUM,
                    "Member too large to vet",
                    f"This member declares {size:,} bytes, above the {self.limits.max_member_size:,}"
                    "-byte limit; pipvet read none of it.",
                    path=path,
                    evidence=f"{size:,} bytes",
                    floor=Verdict.ERROR,
                )
            )
            return 0
        want = min(size, max(0, self.budget(path, size)))
        remaining = self.limits.max_total_read - self.bytes_read
        if want > remaining:
            want = min(want, max(remaining, self.limits.head_read))
        return want

    def member(self, m: Member) -> None:
        self.bytes_read += len(m.data)
        self._check_name(m.path)
        if m.type is MemberType.FILE and len(m.data) >= 4:
            self._check_disguise(m)
        if m.type is not MemberType.DIR:
            key = m.path.rstrip("/")
            self._seen[key] = self._seen.get(key, 0) + 1
        self.members.append(m)

    def _check_disguise(self, m: Member) -> None:
        """An archive stored under a name that is not an archive's: a payload kept out of sight.

        Nested archives are not opened (``MAX_NESTING_DEPTH``); this says where one hides.
        """
        inner = _sniff(m.data[:512])
        if inner is None:
            return
        base = posixpath.basename(m.path).lower()
        dot = base.rfind(".")
        ext = base[dot:] if dot > 0 else ""
        if ext in _CONTAINER_EXT or ext in _COMPRESSED_EXT:
            return
        self.add(
            _issue(
                "PV-ARCHIVE-DISGUISED",
                Severity.MEDIUM,
                "An archive hides under another file name",
                f"This file is a {inner} archive but its name does not say so. Malicious packages "
                "carry their payload this way and unpack it at install or import time; pipvet does "
                "not open archives inside archives, so its content was not vetted.",
                path=_clip(m.path),
                evidence=f"{_clip(m.path)}: {inner} data",
            )
        )

    def _check_name(self, path: str) -> None:
        if _is_absolute(path):
            self.add(
                _issue(
                    "PV-ARCHIVE-ABSOLUTE-PATH",
                    Severity.CRITICAL,
                    "Member with an absolute path",
                    "A member is stored under an absolute path. Extracting it would write outside "
                    "the target folder; no legitimate package is built this way.",
                    path=_clip(path),
                    evidence=_clip(path),
                    floor=Verdict.MALICIOUS,
                )
            )
        elif ".." in path.split("/"):
            self.add(
                _issue(
                    "PV-ARCHIVE-PATH-TRAVERSAL",
                    Severity.CRITICAL,
                    "Member path escapes the archive (..)",
                    "A member name climbs out of the extraction folder with '..'. This is a "
                    "path-traversal attack on whatever unpacks the archive.",
                    path=_clip(path),
                    evidence=_clip(path),
                    floor=Verdict.MALICIOUS,
                )
            )
        if not path.strip("/"):
            self.flag_once(
                "empty",
                _issue(
                    "PV-ARCHIVE-UNSAFE-NAME",
                    Severity.MEDIUM,
                    "Member without a name",
                    "A member has an empty name. Tools handle it differently (skip it, or write "
                    "to the extraction folder itself); no package is built this way.",
                    evidence=repr(path),
                ),
            )
        if _CONTROL.search(path):
            self.flag_once(
                "control",
                _issue(
                    "PV-ARCHIVE-UNSAFE-NAME",
                    Severity.MEDIUM,
                    "Member name contains control characters",
                    "Member names with control characters (NUL, newline, escape) are read "
                    "differently by different tools and can hide a file from review.",
                    path=_clip(path),
                    evidence=_clip(path),
                ),
            )

    def duplicates(self, fmt: str) -> None:
        dups = sorted(p for p, n in self._seen.items() if n > 1)
        if not dups:
            return
        is_zip = fmt == "zip"
        self.add(
            _issue(
                "PV-ARCHIVE-DUPLICATE-NAME",
                Severity.CRITICAL if is_zip else Severity.MEDIUM,
                "Archive stores the same name more than once",
                (
                    "The ZIP central directory lists the same file name more than once. Tools "
                    "disagree about which copy wins, which lets a scanner see one file and the "
                    "installer install another (a known parser-differential attack)."
                    if is_zip
                    else "The tar archive stores the same name more than once; the later copy "
                    "replaces the earlier one on extraction, so a reviewer may read the wrong one."
                ),
                path=_clip(dups[0]),
                evidence=_clip(", ".join(dups[:5]) + (f" (+{len(dups) - 5} more)" if len(dups) > 5 else "")),
                floor=Verdict.MALICIOUS if is_zip else None,
            )
        )

    def link(self, path: str, target: str, *, hard: bool) -> None:
        kind = "hard link" if hard else "symbolic link"
        base = posixpath.dirname(path) if not hard else ""
        resolved = posixpath.normpath(posixpath.join(base, target)) if target else ""
        escapes = _is_absolute(target) or resolved == ".." or resolved.startswith("../")
        if escapes and not hard and _venv_interpreter(path, target):
            # py-vapid's sdist ships its maintainer's virtualenvs: venv/bin/python -> /bin/python
            self.flag_once(
                "link:venv",
                _issue(
                    "PV-ARCHIVE-LINK",
                    Severity.LOW,
                    "Archive contains a virtual environment's interpreter link",
                    "A bin/python link points at the Python of the machine that built the archive: a "
                    "virtual environment packed by mistake. pipvet does not follow links.",
                    path=_clip(path),
                    evidence=_clip(f"{path} -> {target}"),
                ),
            )
            return
        if escapes:
            self.add(
                _issue(
                    "PV-ARCHIVE-LINK-ESCAPE",
                    Severity.CRITICAL,
                    f"A {kind} points outside the archive",
                    f"A {kind} in the archive points outside the extraction folder. On extraction it "
                    "can expose or overwrite files elsewhere on the machine.",
                    path=_clip(path),
                    evidence=_clip(f"{path} -> {target}"),
                    floor=Verdict.MALICIOUS,
                )
            )
            return
        self.flag_once(
            f"link:{hard}",
            _issue(
                "PV-ARCHIVE-LINK",
                Severity.LOW,
                f"Archive contains a {kind}",
                f"The archive contains a {kind} (not followed by pipvet). Links inside packages are "
                "unusual and are resolved differently by different installers.",
                path=_clip(path),
                evidence=_clip(f"{path} -> {target}"),
            ),
        )

    def special(self, path: str, what: str) -> None:
        self.add(
            _issue(
                "PV-ARCHIVE-SPECIAL-MEMBER",
                Severity.CRITICAL,
                f"Archive contains a {what}",
                f"The archive contains a {what}. Packages hold files and folders only; device and "
                "pipe entries target the machine that unpacks the archive.",
                path=_clip(path),
                evidence=_clip(f"{what}: {path}"),
                floor=Verdict.MALICIOUS,
            )
        )

    def contents(self, fmt: str, sha256: str | None, size: int | None) -> ArchiveContents:
        return ArchiveContents(
            format=fmt,
            members=tuple(self.members),
            issues=tuple(self.issues),
            sha256=sha256,
            size=size,
            bytes_read=self.bytes_read,
            uncompressed=self.uncompressed,
        )


def _venv_interpreter(path: str, target: str) -> bool:
    """``path`` is a virtual environment's ``bin/python*`` and ``target`` a Python interpreter."""
    folder, _, name = path.rpartition("/")
    return (
        folder.rpartition("/")[2] == "bin"
        and name.startswith("python")
        and posixpath.basename(target).startswith("python")
        and "/" not in name
    )


def _bomb_issue(path: str | None, uncompressed: int, compressed: int, lim: Limits) -> Issue:
    ratio = uncompressed // max(compressed, 1)
    return _issue(
        "PV-ARCHIVE-BOMB",
        Severity.CRITICAL,
        "Decompression bomb",
        f"The content expands {ratio:,}:1 (limit {lim.max_ratio}:1) to {uncompressed:,} bytes. "
        "Archives built to explode on decompression attack the tools that open them; pipvet "
        "stopped reading.",
        path=path,
        evidence=f"{compressed:,} -> {uncompressed:,} bytes ({ratio:,}:1)",
        floor=Verdict.MALICIOUS,
    )


def _is_absolute(path: str) -> bool:
    return path.startswith("/") or (len(path) > 1 and path[1] == ":" and path[0].isalpha())


def _clean_name(name: str) -> str:
    name = name.replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return name


# --------------------------------------------------------------------------- entry point


def read_archive(
    source: Path | bytes,
    *,
    filename: str | None = None,
    budget: Budget,
    limits: Limits = DEFAULT_LIMITS,
) -> ArchiveContents:
    """Read ``source`` (a file, a folder, or the bytes of an archive) within ``limits``.

    ``filename`` names the artifact when ``source`` is bytes or a cache path whose name says
    nothing; it is used only to recognise a single ``.py`` file, never to pick a parser (the
    content's magic bytes decide).
    """
    try:
        return _read_archive(source, filename, budget, limits)
    except Exception as exc:  # last line of defence: hostile input ends as a finding
        col = _Collector(limits, budget, None)
        col.add(
            _issue(
                "PV-ARCHIVE-UNREADABLE",
                Severity.HIGH,
                "Archive could not be read",
                "Reading the archive failed unexpectedly, so it was not vetted.",
                evidence=_clip(f"{type(exc).__name__}: {exc}"),
                floor=Verdict.ERROR,
            )
        )
        return col.contents("unknown", None, None)


def _read_archive(
    source: Path | bytes, filename: str | None, budget: Budget, limits: Limits
) -> ArchiveContents:
    if isinstance(source, Path) and source.is_dir():
        return _read_folder(source, limits, budget)
    import hashlib  # here, not at import: a folder is not hashed, and OpenSSL takes a while to load

    if isinstance(source, bytes):
        blob: bytes | None = source
        size = len(source)
        sha256 = hashlib.sha256(source).hexdigest()
        name = filename or "<bytes>"
    else:
        name = filename or source.name
        try:
            size = source.stat().st_size
            blob = source.read_bytes() if size <= SLURP_LIMIT else None
            sha256 = hashlib.sha256(blob).hexdigest() if blob is not None else _hash_file(source)
        except OSError as exc:
            col = _Collector(limits, budget, None)
            col.add(
                _issue(
                    "PV-ARCHIVE-UNREADABLE",
                    Severity.HIGH,
                    "Archive could not be read",
                    f"pipvet could not read the file: {exc.strerror or exc}.",
                    evidence=str(exc),
                    floor=Verdict.ERROR,
                )
            )
            return col.contents("unknown", None, None)

    def opener() -> IO[bytes]:
        if blob is not None:
            return io.BytesIO(blob)
        assert isinstance(source, Path)
        return source.open("rb")

    with opener() as head_fh:
        head = head_fh.read(512)
    fmt = _sniff(head)
    if fmt is None:
        with opener() as tail_fh:
            tail_fh.seek(max(0, size - _MAX_COMMENT - _EOCD.size))
            if _EOCD_SIG in tail_fh.read():
                fmt = "zip"  # a ZIP with data in front (polyglot or self-extracting)
    col = _Collector(limits, budget, size)
    claimed = _format_from_name(name)
    if fmt is not None and claimed is not None and claimed != fmt:
        col.add(
            _issue(
                "PV-ARCHIVE-FORMAT-MISMATCH",
                Severity.LOW,
                "File name and content disagree on the archive format",
                f"The name says {claimed} but the bytes are {fmt}. pipvet reads what the bytes "
                "are; installers go by the name, so they may read this file differently or not at all.",
                evidence=f"{name}: {fmt}",
            )
        )
    if fmt is None and name.endswith((".py", ".pyw", ".pth")) and not _looks_binary(head):
        data = (blob if blob is not None else b"")[: limits.max_code_read]
        col.member(Member(path=posixpath.basename(name), type=MemberType.FILE, size=size, data=data))
        return col.contents("file", sha256, size)
    if fmt is None:
        col.add(
            _issue(
                "PV-ARCHIVE-UNREADABLE",
                Severity.HIGH,
                "Not a recognised package archive",
                "The file is not a tar (gzip, bzip2, xz or plain), ZIP, wheel or egg archive, so "
                "there is nothing pipvet could vet.",
                evidence=_clip(repr(head[:16])),
                floor=Verdict.ERROR,
            )
        )
        return col.contents("unknown", sha256, size)
    with opener() as fh:
        if fmt == "zip":
            _read_zip(fh, size, col)
        else:
            _read_tar(fh, fmt, col)
    col.duplicates(fmt)
    return col.contents(fmt, sha256, size)


_NAME_FORMATS = (
    ((".whl", ".egg", ".zip"), "zip"),
    ((".tar.gz", ".tgz"), "tar.gz"),
    ((".tar.bz2", ".tbz2"), "tar.bz2"),
    ((".tar.xz", ".txz"), "tar.xz"),
    ((".tar",), "tar"),
)


def _format_from_name(name: str) -> str | None:
    lower = name.lower()
    for suffixes, fmt in _NAME_FORMATS:
        if lower.endswith(suffixes):
            return fmt
    return None


def _hash_file(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sniff(head: bytes) -> str | None:
    if head.startswith(b"\x1f\x8b"):
        return "tar.gz"
    if head.startswith(b"BZh"):
        return "tar.bz2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "tar.xz"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return None


def _looks_binary(head: bytes) -> bool:
    return b"\x00" in head


# --------------------------------------------------------------------------- tar


def _read_tar(fh: IO[bytes], fmt: str, col: _Collector) -> None:
    count = 0
    raw = _decompress_bounded(fh, fmt, col)
    try:
        with _open_tar(fh, fmt) if raw is None else _open_tar(io.BytesIO(raw), "memory") as tf:
            for ti in tf:
                count += 1
                if not col.admit(count, ti.size if ti.isreg() else 0):
                    return
                _tar_member(tf, ti, col)
    except Exception as exc:  # any malformed input must end as a finding, never a crash
        _broken(col, fmt, exc)


def _decompress_bounded(fh: IO[bytes], fmt: str, col: _Collector) -> bytes | None:
    """The whole decompressed tar when it is small enough, else ``None`` (stream it instead).

    Also ``None`` when the data is damaged: the streaming reader then reports what it could read.
    """
    if fmt == "tar" or (col.archive_size or 0) > SLURP_LIMIT:
        return None
    lim = col.limits
    size = col.archive_size or 0
    cap = min(IN_MEMORY_TAR, max(lim.ratio_min_bytes, lim.max_ratio * size), lim.max_total_uncompressed)
    try:
        data = fh.read()
        fh.seek(0)
        out: list[bytes] = []
        produced = 0
        while data:
            dec = _decompressor(fmt)
            chunk = dec.decompress(data, cap - produced + 1)
            produced += len(chunk)
            out.append(chunk)
            if produced > cap or not dec.eof:
                return None  # too big for memory, or truncated: let the stream reader decide
            data = dec.unused_data
            if fmt == "tar.gz":
                data = data.lstrip(b"\0")  # gzip members may be padded with zeros
    except Exception:
        fh.seek(0)
        return None
    return b"".join(out)


def _decompressor(fmt: str) -> Any:
    if fmt == "tar.gz":
        import zlib

        return zlib.decompressobj(wbits=31)
    if fmt == "tar.bz2":
        import bz2

        return bz2.BZ2Decompressor()
    import lzma

    return lzma.LZMADecompressor()


def _open_tar(fh: IO[bytes], fmt: str) -> tarfile.TarFile:
    """Stream mode: members are read in order, each at most once, nothing is seeked back to."""
    import tarfile

    if fmt == "tar.gz":
        return tarfile.open(fileobj=fh, mode="r|gz")
    if fmt == "tar.bz2":
        return tarfile.open(fileobj=fh, mode="r|bz2")
    if fmt == "tar.xz":
        return tarfile.open(fileobj=fh, mode="r|xz")
    if fmt == "memory":  # already decompressed: random access in memory, no stream buffering
        return tarfile.open(fileobj=fh, mode="r:")
    return tarfile.open(fileobj=fh, mode="r|")


def _tar_member(tf: tarfile.TarFile, ti: tarfile.TarInfo, col: _Collector) -> None:
    path = _clean_name(ti.name)
    if ti.isreg():
        want = col.take(path, ti.size)
        data = b""
        if want:
            fobj = tf.extractfile(ti)
            if fobj is not None:
                data = fobj.read(want)
        col.member(Member(path=path, type=MemberType.FILE, size=ti.size, data=data))
    elif ti.isdir():
        col.member(Member(path=path, type=MemberType.DIR, size=0))
    elif ti.issym() or ti.islnk():
        hard = ti.islnk()
        col.member(
            Member(
                path=path,
                type=MemberType.HARDLINK if hard else MemberType.SYMLINK,
                size=0,
                link_target=ti.linkname,
            )
        )
        col.link(path, _clean_name(ti.linkname), hard=hard)
    elif ti.ischr() or ti.isblk():
        col.member(Member(path=path, type=MemberType.DEVICE, size=0))
        col.special(path, "device node")
    elif ti.isfifo():
        col.member(Member(path=path, type=MemberType.FIFO, size=0))
        col.special(path, "named pipe (FIFO)")
    else:
        col.member(Member(path=path, type=MemberType.OTHER, size=ti.size))


def _broken(col: _Collector, fmt: str, exc: BaseException) -> None:
    what = f"{type(exc).__name__}: {exc}"
    if col.members:
        col.add(
            _issue(
                "PV-ARCHIVE-TRUNCATED",
                Severity.HIGH,
                "Archive is truncated or corrupt",
                f"The {fmt} archive ends early or is damaged after {len(col.members)} members; "
                "pipvet vetted what it could read, but not the whole package.",
                evidence=_clip(what),
                floor=Verdict.ERROR,
            )
        )
    else:
        col.add(
            _issue(
                "PV-ARCHIVE-UNREADABLE",
                Severity.HIGH,
                "Archive could not be read",
                f"The file looks like a {fmt} archive but could not be read, so nothing was vetted.",
                evidence=_clip(what),
                floor=Verdict.ERROR,
            )
        )


# --------------------------------------------------------------------------- zip

_LOCAL = struct.Struct("<4s5H3L2H")  # signature .. extra length (30 bytes)
_EOCD = struct.Struct("<4s4H2LH")  # 22 bytes
_EOCD_SIG = b"PK\x05\x06"
_LOCAL_SIG = b"PK\x03\x04"
_MAX_COMMENT = 0xFFFF
_ZIP64_MARK = 0xFFFFFFFF


def _read_zip(fh: IO[bytes], size: int, col: _Collector) -> None:
    import zipfile

    declared = _declared_entries(fh, size)
    if declared is not None and declared > col.limits.max_members:
        col.admit(declared, 0)  # records the too-many-members finding
        return  # do not let the ZIP reader build millions of entries
    try:
        zf = zipfile.ZipFile(fh)
    except Exception as exc:
        _broken(col, "zip", exc)
        try:  # say why, when the end records are what is broken
            _eocd(fh, size, None, col)
        except Exception:  # pragma: no cover - best effort on input that already failed
            return
        return
    with zf:
        infos = zf.infolist()
        try:
            _zip_structure(fh, size, zf, infos, col)
        except Exception as exc:
            _broken(col, "zip", exc)
        mismatched = {i.header_offset for i in infos if col.flagged(f"mismatch:{i.header_offset}")}
        for count, info in enumerate(infos, start=1):
            if not col.admit(count, 0 if info.filename.endswith("/") else info.file_size):
                return
            _zip_member(zf, info, col, skip=info.header_offset in mismatched)


def _declared_entries(fh: IO[bytes], size: int) -> int | None:
    """The entry count of the last end-of-central-directory record, before parsing the directory."""
    tail_len = min(size, _MAX_COMMENT + _EOCD.size)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    fh.seek(0)
    pos = tail.rfind(_EOCD_SIG)
    if pos == -1 or pos + _EOCD.size > len(tail):
        return None
    total = _EOCD.unpack(tail[pos : pos + _EOCD.size])[4]  # entries in the whole directory
    return None if total == 0xFFFF else int(total)


def _zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, col: _Collector, *, skip: bool) -> None:
    path = _clean_name(info.filename)
    if info.filename.endswith("/"):
        col.member(Member(path=path, type=MemberType.DIR, size=0))
        return
    mode = info.external_attr >> 16
    lim = col.limits
    if info.file_size > lim.ratio_min_bytes and info.file_size > lim.max_ratio * max(info.compress_size, 1):
        col.add(_bomb_issue(_clip(path), info.file_size, info.compress_size, lim))
        col.member(Member(path=path, type=MemberType.FILE, size=info.file_size))
        return
    is_link = info.create_system == 3 and stat.S_ISLNK(mode)
    special = info.create_system == 3 and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode))
    if special:
        col.member(Member(path=path, type=MemberType.DEVICE, size=0))
        col.special(path, "device node or pipe")
        return
    if info.flag_bits & 0x1:
        col.add(
            _issue(
                "PV-ARCHIVE-ENCRYPTED",
                Severity.HIGH,
                "Encrypted member",
                "A member is encrypted, so pipvet cannot read it. Installers cannot either; "
                "encryption in a package archive only serves to hide content from review.",
                path=_clip(path),
                evidence=_clip(path),
                floor=Verdict.ERROR,
            )
        )
        col.member(Member(path=path, type=MemberType.FILE, size=info.file_size))
        return
    want = min(lim.head_read, info.file_size) if is_link else col.take(path, info.file_size)
    data = b""
    if want and not skip:
        try:
            with zf.open(info) as member:
                data = member.read(want)
        except Exception as exc:
            col.add(
                _issue(
                    "PV-ARCHIVE-MEMBER-UNREADABLE",
                    Severity.HIGH,
                    "Member could not be read",
                    "A member of the archive could not be decompressed, so it was not vetted.",
                    path=_clip(path),
                    evidence=_clip(f"{type(exc).__name__}: {exc}"),
                    floor=Verdict.ERROR,
                )
            )
    if is_link:
        target = data.decode("utf-8", "replace")
        col.member(Member(path=path, type=MemberType.SYMLINK, size=0, link_target=target))
        col.link(path, _clean_name(target), hard=False)
        return
    col.member(Member(path=path, type=MemberType.FILE, size=info.file_size, data=data))


def _zip_structure(
    fh: IO[bytes], size: int, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], col: _Collector
) -> None:
    """Cross-check local headers, member layout and the end of central directory record."""
    ordered = sorted(infos, key=lambda i: i.header_offset)
    if ordered and ordered[0].header_offset > 0:
        col.add(
            _issue(
                "PV-ARCHIVE-ZIP-PREPENDED-DATA",
                Severity.HIGH,
                "Data before the first ZIP entry",
                "The ZIP archive starts with data that is not part of any member (a polyglot or "
                "self-extracting file). Package archives never need it.",
                evidence=f"{ordered[0].header_offset:,} bytes before the first entry",
                floor=Verdict.SUSPICIOUS,
            )
        )
    previous_end = 0
    for info in ordered:
        fh.seek(info.header_offset)
        raw = fh.read(_LOCAL.size)
        if len(raw) < _LOCAL.size or raw[:4] != _LOCAL_SIG:
            _mismatch(col, info, "no local file header at the offset the central directory gives")
            continue
        _sig, _ver, flag, method, _t, _d, crc, csize, usize, nlen, xlen = _LOCAL.unpack(raw)
        local_name = fh.read(nlen)
        central_name = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437", "replace")
        problems: list[str] = []
        if local_name != central_name:
            problems.append(f"name {local_name.decode('utf-8', 'replace')!r} vs {info.orig_filename!r}")
        if method != info.compress_type:
            problems.append(f"compression {method} vs {info.compress_type}")
        if not flag & 0x08 and usize != _ZIP64_MARK and csize != _ZIP64_MARK:
            if usize != info.file_size or csize != info.compress_size:
                problems.append(
                    f"size {csize}/{usize} vs {info.compress_size}/{info.file_size} (compressed/plain)"
                )
            if crc != info.CRC:
                problems.append("CRC differs")
        if problems:
            _mismatch(col, info, "; ".join(problems))
        start = info.header_offset
        if start < previous_end:
            col.flag_once(
                "overlap",
                _issue(
                    "PV-ARCHIVE-ZIP-OVERLAP",
                    Severity.CRITICAL,
                    "ZIP entries overlap",
                    "Two ZIP entries share the same bytes. Overlapping entries are how "
                    "non-recursive zip bombs and parser-confusion attacks are built.",
                    path=_clip(info.filename),
                    evidence=f"entry at {start:,} starts inside the previous one (ends {previous_end:,})",
                    floor=Verdict.MALICIOUS,
                ),
            )
        elif start - previous_end > 0 and previous_end > 0:
            _gap(fh, col, previous_end, start)
        previous_end = max(previous_end, start + _LOCAL.size + nlen + xlen + info.compress_size)
    start_dir = getattr(zf, "start_dir", None)
    if isinstance(start_dir, int) and previous_end and start_dir > previous_end:
        _gap(fh, col, previous_end, start_dir)
    _eocd(fh, size, start_dir if isinstance(start_dir, int) else None, col)


def _mismatch(col: _Collector, info: zipfile.ZipInfo, detail: str) -> None:
    col.flag_once(
        f"mismatch:{info.header_offset}",
        _issue(
            "PV-ARCHIVE-ZIP-HEADER-MISMATCH",
            Severity.CRITICAL,
            "ZIP local header disagrees with the central directory",
            "The ZIP entry's local header does not match its central-directory record. Tools that "
            "read the local headers (streaming unpackers) and tools that read the central directory "
            "(installers) would see different files: a parser-differential attack.",
            path=_clip(info.filename),
            evidence=_clip(detail),
            floor=Verdict.MALICIOUS,
        ),
    )


def _gap(fh: IO[bytes], col: _Collector, begin: int, end: int) -> None:
    # A data descriptor (up to 24 bytes) may follow the data of an entry.
    if end - begin <= 24:
        return
    fh.seek(begin)
    chunk = fh.read(min(end - begin, 1 * MiB))
    if _LOCAL_SIG in chunk:
        col.flag_once(
            "hidden",
            _issue(
                "PV-ARCHIVE-ZIP-HIDDEN-ENTRY",
                Severity.CRITICAL,
                "ZIP entry missing from the central directory",
                "The archive holds a local file entry that its central directory does not list. "
                "Streaming unpackers see a file that installers and reviewers do not.",
                evidence=f"local header signature between offsets {begin:,} and {end:,}",
                floor=Verdict.MALICIOUS,
            ),
        )
    else:
        col.flag_once(
            "gap",
            _issue(
                "PV-ARCHIVE-ZIP-UNREFERENCED-DATA",
                Severity.MEDIUM,
                "Unreferenced data between ZIP entries",
                "The archive holds bytes that belong to no member. They are invisible to installers "
                "and to review, which makes them a place to hide a payload.",
                evidence=f"{end - begin:,} bytes between offsets {begin:,} and {end:,}",
            ),
        )


def _eocd(fh: IO[bytes], size: int, start_dir: int | None, col: _Collector) -> None:
    tail_len = min(size, _MAX_COMMENT + _EOCD.size + 1 * MiB)
    tail_off = size - tail_len
    fh.seek(tail_off)
    tail = fh.read(tail_len)
    candidates: list[tuple[int, int, int, int]] = []  # offset, comment length, cd size, cd offset
    pos = tail.find(_EOCD_SIG)
    while pos != -1:
        rec = tail[pos : pos + _EOCD.size]
        if len(rec) == _EOCD.size:
            _s, _d1, _d2, _n1, _n2, cd_size, cd_off, clen = _EOCD.unpack(rec)
            absolute = tail_off + pos
            if absolute + _EOCD.size + clen <= size and (
                cd_off == _ZIP64_MARK or cd_off + cd_size <= absolute
            ):
                candidates.append((absolute, clen, cd_size, cd_off))
        pos = tail.find(_EOCD_SIG, pos + 1)
    if not candidates:
        return
    chosen = candidates[-1]  # what installers (and Python's zipfile) use: the last one
    cd_end = (start_dir + chosen[2]) if start_dir is not None and chosen[3] != _ZIP64_MARK else None
    others = [c for c in candidates[:-1] if cd_end is None or c[0] >= cd_end]
    if others:
        col.add(
            _issue(
                "PV-ARCHIVE-ZIP-MULTIPLE-EOCD",
                Severity.CRITICAL,
                "More than one end-of-central-directory record",
                "The ZIP archive ends with several end-of-central-directory records. Parsers that "
                "pick different records see different archives: a parser-differential attack.",
                evidence=f"records at offsets {', '.join(str(c[0]) for c in [*others, chosen])}",
                floor=Verdict.MALICIOUS,
            )
        )
    end = chosen[0] + _EOCD.size + chosen[1]
    if end < size:
        col.add(
            _issue(
                "PV-ARCHIVE-ZIP-TRAILING-DATA",
                Severity.HIGH,
                "Data after the end of the ZIP archive",
                "Bytes follow the end-of-central-directory record. Wheels never end this way; "
                "trailing data hides content from tools that stop at the record and confuses "
                "tools that search for it.",
                evidence=f"{size - end:,} bytes after offset {end:,}",
                floor=Verdict.SUSPICIOUS,
            )
        )


# --------------------------------------------------------------------------- folders


def _walk(root: Path) -> Iterator[tuple[str, os.stat_result, Path]]:
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            full = Path(entry.path)
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            rel = full.relative_to(root).as_posix()
            if stat.S_ISDIR(st.st_mode):
                if entry.name in _VCS_DIRS:
                    continue
                stack.append(full)
            yield rel, st, full


def _read_folder(root: Path, limits: Limits, budget: Budget) -> ArchiveContents:
    col = _Collector(limits, budget, None)
    for count, (rel, st, full) in enumerate(_walk(root), start=1):
        mode = st.st_mode
        if not col.admit(count, st.st_size if stat.S_ISREG(mode) else 0):
            break
        if stat.S_ISDIR(mode):
            col.member(Member(path=rel, type=MemberType.DIR, size=0))
        elif stat.S_ISLNK(mode):
            try:
                target = str(full.readlink())
            except OSError:
                target = ""
            col.member(Member(path=rel, type=MemberType.SYMLINK, size=0, link_target=target))
            col.link(rel, target, hard=False)
        elif stat.S_ISREG(mode):
            want = col.take(rel, st.st_size)
            data = b""
            if want:
                try:
                    fd = os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
                    with os.fdopen(fd, "rb") as fh:
                        data = fh.read(want)
                except OSError as exc:
                    col.add(
                        _issue(
                            "PV-ARCHIVE-MEMBER-UNREADABLE",
                            Severity.HIGH,
                            "File could not be read",
                            "A file of the folder could not be read, so it was not vetted.",
                            path=rel,
                            evidence=_clip(str(exc)),
                            floor=Verdict.ERROR,
                        )
                    )
            col.member(Member(path=rel, type=MemberType.FILE, size=st.st_size, data=data))
        else:
            col.member(Member(path=rel, type=MemberType.DEVICE, size=0))
            col.special(rel, "device node, pipe or socket")
    col.duplicates("folder")
    return col.contents("folder", None, None)


__all__ = [
    "ArchiveContents",
    "Budget",
    "Issue",
    "Member",
    "MemberType",
    "read_archive",
]
