"""Package facts from an archive's own files: core metadata, name/version, pure Python or not.

Pure functions over member paths and bytes; nothing here trusts the archive beyond reading text.
"""

from __future__ import annotations

import posixpath
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipvet.analysis.classify import COMPILED_SOURCE_EXT, Layout, extension

_ARCHIVE_SUFFIXES = (
    ".tar.gz",
    ".tgz",
    ".tar.bz2",
    ".tbz2",
    ".tar.xz",
    ".txz",
    ".tar",
    ".zip",
    ".whl",
    ".egg",
)
_MAX_METADATA_CHARS = 256 * 1024
#: Build configuration that compiles extension modules.
_COMPILED_BUILD_MARKERS = (
    "ext_modules",
    "Extension(",
    "cffi_modules",
    "setuptools_rust",
    "setuptools-rust",
    "maturin",
    "scikit-build",
    "scikit_build",
    "mesonpy",
    "meson-python",
    "pybind11",
    "cythonize",
)


def parse_core_metadata(text: str) -> dict[str, str]:
    """RFC 822-style headers of PKG-INFO / METADATA (the body is ignored); keys lower-cased.

    Repeated fields are joined with newlines.
    """
    fields: dict[str, str] = {}
    key: str | None = None
    for line in text[:_MAX_METADATA_CHARS].splitlines():
        if not line.strip():
            break
        if line[0] in " \t" and key is not None:
            fields[key] += "\n" + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep:
            continue
        key = name.strip().lower()
        value = value.strip()
        fields[key] = f"{fields[key]}\n{value}" if key in fields else value
    return fields


def split_filename(filename: str) -> tuple[str | None, str | None]:
    """``foo_bar-1.0-py3-none-any.whl`` / ``foo-bar-1.0.tar.gz`` -> (name, version)."""
    base = filename.rstrip("/").rsplit("/", 1)[-1]
    lower = base.lower()
    if lower.endswith((".whl", ".egg")):
        parts = base[: -len(".whl")].split("-")
        if len(parts) >= 2:
            return parts[0], parts[1]
        return None, None
    for suffix in _ARCHIVE_SUFFIXES:
        if lower.endswith(suffix):
            base = base[: -len(suffix)]
            break
    match = re.match(r"^(?P<name>.+?)-(?P<version>\d[^-]*)$", base)
    if match:
        return match.group("name"), match.group("version")
    return (base or None), None


def wheel_tags(wheel_file: str | None, filename: str) -> list[str]:
    tags: list[str] = []
    if wheel_file:
        tags = [line.split(":", 1)[1].strip() for line in wheel_file.splitlines() if line.startswith("Tag:")]
    if not tags and filename.lower().endswith(".whl"):
        parts = filename[: -len(".whl")].split("-")
        if len(parts) >= 5:
            for py in parts[-3].split("."):
                for abi in parts[-2].split("."):
                    for plat in parts[-1].split("."):
                        tags.append(f"{py}-{abi}-{plat}")
    return tags


def read_pyproject(text: str | None) -> Mapping[str, Any]:
    if not text:
        return {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        return {}
    return data


def build_backend(pyproject: Mapping[str, Any]) -> tuple[str | None, list[str]]:
    system = pyproject.get("build-system")
    if not isinstance(system, dict):
        return None, []
    backend = system.get("build-backend")
    paths = system.get("backend-path")
    if not isinstance(backend, str) or not isinstance(paths, list):
        return (backend if isinstance(backend, str) else None), []
    return backend, [p for p in paths if isinstance(p, str)]


def build_hooks(pyproject: Mapping[str, Any]) -> list[str]:
    """Python files of the project that its build backend runs while building (so while pip
    installs the sdist), named relative to the project root: hatchling's custom build and
    metadata hooks (``hatch_build.py`` unless a ``path`` says otherwise), poetry's build script
    and pdm-backend's ``pdm_build.py``."""
    tool = _table(pyproject, "tool")
    found: list[str] = []
    hatch = _table(tool, "hatch")
    build = _table(hatch, "build")
    targets = [t for t in _table(build, "targets").values() if isinstance(t, dict)]
    hook_tables = [_table(build, "hooks", "custom"), _table(hatch, "metadata", "hooks", "custom")]
    hook_tables += [_table(t, "hooks", "custom") for t in targets]
    for hook in hook_tables:
        if hook is not _EMPTY:
            path = hook.get("path", "hatch_build.py")
            found.append(path if isinstance(path, str) else "hatch_build.py")
    poetry_build = _table(tool, "poetry").get("build")
    if isinstance(poetry_build, str):
        found.append(poetry_build)
    elif isinstance(poetry_build, dict) and isinstance(poetry_build.get("script"), str):
        found.append(poetry_build["script"])
    backend = _table(pyproject, "build-system").get("build-backend")
    if isinstance(backend, str) and backend.startswith("pdm.backend"):
        custom = _table(tool, "pdm", "build").get("custom-hook")
        found.append(custom if isinstance(custom, str) else "pdm_build.py")
    commands = _table(tool, "setuptools", "cmdclass")
    found += command_class_files(v for v in commands.values() if isinstance(v, str))
    return [posixpath.normpath(p.replace("\\", "/")).lstrip("/") for p in found if p]


def command_class_files(targets: Iterable[str]) -> list[str]:
    """The files that define setuptools command classes named by dotted path (``[tool.setuptools
    .cmdclass] build_py = "pkg.hooks.BuildPy"``, or setup.cfg's ``cmdclass = install =
    pkg.hooks.Install``): ``pkg/hooks.py``, also under ``src/``. setuptools imports them and
    runs the commands while it builds."""
    out: list[str] = []
    for target in targets:
        module = target.strip().rpartition(".")[0]
        if not module or not all(part.isidentifier() for part in module.split(".")):
            continue
        path = module.replace(".", "/")
        out += [f"{path}.py", f"{path}/__init__.py", f"src/{path}.py", f"src/{path}/__init__.py"]
    return out


def setup_cfg_hooks(text: str | None) -> list[str]:
    """The command-class files setup.cfg's ``[options] cmdclass`` names (see
    :func:`command_class_files`); read with configparser, as data."""
    if not text or "cmdclass" not in text:
        return []
    import configparser

    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
        value = parser.get("options", "cmdclass", fallback="")
    except (configparser.Error, ValueError):
        return []
    targets = [line.partition("=")[2] for line in value.splitlines() if "=" in line]
    return command_class_files(targets)


_EMPTY: Mapping[str, Any] = {}


def _table(data: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    """``data[k1][k2]...`` when each is a table, else an empty one."""
    for key in keys:
        value = data.get(key)
        if not isinstance(value, dict):
            return _EMPTY
        data = value
    return data


# eq=False: never compared, so no __eq__/__hash__ to generate at import
@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class PackageFacts:
    """A package's name, version and purity, from its metadata or else its file name."""

    name: str | None
    version: str | None
    pure_python: bool
    metadata: Mapping[str, str]


def package_facts(
    *,
    filename: str,
    layout: Layout,
    paths: Sequence[str],
    texts: Mapping[str, str],
    pyproject: Mapping[str, Any],
) -> PackageFacts:
    """Name, version and purity from metadata, falling back to the file name.

    ``texts`` maps *relative* member paths to decoded text for the metadata-ish files.
    """
    wheel_file: str | None = None
    candidates: dict[int, str] = {}
    for rel, text in texts.items():
        top, _, rest = rel.partition("/")
        if top.endswith(".dist-info") and rest == "METADATA":
            candidates.setdefault(0, text)
        elif top.endswith(".dist-info") and rest == "WHEEL":
            wheel_file = text
        elif rel == "PKG-INFO":
            candidates.setdefault(1, text)
        elif rel == "EGG-INFO/PKG-INFO":
            candidates.setdefault(2, text)
        elif rel.endswith("/PKG-INFO") and rel.rsplit("/", 2)[-2].endswith(".egg-info"):
            candidates.setdefault(3, text)
    meta_text = candidates[min(candidates)] if candidates else None
    metadata = parse_core_metadata(meta_text) if meta_text else {}
    file_name, file_version = split_filename(filename)
    name = metadata.get("name") or file_name
    version = metadata.get("version") or file_version
    if layout.is_wheel:
        tags = wheel_tags(wheel_file, filename)
        pure = bool(tags) and all(t.endswith("-none-any") for t in tags)
    else:
        pure = _source_is_pure(layout, paths, texts, pyproject)
    return PackageFacts(name=name, version=version, pure_python=pure, metadata=metadata)


def top_level_names(texts: Mapping[str, str]) -> frozenset[str]:
    """Import names in an sdist's ``*.egg-info/top_level.txt`` (the shallowest one), which
    setuptools writes from the packages and modules it installs; empty when there is none."""
    found = sorted(
        (rel.count("/"), rel)
        for rel in texts
        if rel.endswith("/top_level.txt") and rel.rsplit("/", 2)[-2].endswith(".egg-info")
    )
    if not found:
        return frozenset()
    lines = texts[found[0][1]].splitlines()
    return frozenset(
        n for line in lines if (n := line.strip().replace("\\", "/").split("/")[0].split(".")[0])
    )


def _source_is_pure(
    layout: Layout, paths: Sequence[str], texts: Mapping[str, str], pyproject: Mapping[str, Any]
) -> bool:
    for path in paths:
        if extension(path) in COMPILED_SOURCE_EXT:
            return False
    setup = texts.get("setup.py", "") + texts.get("setup.cfg", "")
    if any(marker in setup for marker in _COMPILED_BUILD_MARKERS):
        return False
    backend, _ = build_backend(pyproject)
    requires = pyproject.get("build-system", {}).get("requires", []) if isinstance(pyproject, dict) else []
    build_text = " ".join([backend or "", *(r for r in requires if isinstance(r, str))])
    tool = pyproject.get("tool", {})
    if isinstance(tool, dict) and any(k in tool for k in ("maturin", "scikit-build", "cibuildwheel")):
        return False
    return not any(marker in build_text for marker in _COMPILED_BUILD_MARKERS)
