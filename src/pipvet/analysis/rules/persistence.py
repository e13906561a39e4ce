"""Persistence: code that arranges to run again later, outside the package.

Startup folders, registry Run keys, scheduled tasks, cron, systemd units, LaunchAgents, shell rc
files, git hooks and ``.pth``/``sitecustomize`` files written at run time. Naming such a place is weak (CLI
tools install shell completion into ``~/.bashrc`` when asked); naming it *and* writing in the
same file is strong, and strongest when it happens at install or import time.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

from pipvet.analysis.context import FileContext, FileKind, PackageContext
from pipvet.analysis.facts import capabilities
from pipvet.analysis.lazyre import LazyPattern
from pipvet.analysis.rules._signals import (
    WRITE_OP,
    Gated,
    Match,
    RuleBase,
    evidence_for,
    find,
    first_in_code,
    has,
    mentions,
    source,
    stage_at,
)
from pipvet.analysis.rules.imports import load_calls
from pipvet.models import UNASKED_STAGES, Finding, Severity, Stage

_S = r"[/\\]{1,2}"
_J = r"""(?:[/\\]{1,2}|['"]\s*[,+/]\s*['"])"""
"""A path separator, or the seam between two literals joined into a path (``os.path.join(
'Start Menu', 'Programs', 'Startup')``)."""

PLACES: tuple[tuple[str, bool, LazyPattern[str]], ...] = (
    (
        "Windows startup folder",
        True,
        LazyPattern(
            rf"Start Menu{_J}Programs{_J}Startup|shell:startup|Programs{_J}Startup|"
            r"\bCSIDL_STARTUP\b(?!\s*=[^=])",
            re.I,
        ),
    ),
    (
        "Windows registry Run key",
        True,
        LazyPattern(
            rf"CurrentVersion{_J}(?:Run|RunOnce|RunServices|Policies{_J}Explorer{_J}Run)\b|"
            rf"CurrentVersion{_S}Winlogon|Image File Execution Options",
            re.I,
        ),
    ),
    (
        "Windows scheduled task",
        True,
        LazyPattern(r"\bschtasks(?:\.exe)?\b[^\n]{0,40}/create|Register-ScheduledTask", re.I),
    ),
    (
        "cron",
        True,
        LazyPattern(
            r"\bcrontab\b(?:\s+-[lre]?(?![\w-])|['\"]\s*,\s*(?:['\"][-/~$]|[A-Za-z_]))|/etc/cron\.|"
            r"/var/spool/cron|@reboot\b|\bCronTab\s*\("
        ),
    ),
    (
        "systemd unit",
        True,
        LazyPattern(
            r"/etc/systemd/system|\.config/systemd/user|systemd/user/|\bsystemctl\b[^\n]{0,30}\benable\b"
        ),
    ),
    ("macOS LaunchAgent", True, LazyPattern(r"Library/Launch(?:Agents|Daemons)")),
    (
        "macOS login item",
        False,
        LazyPattern(
            r"\bmake\s+(?:new\s+)?login\s+item\b|\b(?:SMLoginItemSetEnabled|LSSharedFileListInsertItemURL)\s*\("
        ),
    ),
    (
        "Windows service",
        False,
        # the command, the cmdlet, or the Win32 call (not the CreateService action of cloud APIs)
        LazyPattern(
            r"""\bsc(?:\.exe)?['"]?\s*,?\s*['"]?create\b|\bNew-Service\b|"""
            r"""\b(?:win32service|advapi32)\s*\.\s*CreateService[AW]?\s*\(""",
            re.I,
        ),
    ),
    (
        "WMI event subscription",
        True,
        # a filter bound to a command consumer runs the command whenever the event fires
        LazyPattern(r"\b(?:CommandLineEventConsumer|ActiveScriptEventConsumer|__FilterToConsumerBinding)\b"),
    ),
    # cron libraries edit the system table on request; written as a package installs, it is
    # a job the package planted
    ("system cron table", False, LazyPattern(r"/etc/crontab\b")),
    (
        "boot script",
        False,
        LazyPattern(r"/etc/rc\.local\b|/etc/init\.d\b|/etc/rc\d\.d\b"),
    ),
    # every IPython and Jupyter kernel start runs the scripts there
    ("IPython start-up folder", True, LazyPattern(rf"\.ipython{_J}profile_\w+{_J}startup\b")),
    (
        "desktop autostart entry",
        True,
        # XDG desktops start every ``.desktop`` file there at login (``~/.config/autostart``)
        LazyPattern(r"""\.config(?:[/\\]{1,2}|['"]\s*[,+/]\s*['"])autostart\b|/etc/xdg/autostart\b"""),
    ),
    (
        "cron table installed",
        True,
        # ``(crontab -l; echo "@reboot ...") | crontab -`` replaces the user's table
        LazyPattern(r"""\|\s*crontab\s+-(?![\w-])|\|\s*crontab\s*['"]"""),
    ),
    (
        "new user account",
        True,
        LazyPattern(
            r"\bnet\s+user\b[^\n'\"]{0,60}/add\b|"
            r"\bnet\s+localgroup\s+(?:administrators|\"?Remote Desktop Users)|"
            r"\buseradd\b[^\n]{0,60}-[mpG]|\busermod\s+-aG\s+sudo",
            re.I,
        ),
    ),
    (
        "browser launch flags (forced extension)",
        True,
        # Written into a shortcut (``shortcut.Arguments``) or a desktop launcher, every start of
        # the browser loads the extension; passed to one launch (automation tools) it is not kept.
        LazyPattern(r"(?:\.\s*Arguments\s*=|\bExec\s*=)[^\n]{0,80}--load-extension\b"),
    ),
    (
        "desktop application's own code (injection)",
        True,
        # Discord's ``discord_desktop_core/index.js`` and a wallet's ``resources/app.asar``:
        # replaced, they run the attacker's script inside the app at every start (W4SP and
        # Creal grabbers, the 2024 Exodus and Atomic wallet injectors)
        LazyPattern(r"discord_desktop_core\b|\bapp\.asar\b", re.I),
    ),
    ("SSH authorized_keys", False, LazyPattern(r"\.ssh[/\\'\",\s]{1,6}authorized_keys")),
    # a hook in a repository's ``.git/hooks`` runs at every commit, checkout or merge there;
    # hook managers (pre-commit) write them on request, at run time
    ("git hook", False, LazyPattern(r"""\.git[/\\'",\s]{1,6}hooks\b""")),
    (
        "shell start-up file",
        False,
        LazyPattern(
            r"""[/\\~]\.(?:bashrc|bash_profile|bash_login|zshrc|zprofile|profile|cshrc)\b|/etc/profile\b|"""
            r"""['"]\.(?:bashrc|bash_profile|bash_login|zshrc|zprofile|cshrc)['"]|"""
            # fish's, and PowerShell's profile (run by every PowerShell window)
            r"""\bfish[/\\'",\s]{1,6}config\.fish\b|\bMicrosoft\.PowerShell_profile\.ps1\b|"""
            r"""\bWindowsPowerShell[/\\'",\s]{1,6}profile\.ps1\b"""
        ),
    ),
    (
        "Python start-up hook",
        False,
        LazyPattern(r"""['"][^'"\n]*\.pth['"]|\b(?:sitecustomize|usercustomize)\.py\b"""),
    ),
    ("Windows autorun", True, LazyPattern(r"autorun\.inf|\\Microsoft\\Windows\\Start Menu", re.I)),
    # every ``/etc/ld.so.preload`` library is loaded into every program the machine starts
    ("dynamic linker preload list", True, LazyPattern(r"/etc/ld\.so\.preload\b")),
    # Places that change what other tools do. Readers are common (mirror switchers, paramiko, host
    # editors), so they count only where a write is aimed at them; see ``_AIMED``.
    (
        "pip or uv configuration",
        False,
        LazyPattern(
            r"""\bpip[/\\]{1,2}pip\.(?:conf|ini)\b|\.pip[/\\]{1,2}pip\.conf\b|['"]pip\.(?:conf|ini)['"]|"""
            r"""\buv[/\\]{1,2}uv\.toml\b|['"]uv\.toml['"]|['"/\\~]\.condarc\b"""
        ),
    ),
    (
        "pip index set by pip config",
        False,
        LazyPattern(
            r"""\bconfig['"]?\s*,?\s*['"]?set['"]?\s*,?\s*['"]?(?:global|user|site|install)\."""
            r"""(?:extra-index-url|index-url|trusted-host|find-links)\b"""
        ),
    ),
    (
        "hosts file or DNS resolver configuration",
        False,
        LazyPattern(r"/etc/hosts\b|drivers[/\\]{1,2}etc[/\\]{1,2}hosts\b|/etc/resolv\.conf\b", re.I),
    ),
    ("sudo rules", False, LazyPattern(r"/etc/sudoers(?:\.d)?\b")),
    ("SSH client configuration", False, LazyPattern(r"""\.ssh[/\\'",\s]{1,6}config\b""")),
    (
        "git configuration that runs commands",
        False,
        # a global credential helper, hooks folder, fsmonitor or ssh command is a program git
        # runs in every repository of the user (a ``!`` helper receives every password)
        LazyPattern(
            r"\bgit\b[^\n]{0,20}\bconfig\b[^\n]{0,30}--(?:global|system)\b[^\n]{0,40}"
            r"\b(?:credential\.helper|core\.(?:hooksPath|fsmonitor|sshCommand|pager|editor)|alias\.[\w-]+|"
            # ``url.<attacker>.insteadOf https://github.com/``: every clone comes from elsewhere
            r"url\.[^\s'\"]+\.insteadOf)"
            # a value follows: the setting is made, not read back
            r"""(?=(?:\s+|['"]\s*,\s*['"]?)(?!--)[^\s'")])""",
            re.I,
        ),
    ),
    (
        "another installed package's code",
        False,
        LazyPattern(
            r"""(?:getsitepackages|getusersitepackages|site-packages|get_paths\(\)\[['"]purelib)[^\n]{0,120}"""
            r"""['"](?!(?:site|user)customize)[\w.-]*\w\.py['"]"""
        ),
    ),
    (
        "interpreter or Windows system folder (DLL planting)",
        False,
        # a DLL there is loaded by the interpreter, or by every program, before the real one
        LazyPattern(
            r"""\bsys\.(?:base_exec_|base_|exec_)?prefix\b[^\n]{0,80}\.dll['"]|"""
            r"""\.dll['"][^\n]{0,80}\bsys\.(?:base_exec_|base_|exec_)?prefix\b|"""
            r"""\bdirname\(\s*sys\.executable\s*\)[^\n]{0,80}\.dll['"]|"""
            r"""\bWindows[/\\]{1,2}(?:System32|SysWOW64)\b""",
            re.I,
        ),
    ),
    (
        "fake sudo, su or passwd command",
        False,
        # a script named sudo in a folder early on PATH reads the password the user types
        LazyPattern(
            r"""\bjoin\([^)\n]{0,80}['"](?:sudo|su|doas|passwd)['"]\s*\)|"""
            # in a folder of programs (not /etc/passwd, the account list)
            r"""['"][^'"\n]*/(?:s?bin|\.local/bin)/(?:sudo|su|doas|passwd)['"]"""
        ),
    ),
)
"""(label, strong even without a visible write, pattern)."""

_AIMED = frozenset(
    {
        "pip or uv configuration",
        "pip index set by pip config",
        "hosts file or DNS resolver configuration",
        "sudo rules",
        "boot script",
        "system cron table",
        "macOS login item",
        "Windows service",
        "SSH client configuration",
        "git configuration that runs commands",
        "another installed package's code",
        "interpreter or Windows system folder (DLL planting)",
        "fake sudo, su or passwd command",
    }
)
"""Places that count only when a write is aimed at them (:func:`_aimed_at`), and that are then
critical at install, start-up or import: pip's index, the hosts file, another package's code or
a DLL beside the interpreter, changed as a package installs, hijack what runs next."""


_RUNS_LATER = (
    "code placed there runs at every login, boot or interpreter start, long after the package was vetted."
)
_EFFECTS: dict[str, str] = {
    "dynamic linker preload list": "every program the machine starts then loads that library first.",
    "boot script": "code placed there runs at every boot, long after the package was vetted.",
    "system cron table": "a job placed there runs on schedule, long after the package was vetted.",
    "macOS login item": "it starts at every login, long after the package was vetted.",
    "Windows service": "it starts with Windows, with the service's rights, long after the package was "
    "vetted.",
    "pip or uv configuration": "every later install then comes from the index it names, unvetted.",
    "pip index set by pip config": "every later install then comes from the index it names, unvetted.",
    "hosts file or DNS resolver configuration": "names such as the package index then lead to an address "
    "the writer picks.",
    "sudo rules": "they can grant administrator rights without a password.",
    "SSH client configuration": "every ssh connection then runs the commands it sets.",
    "git configuration that runs commands": "git then runs that command, or fetches from that address, "
    "in every repository of the user.",
    "another installed package's code": "that package then runs the added code wherever it is imported.",
    "interpreter or Windows system folder (DLL planting)": "the interpreter, or every program, then loads "
    "that DLL instead of the real one.",
    "fake sudo, su or passwd command": "the user's next password prompt then goes to that script.",
}
"""What a write to a place that is not a start-up place does, for the finding's message."""

_ACTIONS = frozenset(
    {
        "new user account",
        "Windows scheduled task",
        "cron table installed",
        "git configuration that runs commands",
        "pip index set by pip config",
        "macOS login item",
        "Windows service",
        "WMI event subscription",
    }
)
"""Places whose pattern is itself the change (a command), not just a path."""
_SITE_DIR = LazyPattern(
    r"site-packages|getsitepackages|getusersitepackages|get_paths\(\)|get_path\(\s*['\"]purelib|USER_SITE"
)
"""Where an installed ``.pth`` lives (a wheel builder's ``.data/purelib`` folder is not one)."""


def _fetches_from_shady_host(file: FileContext) -> bool:
    from pipvet.analysis.rules import exfiltration

    return bool(exfiltration.raw_ips(file) or exfiltration.channels(file))


_PLACE_WORDS: dict[str, tuple[str, ...]] = {
    "Windows startup folder": ("startup",),
    "Windows registry Run key": ("currentversion", "image file"),
    "Windows scheduled task": ("schtasks", "scheduledtask"),
    "cron": ("cron", "@reboot"),
    "systemd unit": ("systemd", "systemctl"),
    "macOS LaunchAgent": ("launchagents", "launchdaemons"),
    "macOS login item": ("login", "smloginitemsetenabled", "lssharedfilelistinsertitemurl"),
    "Windows service": ("create", "new-service"),
    "WMI event subscription": ("eventconsumer", "filtertoconsumerbinding"),
    "system cron table": ("/etc/crontab",),
    "boot script": ("/etc/rc", "/etc/init.d"),
    "IPython start-up folder": ("ipython",),
    "desktop autostart entry": ("autostart",),
    "cron table installed": ("crontab",),
    "new user account": ("net", "useradd", "usermod"),
    "browser launch flags (forced extension)": ("load-extension",),
    "desktop application's own code (injection)": ("discord_desktop_core", "app.asar"),
    "SSH authorized_keys": ("authorized_keys",),
    "git hook": ("hooks",),
    "shell start-up file": ("profile", "bashrc", "bash_login", "zshrc", "cshrc", "config.fish"),
    "Python start-up hook": (".pth", "customize"),
    "Windows autorun": ("autorun", "start menu"),
    "dynamic linker preload list": ("ld.so.preload",),
    "pip or uv configuration": ("pip.conf", "pip.ini", "uv.toml", "condarc"),
    "pip index set by pip config": ("index-url", "trusted-host", "find-links"),
    "hosts file or DNS resolver configuration": ("hosts", "resolv.conf"),
    "sudo rules": ("sudoers",),
    "SSH client configuration": (".ssh",),
    "git configuration that runs commands": ("--global", "--system"),
    "another installed package's code": ("sitepackages", "site-packages", "purelib"),
    "interpreter or Windows system folder (DLL planting)": (".dll", "system32", "syswow64"),
    "fake sudo, su or passwd command": ("sudo", "doas", "passwd", "'su'", '"su"', "/su'", '/su"'),
}
"""Per place, words (lower case) of which every match of its pattern holds one: a place's
pattern is searched only in files that mention one (each file mentioning some place's word used
to have all of them searched)."""
_CHEAP = tuple(sorted({word for words in _PLACE_WORDS.values() for word in words}))
"""Every place's words: a file that mentions none of them names no place."""


def places(file: FileContext) -> list[tuple[str, bool, Match]]:
    key = "rules2.persistence_places"
    cached = file.cache.get(key)
    if isinstance(cached, list):
        return cached
    found: list[tuple[str, bool, Match]] = []
    if mentions(file, _CHEAP):
        for label, strong, pattern in PLACES:
            words = _PLACE_WORDS[label]
            if not mentions(file, words):
                continue
            hit = first_in_code(file, Gated(pattern, words))
            if hit:
                found.append((label, strong, hit))
    file.cache[key] = found
    return found


class PersistenceWrite(RuleBase):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        found = places(file)
        if not found:
            return []
        any_writes = has(file, WRITE_OP)
        acts_on_load: bool | None = None  # asked once, only when a place is named at import
        out: list[Finding] = []
        for label, strong, hit in found:
            writes = any_writes or label in _ACTIONS
            if label == "Python start-up hook" and not (writes and has(file, _SITE_DIR)):
                continue
            if label in _AIMED and not (label in _ACTIONS or (any_writes and _aimed_at(file, hit))):
                continue  # read, or only named: pip's own config readers, paramiko, host editors
            stage = stage_at(file, hit.line)
            if stage is Stage.IMPORT and writes:
                if acts_on_load is None:
                    acts_on_load = _acts_on_load(file, package)
                if not acts_on_load:
                    # The place is named at module level ('@reboot' in a table of constants), but
                    # every write sits in functions importing does not call: a cron library's API.
                    stage = Stage.RUNTIME
            if writes or (strong and label != "Windows autorun"):
                severity = Severity.HIGH if writes else Severity.MEDIUM
                if (
                    writes
                    and stage in UNASKED_STAGES
                    and (strong or label in _AIMED or _plants_a_dropper(file))
                ):
                    # installs itself while being installed or imported (a shell rc file counts
                    # when what the code holds to write there downloads and runs a program)
                    severity = Severity.CRITICAL
                if (
                    (not strong or not writes)
                    and stage is Stage.RUNTIME
                    and not _fetches_from_shady_host(file)
                ):
                    # completion installers, editable installs: on request; forensic tools name
                    # Run keys, cron and systemd folders to read them
                    severity = Severity.LOW
                how = "and writes files in the same code" if writes else "to run again later"
            else:
                severity, how = Severity.LOW, "(no write seen in this file)"
            out.append(
                self.finding(
                    file,
                    line=hit.line,
                    evidence=evidence_for(file, hit),
                    message=f"Targets a {label} ({hit.text.strip()}) {how}: "
                    + _EFFECTS.get(label, _RUNS_LATER),
                    severity=severity,
                    stage=stage,
                )
            )
        return out


_ASSIGNED = LazyPattern(r"\s*(?:with\s+[^\n]*\bas\s+(\w+)\s*:|(\w+)\s*(?::[^=\n]+)?=(?!=))")
"""A line that binds a name: ``name = ...``, ``name: T = ...`` or ``with open(...) as name:``."""


def _aimed_at(file: FileContext, hit: Match) -> bool:
    """A write of the file is aimed at the place ``hit`` names: it sits on the same line, or
    the line binds the path to a name (``cfg = expanduser("~/.config/pip/pip.conf")``) that a
    write line uses, directly or through further bindings (``shim = join(bindir, "sudo")``)."""
    writes = find(file, WRITE_OP, limit=50)
    if any(w.line == hit.line for w in writes):
        return True
    text = source(file) or ""
    lines = text.splitlines()
    if not 0 < hit.line <= len(lines):
        return False
    place_line = lines[hit.line - 1]
    bound = _ASSIGNED.match(place_line)
    if bound is None:
        return False
    names = {bound.group(1) or bound.group(2)}
    after = lines[hit.line :]
    if bound.group(1):  # ``with open(place) as fh:``: the handle lives in the block only
        indent = len(place_line) - len(place_line.lstrip())
        end = next(
            (i for i, line in enumerate(after) if line.strip() and len(line) - len(line.lstrip()) <= indent),
            len(after),
        )
        last = hit.line + end
        writes = [w for w in writes if hit.line < w.line <= last]
    for line in after:
        again = _ASSIGNED.match(line)
        if again is None:
            continue
        value = line[: again.start(1)] if again.group(1) else line[again.end() :]
        if any(re.search(rf"\b{re.escape(n)}\b", value) for n in names):
            names.add(again.group(1) or again.group(2))
            if len(names) > 3:
                break
    write_lines = {w.line for w in writes}
    return any(
        re.search(rf"\b{re.escape(n)}\b", lines[number - 1])
        for number in write_lines
        if 0 < number <= len(lines)
        for n in names
    )


def _plants_a_dropper(file: FileContext) -> bool:
    """A string of the file (a line of its text, if it does not parse) holds a shell command
    that downloads and runs something."""
    from pipvet.analysis.rules._shell import Command, classify
    from pipvet.analysis.rules.download import SHELL_FETCH_WORDS

    if not mentions(file, SHELL_FETCH_WORDS):
        return False
    tree = file.tree if file.kind is FileKind.PYTHON else None
    if tree is not None:
        texts = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    else:
        texts = (source(file) or "").splitlines()
    return any(
        classify(text) in (Command.DOWNLOAD_AND_RUN, Command.ENCODED)
        for text in texts
        if any(word in text.lower() for word in SHELL_FETCH_WORDS)
    )


def _acts_on_load(file: FileContext, package: PackageContext) -> bool:
    """Importing the module writes (a write written at module level, a registry value set
    there) or starts a program, also through a function module-level code calls."""
    if any(stage_at(file, m.line) is not Stage.RUNTIME for m in find(file, WRITE_OP, limit=20)):
        return True
    loaded = load_calls(file, package, "file_write", "process")
    if loaded is None:
        # No write or process call can be in it (certain), or it did not parse: then the text
        # rules cannot tell, so assume it acts. (``parsed`` never triggers a parse itself.)
        return file.parsed and file.tree is None
    return any(caps & {"file_write", "process"} for caps in (capabilities(c) for c, _ in loaded[1]))


RULES = (
    PersistenceWrite(
        id="PV-PERSIST",
        title="Installs itself to run again later",
        severity=Severity.HIGH,
        rationale="Stealers and droppers (confignation, lmstudio-api, the 2024 floods, litellm 1.82.8's "
        "systemd unit) copy themselves into startup folders, Run keys, cron, systemd or shell rc files.",
    ),
)
