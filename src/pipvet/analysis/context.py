"""What a rule gets to look at: one file of a package, and the package around it.

The engine (``analysis/engine.py``) reads an archive through the read-only view
(``analysis/archive.py``), decides for every member *when* it would run (:class:`~pipvet.models.Stage`)
and what kind of file it is, parses Python once, and hands each rule these objects. Rules are
pure: they read a context and return findings; they never touch the file system or network.
"""

from __future__ import annotations

import ast
import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pipvet.models import Finding, Severity, Stage


class FileKind(enum.Enum):
    PYTHON = "python"
    PTH = "pth"
    NATIVE = "native"
    """ELF, PE, Mach-O and other executable or shared-object formats."""
    PICKLE = "pickle"
    MEDIA = "media"
    TEXT = "text"
    BINARY = "binary"
    METADATA = "metadata"
    """PKG-INFO, METADATA, RECORD, WHEEL, entry_points.txt and friends."""


Parser = Callable[[], "tuple[ast.Module | None, str | None]"]
"""Parses a file on demand: ``() -> (tree, parse_error)``."""


class FileContext:
    """One member of a package, as data. Immutable.

    Fields (all keyword arguments): ``path``, ``data``, ``kind``, ``stage``, ``text``, ``tree``,
    ``parse_error``, ``cache``, ``size``, ``parser``, ``skimmed``, ``own``, ``entries``.

    ``tree`` and ``parse_error`` are computed on first access when the engine passes a
    ``parser`` instead of a tree: parsing is most of the cost of an analysis, so a rule should
    check cheap conditions (``kind``, ``stage``, a substring of ``text``) before it touches
    ``tree``. A file is parsed at most once, whichever rule asks first.
    """

    __slots__ = (
        "_parse_error",
        "_parser",
        "_reparse",
        "_tree",
        "cache",
        "data",
        "entries",
        "kind",
        "own",
        "path",
        "size",
        "skimmed",
        "stage",
        "text",
    )

    path: str
    """POSIX path inside the archive, e.g. ``foo-1.0/setup.py``."""
    data: bytes
    """The member's bytes (already bounded by the archive limits)."""
    kind: FileKind
    stage: Stage
    text: str | None
    """Decoded source for text-like files (UTF-8 with replacement), else ``None``."""
    cache: dict[str, Any]
    """Per-file memo for facts several rules share (filled lazily by rules)."""
    size: int | None
    """The member's declared size; ``len(data)`` is smaller when the engine read only a bounded
    part of it (see ``analysis/limits.py``)."""
    skimmed: bool
    """A Python file that neither installing nor importing the package runs (a test suite, docs,
    examples of an sdist): it gets the text-level rules only and is never parsed, so ``tree``
    is ``None`` without a ``parse_error``."""
    own: frozenset[str]
    """The project's own package folder names (:func:`pipvet.analysis.where.own_names`): a
    project called ``demo`` ships its code in ``demo/``, which is no demo folder."""
    entries: frozenset[str]
    """Names of this module's functions and classes that other modules of the package call
    while they load (:func:`pipvet.analysis.where.called_on_load`): their code runs then too."""
    _tree: ast.Module | None
    _parse_error: str | None
    _parser: Parser | None
    _reparse: Parser | None

    def __init__(
        self,
        *,
        path: str,
        data: bytes,
        kind: FileKind,
        stage: Stage,
        text: str | None = None,
        tree: ast.Module | None = None,
        parse_error: str | None = None,
        cache: dict[str, Any] | None = None,
        size: int | None = None,
        parser: Parser | None = None,
        skimmed: bool = False,
        own: frozenset[str] = frozenset(),
        entries: frozenset[str] = frozenset(),
    ) -> None:
        setter = object.__setattr__
        setter(self, "path", path)
        setter(self, "data", data)
        setter(self, "kind", kind)
        setter(self, "stage", stage)
        setter(self, "text", text)
        setter(self, "_tree", tree)
        setter(self, "_parse_error", parse_error)
        setter(self, "cache", {} if cache is None else cache)
        setter(self, "size", size)
        setter(self, "skimmed", skimmed)
        setter(self, "own", own)
        setter(self, "entries", entries)
        setter(self, "_parser", parser if tree is None and parse_error is None else None)
        setter(self, "_reparse", self._parser)

    def _parse(self) -> None:
        parser = self._parser
        if parser is not None:
            tree, error = parser()
            object.__setattr__(self, "_tree", tree)
            object.__setattr__(self, "_parse_error", error)
            object.__setattr__(self, "_parser", None)

    @property
    def tree(self) -> ast.Module | None:
        """The parsed module for Python files that parse, else ``None``."""
        self._parse()
        return self._tree

    @property
    def parse_error(self) -> str | None:
        """Why a Python file did not parse; rules then fall back to text-level checks."""
        self._parse()
        return self._parse_error

    @property
    def parsed(self) -> bool:
        """Whether a parse was attempted (or a tree/error given) - it never triggers one."""
        return self._parser is None and (self._tree is not None or self._parse_error is not None)

    def release(self) -> None:
        """Forget the syntax tree and the rules' memo once every rule has seen the file, so that
        an archive of many large modules is held one tree at a time, not all at once. A tree
        the file parsed on demand is parsed again if asked for; a failed parse stays failed."""
        self.cache.clear()
        if self._tree is not None and self._reparse is not None:
            object.__setattr__(self, "_tree", None)
            object.__setattr__(self, "_parser", self._reparse)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"FileContext is immutable (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"FileContext is immutable (cannot delete {name!r})")

    def __repr__(self) -> str:
        return f"FileContext(path={self.path!r}, kind={self.kind.value}, stage={self.stage.value})"


# eq=False: never compared, so no __eq__/__hash__ to generate at import
@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class PackageContext:
    """Facts about the whole archive that single-file rules need."""

    filename: str
    """The archive's file name (or folder name)."""
    name: str | None = None
    version: str | None = None
    is_wheel: bool = False
    pure_python: bool = True
    """True when nothing says the package ships compiled code (wheel tag ``none-any``,
    no C sources or extension build configuration in an sdist)."""
    members: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    """Core metadata fields (lower-cased keys) from PKG-INFO / METADATA when present."""
    prefix: str = ""
    """The sdist's leading folder (``name-1.0/``) stripped from member paths, or ``""``."""
    top_level: frozenset[str] = frozenset()
    """Import names an sdist's ``*.egg-info/top_level.txt`` lists (what setuptools installs);
    empty when the sdist has none."""
    build_backend: str = ""
    """The sdist's ``[build-system] build-backend`` (``""`` when it declares none)."""
    sources: tuple[tuple[str, str], ...] = ()
    """Path and text of every file that can load a module by its name: Python sources,
    ``.pth`` files, and the metadata and configuration that declare entry points."""


class Rule(Protocol):
    """A detection rule: identity and explanation as data, detection as a pure function."""

    # Read-only, so frozen dataclasses satisfy the protocol.
    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def rationale(self) -> str: ...

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]: ...
