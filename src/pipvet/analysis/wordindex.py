"""Which of many words occur in a text, found in one pass (Aho-Corasick).

The text rules ask, hundreds of times per file, "does the source mention any of these words?"
before they run a pattern. Answering each question with a substring search costs a scan per
word; a :class:`WordIndex` knows every word asked so far and finds all of them in a text in a
single pass of an Aho-Corasick automaton (``pyahocorasick``), after which each question is a set
lookup.

Words are registered as they are first asked for, so the index grows; a :class:`Scan` records
how many words the index knew when it ran, and a caller falls back to a plain search for words
registered after that (:meth:`Scan.covers`). Words are ASCII; matching is on substrings, so a
word is found inside a longer one (``open`` in ``urlopen``), as with ``word in text``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ahocorasick

__all__ = ["Scan", "WordIndex"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Scan:
    """The registered words found in one text."""

    known: int
    """How many words the index held when it scanned: words numbered below this were looked for."""
    found: frozenset[str]

    def covers(self, number: int) -> bool:
        """Whether the word numbered ``number`` (see :meth:`WordIndex.register`) was looked for."""
        return number < self.known


class WordIndex:
    """A growing set of words, numbered in the order they were registered."""

    __slots__ = ("_automaton", "_built", "_numbers")

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}
        self._automaton: ahocorasick.Automaton | None = None
        self._built = 0

    def __len__(self) -> int:
        return len(self._numbers)

    def register(self, words: Iterable[str]) -> int:
        """Add ``words`` (non-empty ASCII strings); returns the highest number among them
        (``-1`` for none), so a caller can tell whether a :class:`Scan` covers all of them."""
        numbers = self._numbers
        highest = -1
        for word in words:
            if not word or not word.isascii():
                raise ValueError(f"words must be non-empty ASCII: {word!r}")
            number = numbers.get(word)
            if number is None:
                number = numbers[word] = len(numbers)
            highest = max(highest, number)
        return highest

    def scan(self, text: str) -> Scan:
        """Every registered word that occurs in ``text`` as a substring."""
        known = len(self._numbers)
        if not known:
            return Scan(known=0, found=frozenset())
        automaton = self._automaton
        if automaton is None or self._built != known:
            automaton = self._automaton = self._build()
            self._built = known
        found: frozenset[str] = frozenset(word for _, word in automaton.iter(text))
        return Scan(known=known, found=found)

    def _build(self) -> ahocorasick.Automaton:
        import ahocorasick

        automaton = ahocorasick.Automaton()
        for word in self._numbers:
            automaton.add_word(word, word)
        automaton.make_automaton()
        return automaton
