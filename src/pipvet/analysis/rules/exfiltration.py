"""Exfiltration: where stolen data goes, and the combination of a source with a sink.

Every HTTP client library has a network sink, so a sink alone is not reported. What is reported:
hard-coded channels attackers favour (chat webhooks and bot APIs, request bins, paste and file
hosts, tunnels, dynamic DNS), URLs and sockets aimed at raw public IP addresses, DNS lookups of
names built at run time (DNS tunnelling), and - strongest - a secret source from
:mod:`~pipvet.analysis.rules.secrets` and a sink in the same file.
"""

from __future__ import annotations

import ast
import ipaddress
import re
from collections.abc import Iterable

from pipvet.analysis.context import FileContext, PackageContext
from pipvet.analysis.facts import CallFact, Facts, capabilities, facts_of
from pipvet.analysis.flow import trace
from pipvet.analysis.lazyre import LazyPattern
from pipvet.analysis.rules import secrets
from pipvet.analysis.rules._base import stage_of
from pipvet.analysis.rules._credflow import WALLET_KEYS, credential_sends, mentions_credentials
from pipvet.analysis.rules._shell import command_text, program_name
from pipvet.analysis.rules._signals import (
    DNS_LOOKUP,
    NETWORK_SINK,
    SINK_WORDS,
    Gated,
    Match,
    RuleBase,
    evidence_for,
    find,
    first,
    first_in_code,
    has,
    mentions,
    source,
    strongest_stage,
)
from pipvet.models import UNASKED_STAGES, Finding, Severity, Stage

CHANNELS: tuple[tuple[str, Severity, LazyPattern[str]], ...] = (
    (
        "Discord webhook",
        Severity.HIGH,
        LazyPattern(r"discord(?:app)?\.com/api/(?:v\d+/)?webhooks/\d{6,}/[\w-]{20,}"),
    ),
    ("Telegram bot token", Severity.HIGH, LazyPattern(r"api\.telegram\.org/bot\d{6,}:[\w-]{30,}")),
    # A bare ".../bot" string is a client library's configurable base URL; a sender appends a token.
    ("Telegram bot API", Severity.MEDIUM, LazyPattern(r"api\.telegram\.org/bot(?!['\"])")),
    ("Telegram bot API base URL", Severity.LOW, LazyPattern(r"api\.telegram\.org/bot['\"]")),
    # handed to a bot library instead of written into a URL (telebot.TeleBot("123:AA..."))
    ("Telegram bot token", Severity.HIGH, LazyPattern(r"""['"]\d{8,10}:AA[\w-]{30,}['"]""")),
    (
        "Slack incoming webhook",
        Severity.HIGH,
        LazyPattern(r"(?<![\w.-])hooks\.slack\.com/(?:services|workflows)/T(?!0+/)[A-Z0-9]{6,}/"),
    ),
    ("Zulip bot API", Severity.MEDIUM, LazyPattern(r"\.zulipchat\.com/api/v1/messages")),
    (
        "request-bin / out-of-band collector",
        Severity.HIGH,
        LazyPattern(
            r"webhook\.site|\.pipedream\.net|requestbin\.(?:net|com)|\.requestcatcher\.com|"
            r"\.burpcollaborator\.net|\.oastify\.com|\.interact\.sh|\.oast\.(?:fun|live|me|online|pro|site)|"
            r"canarytokens\.com|\.beeceptor\.com|hookbin\.com|\.m\.pipedream|dnslog\.cn|ceye\.io|"
            r"iplogger\.(?:org|com|ru|co)|grabify\.link|2no\.co|yip\.su|blasze\.tk|ps3cfw\.com|ipgrabber"
        ),
    ),
    (
        "paste or file-drop host",
        Severity.MEDIUM,
        LazyPattern(
            r"(?<![\w.@-])(?:pastebin\.com/(?:raw|api)|paste\.ee/|hastebin\.com|rentry\.co|"
            r"anonfiles\.com|filego\.app|gofile\.io|file\.io/|bayfiles\.com|0x0\.st|catbox\.moe)(?![\w-])|"
            # named like a shell script (ILCDIRAC writes a temp.sh): only as an address
            r"(?<=://)(?:transfer|temp)\.sh(?![\w-])|"
            r"cdn\.discordapp\.com/attachments"
        ),
    ),
    (
        "Discord webhook endpoint",
        Severity.MEDIUM,
        LazyPattern(r"discord(?:app)?\.com/api/(?:v\d+/)?webhooks"),
    ),
    (
        "tunnel or dynamic-DNS host",
        Severity.MEDIUM,
        LazyPattern(
            r"\.(?:ngrok\.io|ngrok-free\.app|ngrok\.app|trycloudflare\.com|serveo\.net|loca\.lt|"
            r"duckdns\.org|zapto\.org|ddns\.net|no-ip\.(?:org|biz)|hopto\.org|sytes\.net|servehttp\.com|"
            r"myftp\.biz|3utilities\.com|bounceme\.net|freedynamicdns\.net|portmap\.io|onion)\b"
        ),
    ),
)
"""Hard-coded channels: (label, severity alone, pattern)."""

_IPV4 = r"(?:\d{1,3}\.){3}\d{1,3}"
RAW_IP_URL = LazyPattern(rf"""(?:https?|ftp|wss?|tcp)://({_IPV4})(?::\d+)?""")
RAW_IP_SOCKET = LazyPattern(
    rf"""(?:connect(?:_ex)?|create_connection|sendto)\s*\([^()\n]{{0,40}}\(\s*['"]({_IPV4})['"]\s*,\s*\d+\s*\)"""
)
RAW_IP_SSH = LazyPattern(
    rf"""\.connect\(\s*(?:hostname\s*=\s*)?['"]({_IPV4})['"]\s*,\s*(?:port|username|pkey|password)\b"""
)
"""An SSH/SFTP client's ``client.connect("203.0.113.9", username=...)``."""
_SSH_WORDS = ("paramiko", "sshclient", "asyncssh", "fabric", "sftp")
PLACEHOLDER_IPS = frozenset({"1.2.3.4", "1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4", "9.9.9.9", "4.3.2.1"})
"""Documentation placeholders and public resolvers (used to find the local address)."""

DNS_CONSTRUCTED = LazyPattern(
    r"""(?x)
    (?:gethostbyname(?:_ex)?|getaddrinfo|resolve|query)\s*\(\s*
    (?:f['"][^'"\n]*\{[^'"\n]*\}[^'"\n]*\.[a-z]{2,}|     # f"{data}.evil.tld"
       (?:[^()\n]|\([^()\n]{0,80}\)){0,120}?\+\s*['"]\.[\w.-]+\.[a-z]{2,}['"]  # data + ".evil.tld"
       |['"][^'"\n]*\{\}[^'"\n]*\.[a-z]{2,}['"]\s*\.\s*format  # "{}.evil.tld".format
       |['"][^'"\n]*%[sdrx][^'"\n]*\.[a-z]{2,}['"]\s*%      # "%s.evil.tld" % data
       |['"]\.['"]\s*\.\s*join)                           # ".".join(labels)
    | \bnslookup\s+[^\s'"{}]*\{[^}\n]+\}[\w-]*\.[\w.-]+\.[a-z]{2,}  # f"nslookup {data}.evil.tld"
    | \bping\b[^\n'"]{0,40}\s-p\s+(?:\{|%[sx]|['"]\s*\+)       # f"ping -p {hex_data} host"
    """
)
_HOST_DATA = LazyPattern(
    r"\benviron\b|\bgetenv\b|\bgetuser\b|\bgethostname\b|\bgetlogin\b|\bnode\(\)|\buname\b"
)
"""What a host name made of the machine's or the user's identity is built from (a probe that
reports who installed a package, as dependency-confusion proofs of concept and thieves do)."""
DNS_ENCODING = LazyPattern(r"\.hex\(\)|hexlify|b32encode|b16encode|b64encode|urlsafe_b64|\bencode\(['\"]hex")


def _public(ip: str) -> bool:
    try:
        addr = ipaddress.IPv4Address(ip)
    except ValueError:
        return False
    return addr.is_global and not addr.is_multicast and ip not in PLACEHOLDER_IPS


_CHANNEL_WORDS = (
    "discord", "telegram", "slack", "zulip", "webhook", "pipedream", "requestbin", "requestcatcher",
    "burpcollaborator", "oastify", "interact.sh", ".oast.", "canarytokens", "beeceptor", "hookbin", "dnslog",
    "ceye", "pastebin", "paste.ee", "hastebin", "rentry", "transfer.sh", "anonfiles", "filego", "gofile",
    "file.io", "bayfiles", "temp.sh", "0x0.st", "catbox", "ngrok", "trycloudflare", "serveo", "loca.lt",
    "duckdns", "zapto", "ddns", "no-ip", "hopto", "sytes", "servehttp", "myftp", "3utilities", "bounceme",
    "freedynamicdns", "portmap", ".onion", "iplogger", "grabify", "2no.co", "yip.su", "blasze", "ps3cfw",
    "ipgrabber", "telebot", "aiogram", "pyrogram",
)  # fmt: skip


def channels(file: FileContext) -> list[tuple[str, Severity, Match]]:
    key = "rules2.channels"
    cached = file.cache.get(key)
    if isinstance(cached, list):
        return cached
    found: list[tuple[str, Severity, Match]] = []
    if mentions(file, _CHANNEL_WORDS):
        for label, severity, pattern in CHANNELS:
            hit = first(file, Gated(pattern, _CHANNEL_WORDS))
            if hit and "/" not in hit.text:  # a bare host may be one of a table of domains
                hit = first_in_code(file, Gated(pattern, _CHANNEL_WORDS))
            if hit and not any(hit.line == m.line and hit.text in m.text for _, _, m in found):
                found.append((label, severity, hit))
    file.cache[key] = found
    return found


def raw_ips(file: FileContext) -> list[Match]:
    key = "rules2.raw_ips"
    cached = file.cache.get(key)
    if isinstance(cached, list):
        return cached
    found: list[Match] = []
    text = source(file)
    if text:
        for pattern in (RAW_IP_URL, RAW_IP_SOCKET, RAW_IP_SSH):
            # Every match holds "://" and a digit, or a connect/sendto call: skip the scan without.
            if pattern is RAW_IP_URL and _SCHEME_DIGIT.search(text) is None:
                continue
            if pattern is RAW_IP_SOCKET and not mentions(file, ("connect", "sendto")):
                continue
            if pattern is RAW_IP_SSH and not (mentions(file, ("connect",)) and mentions(file, _SSH_WORDS)):
                continue
            for m in pattern.finditer(text):
                if _public(m.group(1)):
                    found.extend(find(file, re.compile(re.escape(m.group(0))), limit=1))
                    if len(found) >= 5:
                        break
    file.cache[key] = found
    return found


_SCHEME_DIGIT = LazyPattern(r"://\d")
"""What every :data:`RAW_IP_URL` match holds; a literal prefix, so the regex engine finds it fast."""


def dns_exfil(file: FileContext) -> list[Match]:
    key = "rules2.dns_exfil"
    cached = file.cache.get(key)
    if isinstance(cached, list):
        return cached
    found: list[Match] = []
    if has(file, DNS_LOOKUP):
        found = find(
            file,
            Gated(DNS_CONSTRUCTED, ("gethostbyname", "getaddrinfo", "resolve", "query", "nslookup", "ping")),
            limit=5,
        )
    file.cache[key] = found
    return found


_SOCKET_CREATION = LazyPattern(r"socket\s*\.\s*socket\b")
_WAITS = LazyPattern(r"\.\s*(?:bind|listen)\s*\(")
_REACHES_OUT = LazyPattern(r"\.\s*connect(?:_ex)?\s*\(|\bcreate_connection\b|\bsendto\s*\(")


def _only_listens(file: FileContext) -> bool:
    """A file whose sockets are bound to a local port (to serve, or to see whether the port is
    free) and never connect out: a server socket sends data only to whoever reaches this
    machine, so it is no way *out* for what the file collects (a bind shell is the remote-shell
    rule's business)."""
    text = source(file) or ""
    return _WAITS.search(text) is not None and not _REACHES_OUT.search(text)


def sinks(file: FileContext) -> list[Match]:
    key = "rules2.sinks"
    cached = file.cache.get(key)
    if isinstance(cached, list):
        return cached
    found: list[Match] = []
    if mentions(file, SINK_WORDS):
        found = find(file, NETWORK_SINK, limit=5)
        if found and _only_listens(file):
            found = [m for m in found if not _SOCKET_CREATION.match(m.text)]
    if mentions(file, ("gethostbyname", "getaddrinfo", "resolve", "query", "nslookup")):
        found += find(file, DNS_LOOKUP, limit=2)
    file.cache[key] = found
    return found


class ExfilChannel(RuleBase):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        out: list[Finding] = []
        for label, severity, hit in channels(file):
            out.append(
                self.finding(
                    file,
                    line=hit.line,
                    evidence=evidence_for(file, hit),
                    message=(
                        f"Hard-codes a {label} ({hit.text}): a channel attackers use to receive stolen "
                        "data or commands without running a server."
                    ),
                    severity=severity,
                )
            )
        return out


class RawIpEndpoint(RuleBase):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        found = raw_ips(file)
        if not found:
            return []
        hit = found[0]
        return [
            self.finding(
                file,
                line=hit.line,
                evidence=evidence_for(file, hit),
                message=(
                    f"Talks to a hard-coded public IP address ({hit.text}); real services are reached by "
                    "name, throw-away attacker servers often are not."
                ),
            )
        ]


class DnsExfil(RuleBase):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        found = dns_exfil(file)
        if not found:
            return []
        encoded = bool(DNS_ENCODING.search(source(file) or ""))
        personal = next((m for m in found if _HOST_DATA.search(m.text)), None)
        hit = personal or found[0]
        if hit.text.startswith("ping"):
            what, how = "Sends data in the padding of ping packets", "ICMP echo requests"
        else:
            what, how = "Resolves a host name built at run time", "DNS queries"
        return [
            self.finding(
                file,
                line=hit.line,
                evidence=evidence_for(file, hit),
                message=(
                    what
                    + (" from hex/base32-encoded data" if encoded else "")
                    + (" from the user's environment or identity" if personal else "")
                    + f": {how} carry data out even where HTTP is blocked (Birsan, torchtriton)."
                ),
                severity=Severity.HIGH if encoded or personal else Severity.MEDIUM,
            )
        ]


class SourceToSink(RuleBase):
    """A secret source and a way out in one file: the stealer's whole job."""

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not source(file):
            return []
        chan = channels(file)
        ips = raw_ips(file)
        dns = dns_exfil(file)
        stores = secrets.stealer_stores(file)
        dumps = secrets.env_dumps(file)
        creds = secrets.credential_files(file)
        prints = secrets.fingerprint(file)
        walks = secrets.home_file_walks(file)
        captures = secrets.screen_captures(file)
        # Every branch below needs a source (or an install-time high-severity channel); most
        # files have none, so the sink search (many lines in any HTTP library) is skipped.
        if not (
            stores
            or dumps
            or creds
            or secrets.is_beacon_fingerprint(prints)
            or secrets.env_iterations(file)
            or walks
            or captures
            or (bool(ips or chan or dns) and bool(secrets.program_source_reads(file)))
            or (file.stage in (Stage.INSTALL, Stage.STARTUP) and any(s is Severity.HIGH for _, s, _ in chan))
        ):
            return []
        sink_hits = sinks(file)
        if not (sink_hits or chan or dns):
            return []
        sent: Match | None = None
        outbound = [m for _, _, m in chan] + ips + dns
        strong_out = bool(outbound)
        what: list[str] = []
        lines: list[int] = []
        severity: Severity | None = None
        beacon = False
        if stores or dumps:
            what = sorted(stores) + (["the whole environment"] if dumps else [])
            lines = [m.line for m in stores.values()] + [m.line for m in dumps]
            severity = Severity.CRITICAL
        elif creds and (
            strong_out
            or len(creds) >= 3
            or (sent := _sent_credential(file)) is not None
            or (
                len(creds) >= 2
                and _both_unasked(file, [m.line for m in creds.values()], [m.line for m in sink_hits])
            )
        ):
            what = sorted(creds)
            lines = [m.line for m in creds.values()]
            severity = Severity.CRITICAL if strong_out or sent is not None else Severity.HIGH
            if sent is not None and not outbound:
                sink_hits = [sent]
        elif (iters := secrets.env_iterations(file)) and (strong_out or _has_literal_destination(file)):
            what = ["every environment variable"]
            lines = [m.line for m in iters]
            severity = Severity.HIGH
        elif walks and (strong_out or _has_literal_destination(file)):
            what = ["files picked by type across the user's home folders"]
            lines = [m.line for m in walks]
            severity = Severity.CRITICAL if strong_out else Severity.HIGH
        elif captures and (strong_out or _has_literal_destination(file)):
            what = ["screenshots or webcam frames"]
            lines = [m.line for m in captures]
            severity = Severity.HIGH
            beacon = True  # weighed like host facts: medium in an uncalled function to a named host
        elif strong_out and (program := secrets.program_source_reads(file)):
            what = ["the source of the program that uses it"]
            lines = [m.line for m in program]
            severity = Severity.CRITICAL  # sent to a bare IP, a chat bot or over DNS
        elif secrets.is_beacon_fingerprint(prints) and (strong_out or _has_literal_destination(file)):
            what = sorted(prints)
            lines = [m.line for m in prints.values()]
            severity = Severity.HIGH
            beacon = True
        elif (
            file.stage in (Stage.INSTALL, Stage.STARTUP)
            and sink_hits
            and any(sev is Severity.HIGH for _, sev, _ in chan)
        ):
            what = ["data"]
            lines = [m.line for _, sev, m in chan if sev is Severity.HIGH]
            severity = Severity.HIGH
        if severity is None:
            return []
        way_out = outbound[0] if outbound else sink_hits[0]
        lines.append(way_out.line)
        stage = strongest_stage(file, lines)
        if (
            set(stores) == {"browser passwords and cookies"}
            and not dumps
            and stage is Stage.RUNTIME
            and not strong_out
            and not secrets.decrypts_browser_data(file)
        ):
            # A browser-automation tool copies a Chrome profile and also speaks HTTP. A stealer
            # decrypts the saved passwords and cookies, runs unasked, or sends to a webhook, a
            # chat bot, a bare IP or over DNS.
            severity = Severity.HIGH
        if beacon and stage is Stage.RUNTIME and not (chan or ips):
            # Host facts and an ordinary request inside functions that neither installing nor
            # importing runs: telemetry, bug-report and version-check helpers. A beacon fires
            # unasked, or reports to a request bin or a bare IP address (those stay high).
            severity = Severity.MEDIUM
        return [
            self.finding(
                file,
                line=way_out.line,
                evidence=evidence_for(file, way_out),
                message=(
                    f"Collects {', '.join(what)} and sends data out in the same file "
                    f"(line {way_out.line}: {way_out.text.strip()[:60]})."
                ),
                severity=severity,
                stage=stage,
            )
        ]


def _both_unasked(file: FileContext, sources: list[int], ways_out: list[int]) -> bool:
    """Credential stores are named, and data sent, by code that runs as the package installs or
    loads (no user asked for either). With two kinds of store gathered (one key is how a client
    proves who it is), stores read and sent through steps the data flow cannot follow (a dict
    filled in a loop, a conditional read) still tell this story."""
    return (
        bool(sources and ways_out)
        and strongest_stage(file, sources) in UNASKED_STAGES
        and strongest_stage(file, ways_out) in UNASKED_STAGES
    )


def _sent_credential(file: FileContext) -> Match | None:
    """A network call handed what was read from a credential file: the file's path (``~/.ssh``,
    ``id_rsa``) and its read both flow into the call's arguments."""
    facts = facts_of(file)
    if facts is None:
        return None
    sends = any("network" in capabilities(c) or _socket_send(c) for c in facts.calls)
    for call in facts.calls:
        if "process" in capabilities(call) and _uploads_credential(facts, call):
            return Match(line=call.line, text=f"{call.name}(...)")
        if sends and _archives_credential(file, facts, call):
            return Match(line=call.line, text=f"{call.name}(...)")
        if "network" not in capabilities(call) and not _socket_send(call):
            continue
        for value in (*call.node.args, *(k.value for k in call.node.keywords)):
            flow = trace(facts, value, call.function)
            if (
                flow.file_read
                and all(name.rpartition(".")[2] in _CARRIERS for name in flow.names)
                and secrets.names_credential_file("/".join(flow.strings))
            ):
                return Match(line=call.line, text=f"{call.name}(...)")
    return None


#: Programs that send files they are given to another machine: ``curl -F f=@~/.ssh/id_rsa``.
_SENDERS = frozenset(
    {"curl", "wget", "scp", "sftp", "rsync", "nc", "ncat", "netcat", "socat", "ftp", "tftp", "telnet"}
)
#: Options whose file a tool uses here to prove who it is (``scp -i ~/.ssh/id_rsa``, ``curl
#: --key``), not a file it sends.
_OWN_KEY_OPTIONS = LazyPattern(
    r"(?:^|\s)(?:-i|-E|--key|--cert|--cacert|--netrc-file|--identity)\s+\S+|IdentityFile[=\s]\S+"
)


def _uploads_credential(facts: Facts, call: CallFact) -> bool:
    """A process call that starts a network tool and names a credential file among what it
    sends: the tool carries the file to the other machine."""
    text, _ = command_text(facts, call)
    words = text.split()
    if not words or program_name(words[0]) not in _SENDERS:
        return False
    return secrets.names_credential_file(_OWN_KEY_OPTIONS.sub(" ", text))


#: Calls that put a file or a folder into an archive (``tarfile``, ``zipfile``, ``shutil``).
_ARCHIVERS = frozenset({"add", "addfile", "write", "make_archive"})


def _archives_credential(file: FileContext, facts: Facts, call: CallFact) -> bool:
    """As the package installs or loads, a credential file or folder is packed into an archive
    (``tarfile.add(expanduser("~/.ssh"))``) in a file that also sends data: the archive is how
    the folder leaves. (A backup tool packs ``~/.ssh`` when asked, at run time.)"""
    if call.name.rpartition(".")[2] not in _ARCHIVERS:
        return False
    eager = file.stage in (Stage.INSTALL, Stage.STARTUP) or (
        file.stage is Stage.IMPORT and facts.runs_on_load(call)
    )
    if not eager:
        return False
    what = _packed(call)
    if what is None:
        return False
    flow = trace(facts, what, call.function, callers=False)
    path = "/".join(flow.strings)
    return secrets.names_credential_file(path) or _CREDENTIAL_FOLDER.search(path) is not None


def _packed(call: CallFact) -> ast.expr | None:
    """What an archiving call packs: ``t.add(path)``, ``z.write(path)``, and for
    ``shutil.make_archive(base_name, format, root_dir)`` the folder it packs."""
    args = call.node.args
    if call.name.endswith("make_archive"):
        return (
            args[2]
            if len(args) > 2
            else next((k.value for k in call.node.keywords if k.arg == "root_dir"), None)
        )
    return args[0] if args else None


_CREDENTIAL_FOLDER = LazyPattern(r"(?:^|[/\\~])\.(?:ssh|aws|gnupg|kube|docker|azure|config/gcloud)[/\\]?$")
"""A whole folder of keys and tokens (``~/.ssh``), packed as one."""


def _socket_send(call: CallFact) -> bool:
    """``s.sendall(data)`` on a socket the file made (``socket.socket()``,
    ``socket.create_connection(...)``): the socket was the network call, this one sends."""
    owner, _, method = call.name.rpartition(".")
    return method in {"send", "sendall", "sendto", "sendfile"} and owner.startswith("socket.")


_CARRIERS = frozenset(
    {
        *("open", "read", "read_text", "read_bytes", "readline", "readlines", "expanduser"),
        *("expandvars", "home", "join", "joinpath", "Path", "abspath", "realpath", "getenv"),
        *("encode", "decode", "str", "bytes", "format", "strip", "dumps", "b64encode"),
        *("urlsafe_b64encode", "hexlify", "compress"),
        # a token cut out of the file by a regular expression is the token itself
        *("findall", "search", "fullmatch", "group", "groups"),
        # an e-mail carries its text and attachments as they are
        *("EmailMessage", "MIMEText", "MIMEBase", "MIMEApplication", "MIMEMultipart", "set_content"),
        *("set_payload", "attach", "add_attachment", "as_string", "as_bytes"),
        # tests of whether the file is there: ``os.path.exists(p) and open(p).read()``
        *("exists", "isfile", "is_file", "access"),
    }
)
"""Calls that carry a file's text on unchanged (or merely encoded) from its read to a request
(or only ask whether the file is there). A flow through anything else (a parser, a signer)
sends what was made from the credential, which is what every SDK does with its own."""


class CredentialToHost(RuleBase):
    """A cloud or CI credential from the environment, carried to a host that is not its own."""

    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        text = source(file)
        if not text or not mentions_credentials(text):
            return []
        facts = facts_of(file)
        if facts is None:
            return []
        for send in credential_sends(facts):
            variables = [v for v in send.variables if v != WALLET_KEYS]
            if variables:
                message = (
                    f"Sends the {', '.join(variables)} environment "
                    f"variable{'s' if len(variables) > 1 else ''} to {send.host} via "
                    f"{send.call.name}(): a credential handed to a host that is not its "
                    "provider's, as the ctx hijack did with AWS keys."
                )
            else:
                message = (
                    f"Sends a wallet's secret (its private key or recovery words) to {send.host} via "
                    f"{send.call.name}(): a wallet signs with its key on this machine and never "
                    "needs to send it; whoever receives it can move the funds."
                )
            return [
                self.finding(
                    file,
                    line=send.call.line,
                    message=message,
                    stage=stage_of(file, package, on_load=facts.runs_on_load(send.call)),
                )
            ]
        return []


_LITERAL_DESTINATION = LazyPattern(
    r"""(?x)
    (?:post|get|put|urlopen|Request|request|connect|create_connection)\s*\(\s*
    (?:url\s*=\s*)?[fbr]?['"](?:https?|ftp|wss?)://
    | \(\s*['"][\w.-]+\.[a-z]{2,}['"]\s*,\s*\d{2,5}\s*\)
    """
)


def _has_literal_destination(file: FileContext) -> bool:
    """A send whose destination is written into the call (not configured by the user)."""
    text = source(file) or ""
    return bool(_LITERAL_DESTINATION.search(text)) or bool(
        re.search(
            r"""(?m)^\s*\w{0,40}(?:url|host|endpoint|server|webhook)\w{0,40}\s*=\s*[fbr]?['"](?:https?|ftp)://""",
            text,
            re.I,
        )
    )


RULES = (
    ExfilChannel(
        id="PV-EXF-CHANNEL",
        title="Hard-coded exfiltration channel",
        severity=Severity.HIGH,
        rationale="Discord/Telegram/Slack webhooks, request bins, paste and file hosts, tunnels and dynamic "
        "DNS received the data in W4SP, aiocpa, onyxproxy, lmstudio-api and many typosquats.",
    ),
    RawIpEndpoint(
        id="PV-EXF-RAWIP",
        title="Hard-coded public IP endpoint",
        severity=Severity.MEDIUM,
        rationale="Reverse shells and beacons connect to throw-away servers by IP; services use names.",
    ),
    DnsExfil(
        id="PV-EXF-DNS",
        title="DNS lookup of a constructed name",
        severity=Severity.HIGH,
        rationale="Dependency-confusion beacons (Birsan and copycats) and torchtriton encoded host data "
        "into DNS labels.",
    ),
    CredentialToHost(
        id="PV-EXF-CREDENTIAL",
        title="Credential sent to a foreign host",
        severity=Severity.CRITICAL,
        rationale="ctx 0.2.2 put AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY into a request to a "
        "free hosting address; SDKs send credentials only to their own service.",
    ),
    SourceToSink(
        id="PV-EXF-COMBO",
        title="Secret source and network sink together",
        severity=Severity.CRITICAL,
        rationale="Capability plus intent: reading secrets and sending data in the same file is what "
        "ctx, W4SP-style stealers and install-time beacons do.",
    ),
)
