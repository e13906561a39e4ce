"""The same file locked with different hashes in two inputs."""

from __future__ import annotations

from pathlib import Path

from pipvet.models import Artifact, NormalizedName, Origin, Resolved
from pipvet.sources import ParsedSource, crosscheck, pylock, uvlock
from pipvet.sources.findings import HASH_MISMATCH
from pipvet.sources.markers import TargetEnvironment

LOCKS = Path(__file__).resolve().parents[2] / "fixtures" / "lockfiles"
LINUX = TargetEnvironment.for_target(python_version="3.11", platform="linux")


def _source(path: str, files: tuple[Artifact, ...], version: str = "1.0") -> ParsedSource:
    dep = Resolved(name=NormalizedName("a"), version=version, origin=Origin(path=path, line=7), files=files)
    return ParsedSource(path=path, format="test", dependencies=(dep,))


def test_real_uv_lock_and_its_pylock_export_agree() -> None:
    uv = uvlock.parse((LOCKS / "uv" / "uv.lock").read_text(), path="uv.lock", target=LINUX)
    py = pylock.parse((LOCKS / "uv" / "pylock.toml").read_text(), path="pylock.toml", target=LINUX)
    assert crosscheck.hash_mismatches([uv, py]) == ()


def test_tampered_copy_is_reported_once_with_both_places() -> None:
    uv_text = (LOCKS / "uv" / "uv.lock").read_text()
    good = "c05567e9c24a6b9faaa835c4821bad0590fbb9d5779e7caa6e1cc4978e7eb24f"
    bad = "0" * 64
    tampered = uv_text.replace(good, bad)
    first = uvlock.parse(uv_text, path="a/uv.lock", target=LINUX)
    second = uvlock.parse(tampered, path="b/uv.lock", target=LINUX)
    (finding,) = crosscheck.hash_mismatches([first, second, second])
    assert finding.rule == HASH_MISMATCH
    assert finding.path == "b/uv.lock"
    assert finding.line == next(d for d in second.dependencies if d.name == "idna").origin.line
    assert "idna-3.6-py3-none-any.whl" in finding.message
    assert "a/uv.lock:" in finding.message
    assert bad in (finding.evidence or "")


def test_different_files_or_versions_are_not_compared() -> None:
    one = _source("x", (Artifact(filename="a-1.0.tar.gz", sha256="11"),))
    other_file = _source("y", (Artifact(filename="a-1.0-py3-none-any.whl", sha256="22"),))
    other_version = _source("z", (Artifact(filename="a-1.0.tar.gz", sha256="33"),), version="1.1")
    no_hash = _source("w", (Artifact(filename="a-1.0.tar.gz"),))
    assert crosscheck.hash_mismatches([one, other_file, other_version, no_hash]) == ()
