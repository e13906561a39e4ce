"""An upstream simple index over HTTP (PEP 691 JSON), downloading into a content-addressed cache.

Temporary stand-in for ``pipvet.index`` until that package lands; the vetting index only needs
the :class:`~pipvet.proxy.service.Upstream` protocol.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag, urljoin

from pipvet.errors import IntegrityError, NetworkError
from pipvet.models import NormalizedName
from pipvet.net import make_client, redact_url, translate_errors
from pipvet.proxy.pages import JSON_TYPE, ProjectFile, ProjectPage

if TYPE_CHECKING:
    import httpx


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class HttpUpstream:
    def __init__(self, url: str, cache_dir: Path, *, client: httpx.Client | None = None) -> None:
        self._url = url.rstrip("/") + "/"
        self.cache_dir = cache_dir
        self._client = client or make_client()

    @property
    def url(self) -> str:
        return self._url

    def close(self) -> None:
        self._client.close()

    def _get_json(self, url: str, what: str) -> Any:
        with translate_errors(what, url):
            response = self._client.get(url, headers={"Accept": JSON_TYPE})
            if response.status_code == 404:
                return None
            response.raise_for_status()
        try:
            return json.loads(response.content)
        except ValueError as exc:
            raise NetworkError(f"{what}: {redact_url(url)} sent invalid JSON") from exc

    def project_names(self) -> Sequence[str]:
        data = self._get_json(self._url, "project list")
        return [str(p["name"]) for p in (data or {}).get("projects", []) if isinstance(p, dict)]

    def project_page(self, name: NormalizedName) -> ProjectPage | None:
        url = f"{self._url}{name}/"
        data = self._get_json(url, f"project page for {name}")
        if data is None:
            return None
        files = []
        for raw in data.get("files", []):
            href, _ = urldefrag(urljoin(url, str(raw["url"])))
            yanked = raw.get("yanked", False)
            files.append(
                ProjectFile(
                    filename=str(raw["filename"]),
                    url=href,
                    hashes={str(k): str(v).lower() for k, v in (raw.get("hashes") or {}).items()},
                    requires_python=raw.get("requires-python"),
                    yanked=yanked if isinstance(yanked, str) and yanked else bool(yanked),
                    upload_time=_time(raw.get("upload-time")),
                    size=raw.get("size"),
                )
            )
        return ProjectPage(name=str(data.get("name", name)), files=tuple(files))

    def fetch(self, file: ProjectFile) -> Path:
        expected = file.sha256
        if expected:
            target = self.cache_dir / "artifacts" / "sha256" / expected[:2] / expected
            if target.is_file():
                return target
        folder = self.cache_dir / "artifacts" / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=folder)
        try:
            with (
                os.fdopen(fd, "wb") as out,
                translate_errors(f"download {file.filename}", file.url),
                self._client.stream("GET", file.url) as response,
            ):
                response.raise_for_status()
                for chunk in response.iter_bytes(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
            actual = digest.hexdigest()
            if expected and actual != expected:
                raise IntegrityError(
                    f"{file.filename}: sha256 {actual} does not match the index's {expected}",
                    hint="the download was corrupted or tampered with; try again",
                )
            target = self.cache_dir / "artifacts" / "sha256" / actual[:2] / actual
            target.parent.mkdir(parents=True, exist_ok=True)
            Path(tmp).replace(target)
            return target
        finally:
            Path(tmp).unlink(missing_ok=True)
