"""Input findings for requirements files: missing hashes, index mixing, direct references."""

from __future__ import annotations

from pathlib import Path

from pipvet.sources.findings import DIRECT_REF, INDEX_MIXING, NO_HASH
from pipvet.sources.markers import TargetEnvironment
from pipvet.sources.reader import read_source

TARGET = TargetEnvironment.for_target(python_version="3.11", platform="linux")


def test_hashed_file_with_gaps_mixing_and_direct_refs(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("six==1.16.0\n")
    req = tmp_path / "requirements.txt"
    req.write_text(
        "-r base.txt\n"
        "--extra-index-url http://127.0.0.1:9/private/simple\n"
        "idna==3.6 --hash=sha256:aa\n"
        "urllib3==1.26.5\n"
        "pkg @ git+https://127.0.0.1/pkg.git@v1\n"
        "-e ./local\n"
    )
    parsed = read_source(req, TARGET)
    by_rule: dict[str, list[tuple[str | None, int | None]]] = {}
    for f in parsed.findings:
        by_rule.setdefault(f.rule, []).append((f.path, f.line))
    assert sorted(by_rule[NO_HASH]) == sorted([(str(tmp_path / "base.txt"), 1), (str(req), 4)])
    assert by_rule[DIRECT_REF] == [(str(req), 5), (str(req), 6)]
    assert by_rule[INDEX_MIXING] == [(str(req), 2)]
    mixing = next(f for f in parsed.findings if f.rule == INDEX_MIXING)
    assert "(default index)" in mixing.message


def test_plain_unhashed_file_with_one_index_has_no_findings(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("--index-url http://127.0.0.1:9/simple\nidna==3.6\nsix==1.16.0\n")
    assert read_source(req, TARGET).findings == ()


def test_require_hashes_makes_a_file_locked(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("--require-hashes\nidna==3.6\n")
    (finding,) = read_source(req, TARGET).findings
    assert finding.rule == NO_HASH
    assert finding.line == 2


def test_find_links_is_recorded_and_counts_as_a_second_source(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("--find-links /srv/wheels\nidna==3.6\n")
    parsed = read_source(req, TARGET)
    assert parsed.index_urls == ("/srv/wheels",)
    (mixing,) = parsed.findings
    assert mixing.rule == INDEX_MIXING
    assert mixing.line == 1
    only_local = tmp_path / "offline.txt"
    only_local.write_text("--no-index\n--find-links /srv/wheels\nidna==3.6\n")
    assert read_source(only_local, TARGET).findings == ()
