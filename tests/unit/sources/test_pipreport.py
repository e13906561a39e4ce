"""pip install --dry-run --report: the report pip 26 wrote for the fixture project."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipvet.errors import InputError
from pipvet.models import Resolved, Skipped
from pipvet.sources import pipreport
from pipvet.sources.findings import DIRECT_REF, NO_HASH
from pipvet.sources.markers import TargetEnvironment

LOCKS = Path(__file__).resolve().parents[2] / "fixtures" / "lockfiles"
LINUX = TargetEnvironment.for_target(python_version="3.11", platform="linux")


def test_real_report() -> None:
    text = (LOCKS / "pip-report.json").read_text()
    parsed = pipreport.parse(text, path="-", target=LINUX)
    resolved = {str(d.name): d for d in parsed.dependencies if isinstance(d, Resolved)}
    # pip evaluated the markers itself on Linux: colorama (Windows only) is not in the report
    assert {n: d.version for n, d in resolved.items()} == {
        "idna": "3.6",
        "iniconfig": "2.0.0",
        "pysocks": "1.7.1",
        "six": "1.16.0",
        "urllib3": "1.26.5",
    }
    assert resolved["idna"].hashes == (
        "sha256:c05567e9c24a6b9faaa835c4821bad0590fbb9d5779e7caa6e1cc4978e7eb24f",
    )
    assert resolved["idna"].files[0].filename == "idna-3.6-py3-none-any.whl"
    assert resolved["urllib3"].extras == ("socks",)
    lines = text.splitlines()
    for dep in resolved.values():
        assert '"name":' in lines[dep.origin.line - 1]  # type: ignore[operator]
    (git,) = [d for d in parsed.dependencies if isinstance(d, Skipped)]
    assert git.name == "localgit"
    assert "@206e96758bed4a949a67f192462d192aa7c162b1" in git.requirement
    assert [f.rule for f in parsed.findings] == [DIRECT_REF]
    assert parsed.findings[0].path == "-"


def test_missing_hash_and_direct_archive() -> None:
    report = {
        "version": "1",
        "install": [
            {
                "metadata": {"name": "a", "version": "1"},
                "download_info": {"url": "http://127.0.0.1:1/a-1.tar.gz"},
            },
            {
                "metadata": {"name": "b", "version": "2"},
                "is_direct": True,
                "download_info": {"url": "file:///tmp/b-2.tar.gz", "archive_info": {}},
            },
        ],
    }
    parsed = pipreport.parse(json.dumps(report, indent=2), path="r.json", target=LINUX)
    assert [f.rule for f in parsed.findings] == [NO_HASH, DIRECT_REF]
    assert parsed.findings[1].title == "Direct path dependency"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ('{"version": "1"}', 1, "no 'install'"),
        ('{"version": "2", "install": []}', 1, "version"),
        ('{"install": [\n{"metadata": {"name": "a"}}]}', 2, "a: metadata.version"),
        (
            '{"install": [\n{"metadata": {"name": "a", "version": "1"},\n "download_info": 3}]}',
            2,
            "download_info",
        ),
        ("{\n\n,", 3, "not valid JSON"),
    ],
)
def test_errors_name_file_and_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(InputError) as err:
        pipreport.parse(text, path="report.json", target=LINUX)
    assert err.value.path == "report.json"
    assert err.value.line == line
    assert fragment in str(err.value)
