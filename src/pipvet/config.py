"""Effective settings: flags > ``PIPVET_*`` environment > ``pipvet.toml`` / ``[tool.pipvet]`` > defaults.

Command-line flags and their environment variables are merged by the CLI (click reads the
``PIPVET_*`` variables); this module adds the configuration file layer and the defaults, and
hands one frozen :class:`Settings` to the rest of the program.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from pipvet.errors import UsageError
from pipvet.models import Severity

DEFAULT_OSV_URL = "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"
DEFAULT_MAX_DB_AGE = timedelta(days=7)
DEFAULT_FAIL_ON = Severity.LOW

FORMATS = ("table", "json", "sarif", "cyclonedx", "markdown", "html")


@dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    """Everything a command needs to know about how the user wants it to run."""

    cache_dir: Path
    osv_url: str = DEFAULT_OSV_URL
    index_url: str | None = None
    offline: bool = False
    max_db_age: timedelta = DEFAULT_MAX_DB_AGE
    allow_stale: bool = False
    fail_on: Severity = DEFAULT_FAIL_ON
    quiet: bool = False
    verbose: int = 0
    config_path: Path | None = None
    file_options: Mapping[str, Any] = field(default_factory=dict)
    """The raw ``[tool.pipvet]`` table, for layers (such as the policy) that read more keys."""

    @property
    def db_path(self) -> Path:
        return self.cache_dir / "osv.sqlite3"

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def default_cache_dir() -> Path:
    env = os.environ.get("PIPVET_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    quick = _xdg_cache_dir()
    if quick is not None:
        return quick
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("pipvet", appauthor=False))


def _xdg_cache_dir() -> Path | None:
    """platformdirs' answer on plain Linux, without importing it (it costs ~4 ms of start-up).

    Only the unambiguous cases: an absolute ``$XDG_CACHE_HOME``, or none set and an absolute
    ``$HOME``. Everything else (other systems, Android, a relative value) asks platformdirs.
    """
    if sys.platform != "linux" or "ANDROID_DATA" in os.environ:
        return None
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg:
        return Path(xdg, "pipvet") if Path(xdg).is_absolute() else None
    home = os.environ.get("HOME", "")
    return Path(home, ".cache", "pipvet") if Path(home).is_absolute() else None


def find_config_file(start: Path | None = None) -> Path | None:
    """``pipvet.toml`` or a ``pyproject.toml`` with ``[tool.pipvet]``, in ``start`` or its parents."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pipvet.toml"
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _has_tool_pipvet(pyproject):
            return pyproject
    return None


def _has_tool_pipvet(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return False
    return "[tool.pipvet" in text


def read_config_file(path: Path) -> dict[str, Any]:
    """The pipvet table of a configuration file; errors name the file."""
    if sys.version_info >= (3, 11):  # imported here: most runs have no configuration file
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read configuration: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from exc
    table = data.get("tool", {}).get("pipvet", {}) if path.name == "pyproject.toml" else data
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [tool.pipvet] must be a table")
    return table


def parse_severity(value: str, *, where: str) -> Severity:
    try:
        return Severity(value.lower())
    except ValueError:
        choices = ", ".join(s.value for s in Severity if s is not Severity.INFO)
        raise UsageError(f"{where}: unknown severity {value!r} (choose one of {choices})") from None


def parse_duration(value: object, *, where: str) -> timedelta:
    """``7``, ``"7d"``, ``"12h"``, ``"30m"`` -> a timedelta (a bare number means days)."""
    if isinstance(value, bool):
        raise UsageError(f"{where}: expected a duration such as 7d or 12h, got {value!r}")
    if isinstance(value, int | float):
        return timedelta(days=float(value))
    if isinstance(value, str):
        text = value.strip().lower()
        units = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds", "w": "weeks"}
        try:
            if text and text[-1] in units:
                return timedelta(**{units[text[-1]]: float(text[:-1])})
            return timedelta(days=float(text))
        except ValueError:
            pass
    raise UsageError(f"{where}: expected a duration such as 7d or 12h, got {value!r}")


def load_settings(
    *,
    cache_dir: Path | None = None,
    osv_url: str | None = None,
    index_url: str | None = None,
    offline: bool | None = None,
    max_db_age: str | None = None,
    allow_stale: bool | None = None,
    fail_on: str | None = None,
    quiet: bool = False,
    verbose: int = 0,
    config_file: Path | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Combine already-merged flag/env values with the configuration file and defaults."""
    path = config_file if config_file is not None else find_config_file(cwd)
    table: dict[str, Any] = read_config_file(path) if path is not None else {}
    where = str(path) if path is not None else "configuration"

    def pick(flag: Any, key: str) -> Any:
        return flag if flag is not None else table.get(key)

    raw_fail_on = pick(fail_on, "fail-on")
    raw_age = pick(max_db_age, "max-db-age")
    raw_cache = pick(cache_dir, "cache-dir")
    return Settings(
        cache_dir=Path(raw_cache).expanduser() if raw_cache else default_cache_dir(),
        osv_url=str(pick(osv_url, "osv-url") or DEFAULT_OSV_URL),
        index_url=pick(index_url, "index-url"),
        offline=bool(pick(offline, "offline") or False),
        max_db_age=(
            parse_duration(raw_age, where=f"{where}: max-db-age")
            if raw_age is not None
            else DEFAULT_MAX_DB_AGE
        ),
        allow_stale=bool(pick(allow_stale, "allow-stale") or False),
        fail_on=(
            parse_severity(str(raw_fail_on), where=f"{where}: fail-on")
            if raw_fail_on is not None
            else DEFAULT_FAIL_ON
        ),
        quiet=quiet,
        verbose=verbose,
        config_path=path,
        file_options=table,
    )
