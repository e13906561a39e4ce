"""The policy: what pipvet does about what it found. ``evaluate`` is pure.

A :class:`Policy` says which severities fail the run, what is ignored (always with a reason and
an optional expiry), and how to treat suspicious and unvettable results. ``evaluate`` turns a
result without a decision into one with a decision and the reasons for it; ``evaluate_all`` also
reports ignores that expired or were never used, so stale exceptions do not linger.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pipvet.errors import UsageError
from pipvet.models import Advisory, Decision, NormalizedName, Result, Severity, Verdict, normalize_name

#: Rule-id prefixes of the name signals (look-alikes, dependency confusion), judged by ``fail_on_names``.
NAME_RULE_PREFIXES = ("PV-NAME", "PV-CONFUSION")
DEFAULT_MIN_RELEASE_AGE = timedelta(days=3)
#: The gate's default for ``fail-on-names``: about to run a package's code, a strong look-alike of
#: a popular name blocks. ``audit`` reports name signals as warnings unless the policy says so.
GATE_FAIL_ON_NAMES = Severity.HIGH


@dataclass(frozen=True, kw_only=True, slots=True)
class Ignore:
    """An accepted risk: an advisory id (or alias), optionally for one package, until a date."""

    id: str
    reason: str | None = None
    expires: date | None = None
    package: NormalizedName | None = None

    def matches(self, advisory: Advisory, package: NormalizedName | None) -> bool:
        if self.package is not None and package is not None and self.package != package:
            return False
        wanted = self.id.upper()
        return advisory.id.upper() == wanted or any(a.upper() == wanted for a in advisory.aliases)

    def expired(self, today: date) -> bool:
        return self.expires is not None and today > self.expires

    def describe(self) -> str:
        text = self.id
        if self.reason:
            text += f" ({self.reason})"
        if self.expires:
            text += f" until {self.expires.isoformat()}"
        return text


@dataclass(frozen=True, kw_only=True, slots=True)
class PackageRule:
    """A package pattern (PEP 503 name, ``*`` globs allowed) and an optional version specifier."""

    pattern: str
    specifier: str = ""

    def matches(self, name: str, version: str | None = None) -> bool:
        if not fnmatch.fnmatchcase(normalize_name(name), self.pattern):
            return False
        if not self.specifier:
            return True
        if version is None:
            return False
        from packaging.specifiers import SpecifierSet
        from packaging.version import InvalidVersion, Version

        try:
            return Version(version) in SpecifierSet(self.specifier)
        except InvalidVersion:
            return False

    def __str__(self) -> str:
        return f"{self.pattern}{self.specifier}"


def _matches_any(rules: Iterable[PackageRule], name: str, version: str | None = None) -> PackageRule | None:
    return next((r for r in rules if r.matches(name, version)), None)


@dataclass(frozen=True, kw_only=True, slots=True)
class Policy:
    """What blocks and what only warns; built from ``[tool.pipvet]`` by :func:`policy_from_table`."""

    fail_on: Severity = Severity.LOW
    """The lowest vulnerability severity that blocks."""
    ignores: tuple[Ignore, ...] = ()
    block_suspicious: bool = False
    """Treat a ``suspicious`` verdict as a block instead of a warning."""
    allow_errors: bool = False
    """Relax fail-closed: a result that could not be vetted only warns."""
    fail_on_names: Severity | None = None
    """The lowest severity of a name signal (look-alike, confusion) that blocks; ``None``: name
    signals only warn. ``pipvet install`` defaults to ``high`` (see :data:`GATE_FAIL_ON_NAMES`)."""
    block_warnings: bool = False
    """Treat every ``warn`` decision as a block (the gate then serves only clean artifacts)."""
    min_release_age: timedelta = DEFAULT_MIN_RELEASE_AGE
    """Files uploaded more recently than this are left out of the index pages."""
    min_release_age_exempt: tuple[PackageRule, ...] = ()
    allow: tuple[PackageRule, ...] = ()
    """Trusted packages: analysis and name signals are reported but do not block (known-malicious
    records and vulnerabilities still follow their own rules)."""
    deny: tuple[PackageRule, ...] = ()
    """Packages (or versions) that are never served or installed."""
    require_hashes: bool = True
    """Leave out files whose index entry publishes no sha256 (their transfer cannot be verified)."""
    only_binary: tuple[PackageRule, ...] = ()
    """Packages whose sdists are never used (``*`` for all): sdists run code when they are built."""
    indexes: tuple[tuple[PackageRule, tuple[str, ...]], ...] = ()
    """Dependency-confusion pinning: packages matching a pattern come only from these index URLs."""
    source: str | None = None
    """The file the policy was read from, for messages."""

    def allowed_indexes(self, name: str) -> tuple[str, ...] | None:
        """The index URLs ``name`` is pinned to, or ``None`` when it may come from any index."""
        for rule, urls in self.indexes:
            if rule.matches(name):
                return urls
        return None

    def omission(
        self,
        *,
        name: str,
        version: str | None,
        filename: str,
        yanked: bool | str = False,
        upload_time: datetime | None = None,
        has_sha256: bool = True,
        malicious_ids: Iterable[str] = (),
        index_url: str | None = None,
        now: datetime,
    ) -> str | None:
        """Why a file listed by an index must be left out of the page the installer sees, or ``None``.

        Pure: ``now`` is passed in. ``upload_time`` must be timezone-aware when given.
        """
        mal = sorted(set(malicious_ids))
        if mal:
            return "known malicious release: " + ", ".join(mal)
        rule = _matches_any(self.deny, name, version)
        if rule is not None:
            return f"denied by policy ({rule})"
        pinned = self.allowed_indexes(name)
        if (
            pinned is not None
            and index_url is not None
            and _norm_url(index_url) not in {_norm_url(u) for u in pinned}
        ):
            return "policy pins this package to another index (dependency confusion guard)"
        if yanked:
            why = f": {yanked}" if isinstance(yanked, str) and yanked else ""
            return f"yanked{why}"
        if filename.endswith((".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar")) and _matches_any(
            self.only_binary, name
        ):
            return "sdists are not allowed by policy (only-binary)"
        if self.require_hashes and not has_sha256:
            return "the index publishes no sha256 for this file (require-hashes)"
        # An index that publishes no upload time cannot prove a file's age; treating that as "too
        # new" would make every such index unusable, so the age check needs an upload time.
        if (
            upload_time is not None
            and self.min_release_age > timedelta(0)
            and not _matches_any(self.min_release_age_exempt, name)
        ):
            age = now - upload_time
            if age < self.min_release_age:
                return (
                    f"uploaded {_human(age)} ago, newer than the minimum release age "
                    f"{_human(self.min_release_age)}"
                )
        return None


def _norm_url(url: str) -> str:
    return url.rstrip("/") + "/"


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 86400:
        return f"{seconds / 86400:.1f}d".replace(".0d", "d")
    if seconds >= 3600:
        return f"{seconds // 3600}h"
    if seconds >= 60:
        return f"{seconds // 60}m"
    return f"{max(seconds, 0)}s"


# eq=False: never compared, so no __eq__/__hash__ to generate at import
@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class Evaluation:
    """The decided results of :func:`evaluate_all`, with notes on stale or unused ignores."""

    results: tuple[Result, ...]
    notes: tuple[str, ...] = ()
    used_ignores: frozenset[str] = field(default_factory=frozenset)


def evaluate(
    result: Result,
    policy: Policy,
    *,
    today: date | None = None,
    applies: bool = True,
    used: set[str] | None = None,
) -> Result:
    """Decide allow/warn/block for one result and explain why.

    ``applies=False`` marks a dependency whose environment marker is false for the target: it is
    still reported, but it cannot block (it would not be installed there).
    """
    today = today or date.today()
    kept: list[Advisory] = []
    reasons: list[str] = []
    name = result.package.name if result.package else None
    for adv in result.vulnerabilities:
        ignore = next(
            (i for i in policy.ignores if not i.expired(today) and i.matches(adv, name)),
            None,
        )
        if ignore is None:
            kept.append(adv)
            continue
        if used is not None:
            used.add(ignore.id.upper())
        reasons.append(f"ignored {adv.id}: {ignore.reason or 'no reason given'}")

    decision = Decision.ALLOW
    version = result.package.version if result.package else None
    trusted = _matches_any(policy.allow, name, version) if name else None
    denied = _matches_any(policy.deny, name, version) if name else None
    if result.verdict is Verdict.ERROR:
        decision = Decision.WARN if policy.allow_errors else Decision.BLOCK
        reasons.append(f"could not be vetted: {result.error or 'unknown error'}")
    malicious = [a for a in kept if a.malicious]
    if malicious:
        decision = Decision.BLOCK
        reasons.append("known malicious release: " + ", ".join(a.id for a in malicious))
    if denied is not None:
        decision = Decision.BLOCK
        reasons.append(f"denied by policy ({denied})")
    if trusted is not None and result.verdict in (Verdict.MALICIOUS, Verdict.SUSPICIOUS):
        if decision is Decision.ALLOW:
            decision = Decision.WARN
        reasons.append(
            f"analysis verdict {result.verdict.value} (score {result.score}), "
            f"not enforced: allowed by policy ({trusted})"
        )
    elif result.verdict is Verdict.MALICIOUS and not malicious:
        decision = Decision.BLOCK
        reasons.append(f"analysis verdict malicious (score {result.score})")
    elif result.verdict is Verdict.SUSPICIOUS:
        if policy.block_suspicious:
            decision = Decision.BLOCK
        elif decision is Decision.ALLOW:
            decision = Decision.WARN
        reasons.append(f"analysis verdict suspicious (score {result.score})")
    names = [f for f in result.findings if f.rule.startswith(NAME_RULE_PREFIXES)]
    if names and trusted is None:
        worst = max(names, key=lambda f: f.severity.rank)
        if policy.fail_on_names is not None and worst.severity >= policy.fail_on_names:
            decision = Decision.BLOCK
            reasons.append(f"name signal: {worst.title}")
        elif decision is Decision.ALLOW:
            decision = Decision.WARN
            reasons.append(f"name signal below the fail threshold: {worst.title}")
    failing = [a for a in kept if not a.malicious and a.severity >= policy.fail_on]
    if failing:
        decision = Decision.BLOCK
        reasons.append(
            f"{len(failing)} known vulnerabilit{'y' if len(failing) == 1 else 'ies'} at or above "
            f"{policy.fail_on.value}"
        )
    below = [a for a in kept if not a.malicious and a.severity < policy.fail_on]
    if below and decision is Decision.ALLOW:
        decision = Decision.WARN
        reasons.append(f"{len(below)} known vulnerabilities below the fail threshold")
    if policy.block_warnings and decision is Decision.WARN:
        decision = Decision.BLOCK
        reasons.append("warnings block by policy (block-warnings)")
    if not applies and decision is Decision.BLOCK:
        decision = Decision.WARN
        reasons.append("not installed on the target (environment marker is false): not enforced")
    return replace(
        result, vulnerabilities=tuple(kept), decision=decision, reasons=(*result.reasons, *reasons)
    )


def evaluate_all(
    results: Iterable[tuple[Result, bool]],
    policy: Policy,
    *,
    today: date | None = None,
) -> Evaluation:
    """Evaluate ``(result, applies)`` pairs; report expired and unused ignores as notes."""
    today = today or date.today()
    used: set[str] = set()
    decided = tuple(evaluate(r, policy, today=today, applies=a, used=used) for r, a in results)
    notes: list[str] = []
    for ignore in policy.ignores:
        if ignore.expired(today):
            notes.append(f"ignore {ignore.describe()} has expired and no longer applies")
        elif ignore.id.upper() not in used:
            notes.append(f"ignore {ignore.describe()} matched nothing; remove it if it is obsolete")
    return Evaluation(results=decided, notes=tuple(notes), used_ignores=frozenset(used))


# --- the policy file ------------------------------------------------------------------------------

#: Keys of ``[tool.pipvet]`` that belong to the policy (others belong to the settings layer).
POLICY_KEYS = frozenset(
    {
        "fail-on",
        "fail-on-code",
        "fail-on-names",
        "block-warnings",
        "allow-errors",
        "min-release-age",
        "min-release-age-exempt",
        "allow",
        "deny",
        "require-hashes",
        "only-binary",
        "indexes",
        "ignore",
    }
)


def load_policy(path: Path, *, fail_on_names: Severity | None = None) -> Policy:
    """Read a policy file (``pipvet.toml``, or ``[tool.pipvet]`` of a ``pyproject.toml``)."""
    from pipvet.config import read_config_file

    return policy_from_table(read_config_file(path), source=str(path), fail_on_names=fail_on_names)


def policy_from_table(
    table: Mapping[str, Any],
    *,
    source: str = "configuration",
    fail_on_names: Severity | None = None,
) -> Policy:
    """Build a :class:`Policy` from the raw ``[tool.pipvet]`` table; errors name key and file.

    ``fail_on_names`` is the command's default for the ``fail-on-names`` key.
    """
    from pipvet.config import parse_duration, parse_severity

    def where(key: str) -> str:
        return f"{source}: {key}"

    def flag(key: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise UsageError(f"{where(key)}: expected true or false, got {value!r}")
        return value

    fail_on = Severity.LOW
    if "fail-on" in table:
        fail_on = parse_severity(_string(table["fail-on"], where("fail-on")), where=where("fail-on"))
    code = _string(table.get("fail-on-code", "malicious"), where("fail-on-code")).lower()
    if code not in ("malicious", "suspicious"):
        raise UsageError(f"{where('fail-on-code')}: expected 'malicious' or 'suspicious', got {code!r}")
    if "fail-on-names" in table:
        names_raw = _string(table["fail-on-names"], where("fail-on-names")).lower()
        fail_on_names = (
            None if names_raw == "never" else parse_severity(names_raw, where=where("fail-on-names"))
        )
    age = DEFAULT_MIN_RELEASE_AGE
    if "min-release-age" in table:
        age = parse_duration(table["min-release-age"], where=where("min-release-age"))
    only_binary_raw = table.get("only-binary", False)
    only_binary: tuple[PackageRule, ...]
    if isinstance(only_binary_raw, bool):
        only_binary = (PackageRule(pattern="*"),) if only_binary_raw else ()
    else:
        only_binary = _rules(only_binary_raw, where("only-binary"), specifiers=False)
    return Policy(
        fail_on=fail_on,
        block_suspicious=code == "suspicious",
        fail_on_names=fail_on_names,
        block_warnings=flag("block-warnings", False),
        allow_errors=flag("allow-errors", False),
        min_release_age=age,
        min_release_age_exempt=_rules(
            table.get("min-release-age-exempt", []), where("min-release-age-exempt"), specifiers=False
        ),
        allow=_rules(table.get("allow", []), where("allow")),
        deny=_rules(table.get("deny", []), where("deny")),
        require_hashes=flag("require-hashes", True),
        only_binary=only_binary,
        indexes=_indexes(table.get("indexes", {}), where("indexes")),
        ignores=_ignores(table.get("ignore", []), source),
        source=source,
    )


def _string(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise UsageError(f"{where}: expected a string, got {value!r}")
    return value


def _rules(value: object, where: str, *, specifiers: bool = True) -> tuple[PackageRule, ...]:
    if not isinstance(value, list):
        raise UsageError(f"{where}: expected a list of package names, got {value!r}")
    rules: list[PackageRule] = []
    for i, item in enumerate(value):
        text = _string(item, f"{where}[{i}]").strip()
        rules.append(_rule(text, f"{where}[{i}]", specifiers=specifiers))
    return tuple(rules)


def _rule(text: str, where: str, *, specifiers: bool) -> PackageRule:
    import re

    m = re.fullmatch(r"\s*([A-Za-z0-9*?][A-Za-z0-9._*?-]*)\s*(.*?)\s*", text)
    if m is None:
        raise UsageError(f"{where}: {text!r} is not a package name or pattern")
    name, spec = m.group(1), m.group(2)
    if spec:
        if not specifiers:
            raise UsageError(f"{where}: {text!r}: a version specifier is not allowed here")
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            SpecifierSet(spec)
        except InvalidSpecifier:
            raise UsageError(f"{where}: {spec!r} is not a valid version specifier") from None
    return PackageRule(pattern=normalize_name(name), specifier=spec)


def _indexes(value: object, where: str) -> tuple[tuple[PackageRule, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise UsageError(f"{where}: expected a table of package = index URL(s), got {value!r}")
    pins: list[tuple[PackageRule, tuple[str, ...]]] = []
    for key, urls in value.items():
        at = f"{where}.{key}"
        listed = [urls] if isinstance(urls, str) else urls
        if not isinstance(listed, list) or not listed:
            raise UsageError(f"{at}: expected an index URL or a list of them, got {urls!r}")
        checked = tuple(_string(u, at) for u in listed)
        for u in checked:
            if not u.startswith(("http://", "https://")):
                raise UsageError(f"{at}: {u!r} is not an http(s) index URL")
        pins.append((_rule(key, at, specifiers=False), checked))
    return tuple(pins)


def _ignores(value: object, source: str) -> tuple[Ignore, ...]:
    if not isinstance(value, list):
        raise UsageError(f"{source}: ignore: expected an array of tables ([[tool.pipvet.ignore]])")
    out: list[Ignore] = []
    for i, item in enumerate(value):
        at = f"{source}: ignore[{i}]"
        if not isinstance(item, dict):
            raise UsageError(f"{at}: expected a table with id, reason and optional expires")
        unknown = set(item) - {"id", "reason", "expires", "package"}
        if unknown:
            raise UsageError(f"{at}: unknown key {sorted(unknown)[0]!r} (use id, reason, expires, package)")
        if "id" not in item:
            raise UsageError(f"{at}.id: missing: name the advisory (e.g. GHSA-xxxx or CVE-...)")
        reason = item.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise UsageError(f"{at}.reason: missing: every ignore needs a reason")
        expires = item.get("expires")
        if isinstance(expires, str):
            try:
                expires = date.fromisoformat(expires)
            except ValueError:
                raise UsageError(f"{at}.expires: {expires!r} is not a date (YYYY-MM-DD)") from None
        if isinstance(expires, datetime):
            expires = expires.date()
        if expires is not None and not isinstance(expires, date):
            raise UsageError(f"{at}.expires: expected a date (YYYY-MM-DD), got {expires!r}")
        package = item.get("package")
        out.append(
            Ignore(
                id=_string(item["id"], f"{at}.id"),
                reason=reason.strip(),
                expires=expires,
                package=normalize_name(_string(package, f"{at}.package")) if package else None,
            )
        )
    return tuple(out)
