"""The vetting index as a synchronous, thread-safe service: what the ASGI app and the gate share.

It sits in front of one or more upstream indexes (the user's own, in order). For each project
page it asks the upstream, leaves out what the policy excludes (recording why), and remembers the
files it served. For each artifact it downloads the bytes once (hash verified), has them vetted,
and hands out the cached path only when the decision is not ``block``.

Fail closed: once an upstream could not be reached or a download failed verification, the
service is *failed* and refuses every further request, so an installer can never finish with a
partial view of what it asked for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pipvet.errors import OperationalError, PipvetError
from pipvet.index.project import parse_time
from pipvet.index.simple import DistFile, ProjectPage
from pipvet.models import (
    Artifact,
    Decision,
    Finding,
    NormalizedName,
    PackageRef,
    Result,
    Verdict,
    normalize_name,
)
from pipvet.policy import Policy
from pipvet.proxy.pages import FilteredPage, Omission, filter_page, yanked_of

if TYPE_CHECKING:
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

    from pipvet.analysis.names import Presence


class Upstream(Protocol):
    """One real index the vetting index stands in front of."""

    @property
    def url(self) -> str:
        """The index's simple-API URL (for pinning and messages; may carry credentials)."""
        ...

    def project_page(self, name: NormalizedName) -> ProjectPage | None:
        """The project's page, or ``None`` when the index does not know the project."""
        ...

    def project_names(self) -> Sequence[str]: ...

    def fetch(self, file: DistFile) -> Path:
        """The file's bytes in the content-addressed cache, its published hash verified."""
        ...

    def close(self) -> None: ...


class Vetter(Protocol):
    """What the vetting index asks about releases and artifacts (database, analysis, names)."""

    def malicious_versions(
        self, name: NormalizedName, versions: Iterable[str]
    ) -> Mapping[str, tuple[str, ...]]:
        """Known-malicious record ids per version, for the versions that have any."""
        ...

    def vet_artifact(
        self,
        *,
        name: NormalizedName,
        version: str | None,
        path: Path,
        artifact: Artifact,
        context: Sequence[Finding] = (),
    ) -> Result:
        """The decided result for one downloaded artifact (verdict, findings, decision, reasons).

        ``context`` are findings about the artifact's surroundings that only the vetting index
        can see (e.g. the same name on several of the user's indexes).
        """
        ...


class Blocked(PipvetError):
    """The artifact may not be served; ``result`` says why."""

    def __init__(self, result: Result) -> None:
        super().__init__(f"{result.target}: " + "; ".join(result.reasons or ("blocked",)))
        self.result = result


class Refused(PipvetError):
    """A request the vetting index refuses without vetting anything (unknown or omitted file)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, kw_only=True, slots=True)
class Served:
    path: Path
    result: Result


@dataclass(kw_only=True, slots=True)
class _Slot:
    lock: threading.Lock = field(default_factory=threading.Lock)
    outcome: Served | Blocked | None = None


class Listener(Protocol):
    def __call__(self, event: str, detail: str) -> None: ...


def _now() -> datetime:
    return datetime.now(timezone.utc)


class VettingIndex:
    """Filtered pages and vetted artifacts for a list of upstream indexes (index 0 is the default)."""

    def __init__(
        self,
        upstreams: Sequence[Upstream],
        vetter: Vetter,
        policy: Policy,
        *,
        clock: Callable[[], datetime] = _now,
        listener: Listener | None = None,
        prefetch_workers: int = 2,
    ) -> None:
        if not upstreams:
            raise ValueError("a vetting index needs at least one upstream index")
        self.upstreams = tuple(upstreams)
        self.vetter = vetter
        self.policy = policy
        self._clock = clock
        self._listener = listener
        self._lock = threading.Lock()
        self._pages: dict[tuple[int, str], _Slot] = {}
        self._page_results: dict[tuple[int, str], FilteredPage | None] = {}
        self._artifacts: dict[tuple[int, str, str], _Slot] = {}
        self._results: dict[tuple[int, str, str], Result] = {}
        self.failures: list[str] = []
        self._prefetching = threading.local()
        self._requested: set[tuple[int, str]] = set()
        self._pool: ThreadPoolExecutor | None = None
        self._prefetch_workers = prefetch_workers
        self._closed = False
        self._idle = threading.Condition(self._lock)
        self._pending = 0

    # --- state -------------------------------------------------------------------------------

    @property
    def failed(self) -> bool:
        with self._lock:
            return bool(self.failures)

    def _fail(self, message: str) -> None:
        if getattr(self._prefetching, "on", False):
            return  # a guess that failed proves nothing; the installer's own request will tell
        with self._lock:
            if message not in self.failures:
                self.failures.append(message)
        self._emit("failure", message)

    def _check_open(self) -> None:
        with self._lock:
            if self.failures:
                raise Refused(
                    "the vetting index has stopped after an operational failure: " + self.failures[0],
                    status=503,
                )

    def _emit(self, event: str, detail: str) -> None:
        if self._listener is not None:
            self._listener(event, detail)

    def results(self) -> tuple[Result, ...]:
        """Every vetted artifact's result, in the order vetting finished."""
        with self._lock:
            return tuple(self._results.values())

    def omissions(self) -> tuple[Omission, ...]:
        """Every file left out of a page the installer asked for, de-duplicated, sorted."""
        with self._lock:
            pages = [p for k, p in self._page_results.items() if p is not None and k in self._requested]
        seen: dict[tuple[str, str], Omission] = {}
        for page in pages:
            for o in page.omitted:
                seen.setdefault((o.project, o.filename), o)
        return tuple(
            sorted(seen.values(), key=lambda o: (_rank(o.reason), o.project, o.version or "", o.filename))
        )

    def _upstream(self, index: int) -> Upstream:
        if not 0 <= index < len(self.upstreams):
            raise Refused(f"no upstream index number {index}", status=404)
        return self.upstreams[index]

    # --- pages -------------------------------------------------------------------------------

    def project_names(self, index: int) -> Sequence[str]:
        self._check_open()
        upstream = self._upstream(index)
        try:
            return upstream.project_names()
        except OperationalError as exc:
            self._fail(exc.message)
            raise

    def page(self, index: int, project: str) -> FilteredPage | None:
        """The filtered page for ``project`` on upstream ``index`` (fetched once per run)."""
        self._check_open()
        upstream = self._upstream(index)
        name = normalize_name(project)
        key = (index, name)
        with self._lock:
            slot = self._pages.setdefault(key, _Slot())
            if not getattr(self._prefetching, "on", False):
                self._requested.add(key)
        with slot.lock:
            with self._lock:
                if key in self._page_results:
                    return self._page_results[key]
            try:
                raw = upstream.project_page(name)
            except OperationalError as exc:
                self._fail(exc.message)
                raise
            filtered = None if raw is None else self._filter(raw, name, upstream.url)
            with self._lock:
                self._page_results[key] = filtered
            if filtered is not None:
                for o in filtered.omitted:
                    self._emit("omitted", f"{o.filename}: {o.reason}")
            return filtered

    def _filter(self, page: ProjectPage, name: NormalizedName, index_url: str) -> FilteredPage:
        versions = {v for v in (_version(f.filename) for f in page.files) if v}
        malicious = self.vetter.malicious_versions(name, versions)
        now = self._clock()

        def decide(f: DistFile, version: str | None) -> str | None:
            return self.policy.omission(
                name=name,
                version=version,
                filename=f.filename,
                yanked=yanked_of(f),
                upload_time=parse_time(f.upload_time),
                has_sha256=f.sha256 is not None,
                malicious_ids=malicious.get(version or "", ()),
                index_url=index_url,
                now=now,
            )

        return filter_page(replace(page, name=name), decide)

    # --- artifacts ---------------------------------------------------------------------------

    def artifact(self, index: int, project: str, filename: str) -> Served:
        """Download (once), vet (once) and return the artifact, or raise :class:`Blocked`."""
        self._check_open()
        name = normalize_name(project)
        page = self.page(index, name)
        if page is None:
            raise Refused(f"{name}: no such project on the upstream index", status=404)
        found = page.find(filename)
        if found is None:
            omitted = page.omission(filename)
            if omitted is not None:
                raise Refused(f"pipvet left {filename} out: {omitted.reason}", status=403)
            raise Refused(f"{filename}: not listed for {name}", status=404)
        file, version = found
        key = (index, name, filename)
        outcome = self._outcome(index, name, version, file)
        with self._lock:
            first = key not in self._results
            self._results[key] = outcome.result
        if first:
            self._emit(outcome.result.decision.value, filename)
        if isinstance(outcome, Blocked):
            raise outcome
        return outcome

    def _outcome(
        self, index: int, name: NormalizedName, version: str | None, file: DistFile
    ) -> Served | Blocked:
        """Download and vet ``file`` once, however many threads ask at the same time."""
        key = (index, name, file.filename)
        with self._lock:
            slot = self._artifacts.setdefault(key, _Slot())
        with slot.lock:
            if slot.outcome is None:
                slot.outcome = self._vet(index, name, version, file)
                if isinstance(slot.outcome, Served):
                    self._prefetch_dependencies(index, slot.outcome.path, file.filename)
            return slot.outcome

    # --- prefetch: vet what the installer is about to ask for, while it is busy ---------------

    def prefetch(self, index: int, requirements: Iterable[str]) -> None:
        """Start vetting the likely artifacts of ``requirements`` in the background.

        Purely an optimisation: the installer still asks for every file, gets exactly the
        decision made here, and only files it asks for are reported. A guess that fails is
        forgotten (it neither fails the run nor fills a cache slot).
        """
        from packaging.requirements import InvalidRequirement, Requirement

        for text in requirements:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue
            self._schedule(index, req)

    def _schedule(self, index: int, req: Requirement) -> None:
        if self._prefetch_workers <= 0 or req.url:
            return
        with self._lock:
            if self._closed or (index, normalize_name(req.name)) in self._pages:
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._prefetch_workers, thread_name_prefix="pipvet-prefetch")
            pool = self._pool
        with self._lock:
            self._pending += 1
        try:
            pool.submit(self._prefetch_one, index, req)
        except RuntimeError:  # shut down meanwhile
            self._done_one()

    def _prefetch_one(self, index: int, req: Requirement) -> None:
        self._prefetching.on = True
        try:
            if self.failed:
                return
            name = normalize_name(req.name)
            page = self.page(index, name)
            choice = None if page is None else best_candidate(page, req.specifier)
            if choice is not None:
                self._outcome(index, name, choice[1], choice[0])
        except Exception:  # noqa: S110 - a failed guess is forgotten; the real request reports
            pass
        finally:
            self._prefetching.on = False
            self._done_one()

    def _done_one(self) -> None:
        with self._lock:
            self._pending -= 1
            if self._pending == 0:
                self._idle.notify_all()

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every prefetch, including the ones it scheduled, has finished."""
        with self._lock:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _prefetch_dependencies(self, index: int, path: Path, filename: str) -> None:
        if self._prefetch_workers <= 0 or not filename.endswith(".whl"):
            return
        for req in wheel_requirements(path):
            self._schedule(index, req)

    def close(self) -> None:
        """Stop background prefetching (waits for the few guesses already running)."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _confusion(self, name: NormalizedName) -> tuple[Finding, ...]:
        """Dependency confusion: the same name with different files on several of the user's indexes."""
        from pipvet.analysis.names import shadow_findings

        presences = [_presence(u.url, self.page(i, name)) for i, u in enumerate(self.upstreams)]
        return tuple(shadow_findings(name, presences))

    def _vet(self, index: int, name: NormalizedName, version: str | None, file: DistFile) -> Served | Blocked:
        self._emit("vetting", file.filename)
        try:
            path = self.upstreams[index].fetch(file)
        except OperationalError as exc:
            self._fail(f"{file.filename}: {exc.message}")
            raise
        artifact = Artifact(
            filename=file.filename,
            sha256=file.sha256,
            size=path.stat().st_size,
            url=file.url,
            upload_time=file.upload_time,
        )
        context = self._confusion(name) if len(self.upstreams) > 1 else ()
        try:
            result = self.vetter.vet_artifact(
                name=name, version=version, path=path, artifact=artifact, context=context
            )
        except PipvetError as exc:
            from pipvet.policy import evaluate

            result = evaluate(
                Result(
                    target=file.filename,
                    package=PackageRef(name=name, version=version),
                    artifact=artifact,
                    verdict=Verdict.ERROR,
                    error=exc.message,
                ),
                self.policy,
            )
        if result.decision is Decision.BLOCK:
            return Blocked(result)
        return Served(path=path, result=result)


def best_candidate(page: FilteredPage, specifier: SpecifierSet) -> tuple[DistFile, str | None] | None:
    """The file an installer would most likely pick: the newest allowed version, a wheel this
    interpreter can use (pure-Python first), else the sdist. A guess, used only to prefetch."""
    from packaging.tags import sys_tags
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename
    from packaging.version import InvalidVersion, Version

    supported = {str(tag): rank for rank, tag in enumerate(sys_tags())}
    best: tuple[tuple[Version, int], DistFile, str | None] | None = None
    for file, version in page.kept:
        try:
            parsed = Version(version or "")
        except InvalidVersion:
            continue
        if parsed.is_prerelease or not specifier.contains(parsed, prereleases=False):
            continue
        preference = -1  # sdist
        if file.filename.endswith(".whl"):
            try:
                tags = parse_wheel_filename(file.filename)[3]
            except InvalidWheelFilename:
                continue
            ranks = [supported[str(t)] for t in tags if str(t) in supported]
            if not ranks:
                continue
            preference = len(supported) - min(ranks)
        key = (parsed, preference)
        if best is None or key > best[0]:
            best = (key, file, version)
    return None if best is None else (best[1], best[2])


def wheel_requirements(path: Path) -> list[Requirement]:
    """Unconditional ``Requires-Dist`` of a wheel (markers evaluated for this interpreter)."""
    import zipfile
    from email.parser import HeaderParser

    from packaging.requirements import InvalidRequirement, Requirement

    try:
        with zipfile.ZipFile(path) as zf:
            name = next(
                (n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")), None
            )
            if name is None:
                return []
            info = zf.getinfo(name)
            if info.file_size > 1 << 20:
                return []
            text = zf.read(info).decode("utf-8", "replace")
    except (OSError, zipfile.BadZipFile, KeyError):
        return []
    out: list[Requirement] = []
    for raw in HeaderParser().parsestr(text).get_all("Requires-Dist") or []:
        try:
            req = Requirement(raw)
        except InvalidRequirement:
            continue
        try:
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
        except Exception:  # noqa: S112 - an odd marker: no guess
            continue
        out.append(req)
    return out


def _presence(url: str, page: FilteredPage | None) -> Presence:
    from pipvet.analysis.names import Presence
    from pipvet.net import redact_url

    if page is None:
        return Presence(index=redact_url(url))
    return Presence(
        index=redact_url(url),
        versions=tuple(sorted({v for _, v in page.kept if v})),
        sha256s=frozenset(f.sha256 for f, _ in page.kept if f.sha256),
    )


def _rank(reason: str) -> int:
    """Order omissions by how much they matter to the user: policy decisions first, clutter last."""
    if reason.startswith("not a wheel or sdist"):
        return 2
    if reason.startswith("yanked"):
        return 1
    return 0


def _version(filename: str) -> str | None:
    from pipvet.proxy.pages import version_of

    return version_of(filename)
