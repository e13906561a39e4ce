"""Reading dependency inputs from disk: format detection, a registry of formats, includes.

The parsers in ``pipvet.sources.<format>`` are pure; this module does the file I/O around them.
A format is registered with one line in :data:`FORMATS`: its name, its module (which exposes
``FORMAT`` and ``parse(text, *, path, target) -> ParsedSource``), the file names it claims, and
the names to look for when the user gives a folder.

When the argument is a folder, the first file found wins, in this order: lockfiles (exact
versions for every dependency) before ``pyproject.toml`` (declared ranges) before requirements
files. Today only requirements files are registered; the others slot in by rank.
"""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pipvet.errors import InputError
from pipvet.sources import ParsedSource
from pipvet.sources.markers import TargetEnvironment

RANK_LOCKFILE = 0
RANK_PROJECT = 1
RANK_REQUIREMENTS = 2


@dataclass(frozen=True, kw_only=True, slots=True)
class FormatSpec:
    name: str
    module: str
    patterns: tuple[str, ...]
    """File-name patterns (fnmatch, case-insensitive) this format claims."""
    folder_files: tuple[str, ...] = ()
    """Names to look for in a folder argument."""
    rank: int = RANK_REQUIREMENTS
    """Preference in a folder: lower wins (lockfile 0, project file 1, requirements 2)."""
    includes: bool = False
    """The parser takes a ``load=`` callable to read included files."""


def _spec(
    name: str,
    module: str,
    *patterns: str,
    folder: str | None = None,
    rank: int = RANK_REQUIREMENTS,
    includes: bool = False,
) -> FormatSpec:
    return FormatSpec(
        name=name,
        module=f"pipvet.sources.{module}",
        patterns=patterns,
        folder_files=(folder,) if folder else (),
        rank=rank,
        includes=includes,
    )


# One line per format: name, module under pipvet.sources, file-name patterns, the file to look for
# in a folder and its rank there. E.g. a lockfile format would add:
#     _spec("uv.lock", "uv_lock", "uv.lock", folder="uv.lock", rank=RANK_LOCKFILE),
# Detection tries every other format first; requirements (any file name, like pip) is the fallback.
_REQUIREMENTS_FILES = ("*.txt", "*.in", "requirements*", "constraints*")
FORMATS: tuple[FormatSpec, ...] = (
    _spec("requirements", "requirements", *_REQUIREMENTS_FILES, folder="requirements.txt", includes=True),
)
FALLBACK_FORMAT = "requirements"


class _Parser(Protocol):
    def __call__(self, text: str, *, path: str, target: TargetEnvironment) -> ParsedSource: ...


def format_named(name: str) -> FormatSpec:
    for spec in FORMATS:
        if spec.name == name:
            return spec
    known = ", ".join(s.name for s in FORMATS)
    raise InputError(f"unknown input format {name!r}", hint=f"choose one of: {known}")


def detect_format(path: Path) -> FormatSpec:
    """The format a file name implies; any other file is read as a requirements file, like pip does."""
    lowered = path.name.lower()
    for spec in FORMATS:
        if spec.name == FALLBACK_FORMAT:
            continue
        if any(fnmatch.fnmatchcase(lowered, p.lower()) for p in spec.patterns):
            return spec
    return format_named(FALLBACK_FORMAT)


def find_in_folder(folder: Path) -> Path:
    """The dependency file to read in ``folder``: lockfile > pyproject.toml > requirements.txt."""
    for spec in sorted(FORMATS, key=lambda s: s.rank):
        for name in spec.folder_files:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    looked = ", ".join(n for s in sorted(FORMATS, key=lambda s: s.rank) for n in s.folder_files)
    raise InputError(
        f"no dependency file found (looked for {looked})",
        path=str(folder),
        hint="pass the file itself, or --env to audit an installed environment",
    )


def read_text(path: Path, *, display: str | None = None) -> str:
    """The file's text (UTF-8, a BOM is dropped); errors name the file."""
    shown = display or str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", path=shown) from None
    except IsADirectoryError:
        raise InputError("is a folder, expected a file", path=shown) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=shown) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError("not UTF-8 text", path=shown, line=line) from None


def file_loader(base_dir: Path | None = None) -> Callable[[str, str, int], tuple[str, str]]:
    """A loader for ``-r``/``-c`` includes: paths relative to the including file."""

    def load(reference: str, including: str, line: int) -> tuple[str, str]:
        if "://" in reference:
            raise InputError(
                f"remote include {reference!r} is not supported",
                path=including,
                line=line,
                hint="download the file and include it by path",
            )
        target = Path(reference).expanduser()
        if not target.is_absolute():
            target = (Path(including).parent if including else (base_dir or Path())) / target
        try:
            text = read_text(target)
        except InputError as exc:
            raise InputError(
                f"cannot read the included file {target}: {exc.message.split(': ', 1)[-1]}",
                path=including,
                line=line,
            ) from None
        return text, str(target)

    return load


def read_source(path: Path, target: TargetEnvironment, *, fmt: str | None = None) -> ParsedSource:
    """Read and parse one input (a file, or a folder holding a known dependency file)."""
    if path.is_dir():
        path = find_in_folder(path)
    spec = format_named(fmt) if fmt else detect_format(path)
    text = read_text(path)
    module = importlib.import_module(spec.module)
    if spec.includes:
        result: ParsedSource = module.parse(text, path=str(path), target=target, load=file_loader())
        return result
    parser: _Parser = module.parse
    return parser(text, path=str(path), target=target)
