from __future__ import annotations

import pytest

from pipvet.analysis.wordindex import WordIndex


def test_scan_finds_every_registered_word_as_a_substring() -> None:
    index = WordIndex()
    assert index.register(["open", "urlopen", "socket"]) == 2
    scan = index.scan("import urllib\nurllib.request.urlopen(x)\n")
    # Overlapping words are all found: "open" inside "urlopen".
    assert scan.found == frozenset({"open", "urlopen"})
    assert scan.covers(2)
    assert not scan.covers(3)


def test_numbers_are_stable_and_the_highest_is_returned() -> None:
    index = WordIndex()
    assert index.register(["a1", "b2"]) == 1
    assert index.register(["b2"]) == 1
    assert index.register(["c3", "a1"]) == 2
    assert index.register([]) == -1
    assert len(index) == 3


def test_words_registered_after_a_scan_are_not_covered_by_it() -> None:
    index = WordIndex()
    index.register(["exec"])
    before = index.scan("exec(eval(x))")
    number = index.register(["eval"])
    assert not before.covers(number)
    after = index.scan("exec(eval(x))")  # the automaton is rebuilt for the new word
    assert after.covers(number)
    assert after.found == frozenset({"exec", "eval"})


def test_empty_index_and_text() -> None:
    index = WordIndex()
    assert index.scan("anything").found == frozenset()
    index.register(["x"])
    assert index.scan("").found == frozenset()


@pytest.mark.parametrize("word", ["", "caf\u00e9"])
def test_words_must_be_non_empty_ascii(word: str) -> None:
    with pytest.raises(ValueError, match="ASCII"):
        WordIndex().register([word])
