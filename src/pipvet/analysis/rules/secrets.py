"""Credential and secret access: what a stealer reads before it sends anything.

Sources, from weak to strong: developer and cloud credential files (legitimately read by SDKs
such as botocore, google-auth or paramiko, so weak alone), system fingerprinting (user, host,
OS, public IP: the classic install-time beacon), bulk environment dumps serialised as a whole,
and the data stores only a stealer opens (browser password and cookie databases, crypto
wallets, Discord token stores). The exfiltration family combines these with network sinks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pipvet.analysis.context import FileContext, PackageContext
from pipvet.analysis.lazyre import LazyPattern
from pipvet.analysis.rules._signals import (
    NETWORK_SINK,
    SINK_WORDS,
    Gated,
    Match,
    RuleBase,
    find,
    first,
    first_in_code,
    has,
    line_text,
    mentions,
    source,
    strongest_stage,
)
from pipvet.models import UNASKED_STAGES, Finding, Severity, Stage

_SEP = r"""(?:['"]\s*\)?\s*[,+/]\s*['"]|[/\\]{1,2}|['"]\s*[,)]\s*)"""
"""Between path parts: a slash, or the end of one literal and the start of the next (joined by
``,``, ``+`` or pathlib's ``/``: ``Path.home() / ".ssh" / "id_rsa"``)."""

CREDENTIAL_FILES: dict[str, LazyPattern[str]] = {
    "AWS credentials": LazyPattern(rf"\.aws{_SEP}(?:credentials|config)\b"),
    "Google Cloud credentials": LazyPattern(
        r"application_default_credentials\.json|gcloud"
        + _SEP
        + r"(?:credentials\.db|access_tokens\.db|legacy_credentials)"
    ),
    "Azure credentials": LazyPattern(
        rf"\.azure{_SEP}(?:accessTokens\.json|msal_token_cache|azureProfile\.json)"
    ),
    "SSH keys": LazyPattern(
        rf"\.ssh{_SEP}(?:id_(?:rsa|dsa|ecdsa|ed25519)|authorized_keys)|\.ssh['\"]?\s*\)\s*$|\.ssh['\"]\s*\)",
        re.M,
    ),
    "git credentials": LazyPattern(r"\.git-credentials\b|['\"/\\]\.gitconfig\b"),
    "Kubernetes config": LazyPattern(rf"\.kube{_SEP}config\b"),
    "Kubernetes service-account token": LazyPattern(r"/var/run/secrets/kubernetes\.io/serviceaccount\b"),
    "Docker config": LazyPattern(rf"\.docker{_SEP}config\.json"),
    "shell history": LazyPattern(r"\.(?:bash|zsh|sh|python|psql|mysql)_history\b|ConsoleHost_history"),
    "package upload tokens": LazyPattern(
        r"['\"/\\]\.(?:pypirc|npmrc|netrc|pgpass)\b|"
        # Rust's, Ruby's and Terraform's registry tokens, Vault's token
        + rf"\.cargo{_SEP}credentials(?:\.toml)?\b|\.gem{_SEP}credentials\b|"
        + rf"\.terraform\.d{_SEP}credentials\.tfrc\.json|['\"/\\]\.vault-token\b"
    ),
    # the GitHub CLI keeps its token in hosts.yml and prints it for ``gh auth token``
    "GitHub CLI token": LazyPattern(
        rf"\bgh{_SEP}hosts\.yml\b|\.config{_SEP}hub\b|"
        r"""\bgh['"]?\s*,?\s*['"]?auth['"]?\s*,?\s*['"]?token\b"""
    ),
    "system password files": LazyPattern(r"/etc/(?:shadow|passwd|sudoers)\b"),
    "dotenv files": LazyPattern(r"""['"/\\]\.env['"]"""),
    # the role credentials a cloud VM's metadata service hands out (read by every cloud SDK)
    "cloud instance credentials": LazyPattern(
        r"169\.254\.169\.254/latest/meta-data/iam/security-credentials|"
        r"computeMetadata/v1/instance/service-accounts/[^'\"\s]*token|"
        r"169\.254\.169\.254/metadata/identity/oauth2/token"
    ),
}
"""Developer and cloud credential stores: read legitimately by SDKs, so weak alone."""

STEALER_STORES: dict[str, LazyPattern[str]] = {
    # Chrome's and Brave's folders count as the profile, not the program folder or a registry
    # key: finding chrome.exe or brave.exe to learn its version is what browser drivers do.
    "browser passwords and cookies": LazyPattern(
        r"Login Data|Web Data|Local State|key4\.db|logins\.json|cookies\.sqlite|"
        r"os_crypt[^\n]{0,40}encrypted_key|"
        r"CryptUnprotectData|User Data[/\\]+Default|Network[/\\]+Cookies|Opera Software|"
        r"(?<!SOFTWARE[/\\])(?<!SOFTWARE\\\\)BraveSoftware(?=[/\\'\"])"
        r"(?![/\\]+Brave-Browser[\w-]*[/\\]+Application\b)|"
        r"YandexBrowser|"
        # the libraries that read them, imported or called (not named as a dependency)
        r"(?:\bimport\s+|\bfrom\s+)(?:browser_cookie3|browsercookie|pycookiecheat)\b|"
        r"\b(?:browser_cookie3|browsercookie|pycookiecheat)\s*\.\s*\w+\s*\(|"
        r"(?<!SOFTWARE[/\\])(?<!SOFTWARE\\\\)Google[/\\]+Chrome(?![/\\]+Application\b)|"
        # the profile folders of Chrome and Chromium on Linux (``~/.config/google-chrome/Default``)
        + rf"(?:google-chrome|chromium){_SEP}(?:Default|Profile[ _]?\d+)\b"
    ),
    "crypto wallets": LazyPattern(
        r"wallet\.dat|Exodus[/\\]+exodus\.wallet|[/\\'\"]Electrum[/\\'\"]|Ethereum[/\\]+keystore|"
        + rf"\.electrum{_SEP}wallets\b|"
        r"Atomic[/\\]+Local Storage|(?:[/\\]|\b)(?:Coinomi|Jaxx(?: Liberty)?|Guarda)[/\\]|"
        r"[/\\](?:Coinomi|Jaxx|Guarda)\b|"
        r"nkbihfbeogaeaoehlefnkodbefgpgknn|ibnejdfjmmkpcnlpebklmnkoeoihofec|"
        r"fhbohimaelbohpjbbldcngcnapndodjp|bfnaelmomeimhlpmgjnjophhpkkoljpa|hnfanknocfeofbddgcijnmhnfnkdnaad"
    ),
    "Discord tokens": LazyPattern(
        rf"discord(?:canary|ptb)?{_SEP}Local Storage|Local Storage{_SEP}leveldb|dQw4w9WgXcQ:|"
        r"discord(?:app)?\.com/api/v\d+/users/@me|"
        r"\{2[34](?:,2\d)?\}\\\.[^\n]{0,24}\{6(?:,7)?\}\\\.|mfa\\\.[^\n]{0,24}\{84\}"
    ),
    "keystrokes": LazyPattern(
        r"\bpynput\b[^\n]{0,30}\bkeyboard\b|\bkeyboard\s*\.\s*(?:Listener|on_press|hook)\b|\bGetAsyncKeyState\b|"
        r"\bSetWindowsHookEx[AW]?\b[^\n]{0,60}\b(?:WH_KEYBOARD_LL|13)\b|\bpyxhook\b"
    ),
    "messenger and game sessions": LazyPattern(
        r"Telegram Desktop[/\\]+tdata|[/\\]tdata[/\\'\"]|loginusers\.vdf|\.ROBLOSECURITY|"
        r"FileZilla[/\\]+(?:recentservers|sitemanager)\.xml|launcher_accounts\.json|"
        # game saves with session tokens, VPN clients' accounts, Authy's tokens, Pidgin's accounts
        + rf"Growtopia{_SEP}save\.dat|\b(?:NordVPN|ProtonVPN)\b[^\n]{{0,120}}\buser\.config\b|"
        + rf"OpenVPN Connect{_SEP}profiles|"
        + rf"Authy Desktop{_SEP}Local Storage|\.purple{_SEP}accounts\.xml"
    ),
    # the tj-actions/changed-files compromise (2025) read the GitHub runner's memory through
    # /proc/<pid>/mem and printed every value marked "isSecret"
    "another process's memory": LazyPattern(
        r"""/proc/(?!self/)(?:\{[^}\n]{1,30}\}|%[sd]|\w+)/mem\b|['"]/proc['"]\s*,[^\n]{0,40}['"]mem['"]|"""
        # called (through ctypes), not named in a sandbox's list of system calls to deny
        r"""\bprocess_vm_readv\s*\("""
    ),
}
"""Data stores that only a stealer opens."""

BROWSER_DECRYPTS = LazyPattern(
    r"CryptUnprotectData|encrypted_key|password_value|encrypted_value|\bAESGCM\b|\bAES\s*\.\s*new\b|"
    r"\bwin32crypt\b|\bSELECT\b[^\n]{0,120}\bFROM\s+(?:logins|cookies|moz_cookies|credit_cards)\b",
    re.IGNORECASE,
)
"""Reading back what a browser encrypted: the step a profile copier never takes."""


def decrypts_browser_data(file: FileContext) -> bool:
    """Whether the file reads back browser-encrypted data (see :data:`BROWSER_DECRYPTS`)."""
    return has(file, BROWSER_DECRYPTS)


ENV_DUMP = LazyPattern(
    r"""(?x)
    (?<!\bin\s)(?:\bjson\s*\.\s*dumps?|\bstr|\brepr|\bbytes|\bb(?:64|32|16|85)encode|\burlencode|\bpickle\s*\.\s*dumps|
       \bmarshal\s*\.\s*dumps|\.encode|\bformat)\s*\(\s*(?:dict\s*\(\s*)?(?:os\s*\.\s*)?environ\b
       (?:\s*\.\s*(?:copy|items)\s*\(\s*\))?\s*\)?\s*[,)]
    | \b(?:data|json|params|body|content|files)\s*=\s*(?:dict\s*\(\s*)?(?:os\s*\.\s*)?environ\b
      (?!\s*(?:\[|\.\s*(?:get|pop|setdefault)\b))
    | \{\s*(?:dict\s*\(\s*)?os\s*\.\s*environ\s*\)?\s*[}!:]
    | \bos\s*\.\s*popen\s*\(\s*['"](?:(?:/usr)?/bin/)?(?:env|printenv|set)['"]
    | /proc/self/environ\b | ['"]proc['"]\s*,\s*['"]self['"]\s*,\s*['"]environ['"]
    | \b(?:subprocess\s*\.\s*\w+|check_output)\s*\(\s*\[?\s*['"](?:(?:/usr)?/bin/)?(?:env|printenv)['"]
    | ['"]\w+['"]\s*:\s*[^\n'"]{0,40}?\bos\s*\.\s*environ\b(?!\s*[\[./])  # {"env": os.environ}
    """
)
_BARE_ENVIRON = LazyPattern(r"(?<![.\w/'\"])environ\b")
"""``environ`` not reached through ``os.`` (nor ``/proc/self/environ``)."""
_FROM_OS_ENVIRON = LazyPattern(r"\bfrom\s+os\s+import\s[^\n]*\benviron\b")
ENV_ITER = LazyPattern(
    r"\bfor\b[^\n]{0,60}\bin\s+(?:os\s*\.\s*)?environ\b(?:\s*\.\s*(?:items|values|keys)\s*\(\s*\))?\s*[:\])]"
)
"""Walking every variable: a dump when it is built into something sent out."""
ENV_PICK = LazyPattern(r"\bif\b[^\n]{0,80}(?:startswith|endswith|==|\bin\s*[(\[{]|match\s*\()")
"""The whole environment serialised or handed to a sender (not: reading one named variable)."""

FINGERPRINT: dict[str, LazyPattern[str]] = {
    "user name": LazyPattern(
        r"\bgetpass\s*\.\s*getuser\s*\(|\bos\s*\.\s*getlogin\s*\(|\bgetpwuid\s*\(|\bwhoami\b|"
        r"""environ(?:\.get\s*\(|\[)\s*['"](?:USER|USERNAME|LOGNAME)['"]|getenv\s*\(\s*['"](?:USER|USERNAME)['"]"""
    ),
    "host name": LazyPattern(
        r"\bgethostname\s*\(|\bplatform\s*\.\s*node\s*\(|\bos\s*\.\s*uname\s*\(|"
        r"""['"]COMPUTERNAME['"]|\bgetfqdn\s*\(|\bpopen\s*\(\s*['"]hostname\b|['"]hostname['"]\s*[,\]]"""
    ),
    "operating system": LazyPattern(
        r"\bplatform\s*\.\s*(?:system|platform|uname|release|version|machine)\s*\("
    ),
    # Whole host names: ``incident.messages`` holds ``ident.me`` (comet-ml).
    "public IP address": LazyPattern(
        r"(?<![\w-])(?:api\d*\.ipify\.org|ipinfo\.io|ifconfig\.(?:me|co)|ip-api\.com|checkip\.amazonaws\.com|"
        r"icanhazip\.com|ident\.me|api\.myip\.com|wtfismyip\.com|ipapi\.co|geolocation-db\.com|"
        r"httpbin\.org/ip|myexternalip\.com|ipwho\.is|ipecho\.net)(?![\w-])"
    ),
    "local IP address": LazyPattern(
        r"gethostbyname\s*\(\s*(?:socket\s*\.\s*)?(?:gethostname\s*\(\s*\)|host_?name)\s*\)|"
        r"getsockname\s*\(\s*\)\s*\[\s*0\s*\]"
    ),
    "hardware id": LazyPattern(r"csproduct\s+get\s+uuid|MachineGuid|IOPlatformUUID|/etc/machine-id"),
}
"""System facts a beacon collects; together they identify the victim."""


_FINGERPRINT_WORDS: dict[str, tuple[str, ...]] = {
    "user name": ("getuser", "getlogin", "getpwuid", "whoami", "user", "logname"),
    "host name": ("hostname", "platform", "uname", "computername", "getfqdn"),
    "operating system": ("platform",),
    "public IP address": (
        "ipify",
        "ipinfo",
        "ifconfig",
        "ip-api",
        "checkip",
        "icanhazip",
        "ident.me",
        "myip",
        "wtfismyip",
        "ipapi",
        "geolocation-db",
        "httpbin",
        "myexternalip",
        "ipwho",
        "ipecho",
    ),
    "local IP address": ("gethostbyname", "getsockname"),
    "hardware id": ("csproduct", "machineguid", "ioplatformuuid", "machine-id"),
}


_CREDENTIAL_WORDS = (
    ".aws", "gcloud", "application_default", ".azure", ".ssh", ".gitconfig", ".git-credentials", ".kube",
    ".docker", "_history", ".pypirc", ".npmrc", ".netrc", ".pgpass", "/etc/", "'.env", '".env', "/.env",
    "\\.env", "serviceaccount", "169.254.169.254", "computemetadata", ".cargo", ".gem", ".terraform.d",
    ".vault-token", "hosts.yml", "/hub", "'hub'", '"hub"', "gh auth", "'gh', 'auth'", '"gh", "auth"',
)  # fmt: skip


def credential_files(file: FileContext) -> dict[str, Match]:
    """Credential store category -> first place it is named."""
    key = "rules2.credential_files"
    cached = file.cache.get(key)
    if isinstance(cached, dict):
        return cached
    found: dict[str, Match] = {}
    if mentions(file, _CREDENTIAL_WORDS):
        for name, pattern in CREDENTIAL_FILES.items():
            # Not in a long literal table: a converter's list of text-file extensions names
            # ``.env`` and ``.npmrc`` among a hundred others (openhands-aci).
            hit = first_in_code(file, Gated(pattern, _CREDENTIAL_WORDS))
            if hit:
                found[name] = hit
    file.cache[key] = found
    return found


def names_credential_file(text: str) -> bool:
    """Whether ``text`` (say, the path parts that flow into a read) names a credential store."""
    return any(pattern.search(text) for pattern in CREDENTIAL_FILES.values())


_STEALER_WORDS: dict[str, tuple[str, ...]] = {
    "browser passwords and cookies": (
        "login data",
        "web data",
        "local state",
        "key4",
        "logins.json",
        "cookies",
        "os_crypt",
        "cryptunprotect",
        "user data",
        "brave",
        "opera software",
        "yandex",
        "chrome",
        "chromium",
        "browser_cookie3",
        "browsercookie",
        "pycookiecheat",
    ),
    "crypto wallets": (
        "wallet",
        "exodus",
        "electrum",
        "ethereum",
        "atomic",
        "coinomi",
        "jaxx",
        "guarda",
        "nkbihf",
        "ibnejd",
        "fhbohi",
        "bfnael",
        "hnfank",
    ),
    "Discord tokens": ("discord", "leveldb", "dqw4w9", "{24", "{23", "mfa\\."),
    "keystrokes": ("pynput", "keyboard", "getasynckeystate", "setwindowshookex", "pyxhook"),
    "messenger and game sessions": (
        *("tdata", "loginusers", "roblosecurity", "filezilla", "launcher_accounts", "growtopia"),
        *("nordvpn", "protonvpn", "openvpn connect", "authy desktop", ".purple"),
    ),
    "another process's memory": ("/mem", "'mem'", '"mem"', "process_vm_readv"),
}


def _another_browser_store(file: FileContext, pattern: LazyPattern[str]) -> Match | None:
    """The first match of ``pattern`` that is not a DPAPI call."""
    words = _STEALER_WORDS["browser passwords and cookies"]
    hits = find(file, Gated(pattern, words), limit=50)
    return next((m for m in hits if m.text != "CryptUnprotectData"), None)


def stealer_stores(file: FileContext) -> dict[str, Match]:
    key = "rules2.stealer_stores"
    cached = file.cache.get(key)
    if isinstance(cached, dict):
        return cached
    found: dict[str, Match] = {}
    for name, pattern in STEALER_STORES.items():
        if mentions(file, _STEALER_WORDS[name]):
            hit = first(file, Gated(pattern, _STEALER_WORDS[name]))
            if hit and hit.text == "CryptUnprotectData" and mentions(file, ("cryptprotectdata",)):
                # Code that encrypts with DPAPI too is a credential cache reading back its own
                # secrets (token caches, keyrings); a stealer only decrypts what browsers stored.
                hit = _another_browser_store(file, pattern)
            if hit:
                found[name] = hit
    file.cache[key] = found
    return found


def env_dumps(file: FileContext) -> list[Match]:
    key = "rules2.env_dumps"
    cached = file.cache.get(key)
    if isinstance(cached, list):
        return cached
    words = ("environ", "printenv", "env'", 'env"')  # /proc/self/environ included
    found = find(file, Gated(ENV_DUMP, words), limit=5) if mentions(file, words) else []
    if found and not _FROM_OS_ENVIRON.search(file.text or ""):
        # A bare ``environ`` is the process environment only when imported from os; in web code
        # it is the WSGI request (``body = environ['wsgi.input'].read()``, ``str(environ)``).
        found = [m for m in found if not _BARE_ENVIRON.search(m.text)]
    file.cache[key] = found
    return found


def env_iterations(file: FileContext) -> list[Match]:
    if not mentions(file, ("environ",)):
        return []
    hits = find(file, Gated(ENV_ITER, ("environ",)), limit=3)
    if not hits or file.text is None:
        return hits
    if not _FROM_OS_ENVIRON.search(file.text):
        hits = [m for m in hits if not _BARE_ENVIRON.search(m.text)]
    lines = file.text.splitlines()
    # ``for name, value in os.environ.items(): if name.endswith("_proxy")``: picking variables
    # by name (proxy settings, a prefix) reads a few, it does not dump them all.
    return [
        m for m in hits if not ENV_PICK.search(" ".join(lines[m.line - 1 : m.line + 1]) if m.line else "")
    ]


_WALKS = LazyPattern(r"\b(?:os\.walk|walk|glob|iglob|rglob|scandir|listdir)\s*\(")
_HOME_ROOT = LazyPattern(
    r"""expanduser\(\s*['"]~['"]\s*\)|\bhome\(\)\s*[,)\]]|['"]~['"]|['"](?:/sdcard|/storage/emulated)"""
    r"""|['"](?:Desktop|Documents|DCIM|Downloads|Pictures)['"]|['"]USERPROFILE['"]\s*\]?\)?\s*[,)\]]"""
)
_BY_TYPE = LazyPattern(r"""endswith\(|suffix\b|splitext\(|['"]\*\.\w{1,5}['"]|['"]\*\*/\*\.""")
_HARVEST_WORDS = ("walk", "glob", "scandir", "listdir")
_HOME_WORDS = (
    "expanduser",
    "home",
    "userprofile",
    "sdcard",
    "storage",
    "desktop",
    "documents",
    "dcim",
    "downloads",
    "pictures",
)
_TYPE_WORDS = ("endswith", "suffix", "splitext", "*.")


def home_file_walks(file: FileContext) -> list[Match]:
    """Walks over the user's whole home folder, its Desktop/Documents/Downloads/Pictures or a
    phone's storage, picking files by type (``.endswith(EXT)``, ``*.txt``), the way file
    stealers gather what they upload (the 2024 proxy-scraper packages sent every photo and
    script to a Telegram bot). A walk of a tool's own folder under ``~/.config`` is not one.
    Words first (the file's word index), then the lines around each walk."""
    key = "rules2.home_walks"
    cached = file.cache.get(key)
    if isinstance(cached, list):
        return cached
    found: list[Match] = []
    if (
        file.text
        and mentions(file, _HARVEST_WORDS)
        and mentions(file, _HOME_WORDS)
        and mentions(file, _TYPE_WORDS)
    ):
        lines = file.text.splitlines()
        for hit in find(file, Gated(_WALKS, _HARVEST_WORDS), limit=20):
            window = "\n".join(lines[max(0, hit.line - 4) : hit.line + 3])
            if _HOME_ROOT.search(window) and _BY_TYPE.search(window):
                found.append(hit)
    file.cache[key] = found
    return found


_CAPTURES = LazyPattern(
    r"\bImageGrab\s*\.\s*grab\s*\(|\bpyautogui\s*\.\s*screenshot\s*\(|\bpyscreenshot\b"
    r"|\bmss\s*\(\s*\)\s*\.\s*(?:grab|shot)\s*\(|\bVideoCapture\s*\(\s*0\s*\)"
)
_CAPTURE_WORDS = ("imagegrab", "screenshot", "mss", "videocapture")


def screen_captures(file: FileContext) -> list[Match]:
    """Screenshots and webcam frames taken (``ImageGrab.grab()``, ``cv2.VideoCapture(0)``):
    what spyware sends along with the keystrokes; test tools and OCR helpers take them too."""
    if not mentions(file, _CAPTURE_WORDS):
        return []
    return find(file, Gated(_CAPTURES, _CAPTURE_WORDS), limit=3)


_PROGRAM_FILE = LazyPattern(
    r"inspect\.stack\(\)[^\n]{0,20}\.filename|getframeinfo\(|f_back\.f_code\.co_filename"
    r"|sys\.argv\[0\]|__main__\.__file__|modules\[['\"]__main__['\"]\]\.__file__"
)
_PROGRAM_WORDS = ("stack", "getframeinfo", "f_back", "argv", "__main__")
_READS = LazyPattern(r"\bopen\(|read_text\(|read_bytes\(")


def program_source_reads(file: FileContext) -> list[Match]:
    """The calling program's own source file located (the caller's frame, ``sys.argv[0]``,
    ``__main__.__file__``) in a file that opens files: a library has no business reading the
    code of whoever imported it (solana-token posted its callers' source to a raw IP)."""
    text = file.text or ""
    if not mentions(file, _PROGRAM_WORDS) or not _READS.search(text):
        return []
    lines = text.splitlines()
    return [  # the file read within a few lines of where it is found
        m
        for m in find(file, Gated(_PROGRAM_FILE, _PROGRAM_WORDS), limit=5)
        if _READS.search("\n".join(lines[m.line - 1 : m.line + 2]))
    ]


def fingerprint(file: FileContext) -> dict[str, Match]:
    key = "rules2.fingerprint"
    cached = file.cache.get(key)
    if isinstance(cached, dict):
        return cached
    found: dict[str, Match] = {}
    if source(file):
        for name, pattern in FINGERPRINT.items():
            if not mentions(file, _FINGERPRINT_WORDS[name]):
                continue
            hit = first(file, Gated(pattern, _FINGERPRINT_WORDS[name]))
            if hit:
                found[name] = hit
    file.cache[key] = found
    return found


def is_beacon_fingerprint(found: dict[str, Match]) -> bool:
    """Enough facts to identify a victim: who and where, or a public IP lookup."""
    who = "user name" in found or "host name" in found
    return (who and len(found) >= 2) or "public IP address" in found


class CredentialFiles(RuleBase):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        found = credential_files(file)
        if not found:
            return []
        names = sorted(found)
        first_hit = min(found.values(), key=lambda m: m.line)
        stage = strongest_stage(file, [m.line for m in found.values()])
        if len(found) >= 3 and stage is Stage.RUNTIME and not _COLLECTS.search(source(file) or ""):
            # a guard's or scanner's list of paths to protect: nothing here opens, copies or
            # packs a file (skylos' command guard)
            severity, why = (
                Severity.MEDIUM,
                "Naming this many is a harvester's inventory, but nothing in this file opens, copies or "
                "packs a file (a scanner's or guard's list)",
            )
        elif len(found) >= 3:
            severity, why = (
                Severity.HIGH,
                "Naming this many credential stores in one file is a harvester's inventory",
            )
        elif len(found) == 2:
            severity, why = (
                Severity.MEDIUM,
                "Reading several credential stores is unusual outside a credential tool",
            )
        else:
            severity, why = Severity.LOW, "SDKs read their own credential file; on its own this is weak"
        return [
            self.finding(
                file,
                line=first_hit.line,
                message=f"Names credential stores: {', '.join(names)}. {why}.",
                severity=severity,
                stage=stage,
            )
        ]


_IMPORT_LINE = LazyPattern(r"\s*(?:from|import)\s")
_COLLECTS = LazyPattern(
    r"\bopen\(|read_text\(|read_bytes\(|\bcopy(?:file|tree|2)?\(|\bmake_archive\(|\.write\(|\.add\(|"
    r"\bglob\(|\bwalk\(|\bscandir\(|\blistdir\(|\bsubprocess\b|\bsystem\("
)
"""What a harvester does with the stores it lists: open, copy, pack, walk or hand them to a tool."""


_RUNNER_SECRETS = LazyPattern(r"""\bRunner\.Worker\b|['"]isSecret['"]""")


class StealerStores(RuleBase):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        found = stealer_stores(file)
        if not found:
            return []
        names = sorted(found)
        first_hit = min(found.values(), key=lambda m: m.line)
        severity = Severity.CRITICAL if len(found) >= 2 else Severity.HIGH
        stage = strongest_stage(file, [m.line for m in found.values()])
        if names == ["keystrokes"]:
            # ``from pynput import keyboard`` at the top of a module reads no key; where the
            # listener is made says when the keyboard is read
            hits = find(file, Gated(STEALER_STORES["keystrokes"], _STEALER_WORDS["keystrokes"]), limit=10)
            uses = [m for m in hits if not _IMPORT_LINE.match(line_text(file, m.line))]
            stage = strongest_stage(file, [m.line for m in uses]) if uses else Stage.RUNTIME
            first_hit = uses[0] if uses else first_hit
        message = (
            f"Opens data stores that only a stealer needs: {', '.join(names)}. "
            "A Python library has no business reading browser passwords, wallets or chat tokens."
        )
        only_browser = names == ["browser passwords and cookies"]
        if only_browser and stage is Stage.RUNTIME and not decrypts_browser_data(file):
            # Browser automation copies or points at a Chrome profile; a stealer decrypts it.
            severity = Severity.MEDIUM
            message = (
                "Names a browser's profile stores (saved passwords, cookies, Local State) without "
                "decrypting anything: browser automation copies profiles, a stealer reads them back."
            )
        if "another process's memory" in found and (stage in UNASKED_STAGES or has(file, _RUNNER_SECRETS)):
            # no package reads other programs' memory as it installs or loads; a scan of a CI
            # runner for values marked secret is the tj-actions payload wherever it sits
            severity = Severity.CRITICAL
        if names == ["keystrokes"] and stage is Stage.RUNTIME:
            # Input libraries, games and GUI toolkits read the keyboard (pynput, pyglet); a
            # keylogger also sends what it records, which the source-to-sink rule weighs.
            severity = Severity.MEDIUM
            message = (
                "Reads the keyboard (a key listener or key state) in code that runs only when called: "
                "input libraries and games do this; a keylogger also sends what it records."
            )
            if not mentions(file, SINK_WORDS) or first(file, NETWORK_SINK) is None:
                severity = Severity.LOW  # the keyboard library itself, a game's input loop
                message += " Nothing in this file sends data anywhere."
        return [self.finding(file, line=first_hit.line, message=message, severity=severity, stage=stage)]


class EnvironmentDump(RuleBase):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        found = env_dumps(file)
        if not found:
            return []
        hit = found[0]
        return [
            self.finding(
                file,
                line=hit.line,
                message=(
                    "Serialises or hands over the whole process environment (tokens, cloud keys and "
                    "CI secrets live there) instead of reading a named variable."
                ),
                stage=strongest_stage(file, [m.line for m in found]),
            )
        ]


class SystemFingerprint(RuleBase):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        found = fingerprint(file)
        if not is_beacon_fingerprint(found):
            return []
        if len(found) < 3 and "public IP address" not in found:
            return []  # host + user alone is every logging and telemetry module; the combo rule still uses it
        severity = Severity.MEDIUM
        first_hit = min(found.values(), key=lambda m: m.line)
        return [
            self.finding(
                file,
                line=first_hit.line,
                message=(
                    f"Collects facts that identify the machine: {', '.join(sorted(found))}; "
                    "install-time beacons send exactly this."
                ),
                severity=severity,
                stage=strongest_stage(file, [m.line for m in found.values()]),
            )
        ]


RULES = (
    CredentialFiles(
        id="PV-SEC-CREDFILE",
        title="Reads developer or cloud credential files",
        severity=Severity.LOW,
        rationale="Stealers (litellm 1.82.8, torchtriton, ssh-decorate) harvest ~/.aws, ~/.ssh, kube and "
        "docker configs, .env and shell history; SDKs read one of them legitimately, so one is weak.",
    ),
    StealerStores(
        id="PV-SEC-STEALER",
        title="Reads browser, wallet or chat-token stores",
        severity=Severity.HIGH,
        rationale="Browser Login Data/Local State, wallet files and extension IDs, Discord leveldb and token "
        "patterns are the signature of info-stealers (W4SP and its clones).",
    ),
    EnvironmentDump(
        id="PV-SEC-ENVDUMP",
        title="Dumps the whole environment",
        severity=Severity.MEDIUM,
        rationale="ctx, Birsan-style beacons and deepseeek serialised os.environ wholesale; benign code "
        "reads named variables.",
    ),
    SystemFingerprint(
        id="PV-SEC-FINGERPRINT",
        title="Fingerprints the machine",
        severity=Severity.LOW,
        rationale="Typosquat beacons since 2017 collect user, host, OS and public IP before phoning home.",
    ),
)
