"""Cloud and CI credentials read from the environment and sent to a host that is not their own.

ctx 0.2.2 (THREATS.md) read ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY`` into attributes
of an object and put them into the path of a GET request to a free hosting address. An SDK
reads the same variables, but hands them to its own service (or signs with them and sends to a
configured endpoint); it never spells out a foreign host. So the signal is a flow, not a word:
a credential variable, directly or through names and ``self.`` attributes it was assigned to,
inside the arguments of a network call whose literal destination is not the provider's domain.

Pure: works on the shared facts of one file, no I/O.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import NamedTuple
from urllib.parse import urlsplit

from pipvet.analysis.facts import CallFact, Facts, capabilities, is_environ
from pipvet.analysis.lazyre import LazyPattern

#: Credential variables and the domains their own service answers on. Package registries'
#: upload tokens are left out on purpose: a registry's address comes from configuration, never
#: from pipvet's code.
PROVIDERS: dict[str, tuple[str, ...]] = {
    "AWS_ACCESS_KEY_ID": ("amazonaws.com", "amazonaws.com.cn", "aws.amazon.com"),
    "AWS_SECRET_ACCESS_KEY": ("amazonaws.com", "amazonaws.com.cn", "aws.amazon.com"),
    "AWS_SESSION_TOKEN": ("amazonaws.com", "amazonaws.com.cn", "aws.amazon.com"),
    "GITHUB_TOKEN": ("github.com", "githubusercontent.com", "ghe.com"),
    "GH_TOKEN": ("github.com", "githubusercontent.com", "ghe.com"),
    "CI_JOB_TOKEN": ("gitlab.com",),
    "GITLAB_TOKEN": ("gitlab.com",),
    "AZURE_CLIENT_SECRET": ("microsoftonline.com", "azure.com", "windows.net", "microsoft.com"),
    "AZURE_STORAGE_KEY": ("windows.net", "azure.com"),
    "SLACK_BOT_TOKEN": ("slack.com",),
    "DOCKER_PASSWORD": ("docker.io", "docker.com"),
    "HEROKU_API_KEY": ("heroku.com",),
    "DIGITALOCEAN_TOKEN": ("digitalocean.com",),
}

#: A wallet's secret: the words or key that move its funds. A wallet signs with them on this
#: machine; no service needs them sent (a TLS ``private_key`` does travel to hosting APIs, so a
#: bare ``private_key`` counts only on a wallet-like object: ``wallet.coldkey.private_key``).
WALLET_KEYS = "a wallet's secret"
_WALLET_WORDS = LazyPattern(r"(?i)mnemonic|seed_?phrase|secret_?phrase|recovery_?phrase|wallet_?(?:key|seed)")
_WALLET_HOLDERS = LazyPattern(r"(?i)wallet|coldkey|hotkey|keypair|signer|solana|ethereum|bitcoin")
_PRIVATE_KEY = LazyPattern(r"(?i)private_?key|priv_?key|secret_?key|wif")

_MAX_ROUNDS = 4
"""Assignment hops followed from a variable read to the call (``a = env; self.b = a; ...``)."""


class CredentialSend(NamedTuple):
    call: CallFact
    variables: tuple[str, ...]
    """The credential variables the call carries (in the order the source names them)."""
    host: str


def mentions_credentials(text: str) -> bool:
    """Cheap gate: the file spells one of the credential variables or a wallet's secret."""
    if any(name in text for name in PROVIDERS):
        return True
    lowered = text.lower()  # plain substring tests: a case-blind regex scan of every file is slow
    if any(word in lowered for word in _WALLET_GATE):
        return True
    return any(word in lowered for word in _PRIVATE_KEY_GATE) and any(w in lowered for w in _HOLDER_GATE)


_WALLET_GATE: tuple[str, ...] = (
    *("mnemonic", "seedphrase", "seed_phrase", "secretphrase", "secret_phrase", "recovery"),
    *("wallet_key", "walletkey", "wallet_seed", "walletseed"),
)
_PRIVATE_KEY_GATE = ("private_key", "privatekey", "priv_key", "privkey", "secret_key", "secretkey", "wif")
_HOLDER_GATE = ("wallet", "coldkey", "hotkey", "keypair", "signer", "solana", "ethereum", "bitcoin")


def credential_sends(facts: Facts) -> Iterator[CredentialSend]:
    """Network calls that carry a credential variable to a host that is not its provider's, and
    DNS lookups of a name built from one (the query itself carries it to whoever serves the
    zone: no provider resolves names made of its customers' keys)."""
    holders = _holders(facts)
    for call in facts.calls:
        found = capabilities(call)
        if call.name in _BROWSER_OPENS:
            found.add("network")  # the browser requests the address, query string and all
        if "network" not in found and "dns" not in found:
            continue
        carried = dict.fromkeys(v for arg in _arguments(call.node) for v in _carried(arg, facts, holders))
        if not carried:
            continue
        if "network" not in found:
            yield CredentialSend(call, tuple(carried), "the DNS servers of the name it looks up")
            continue
        for host in _hosts(call.node):
            foreign = tuple(v for v in carried if not _belongs(host, PROVIDERS.get(v, ())))
            if foreign:
                yield CredentialSend(call, foreign, host)
                break


_BROWSER_OPENS = frozenset({"webbrowser.open", "webbrowser.open_new", "webbrowser.open_new_tab"})


def _arguments(node: ast.Call) -> list[ast.expr]:
    return [*node.args, *(k.value for k in node.keywords)]


def _holders(facts: Facts) -> dict[str, str]:
    """Names and ``self.x`` attributes that hold a credential variable's value -> the variable."""
    found: dict[str, str] = {}
    assigns = [a for group in facts.assigns.values() for a in group] + list(facts.attr_assigns)
    for _ in range(_MAX_ROUNDS):
        grew = False
        for a in assigns:
            key = a.target.lstrip("?")
            if key in found:
                continue
            variable = next(iter(_carried(a.value, facts, found)), None)
            if variable is not None:
                found[key] = variable
                grew = True
        if not grew:
            break
    return found


def _carried(node: ast.AST, facts: Facts, holders: dict[str, str]) -> Iterator[str]:
    """Credential variables whose value ``node`` contains (read here, or via a holder)."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            fact = facts.by_node.get(id(sub))
            if fact is not None and fact.name in {"os.environ.get", "os.getenv", "os.environ.pop"}:
                key = sub.args[0] if sub.args else None
                if isinstance(key, ast.Constant) and key.value in PROVIDERS:
                    yield str(key.value)
        elif (
            isinstance(sub, ast.Subscript)
            and isinstance(sub.slice, ast.Constant)
            and sub.slice.value in PROVIDERS
            and is_environ(sub.value, facts)
        ):
            yield str(sub.slice.value)
        elif isinstance(sub, ast.Name | ast.Attribute) and isinstance(sub.ctx, ast.Load):
            held = _plain(sub)
            if held is not None and held in holders:
                yield holders[held]
            elif held is not None and _wallet_secret(held):
                yield WALLET_KEYS
        elif (
            isinstance(sub, ast.Subscript)
            and isinstance(sub.slice, ast.Constant)
            and isinstance(sub.slice.value, str)
            and _WALLET_WORDS.fullmatch(sub.slice.value)
        ):
            yield WALLET_KEYS  # ``data["secretPhrase"]``


def _wallet_secret(dotted: str) -> bool:
    """``wallet.mnemonic``, ``self.seed_phrase``, ``wallet.coldkey.private_key``: a read of a
    wallet's secret by the names it goes by."""
    *owners, last = dotted.split(".")
    if _WALLET_WORDS.fullmatch(last):
        return True
    return (
        bool(owners)
        and _PRIVATE_KEY.fullmatch(last) is not None
        and any(_WALLET_HOLDERS.search(o) for o in owners)
    )


def _plain(node: ast.expr) -> str | None:
    """``x`` or ``self.x.y`` as text (the form assignment targets are recorded in)."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _hosts(node: ast.Call) -> Iterator[str]:
    """Hosts of the URLs written into the call (``"https://host/..." + x``, f-strings)."""
    for arg in _arguments(node):
        for sub in ast.walk(arg):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                host = _host_of(sub.value)
                if host:
                    yield host


def _host_of(text: str) -> str | None:
    if not text.startswith(("http://", "https://")):
        return None
    try:
        return urlsplit(text).hostname
    except ValueError:
        return None


def _belongs(host: str, domains: tuple[str, ...]) -> bool:
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in domains)
