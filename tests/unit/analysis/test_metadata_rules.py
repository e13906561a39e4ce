from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from pipvet.analysis.names import Popular
from pipvet.analysis.rules.metadata import RULES, metadata_findings
from pipvet.index.project import ProjectInfo, ReleaseFile, Role
from pipvet.models import Finding, NormalizedName, Severity, Stage

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def at(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def files(version: str, when: datetime, **kw: object) -> tuple[ReleaseFile, ...]:
    return (
        ReleaseFile(filename=f"demo-{version}.tar.gz", upload_time=when, **kw),  # type: ignore[arg-type]
        ReleaseFile(filename=f"demo-{version}-py3-none-any.whl", upload_time=when + timedelta(minutes=1)),
    )


def project(releases: dict[str, tuple[ReleaseFile, ...]], **kw: object) -> ProjectInfo:
    base: dict[str, object] = {
        "name": NormalizedName("demo"),
        "summary": "A demo",
        "description_length": 500,
        "author": "A. Person",
        "license": "MIT",
        "project_urls": {"Source": "https://github.com/acme/demo"},
    }
    base.update(kw)
    return ProjectInfo(releases=releases, **base)  # type: ignore[arg-type]


def established() -> dict[str, tuple[ReleaseFile, ...]]:
    return {
        "1.0": files("1.0", at(days=900)),
        "1.1": files("1.1", at(days=400)),
        "1.2": files("1.2", at(days=30)),
    }


def rules(findings: list[Finding]) -> dict[str, Finding]:
    return {f.rule: f for f in findings}


def test_an_established_project_is_quiet() -> None:
    assert metadata_findings(project(established()), "1.2", NOW) == []


def test_every_finding_is_a_metadata_finding_of_a_known_rule() -> None:
    p = project(
        {"99.0": files("99.0", at(hours=2))},
        summary=None,
        description_length=0,
        license=None,
        author=None,
        project_urls={},
        status="quarantined",
    )
    found = metadata_findings(p, "99.0", NOW)
    assert found
    for f in found:
        assert f.stage is Stage.METADATA
        assert f.rule in RULES or f.rule.startswith("PV-CONFUSION")
        assert f.evidence


def test_release_age_uses_the_exact_file() -> None:
    releases = established()
    releases["1.3"] = (
        ReleaseFile(filename="demo-1.3.tar.gz", upload_time=at(days=10)),
        ReleaseFile(filename="demo-1.3-py3-none-any.whl", upload_time=at(hours=5)),
    )
    p = project(releases)
    assert "PV-META-RELEASE-AGE" not in rules(metadata_findings(p, "1.3", NOW, filename="demo-1.3.tar.gz"))
    found = rules(metadata_findings(p, "1.3", NOW, filename="demo-1.3-py3-none-any.whl"))
    age = found["PV-META-RELEASE-AGE"]
    assert age.severity is Severity.HIGH
    assert age.evidence is not None
    assert "5 hours ago" in age.evidence
    assert "2026-11-25T07:00:00Z" in age.evidence


def test_release_age_threshold_is_configurable() -> None:
    releases = {**established(), "1.3": files("1.3", at(days=2))}
    p = project(releases)
    assert rules(metadata_findings(p, "1.3", NOW))["PV-META-RELEASE-AGE"].severity is Severity.MEDIUM
    assert "PV-META-RELEASE-AGE" not in rules(metadata_findings(p, "1.3", NOW, min_age=timedelta(days=1)))


def test_new_single_release_project() -> None:
    p = project({"0.1": files("0.1", at(days=5))})
    found = rules(metadata_findings(p, "0.1", NOW))
    assert {"PV-META-NEW-PROJECT", "PV-META-SINGLE-RELEASE"} <= set(found)
    assert "PV-META-RELEASE-AGE" not in found


def test_burst_of_releases_including_the_vetted_one() -> None:
    releases = established()
    for i, minutes in enumerate((0, 3, 6)):
        releases[f"2.{i}"] = files(f"2.{i}", at(days=20, minutes=-minutes))
    found = rules(metadata_findings(project(releases), "2.2", NOW))
    assert "2.0, 2.1, 2.2" in (found["PV-META-BURST"].evidence or "")
    assert "PV-META-BURST" not in rules(metadata_findings(project(releases), "1.1", NOW))


def test_release_after_years_of_silence() -> None:
    releases = {
        "1.0": files("1.0", at(days=1500)),
        "1.1": files("1.1", at(days=1200)),
        "1.2": files("1.2", at(days=10)),
    }
    found = rules(metadata_findings(project(releases), "1.2", NOW))
    assert "1.1 last uploaded" in (found["PV-META-DORMANT"].evidence or "")
    assert "PV-META-DORMANT" not in rules(metadata_findings(project(releases), "1.1", NOW))


def test_version_jump_and_absurd_version() -> None:
    releases = {**established(), "99.0.0": files("99.0.0", at(days=10))}
    found = rules(metadata_findings(project(releases), "99.0.0", NOW))
    assert found["PV-META-VERSION-JUMP"].evidence == "1.2 -> 99.0.0"
    assert found["PV-CONFUSION-VERSION"].severity is Severity.LOW  # four releases: weak
    lone = project({"99.0.0": files("99.0.0", at(days=10))})
    assert rules(metadata_findings(lone, "99.0.0", NOW))["PV-CONFUSION-VERSION"].severity is Severity.HIGH


def test_calver_switch_is_not_a_jump() -> None:
    releases = {**established(), "2024.1": files("2024.1", at(days=10))}
    assert "PV-META-VERSION-JUMP" not in rules(metadata_findings(project(releases), "2024.1", NOW))


def test_links_missing_or_mismatched() -> None:
    found = rules(metadata_findings(project(established(), project_urls={}), "1.2", NOW))
    assert "PV-META-NO-LINKS" in found
    odd = project(established(), project_urls={"Source": "https://github.com/someone/unrelated-thing"})
    assert rules(metadata_findings(odd, "1.2", NOW))["PV-META-LINK-MISMATCH"].severity is Severity.LOW
    starjack = project(established(), project_urls={"Source": "https://github.com/psf/requests"})
    popular = Popular(names=(NormalizedName("requests"),))
    found = rules(metadata_findings(starjack, "1.2", NOW, popular=popular))
    assert found["PV-META-LINK-MISMATCH"].severity is Severity.MEDIUM
    org = project(established(), project_urls={"Source": "https://github.com/demo/core"})
    assert "PV-META-LINK-MISMATCH" not in rules(metadata_findings(org, "1.2", NOW))


def test_simple_page_projects_are_not_blamed_for_missing_links() -> None:
    p = project(established(), project_urls={}, summary=None, license=None, author=None, source="simple")
    assert metadata_findings(p, "1.2", NOW) == []


def test_sparse_metadata() -> None:
    p = project(established(), summary=None, description_length=3, license=None, author=None)
    assert "licence" in (rules(metadata_findings(p, "1.2", NOW))["PV-META-SPARSE"].evidence or "")


def test_yanked_file_and_release() -> None:
    releases = {
        **established(),
        "1.3": files("1.3", at(days=10), yanked=True, yanked_reason="credential stealer"),
    }
    p = project(releases)
    found = rules(metadata_findings(p, "1.3", NOW, filename="demo-1.3.tar.gz"))
    assert "credential stealer" in found["PV-META-YANKED"].message
    # Only one of the two files is yanked: the release as a whole is not.
    assert "PV-META-YANKED" not in rules(metadata_findings(p, "1.3", NOW))


@pytest.mark.parametrize(
    ("status", "severity"),
    [
        ("quarantined", Severity.HIGH),
        ("archived", Severity.LOW),
        ("deprecated", Severity.LOW),
        ("active", None),
    ],
)
def test_project_status(status: str, severity: Severity | None) -> None:
    found = rules(metadata_findings(project(established(), status=status), "1.2", NOW))
    if severity is None:
        assert "PV-META-STATUS" not in found
    else:
        assert found["PV-META-STATUS"].severity is severity


def test_maintainer_change_since_the_previous_release() -> None:
    releases = {**established(), "1.3": files("1.3", at(days=10))}
    p = project(
        releases,
        roles=(Role(role="Owner", user="mallory"),),
        previous_roles={"1.2": (Role(role="Owner", user="alice"),)},
    )
    change = rules(metadata_findings(p, "1.3", NOW))["PV-META-MAINTAINER-CHANGE"]
    assert "added mallory" in change.message
    assert "removed alice" in change.message
    assert "PV-META-MAINTAINER-CHANGE" not in rules(metadata_findings(p, "1.2", NOW))
    same = project(releases, roles=(Role(role="Owner", user="alice"),), previous_roles=p.previous_roles)
    assert "PV-META-MAINTAINER-CHANGE" not in rules(metadata_findings(same, "1.3", NOW))


def test_version_spelling_is_normalised() -> None:
    releases = {"1.0.0": files("1.0.0", at(hours=1))}
    assert "PV-META-RELEASE-AGE" in rules(metadata_findings(project(releases), "1.0", NOW))
