"""Where the package index is, and how to log in to it, as the user's installer sees it.

Order (the first that names a primary index wins; extra indexes are collected from the layer
that won and, for ``installer=None``, from both installers):

1. ``--index-url`` / ``PIPVET_INDEX_URL`` / ``index-url`` in pipvet's configuration;
2. pip: ``PIP_INDEX_URL`` and ``PIP_EXTRA_INDEX_URL``, then the configuration files in pip's own
   order (global, user, site, then ``PIP_CONFIG_FILE``; later files override earlier ones, the
   ``[install]`` section overrides ``[global]``);
3. uv: ``UV_DEFAULT_INDEX`` / ``UV_INDEX_URL``, ``UV_INDEX`` / ``UV_EXTRA_INDEX_URL``, the
   project's ``pyproject.toml`` (``[tool.uv]``, ``[[tool.uv.index]]``) and ``uv.toml`` (project,
   user, system, or ``UV_CONFIG_FILE``);
4. pip's built-in default, read at run time from pip itself (never written in pipvet's code).

Credentials come from the URL's user-info, then ``~/.netrc`` (or ``NETRC``), then ``keyring`` if
it can be imported. They live in :class:`Index` fields that are excluded from ``repr`` and are
never printed: :attr:`Index.display` is the redacted address.
"""

from __future__ import annotations

import configparser
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from pipvet.errors import UsageError
from pipvet.net import redact_url

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


@dataclass(frozen=True, kw_only=True, slots=True)
class Index:
    """One index address, with credentials kept apart from the URL."""

    url: str
    """The address without user-info; safe to store as a cache key (still print ``display``)."""
    source: str
    """Where the address came from, e.g. ``PIP_INDEX_URL`` or ``pip.conf: /etc/pip.conf``."""
    name: str | None = None
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @property
    def display(self) -> str:
        return redact_url(self.url)

    @property
    def is_file(self) -> bool:
        return self.url.startswith("file:")

    @property
    def auth(self) -> tuple[str, str] | None:
        if self.username is None and self.password is None:
            return None
        return (self.username or "", self.password or "")


@dataclass(frozen=True, kw_only=True, slots=True)
class IndexConfig:
    primary: Index
    extras: tuple[Index, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[Index, ...]:
        return (self.primary, *self.extras)

    @property
    def remote_count(self) -> int:
        """Indexes reached over the network (``file://`` folders are the user's own)."""
        return sum(1 for i in self.all if not i.is_file)


def make_index(
    raw_url: str, *, source: str, name: str | None = None, netrc_file: Path | None = None
) -> Index:
    """Split user-info off ``raw_url`` and fill missing credentials from netrc / keyring."""
    url = raw_url.strip()
    if url.startswith("/") or (len(url) > 2 and url[1] == ":" and url[2] in "\\/"):
        url = Path(url).resolve().as_uri()
    parts = urlsplit(url)
    username = password = None
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        user, sep, pw = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(pw) if sep else None
        url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    if not url.endswith("/") and parts.scheme in ("http", "https", "file"):
        url += "/"
    host = (parts.hostname or "").lower()
    if parts.scheme in ("http", "https") and host and password is None:
        found = _netrc_credentials(host, netrc_file)
        if found is None:
            found = _keyring_credentials(url, host, username)
        if found is not None:
            username = username or found[0]
            password = found[1]
    return Index(url=url, source=source, name=name, username=username, password=password)


def _netrc_credentials(host: str, netrc_file: Path | None) -> tuple[str, str] | None:
    import netrc

    path = netrc_file or Path(os.environ.get("NETRC") or Path.home() / ".netrc")
    if not path.is_file():
        return None
    try:
        auth = netrc.netrc(str(path)).authenticators(host)
    except (OSError, netrc.NetrcParseError):
        return None
    if not auth:
        return None
    login, _, password = auth
    return (login or "", password or "")


def _keyring_credentials(url: str, host: str, username: str | None) -> tuple[str, str] | None:
    try:
        import keyring  # type: ignore[import-not-found, unused-ignore]
    except Exception:  # keyring is optional; any failure to import means "not available"
        return None
    try:
        for service in (url, host):
            if username:
                secret = keyring.get_password(service, username)
                if secret:
                    return (username, str(secret))
            cred = keyring.get_credential(service, None)
            if cred is not None and cred.password:
                return (str(cred.username or ""), str(cred.password))
    except Exception:  # a broken keyring backend must not break vetting
        return None
    return None


# ---------------------------------------------------------------- pip


def pip_config_files(env: Mapping[str, str]) -> list[tuple[str, Path]]:
    """pip's configuration files, lowest priority first, as ``(kind, path)``."""
    files: list[tuple[str, Path]] = []
    config_file = env.get("PIP_CONFIG_FILE")
    if config_file == os.devnull:
        return []
    home = Path(env.get("HOME") or Path.home())
    if sys.platform == "win32":  # pragma: no cover - not exercised on the CI platform
        program_data = Path(env.get("ALLUSERSPROFILE", "C:/ProgramData"))
        files.append(("global", program_data / "pip" / "pip.ini"))
        appdata = Path(env.get("APPDATA", home / "AppData" / "Roaming"))
        files.append(("user", home / "pip" / "pip.ini"))
        files.append(("user", appdata / "pip" / "pip.ini"))
        name = "pip.ini"
    else:
        xdg_dirs = env.get("XDG_CONFIG_DIRS") or "/etc/xdg"
        for folder in reversed(xdg_dirs.split(os.pathsep)):
            if folder:
                files.append(("global", Path(folder) / "pip" / "pip.conf"))
        files.append(("global", Path("/etc/pip.conf")))
        files.append(("user", home / ".pip" / "pip.conf"))
        if sys.platform == "darwin":  # pragma: no cover - not exercised on the CI platform
            files.append(("user", home / "Library" / "Application Support" / "pip" / "pip.conf"))
        xdg_home = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
        files.append(("user", xdg_home / "pip" / "pip.conf"))
        name = "pip.conf"
    files.append(("site", Path(sys.prefix) / name))
    if config_file:
        files.append(("env", Path(config_file).expanduser()))
    return files


@dataclass(frozen=True, kw_only=True, slots=True)
class _Found:
    index_url: tuple[str, str] | None = None
    """``(url, source)``."""
    extras: tuple[tuple[str, str], ...] = ()
    no_index: bool = False


def _read_pip(env: Mapping[str, str]) -> _Found:
    index_url: tuple[str, str] | None = None
    extras: tuple[tuple[str, str], ...] = ()
    no_index = False
    for _, path in pip_config_files(env):
        if not path.is_file():
            continue
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: cannot read pip configuration: {exc}") from exc
        for section in ("global", "install"):
            if not parser.has_section(section):
                continue
            where = f"pip.conf: {path} [{section}]"
            for key in ("index-url", "index_url"):
                if parser.has_option(section, key):
                    index_url = (parser.get(section, key).strip(), where)
            for key in ("extra-index-url", "extra_index_url"):
                if parser.has_option(section, key):
                    extras = tuple((u, where) for u in parser.get(section, key).split())
            for key in ("no-index", "no_index"):
                if parser.has_option(section, key):
                    no_index = _truthy(parser.get(section, key))
    if env.get("PIP_INDEX_URL"):
        index_url = (env["PIP_INDEX_URL"].strip(), "PIP_INDEX_URL")
    if env.get("PIP_EXTRA_INDEX_URL"):
        extras = tuple((u, "PIP_EXTRA_INDEX_URL") for u in env["PIP_EXTRA_INDEX_URL"].split())
    if env.get("PIP_NO_INDEX"):
        no_index = _truthy(env["PIP_NO_INDEX"])
    return _Found(index_url=index_url, extras=extras, no_index=no_index)


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


# ---------------------------------------------------------------- uv


def uv_config_files(env: Mapping[str, str], cwd: Path) -> list[Path]:
    """uv's configuration files that apply, lowest priority first."""
    if env.get("UV_NO_CONFIG"):
        return []
    if env.get("UV_CONFIG_FILE"):
        return [Path(env["UV_CONFIG_FILE"]).expanduser()]
    home = Path(env.get("HOME") or Path.home())
    files: list[Path] = []
    for entry in reversed((env.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(os.pathsep)):
        if entry:
            files.append(Path(entry) / "uv" / "uv.toml")
    files.append(Path("/etc/uv/uv.toml"))
    files.append(Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "uv" / "uv.toml")
    here = cwd.resolve()
    for folder in (here, *here.parents):
        if (folder / "uv.toml").is_file():
            files.append(folder / "uv.toml")
            break
        if (folder / "pyproject.toml").is_file():
            files.append(folder / "pyproject.toml")
            break
    return files


def _uv_table(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from exc
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("uv", {})
        return table if isinstance(table, dict) else {}
    return dict(data)


def _uv_index_entry(text: str) -> tuple[str | None, str]:
    """``name=url`` or ``url`` (as in ``UV_INDEX``)."""
    name, sep, url = text.partition("=")
    if sep and "://" not in name and "/" not in name:
        return name, url
    return None, text


def _read_uv(env: Mapping[str, str], cwd: Path) -> _Found:
    index_url: tuple[str, str] | None = None
    extras: list[tuple[str, str]] = []
    no_index = False
    for path in uv_config_files(env, cwd):
        if not path.is_file():
            continue
        table = _uv_table(path)
        where = f"{path.name}: {path}"
        if isinstance(table.get("index-url"), str):
            index_url = (table["index-url"], where)
        if isinstance(table.get("extra-index-url"), list):
            extras = [(str(u), where) for u in table["extra-index-url"]]
        if table.get("no-index") is True:
            no_index = True
        indexes = table.get("index")
        if isinstance(indexes, list):
            for entry in indexes:
                if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
                    continue
                if entry.get("explicit") is True:
                    continue  # used only for packages pinned to it; not for ordinary resolution
                if entry.get("default") is True:
                    index_url = (entry["url"], where)
                else:
                    extras.append((entry["url"], where))
    if env.get("UV_INDEX_URL"):
        index_url = (env["UV_INDEX_URL"], "UV_INDEX_URL")
    if env.get("UV_DEFAULT_INDEX"):
        index_url = (env["UV_DEFAULT_INDEX"], "UV_DEFAULT_INDEX")
    if env.get("UV_EXTRA_INDEX_URL"):
        extras = [(u, "UV_EXTRA_INDEX_URL") for u in env["UV_EXTRA_INDEX_URL"].split()] + extras
    if env.get("UV_INDEX"):
        extras = [(_uv_index_entry(u)[1], "UV_INDEX") for u in env["UV_INDEX"].split()] + extras
    if env.get("UV_NO_INDEX"):
        no_index = _truthy(env["UV_NO_INDEX"])
    return _Found(index_url=index_url, extras=tuple(extras), no_index=no_index)


# ---------------------------------------------------------------- default and assembly


def default_index_url() -> str:
    """pip's built-in default index, read from pip at run time."""
    try:
        from pip._internal.models.index import PyPI  # type: ignore[import-not-found, unused-ignore]
    except Exception as exc:
        raise UsageError(
            "no package index is configured and pip is not importable to supply its default",
            hint="pass --index-url, set PIPVET_INDEX_URL or PIP_INDEX_URL, or install pip",
        ) from exc
    return str(PyPI.simple_url)


def locate(
    *,
    index_url: str | None = None,
    installer: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    netrc_file: Path | None = None,
) -> IndexConfig:
    """The primary and extra indexes the user's installer would use, with credentials attached.

    ``index_url`` is pipvet's own setting (flag, ``PIPVET_INDEX_URL`` or configuration file,
    already merged into :class:`~pipvet.config.Settings`); it wins over everything else.
    ``installer`` restricts the search to ``"pip"`` or ``"uv"``; ``None`` reads both.
    """
    env = os.environ if env is None else env
    cwd = cwd or Path.cwd()
    notes: list[str] = []
    pip = _read_pip(env) if installer in (None, "pip") else _Found()
    uv = _read_uv(env, cwd) if installer in (None, "uv") else _Found()
    if index_url:
        primary = (index_url, "pipvet setting (--index-url / PIPVET_INDEX_URL / config)")
    elif pip.index_url:
        primary = pip.index_url
    elif uv.index_url:
        primary = uv.index_url
    else:
        primary = (default_index_url(), "pip's built-in default")
    if pip.no_index or uv.no_index:
        notes.append("the installer is configured with no-index; pipvet still uses the index for vetting")
    extras: list[Index] = []
    seen = {primary[0].rstrip("/")}
    for raw, source in (*pip.extras, *uv.extras):
        key = raw.rstrip("/")
        if key in seen:
            continue
        seen.add(key)
        scheme = urlsplit(raw).scheme
        if scheme not in ("http", "https", "file") and not raw.startswith("/"):
            notes.append(f"ignoring extra index {redact_url(raw)} from {source}: unsupported address")
            continue
        extras.append(make_index(raw, source=source, netrc_file=netrc_file))
    return IndexConfig(
        primary=make_index(primary[0], source=primary[1], netrc_file=netrc_file),
        extras=tuple(extras),
        notes=tuple(notes),
    )
