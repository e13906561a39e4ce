"""Which files users run: tests, docs and maintainer tools ship in sdists but never load."""

from __future__ import annotations

import pytest

from pipvet.analysis.where import imported_by_users


@pytest.mark.parametrize(
    "path",
    [
        "demo-1.0/tests/test_x.py",
        "demo-1.0/runtests.py",
        "demo-1.0/bin/demo_freeze",
        "demo-1.0/dev/memmonitor.py",
        "demo/script/quitserver.py",
        "demo/_core/tests/helpers.py",
    ],
)
def test_not_imported(path: str) -> None:
    assert not imported_by_users(path)


@pytest.mark.parametrize(
    "path",
    ["pkg-1.0/pkg/__init__.py", "pkg/core/utils/bin/tool.py", "pkg/devices.py", "pkg/scripting.py"],
)
def test_imported(path: str) -> None:
    assert imported_by_users(path)
