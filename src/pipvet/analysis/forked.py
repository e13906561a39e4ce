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
from collections.abc import Callable, Iterator
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


class Claims:
    """Hands out the positions ``0 .. count-1`` to whichever process asks first, across a fork.

    The positions (in up to :data:`MAX_TOKENS` runs) are written to a pipe once, before the
    fork; the parent and the child then read them one token at a time from the same pipe, so a
    process that finishes its files early takes the next ones instead of idling while the
    other works through a fixed half. A read of a few bytes from a pipe is atomic, and the
    tokens are all written before anyone reads: no position is handed out twice.
    """

    MAX_TOKENS = 1024
    """At most 4 KiB of tokens: they fit in any pipe, so writing them cannot block."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._run = max(1, -(-count // self.MAX_TOKENS))
        tokens = b"".join(t.to_bytes(4, "little") for t in range(-(-count // self._run)))
        read_fd, write_fd = os.pipe()
        try:
            if tokens and os.write(write_fd, tokens) != len(tokens):
                raise OSError("the pipe did not take every token")
        except OSError:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        self._fd = read_fd

    def __iter__(self) -> Iterator[int]:
        """Positions claimed by this process, until none are left."""
        while True:
            token = os.read(self._fd, 4)
            if len(token) < 4:
                return
            first = int.from_bytes(token, "little") * self._run
            yield from range(first, min(first + self._run, self.count))

    def __enter__(self) -> Claims:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self._fd)


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
