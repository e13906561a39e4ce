"""Every error pipvet raises on purpose, and the one place that maps outcomes to exit codes.

::

    PipvetError (exit 3 unless a subclass says otherwise)
     ├── UsageError            exit 2: bad flags, bad configuration, a policy file that does not parse
     │    └── InputError        exit 2: an input file that cannot be read or parsed (names file, line)
     └── OperationalError      exit 3: pipvet could not do its job
          ├── DatabaseError      the vulnerability database is missing, stale or corrupt
          ├── NetworkError       an index or feed could not be reached or answered badly
          ├── IntegrityError     downloaded bytes do not match the expected hash
          └── ArchiveError       an archive could not be read at all

Every error carries a ``hint``: one sentence that tells the user what to do next.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the models are imported when a run has results, not on every start-up
    from collections.abc import Iterable

    from pipvet.models import Result


class ExitCode(enum.IntEnum):
    """The stable exit codes documented in the README."""

    OK = 0
    FINDINGS = 1
    USAGE = 2
    OPERATIONAL = 3


class PipvetError(Exception):
    """Base class: a message for the user, a hint for what to do, and an exit code."""

    exit_code: ExitCode = ExitCode.OPERATIONAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostics(self) -> str:
        """The message and, when there is one, the hint, ready to print."""
        if self.hint:
            return f"{self.message}\nhint: {self.hint}"
        return self.message


class UsageError(PipvetError):
    """The command line or configuration is wrong."""

    exit_code = ExitCode.USAGE


class InputError(UsageError):
    """A file given by the user cannot be read or parsed; names the file and, where known, the line."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        where = path or "<input>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}", hint=hint)
        self.path = path
        self.line = line


class OperationalError(PipvetError):
    """pipvet could not complete its job; never a silent pass."""


class DatabaseError(OperationalError):
    """The vulnerability database is missing, stale or unreadable."""


class NetworkError(OperationalError):
    """A remote service could not be reached or answered with an error."""


class IntegrityError(OperationalError):
    """Downloaded bytes do not match the hash the index published."""


class ArchiveError(OperationalError):
    """An archive could not be opened or read at all."""


def exit_code_for(results: Iterable[Result]) -> ExitCode:
    """Decide the process exit code for a finished run.

    Operational failure (a result that could not be vetted and is blocked) wins over findings:
    a run that could not look at everything must never look like a clean pass.
    """
    from pipvet.models import Decision, Verdict

    code = ExitCode.OK
    for result in results:
        if result.decision is not Decision.BLOCK:
            continue
        if result.verdict is Verdict.ERROR:
            return ExitCode.OPERATIONAL
        code = ExitCode.FINDINGS
    return code
