"""Dependencies fetched from an address written into the package instead of from the index.

A PEP 508 direct reference (``helper @ https://host/helper-1.0.tar.gz``, ``x @ git+https://...``)
makes the installer download that dependency from the address, whatever index the user
configured: neither the index's checks nor pipvet's vetting of the resolved set see it, and it
is pinned by no hash. The index refuses uploads whose metadata lists one, but a build
dependency (``[build-system] requires``) is no part of that metadata, and archives from other
indexes, folders or version control are never checked. A build dependency runs its code while
the package builds, before anything is installed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from pipvet.analysis.context import FileContext, PackageContext
from pipvet.analysis.lazyre import LazyPattern
from pipvet.analysis.rules._signals import RuleBase
from pipvet.models import Finding, Severity, Stage

DIRECT_REFERENCE = LazyPattern(
    r"""(?x)
    (?<![\w.-])(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]\n]*\])?\s*@\s*
    (?P<url>(?:git\+|hg\+|svn\+|bzr\+)?(?:https?|ftp|file|ssh)://[^\s'",\]\)]+)
    """
)
"""``name @ url``, with optional extras, as PEP 508 spells a direct reference."""

_DECLARING = ("pyproject.toml", "setup.py", "setup.cfg")
"""The sdist's own files that declare dependencies (at its top level)."""
_SECTION = LazyPattern(r"(?m)^[ \t]*\[[^\]\n]+\][ \t]*$")
_SETUP_REQUIRES = LazyPattern(r"\bsetup_requires\b")


def _declares(file: FileContext, package: PackageContext) -> bool:
    """The sdist's PKG-INFO, setup files and pyproject.toml, a wheel's METADATA, and an
    ``.egg-info`` folder's requires.txt."""
    folder, _, name = file.path.rpartition("/")
    if name == "PKG-INFO":
        return folder == package.prefix.rstrip("/")
    if name == "METADATA":
        return folder.endswith(".dist-info")
    if name == "requires.txt":
        return folder.endswith(".egg-info")
    return file.path.removeprefix(package.prefix) in _DECLARING


_INSTALLED_SECTIONS = frozenset({"build-system", "project", "project.optional-dependencies"})
_CFG_SECTIONS = frozenset({"options", "options.extras_require"})


def _section_at(text: str, at: int) -> str | None:
    """The ``[table]`` (TOML) or ``[section]`` (INI) that offset ``at`` lies in."""
    section = None
    for match in _SECTION.finditer(text, 0, at):
        section = match
    return section.group(0).strip()[1:-1].strip() if section is not None else None


def _declared_here(file: FileContext, text: str, at: int) -> bool:
    """Whether offset ``at`` lies where the file declares what gets installed: a
    ``Requires-Dist`` header of core metadata (not the description after the headers),
    pyproject.toml's build requirements, dependencies and extras (not a tool's environments),
    setup.cfg's options and extras; anywhere in setup.py and requires.txt."""
    name = file.path.rpartition("/")[2]
    if name in ("PKG-INFO", "METADATA"):
        headers_end = text.find("\n\n")
        line_start = text.rfind("\n", 0, at) + 1
        return (headers_end < 0 or at < headers_end) and text.startswith("Requires-Dist:", line_start)
    if name == "pyproject.toml":
        return _section_at(text, at) in _INSTALLED_SECTIONS
    before = text[text.rfind("\n", 0, at) + 1 : at].rstrip()
    if name == "setup.cfg":
        # one requirement per line of an option's value
        return _section_at(text, at) in _CFG_SECTIONS and (not before.strip() or before.endswith("="))
    if name == "setup.py":
        return before.endswith(("'", '"'))  # a requirement is a literal of its own, not prose
    return True


def _for_the_build(file: FileContext, text: str, at: int) -> bool:
    """The reference sits in ``[build-system]`` of pyproject.toml, or under ``setup_requires``
    (within a few lines before it) in setup.py or setup.cfg."""
    if file.path.endswith("pyproject.toml"):
        return _section_at(text, at) == "build-system"
    if file.path.endswith(("setup.py", "setup.cfg")):
        return _SETUP_REQUIRES.search(text, max(0, at - 400), at) is not None
    return False


def _bare_or_plain(url: str) -> str | None:
    """Why an address is worse than a named https host: plain text, or a bare IP address."""
    parts = urlsplit(url.removeprefix("git+").removeprefix("hg+").removeprefix("svn+").removeprefix("bzr+"))
    try:
        ipaddress.ip_address(parts.hostname or "")
        return "a bare IP address"
    except ValueError:
        pass
    if parts.scheme in ("http", "ftp"):
        return f"plain {parts.scheme}, which anyone on the way can change"
    return None


class DirectReference(RuleBase):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not _declares(file, package):
            return []
        text = file.text
        if not text or "@" not in text or "://" not in text:
            return []
        out: list[Finding] = []
        for match in DIRECT_REFERENCE.finditer(text):
            if not _declared_here(file, text, match.start()):
                continue  # a README example in METADATA's body, a docs environment's tool table
            name, url = match.group("name"), match.group("url")
            build = _for_the_build(file, text, match.start())
            worse = _bare_or_plain(url)
            if build:
                severity = Severity.CRITICAL if worse else Severity.HIGH
                what = "a build dependency, whose code runs while this package builds"
            else:
                severity = Severity.HIGH if worse else Severity.MEDIUM
                what = "a dependency"
            line = text.count("\n", 0, match.start()) + 1
            out.append(
                self.finding(
                    file,
                    line=line,
                    evidence=match.group(0)[:200],
                    message=f"Declares {what} fetched from an address ({name} @ {url[:120]}"
                    + (f", {worse}" if worse else "")
                    + "): the installer downloads it from there instead of the index, so neither the "
                    "index nor pipvet vets it and no hash pins it.",
                    severity=severity,
                    stage=Stage.INSTALL if build else Stage.METADATA,
                )
            )
            if len(out) >= 5:
                break
        return out


RULES = (
    DirectReference(
        id="PV-DEP-URL",
        title="Dependency fetched from an address, not the index",
        severity=Severity.MEDIUM,
        rationale="A direct reference (name @ url) bypasses the index and every check of what it resolves; "
        "a build dependency from a bare IP or plain http runs an attacker's code at build time.",
    ),
)
