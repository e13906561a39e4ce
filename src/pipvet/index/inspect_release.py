"""``inspect name[==version]``: every file of a release, fetched, analysed, and joined with the
metadata and name signals of the project.

Each file becomes its own result (a clean wheel does not excuse a malicious sdist of the same
release). Metadata findings are added to each file's findings and the verdict is re-scored with
them; it never drops below what the code analysis alone decided.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pipvet.analysis.names import Popular, name_findings
from pipvet.analysis.rules.metadata import DEFAULT_MIN_AGE, metadata_findings
from pipvet.errors import PipvetError
from pipvet.index.client import IndexClient
from pipvet.index.release import fetch_release
from pipvet.models import Artifact, Finding, PackageRef, Result, Verdict, normalize_name
from pipvet.net import redact_url

if TYPE_CHECKING:
    import httpx

    from pipvet.config import Settings
    from pipvet.inspection import IndexTarget

_ORDER = {Verdict.CLEAN: 0, Verdict.SUSPICIOUS: 1, Verdict.ERROR: 2, Verdict.MALICIOUS: 3}


def with_findings(result: Result, extra: Sequence[Finding]) -> Result:
    """``result`` plus ``extra`` findings, re-scored; the verdict and score never go down."""
    if not extra:
        return result
    from pipvet.analysis import score as scoring

    scored = scoring.score([*result.findings, *extra])
    verdict = result.verdict
    if _ORDER[scored.verdict] > _ORDER[verdict] and verdict is not Verdict.ERROR:
        verdict = scored.verdict
    return replace(result, findings=scored.findings, verdict=verdict, score=max(result.score, scored.score))


def inspect_release(
    client: IndexClient,
    name: str,
    version: str | None,
    *,
    label: str,
    now: datetime,
    popular: Popular,
    min_age: timedelta = DEFAULT_MIN_AGE,
) -> list[Result]:
    """One result per file of the release; an index failure is one ``error`` result, not a crash."""
    from pipvet.analysis.engine import analyze

    try:
        fetched = fetch_release(client, name, version)
    except PipvetError as exc:
        return [
            Result(
                target=label,
                package=PackageRef(name=normalize_name(name), version=version),
                verdict=Verdict.ERROR,
                findings=tuple(name_findings(name, popular)),
                error=exc.message,
            )
        ]
    project, key = fetched.project, fetched.version
    names = name_findings(project.name, popular)
    results = []
    for file, downloaded in fetched.files:
        analysis = analyze(downloaded.path, filename=file.filename, label=f"{label} ({file.filename})")
        meta = metadata_findings(project, key, now, filename=file.filename, min_age=min_age, popular=popular)
        result = with_findings(analysis.result, [*names, *meta])
        results.append(
            replace(
                result,
                package=PackageRef(name=project.name, version=key),
                artifact=Artifact(
                    filename=file.filename,
                    sha256=downloaded.sha256,
                    size=downloaded.size,
                    url=redact_url(file.url) if file.url else None,
                    upload_time=file.upload_time.isoformat() if file.upload_time else None,
                ),
            )
        )
    return results


class ReleaseFetcher:
    """The ``fetch_all`` hook of :func:`pipvet.inspection.inspect_targets`: one client for the run."""

    def __init__(self, client: IndexClient, *, popular: Popular, now: datetime, min_age: timedelta) -> None:
        self.client = client
        self.popular = popular
        self.now = now
        self.min_age = min_age

    def __call__(self, target: IndexTarget) -> list[Result]:
        return inspect_release(
            self.client,
            target.name,
            target.version,
            label=target.label,
            now=self.now,
            popular=self.popular,
            min_age=self.min_age,
        )

    def close(self) -> None:
        self.client.close()


def release_fetcher(settings: Settings, *, transport: httpx.BaseTransport | None = None) -> ReleaseFetcher:
    """A fetcher for the index the user's installer would use, per ``settings``."""
    from datetime import timezone

    from pipvet.analysis.names import load_popular
    from pipvet.config import parse_duration
    from pipvet.index.factory import client_for

    raw_age = settings.file_options.get("min-release-age")
    min_age = parse_duration(raw_age, where="min-release-age") if raw_age is not None else DEFAULT_MIN_AGE
    return ReleaseFetcher(
        client_for(settings, transport=transport),
        popular=load_popular(settings.cache_dir),
        now=datetime.now(timezone.utc),
        min_age=min_age,
    )
