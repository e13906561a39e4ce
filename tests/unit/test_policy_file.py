"""The policy file: every key, its defaults, and errors that name the key and the file."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipvet.errors import UsageError
from pipvet.models import Decision, Finding, PackageRef, Result, Severity, Verdict, normalize_name
from pipvet.policy import Policy, load_policy, policy_from_table

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def test_defaults_are_safe() -> None:
    p = policy_from_table({})
    assert p.fail_on is Severity.LOW
    assert p.block_suspicious is False
    assert p.fail_on_names is None  # audit: name signals warn
    assert policy_from_table({}, fail_on_names=Severity.HIGH).fail_on_names is Severity.HIGH  # the gate
    assert p.min_release_age == timedelta(days=3)
    assert p.require_hashes is True
    assert p.allow_errors is False
    assert p.only_binary == ()


def test_full_pyproject_table(tmp_path: Path) -> None:
    f = tmp_path / "pyproject.toml"
    f.write_text(
        """
[tool.pipvet]
fail-on = "high"
fail-on-code = "suspicious"
fail-on-names = "never"
block-warnings = true
min-release-age = "12h"
min-release-age-exempt = ["mycorp-*"]
allow = ["trusted-thing"]
deny = ["evil", "requests<2"]
require-hashes = false
only-binary = ["numpy"]

[tool.pipvet.indexes]
"mycorp-*" = "https://private.example/simple/"

[[tool.pipvet.ignore]]
id = "GHSA-1234"
reason = "not reachable from our code"
expires = 2027-01-31
package = "Django"
""",
        encoding="utf-8",
    )
    p = load_policy(f)
    assert p.fail_on is Severity.HIGH
    assert p.block_suspicious is True
    assert p.fail_on_names is None
    assert p.block_warnings is True
    assert p.min_release_age == timedelta(hours=12)
    assert [str(r) for r in p.deny] == ["evil", "requests<2"]
    assert p.require_hashes is False
    assert p.allowed_indexes("mycorp-lib") == ("https://private.example/simple/",)
    assert p.allowed_indexes("other") is None
    (ig,) = p.ignores
    assert (ig.id, ig.expires, ig.package) == ("GHSA-1234", date(2027, 1, 31), "django")
    assert p.source == str(f)


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ({"fail-on": "severe"}, "fail-on"),
        ({"fail-on-code": "bad"}, "fail-on-code"),
        ({"min-release-age": "soon"}, "min-release-age"),
        ({"deny": "evil"}, "deny"),
        ({"deny": ["evil>>2"]}, "deny[0]"),
        ({"require-hashes": "yes"}, "require-hashes"),
        ({"min-release-age-exempt": ["foo>=1"]}, "min-release-age-exempt[0]"),
        ({"indexes": {"foo": "ftp://x"}}, "indexes.foo"),
        ({"ignore": [{"id": "GHSA-1"}]}, "ignore[0].reason"),
        ({"ignore": [{"id": "GHSA-1", "reason": "r", "expires": "someday"}]}, "ignore[0].expires"),
        ({"ignore": [{"id": "GHSA-1", "reason": "r", "until": "2027-01-01"}]}, "ignore[0]"),
    ],
)
def test_errors_name_file_and_key(table: dict[str, object], needle: str) -> None:
    with pytest.raises(UsageError) as err:
        policy_from_table(table, source="pipvet.toml")
    assert "pipvet.toml" in err.value.message
    assert needle in err.value.message
    assert err.value.exit_code == 2


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    f = tmp_path / "pipvet.toml"
    f.write_text("deny = [", encoding="utf-8")
    with pytest.raises(UsageError, match=r"pipvet\.toml"):
        load_policy(f)


def _omit(policy: Policy, **kw: object) -> str | None:
    args: dict[str, object] = {
        "name": "foo",
        "version": "1.0",
        "filename": "foo-1.0-py3-none-any.whl",
        "now": NOW,
    }
    args.update(kw)
    return policy.omission(**args)  # type: ignore[arg-type]


def test_omission_reasons() -> None:
    p = policy_from_table(
        {
            "deny": ["bad", "foo==0.9"],
            "only-binary": True,
            "min-release-age-exempt": ["fresh-ok"],
            "indexes": {"corp-*": "http://127.0.0.1:1/simple"},
        }
    )
    assert _omit(p) is None
    assert "known malicious" in (_omit(p, malicious_ids=["MAL-2"]) or "")
    assert "denied" in (_omit(p, name="bad") or "")
    assert "denied" in (_omit(p, version="0.9") or "")
    assert _omit(p, yanked="broken") == "yanked: broken"
    assert "only-binary" in (_omit(p, filename="foo-1.0.tar.gz") or "")
    assert "sha256" in (_omit(p, has_sha256=False) or "")
    young = NOW - timedelta(hours=1)
    assert "1h ago" in (_omit(p, upload_time=young) or "")
    assert _omit(p, name="fresh-ok", upload_time=young) is None
    assert _omit(p, upload_time=NOW - timedelta(days=4)) is None
    assert _omit(p, upload_time=None) is None
    assert "another index" in (_omit(p, name="corp-lib", index_url="http://127.0.0.1:2/simple/") or "")
    assert _omit(p, name="corp-lib", index_url="http://127.0.0.1:1/simple/") is None


def _result(verdict: Verdict, *findings: Finding, name: str = "foo") -> Result:
    return Result(
        target="x.whl",
        package=PackageRef(name=normalize_name(name), version="1.0"),
        verdict=verdict,
        findings=findings,
    )


def test_allow_list_reports_but_does_not_block_code_findings() -> None:
    from pipvet.policy import evaluate

    p = policy_from_table({"allow": ["foo"]})
    r = evaluate(_result(Verdict.MALICIOUS), p)
    assert r.decision is Decision.WARN
    assert any("allowed by policy" in x for x in r.reasons)
    assert evaluate(_result(Verdict.MALICIOUS, name="bar"), p).decision is Decision.BLOCK


def test_name_signals_threshold_and_block_warnings() -> None:
    from pipvet.policy import evaluate

    look = Finding(rule="PV-NAME-LOOKALIKE", severity=Severity.HIGH, title="looks like requests", message="m")
    weak = Finding(rule="PV-NAME-NEW", severity=Severity.LOW, title="new project", message="m")
    gate = Policy(fail_on_names=Severity.HIGH)
    assert evaluate(_result(Verdict.CLEAN, look), gate).decision is Decision.BLOCK
    assert evaluate(_result(Verdict.CLEAN, weak), gate).decision is Decision.WARN
    assert evaluate(_result(Verdict.CLEAN, look), Policy()).decision is Decision.WARN
    assert evaluate(_result(Verdict.SUSPICIOUS), Policy(block_warnings=True)).decision is Decision.BLOCK
    assert evaluate(_result(Verdict.SUSPICIOUS), Policy()).decision is Decision.WARN
    denied = evaluate(_result(Verdict.CLEAN), policy_from_table({"deny": ["foo"]}))
    assert denied.decision is Decision.BLOCK
