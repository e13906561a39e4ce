"""A regular expression that is compiled the first time it is used, not at import.

The rule modules define well over a hundred patterns at module level; compiling them all when
``pipvet inspect`` starts cost about half of its start-up, although a typical file needs only a
few of them (most rules test cheap substrings first). :class:`LazyPattern` keeps the source and
flags and compiles on the first call of a matching method; after that it is a thin forwarder to
the compiled :class:`re.Pattern`, with the same results.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from typing import AnyStr, Generic

__all__ = ["LazyPattern"]


class LazyPattern(Generic[AnyStr]):
    """Like ``re.compile(pattern, flags)``, but compiled on first use.

    Supports the methods of :class:`re.Pattern` that pipvet uses (``search``, ``match``,
    ``fullmatch``, ``finditer``, ``findall``, ``split``, ``sub``, ``subn``) and the attributes
    ``pattern``, ``flags`` and ``groups``. ``compiled`` gives the real pattern object.
    """

    __slots__ = ("_compiled", "_flags", "pattern")

    pattern: AnyStr
    """The pattern's source, as given (reading it does not compile)."""
    _flags: int
    _compiled: re.Pattern[AnyStr] | None

    def __init__(self, pattern: AnyStr, flags: int | re.RegexFlag = 0) -> None:
        self.pattern = pattern
        self._flags = int(flags)
        self._compiled = None

    @property
    def is_compiled(self) -> bool:
        """Whether the pattern has been compiled yet (for tests and benchmarks)."""
        return self._compiled is not None

    @property
    def compiled(self) -> re.Pattern[AnyStr]:
        """The compiled pattern (compiles it now if it was not yet)."""
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(self.pattern, self._flags)
        return compiled

    @property
    def flags(self) -> int:
        """The compiled pattern's flags (as :attr:`re.Pattern.flags`, implicit ones included)."""
        return self.compiled.flags

    @property
    def groups(self) -> int:
        return self.compiled.groups

    def search(self, string: AnyStr, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[AnyStr] | None:
        return self.compiled.search(string, pos, endpos)

    def match(self, string: AnyStr, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[AnyStr] | None:
        return self.compiled.match(string, pos, endpos)

    def fullmatch(self, string: AnyStr, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[AnyStr] | None:
        return self.compiled.fullmatch(string, pos, endpos)

    def finditer(self, string: AnyStr, pos: int = 0, endpos: int = sys.maxsize) -> Iterator[re.Match[AnyStr]]:
        return self.compiled.finditer(string, pos, endpos)

    def findall(
        self, string: AnyStr, pos: int = 0, endpos: int = sys.maxsize
    ) -> list[AnyStr | tuple[AnyStr, ...]]:
        found: list[AnyStr | tuple[AnyStr, ...]] = self.compiled.findall(string, pos, endpos)
        return found

    def split(self, string: AnyStr, maxsplit: int = 0) -> list[AnyStr | None]:
        return self.compiled.split(string, maxsplit)

    def sub(
        self, repl: AnyStr | Callable[[re.Match[AnyStr]], AnyStr], string: AnyStr, count: int = 0
    ) -> AnyStr:
        return self.compiled.sub(repl, string, count)

    def subn(
        self, repl: AnyStr | Callable[[re.Match[AnyStr]], AnyStr], string: AnyStr, count: int = 0
    ) -> tuple[AnyStr, int]:
        return self.compiled.subn(repl, string, count)

    def __repr__(self) -> str:
        state = "compiled" if self.is_compiled else "not compiled"
        return f"LazyPattern({self.pattern!r}, {self._flags}) [{state}]"
