"""An upstream index for the vetting index, through :class:`pipvet.index.client.IndexClient`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipvet.index.client import IndexClient, ProjectNotFound
from pipvet.index.locate import Index
from pipvet.index.simple import DistFile, ProjectPage
from pipvet.models import NormalizedName


class IndexUpstream:
    """One of the user's indexes: pages (HTTP-cached, revalidated) and verified CAS downloads."""

    def __init__(self, index: Index, *, cache_dir: Path, offline: bool = False) -> None:
        self.index = index
        self._client = IndexClient(index, cache_dir=cache_dir, offline=offline)

    @property
    def url(self) -> str:
        return self.index.url

    def project_page(self, name: NormalizedName) -> ProjectPage | None:
        try:
            return self._client.project_page(name)
        except ProjectNotFound:
            return None

    def project_names(self) -> Sequence[str]:
        """The vetting index lists no projects it has not been asked about (the list can be huge)."""
        return ()

    def fetch(self, file: DistFile) -> Path:
        return self._client.download(file).path

    def close(self) -> None:
        self._client.close()
