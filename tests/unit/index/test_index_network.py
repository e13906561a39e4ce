"""Opt-in: the real index through the configured default (``pytest --run-network``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipvet.index.client import IndexClient
from pipvet.index.locate import locate


@pytest.mark.network
@pytest.mark.enable_socket
def test_real_index_page_info_and_download(tmp_path: Path) -> None:
    index = locate(env={"HOME": str(tmp_path), "PIP_CONFIG_FILE": "/dev/null", "UV_NO_CONFIG": "1"}).primary
    with IndexClient(index, cache_dir=tmp_path) as client:
        page = client.project_page("pip")
        assert page.files
        assert all(f.sha256 for f in page.files if f.filename.endswith(".whl"))
        info = client.project_info("pip")
        assert info.source == "json"
        latest = info.latest
        assert latest is not None
        assert latest in info.releases
        wheel = next(f for f in info.releases[latest] if f.filename.endswith(".whl"))
        got = client.download(wheel)
        assert got.verified
        assert got.sha256 == wheel.sha256
