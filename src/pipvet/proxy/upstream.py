"""An upstream index for the vetting index, through :class:`pipvet.index.client.IndexClient`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipvet.models import NormalizedName

if TYPE_CHECKING:
    from pipvet.index.client import IndexClient
    from pipvet.index.locate import Index
    from pipvet.index.simple import DistFile, ProjectPage


class IndexUpstream:
    """One of the user's indexes: pages (HTTP-cached, revalidated) and verified CAS downloads."""

    def __init__(self, index: Index, *, cache_dir: Path, offline: bool = False) -> None:
        import threading

        self.index = index
        self._cache_dir = cache_dir
        self._offline = offline
        self._lock = threading.Lock()
        self._made: IndexClient | None = None

    @property
    def _client(self) -> IndexClient:
        """Made on first use, so that building the gate does not pay for the HTTP stack."""
        with self._lock:
            if self._made is None:
                from pipvet.index.client import IndexClient

                self._made = IndexClient(self.index, cache_dir=self._cache_dir, offline=self._offline)
            return self._made

    @property
    def url(self) -> str:
        return self.index.url

    def project_page(self, name: NormalizedName) -> ProjectPage | None:
        from pipvet.index.client import ProjectNotFound

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
        with self._lock:
            made, self._made = self._made, None
        if made is not None:
            made.close()
