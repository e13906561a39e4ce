"""Installed environments (``--env [PYTHON]``): the distributions an interpreter can see.

Nothing from the environment is imported or run. The target interpreter is started once with
``-I -S``: isolated (no current folder, ``PYTHONPATH`` or user site on its path, so a stray
``json.py`` cannot stand in for the standard library) and without ``site`` processing (``.pth``
files can execute code; ``sitecustomize`` is not imported), and ``-c`` with a short probe that
prints, as JSON, its ``sys.path`` and the site-packages folders ``site`` would add (venv-aware,
read from ``pyvenv.cfg``, plus the user site unless a venv excludes it; ``PYTHONPATH`` folders
are added by pipvet). pipvet then reads ``.pth`` files there as plain text
(only the folder lines; ``import`` lines are ignored) and the ``*.dist-info/METADATA`` and
``*.egg-info/PKG-INFO`` files itself. When a project is installed twice, the copy earlier on
the path (the one Python would import) is reported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from pipvet.errors import UsageError
from pipvet.models import Dependency, NormalizedName, Origin, Resolved, normalize_name
from pipvet.sources import ParsedSource

FORMAT = "environment"
PROBE_TIMEOUT = 60.0

PROBE = r"""
import json, os, site, sys
exe_dir = os.path.dirname(os.path.abspath(sys.executable))
cfg = None
for folder in (exe_dir, os.path.dirname(exe_dir)):
    candidate = os.path.join(folder, "pyvenv.cfg")
    if os.path.isfile(candidate):
        cfg = candidate
        break
system = True
prefixes = []
if cfg:
    system = False
    with open(cfg, encoding="utf-8") as handle:
        for line in handle:
            key, sep, value = line.partition("=")
            if sep and key.strip().lower() == "include-system-site-packages":
                system = value.strip().lower() == "true"
    prefixes.append(os.path.dirname(cfg))
user = []
if system:
    prefixes.append(sys.base_prefix)
    try:
        user.append(site.getusersitepackages())
    except Exception:
        pass
print(json.dumps({
    "executable": sys.executable,
    "version": sys.version.split()[0],
    "sys_path": [p for p in sys.path if p],
    "site": list(site.getsitepackages(prefixes)),
    "user": user,
}))
"""


def default_python() -> str:
    """The active environment's interpreter: ``$VIRTUAL_ENV``'s, else the one running pipvet."""
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:
        for candidate in (Path(venv) / "bin" / "python", Path(venv) / "Scripts" / "python.exe"):
            if candidate.exists():
                return str(candidate)
    return sys.executable


def probe_paths(python: str) -> tuple[str, list[str]]:
    """``(executable, folders)`` the interpreter ``python`` would search for distributions."""
    try:
        done = subprocess.run(
            [python, "-I", "-S", "-c", PROBE],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise UsageError(f"--env: no such interpreter: {python}") from None
    except (OSError, subprocess.SubprocessError) as exc:
        raise UsageError(f"--env: cannot run {python}: {exc}") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise UsageError(f"--env: {python} exited with {done.returncode}: {tail[0]}")
    try:
        data = json.loads(done.stdout.strip().splitlines()[-1])
        executable = str(data["executable"])
        folders = [str(p) for key in ("site", "user", "sys_path") for p in data[key]]
        # -I hides PYTHONPATH from the probe; the interpreter would search it first.
        extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        folders = [*extra, *folders]
    except (ValueError, KeyError, IndexError, TypeError):
        raise UsageError(f"--env: {python} does not look like a Python interpreter") from None
    return executable, folders


def _pth_folders(site_dir: Path) -> list[Path]:
    """Folders named by ``.pth`` files, read as text; ``import`` lines are never executed."""
    found: list[Path] = []
    try:
        pth_files = sorted(p for p in site_dir.iterdir() if p.suffix == ".pth")
    except OSError:
        return found
    for pth in pth_files:
        try:
            lines = pth.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            entry = line.strip()
            if not entry or entry.startswith(("#", "import ", "import\t")):
                continue
            folder = (site_dir / entry).resolve()
            if folder.is_dir():
                found.append(folder)
    return found


def search_folders(folders: Iterable[str]) -> list[Path]:
    """The folders in path order, each followed by what its ``.pth`` files add; no duplicates."""
    ordered: dict[str, Path] = {}
    for text in folders:
        folder = Path(text)
        if not folder.is_dir():
            continue
        for candidate in (folder, *_pth_folders(folder)):
            ordered.setdefault(str(candidate.resolve()), candidate)
    return list(ordered.values())


def _read_headers(metadata: Path) -> dict[str, str]:
    headers: dict[str, str] = {}
    try:
        with metadata.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    break
                key, sep, value = line.partition(":")
                if sep and key in ("Name", "Version") and key not in headers:
                    headers[key] = value.strip()
    except OSError:
        return {}
    return headers


def read_distribution(entry: Path) -> tuple[str, str] | None:
    """``(name, version)`` of one ``.dist-info``/``.egg-info`` entry, or None when unreadable."""
    if entry.name.endswith(".dist-info"):
        headers = _read_headers(entry / "METADATA")
    elif entry.is_dir():
        headers = _read_headers(entry / "PKG-INFO")
    else:
        headers = _read_headers(entry)  # a single-file .egg-info is itself PKG-INFO
    name, version = headers.get("Name"), headers.get("Version")
    if not name or not version:
        stem = entry.name.rsplit(".", 1)[0]
        parts = stem.split("-")
        if len(parts) < 2:
            return None
        name, version = name or parts[0], version or parts[1]
    return name, version


def scan(folders: Sequence[Path], *, label: str) -> ParsedSource:
    """Every distribution found in ``folders``; the first copy of a project wins."""
    found: dict[NormalizedName, Dependency] = {}
    for folder in folders:
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if not entry.name.endswith((".dist-info", ".egg-info")) or entry.name.startswith("~"):
                continue
            info = read_distribution(entry)
            if info is None:
                continue
            name = normalize_name(info[0])
            if name not in found:
                found[name] = Resolved(name=name, version=info[1], origin=Origin(path=str(entry)))
    return ParsedSource(path=label, format=FORMAT, dependencies=tuple(found.values()))


def read_environment(python: str | None = None) -> ParsedSource:
    """The distributions installed for ``python`` (default: :func:`default_python`)."""
    executable, folders = probe_paths(python or default_python())
    return scan(search_folders(folders), label=f"environment of {executable}")
