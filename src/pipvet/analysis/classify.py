"""What a member is (:class:`FileKind`) and when it would run (:class:`Stage`). Pure functions.

Stages follow where code runs when a package is installed and used:

* ``INSTALL``: the sdist's ``setup.py`` and in-tree build backends (``[build-system]
  backend-path`` in ``pyproject.toml``): installers run them to build the package;
* ``STARTUP``: ``.pth`` files and ``sitecustomize``/``usercustomize`` modules at the top of the
  import root (the wheel root, ``*.data/purelib|platlib/``, an sdist's root or ``src/``): the
  interpreter runs them at every start;
* ``IMPORT``: every package ``__init__.py`` and top-level modules: they run on ``import``;
* ``RUNTIME``: other Python code (runs when called);
* ``DATA``: everything else; ``METADATA``: core metadata and install records.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

from pipvet.analysis.context import FileKind
from pipvet.analysis.limits import Limits
from pipvet.models import Stage

PYTHON_EXT = frozenset({".py", ".pyw"})
SCRIPT_EXT = frozenset(
    {
        ".sh", ".bash", ".zsh", ".ksh", ".csh", ".fish", ".bat", ".cmd", ".ps1", ".psm1", ".vbs",
        ".vbe", ".wsf", ".js", ".mjs", ".cjs", ".jse", ".ts", ".rb", ".pl", ".php", ".lua", ".hta",
        ".applescript", ".command",
    }
)  # fmt: skip
CONFIG_NAMES = frozenset({"setup.cfg", "pyproject.toml", "MANIFEST.in", "tox.ini", "requirements.txt"})
METADATA_NAMES = frozenset(
    {
        "PKG-INFO", "METADATA", "RECORD", "WHEEL", "INSTALLER", "REQUESTED", "entry_points.txt",
        "top_level.txt", "SOURCES.txt", "requires.txt", "dependency_links.txt",
        "namespace_packages.txt", "not-zip-safe", "zip-safe", "native_libs.txt",
        "installed-files.txt", "direct_url.json", "eager_resources.txt", "RECORD.jws",
        "RECORD.p7s", "api_tests.txt",
    }
)  # fmt: skip
METADATA_DIR_SUFFIXES = (".dist-info", ".egg-info")
DATA_TEXT_EXT = frozenset(
    {
        ".txt", ".md", ".rst", ".json", ".yaml", ".yml", ".csv", ".tsv", ".xml", ".html", ".htm",
        ".css", ".svg", ".c", ".h", ".cc", ".cpp", ".hpp", ".cxx", ".hxx", ".pyx", ".pxd", ".pxi",
        ".pyi", ".f", ".f90", ".rs", ".go", ".java", ".in", ".cfg", ".ini", ".toml", ".tex",
        ".po", ".pot", ".typed", ".j2", ".jinja", ".tmpl", ".mako", ".sql", ".proto", ".cu",
        ".m", ".mm", ".swift", ".cmake", ".am", ".ac", ".rc", ".def", ".map", ".lock", ".gitignore",
    }
)  # fmt: skip
MEDIA_EXT = frozenset(
    {
        ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".tif", ".tiff", ".wav", ".mp3",
        ".ogg", ".flac", ".mp4", ".avi", ".mov", ".webm", ".aiff", ".m4a",
    }
)  # fmt: skip
PICKLE_EXT = frozenset({".pkl", ".pickle", ".pt", ".ckpt", ".joblib", ".dill", ".sav"})
NATIVE_EXT = frozenset({".so", ".pyd", ".dll", ".exe", ".dylib", ".elf", ".scr", ".com", ".sys"})
BYTECODE_EXT = frozenset({".pyc", ".pyo"})
#: Source files that show an sdist builds compiled code.
COMPILED_SOURCE_EXT = frozenset({".c", ".cc", ".cpp", ".cxx", ".pyx", ".f", ".f90", ".rs", ".go", ".cu"})
#: Root-level helpers of a source tree that are not part of the installed package.
DEV_TOOLING = frozenset(
    {"conftest.py", "noxfile.py", "tasks.py", "fabfile.py", "dodo.py", "pavement.py", "runtests.py"}
)
STARTUP_MODULES = frozenset({"sitecustomize.py", "usercustomize.py"})

_NATIVE_MAGIC = (
    b"\x7fELF",
    b"MZ",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
)
_MEDIA_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"ID3", b"OggS", b"fLaC", b"BM")


def extension(path: str) -> str:
    base = posixpath.basename(path)
    dot = base.rfind(".")
    return base[dot:].lower() if dot > 0 else ""


def read_budget(path: str, size: int, limits: Limits) -> int:
    """Bytes of a member the rules need to see: all of code, a head of everything else."""
    ext = extension(path)
    if _is_code(path, ext):
        return limits.max_code_read
    if ext in MEDIA_EXT or ext in PICKLE_EXT or ext in BYTECODE_EXT or ext == "":
        return limits.max_blob_read
    if ext in DATA_TEXT_EXT:
        return limits.max_data_text_read
    if ext in NATIVE_EXT:
        return limits.head_read
    # Unknown extensions may hide scripts or payloads; small ones are kept whole.
    return limits.max_data_text_read


def _is_code(path: str, ext: str) -> bool:
    base = posixpath.basename(path)
    return (
        ext in PYTHON_EXT
        or ext == ".pth"
        or ext in SCRIPT_EXT
        or base in CONFIG_NAMES
        or base in METADATA_NAMES
    )


class ReadBudget:
    """:func:`read_budget` for one archive, with members that are not code capped together at
    ``limits.max_other_read`` (past it they keep their head), so that data read first cannot
    use up the memory the archive's code needs (``max_total_read``)."""

    __slots__ = ("_limits", "other")

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self.other = 0
        """Bytes granted so far to members that are not code."""

    def __call__(self, path: str, size: int) -> int:
        limits = self._limits
        if _is_code(path, extension(path)):
            return limits.max_code_read
        want = min(read_budget(path, size, limits), size)
        left = limits.max_other_read - self.other
        if want > left:
            want = min(want, max(left, limits.head_read))
        self.other += want
        return want


def kind_of(path: str, data: bytes) -> FileKind:
    base = posixpath.basename(path)
    ext = extension(path)
    parent = posixpath.basename(posixpath.dirname(path))
    if parent.endswith(METADATA_DIR_SUFFIXES) or parent == "EGG-INFO":
        return FileKind.METADATA
    if base == "PKG-INFO":
        return FileKind.METADATA
    head = data[:16]
    if head.startswith(_NATIVE_MAGIC) or (head.startswith(b"\xca\xfe\xba\xbe") and ext != ".class"):
        return FileKind.NATIVE
    if ext in PYTHON_EXT:
        return FileKind.PYTHON
    if ext == ".pth":
        if head.startswith(b"PK\x03\x04") or _is_pickle(head):
            return FileKind.PICKLE
        return FileKind.PTH
    if ext in PICKLE_EXT or (ext in {".bin", ".data", ".dat", ""} and _is_pickle(head)):
        return FileKind.PICKLE
    if ext in MEDIA_EXT or head.startswith(_MEDIA_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WAVE"):
        return FileKind.MEDIA
    if ext in NATIVE_EXT:
        return FileKind.NATIVE
    if ext in BYTECODE_EXT:
        return FileKind.BINARY
    if _is_text(data):
        if ext == "" and data.startswith(b"#!") and b"python" in data[:128]:
            return FileKind.PYTHON
        return FileKind.TEXT
    return FileKind.BINARY


def _is_pickle(head: bytes) -> bool:
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def _is_text(data: bytes) -> bool:
    sample = data[:4096]
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sample's end is still text.
        return exc.start >= len(sample) - 3
    return True


# eq=False: never compared, so no __eq__/__hash__ to generate at import
@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class Layout:
    """Where the import roots of an archive are, relative to its member paths."""

    is_wheel: bool
    prefix: str
    """Common leading folder stripped from member paths (``foo-1.0/`` in an sdist), or ``""``."""
    import_roots: tuple[str, ...]
    """Folders (relative, ending in ``/`` or empty) whose top level is importable."""
    install_files: frozenset[str] = frozenset()
    """Relative paths that run at install time besides ``setup.py`` (in-tree build backends)."""
    install_dirs: tuple[str, ...] = ()

    def relative(self, path: str) -> str:
        return path[len(self.prefix) :] if self.prefix and path.startswith(self.prefix) else path


def detect_layout(paths: Iterable[str]) -> Layout:
    """Wheel/egg (import root is the archive root) or source tree (one leading folder)."""
    paths = [p for p in paths if p]
    tops = {p.split("/", 1)[0] for p in paths}
    is_wheel = any(t.endswith(".dist-info") for t in tops) and any(
        p.count("/") == 1 and p.endswith(".dist-info/WHEEL") for p in paths
    )
    is_egg = "EGG-INFO" in tops
    if is_wheel or is_egg:
        roots = [""]
        for t in sorted(tops):
            if t.endswith(".data"):
                roots.extend((f"{t}/purelib/", f"{t}/platlib/"))
        return Layout(is_wheel=is_wheel, prefix="", import_roots=tuple(roots))
    prefix = ""
    if len(tops) == 1 and all("/" in p for p in paths):
        prefix = next(iter(tops)) + "/"
    return Layout(is_wheel=False, prefix=prefix, import_roots=("", "src/", "lib/"))


def with_backend(layout: Layout, backend: str | None, backend_path: Iterable[str]) -> Layout:
    """Mark an in-tree build backend as install-time code.

    The backend module (and the ``__init__.py`` of each package on its dotted path) always;
    every module under a backend-path folder too, unless that folder is the project root
    (``backend-path = ["."]``, as in setuptools' own sdist), where the rest of the tree keeps
    its usual stage.
    """
    if not backend:
        return layout
    parts = backend.split(":", 1)[0].strip().split(".")
    files: set[str] = set()
    dirs: list[str] = []
    for raw in backend_path:
        d = posixpath.normpath(str(raw).replace("\\", "/")).strip("/")
        base = "" if d in ("", ".") else d + "/"
        module = "/".join(parts)
        files.update({f"{base}{module}.py", f"{base}{module}/__init__.py"})
        files.update(f"{base}{'/'.join(parts[:i])}/__init__.py" for i in range(1, len(parts)))
        if base:
            dirs.append(base)
    return Layout(
        is_wheel=layout.is_wheel,
        prefix=layout.prefix,
        import_roots=layout.import_roots,
        install_files=frozenset(files),
        install_dirs=tuple(dirs),
    )


def stage_of(path: str, kind: FileKind, layout: Layout) -> Stage:
    if kind is FileKind.METADATA:
        return Stage.METADATA
    if kind not in (FileKind.PYTHON, FileKind.PTH):
        return Stage.DATA
    rel = layout.relative(path)
    base = posixpath.basename(rel)
    if kind is FileKind.PYTHON and not layout.is_wheel:
        if rel == "setup.py" or rel in layout.install_files:
            return Stage.INSTALL
        if any(rel.startswith(d) for d in layout.install_dirs):
            return Stage.INSTALL
    top_level = any(rel.startswith(r) and "/" not in rel[len(r) :] for r in layout.import_roots)
    if kind is FileKind.PTH:
        return Stage.STARTUP if top_level else Stage.DATA
    if ".data/scripts/" in rel:
        return Stage.RUNTIME
    if top_level:
        if base in STARTUP_MODULES:
            return Stage.STARTUP
        if base in DEV_TOOLING or base == "__main__.py":
            return Stage.RUNTIME
        return Stage.IMPORT
    if base == "__init__.py":
        return Stage.IMPORT
    return Stage.RUNTIME
