"""Run part of an analysis in a forked child so that a large package uses a second core.

Rules are pure functions of a file and its package, so the files of one archive can be split:
the child analyses its share and sends the findings back through a pipe as a pickle, the parent
analyses the rest meanwhile. Forking is used only where it is safe and pays: a POSIX system with
a spare CPU, called from the main thread of a process that runs no other thread (a fork would
copy locks held by other threads) and is not itself a pool worker.

Anything unexpected (the child dies, is killed, sends garbage, runs past its deadline) makes
:meth:`Pending.result` return ``None``; the caller then analyses that share itself, so a failed
fork costs time, never coverage.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import time
from collections.abc import Callable
from typing import Generic, TypeVar

R = TypeVar("R")


def available() -> bool:
    """Whether forking a helper is safe and useful here."""
    import sys
    import threading

    if not hasattr(os, "fork") or (os.cpu_count() or 1) < 2:
        return False
    if threading.current_thread() is not threading.main_thread() or threading.active_count() > 1:
        return False
    # A pool worker has multiprocessing loaded already; a process that never imported it is none.
    multiprocessing = sys.modules.get("multiprocessing")
    return multiprocessing is None or multiprocessing.parent_process() is None


class Pending(Generic[R]):
    """A computation running in a forked child."""

    def __init__(self, pid: int, fd: int) -> None:
        self._pid = pid
        self._fd = fd

    def result(self, deadline: float) -> R | None:
        """The child's return value, or ``None`` if it failed or ``deadline`` (a
        ``time.perf_counter()`` value) passed first; the child is gone either way."""
        chunks: list[bytes] = []
        ok = True
        try:
            while True:
                remaining = deadline - time.perf_counter()
                if remaining <= 0 or not select.select([self._fd], [], [], remaining)[0]:
                    ok = False
                    break
                chunk = os.read(self._fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(self._fd)
            if not ok:
                _kill(self._pid)
            _, status = os.waitpid(self._pid, 0)
        if not ok or not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            return None
        try:
            # Written by our own child from objects it built; archive text is only ever data
            # inside them (pickled strings), never pickle opcodes.
            value: R = pickle.loads(b"".join(chunks))  # noqa: S301
        except Exception:
            return None
        return value


def start(work: Callable[[], R]) -> Pending[R] | None:
    """Run ``work()`` in a forked child; ``None`` when the fork itself failed."""
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        return None
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(read_fd)
            data = pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL)
            view = memoryview(data)
            while view:
                written = os.write(write_fd, view)
                view = view[written:]
            code = 0
        except BaseException:  # a failed share is redone by the parent
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    return Pending(pid, read_fd)


def _kill(pid: int) -> None:
    import signal

    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
