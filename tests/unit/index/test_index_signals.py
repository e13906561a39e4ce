# ruff: noqa: F811  (pytest fixtures imported from fakeindex are parameters by design)
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path

from fakeindex import FakeFile, FakeIndex, FakeProject, cache_dir, demo, fake_index  # noqa: F401
from pipvet.analysis.names import Popular
from pipvet.config import load_settings
from pipvet.index.locate import IndexConfig, make_index
from pipvet.index.signals import remote_findings
from pipvet.models import NormalizedName

NOW = datetime(2024, 5, 2, tzinfo=timezone.utc)


def test_remote_findings_for_many_dependencies(
    fake_index: FakeIndex, demo: FakeProject, cache_dir: Path, tmp_path: Path
) -> None:
    fake_index.add(
        FakeProject(
            name="acme-internal",
            files=[
                FakeFile(
                    filename="acme-internal-99.0.0.tar.gz", data=b"evil", upload_time="2024-05-01T20:00:00Z"
                )
            ],
        )
    )
    local = tmp_path / "private" / "simple" / "acme-internal"
    local.mkdir(parents=True)
    digest = hashlib.sha256(b"ours").hexdigest()
    (local / "index.html").write_text(
        f'<a href="x/acme_internal-1.2.tar.gz#sha256={digest}">acme_internal-1.2.tar.gz</a>'
    )
    config = IndexConfig(primary=fake_index.index(), extras=(make_index(str(local.parent), source="test"),))
    settings = load_settings(cache_dir=cache_dir, cwd=tmp_path)
    signals = remote_findings(
        settings,
        [("demo", "1.1"), ("acme-internal", "99.0.0"), ("absent", "1.0")],
        config=config,
        now=NOW,
        popular=Popular(names=(NormalizedName("requests"),)),
    )
    demo_rules = {f.rule for f in signals.findings[("demo", "1.1")]}
    assert "PV-META-YANKED" in demo_rules
    acme = {f.rule: f for f in signals.findings[("acme-internal", "99.0.0")]}
    assert {
        "PV-META-RELEASE-AGE",
        "PV-META-NEW-PROJECT",
        "PV-CONFUSION-VERSION",
        "PV-CONFUSION-SHADOW",
    } <= set(acme)
    assert signals.findings[("absent", "1.0")] == []
    assert signals.notes == ()


def test_unreachable_index_becomes_a_note(cache_dir: Path, tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = IndexConfig(primary=make_index(f"http://127.0.0.1:{port}/simple/", source="test"))
    settings = load_settings(cache_dir=cache_dir, cwd=tmp_path)
    signals = remote_findings(settings, [("demo", "1.0")], config=config, now=NOW)
    assert signals.findings[("demo", "1.0")] == []
    assert len(signals.notes) == 1
    assert "metadata not checked" in signals.notes[0]
