"""The shared text helpers of the string-matching rule families keep exact substring semantics."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st
from rulekit import package, py

from pipvet.analysis.rules import _signals

# Text and words drawn from a small alphabet (word characters, punctuation, white space and a
# few non-ASCII letters) so that words often do and often do not occur in the text.
_ALPHABET = st.sampled_from(list("abcxyz019_ .(/'\"\n\t-é\u00b5K\u212a"))
_TEXTS = st.text(_ALPHABET, max_size=120)
_WORDS = st.text(_ALPHABET, min_size=0, max_size=6)


@settings(max_examples=400, deadline=None)
@given(source=_TEXTS, words=st.lists(_WORDS, min_size=1, max_size=6))
@example(source="x = sock.connect((host, 1))", words=[".connect(", "nc "])
@example(source="run nc -e sh", words=["nc "])
@example(source="a_b.c", words=["b.c", "a_b", "_b."])
@example(source="\u212aelvin", words=["k", "kelvin"])
def test_mentions_is_substring_of_the_lower_cased_source(source: str, words: list[str]) -> None:
    file = py(source)
    lowered = _signals.lower(file)
    expected = bool(lowered) and any(w in lowered for w in words)
    assert _signals.mentions(file, words) is expected
    # ... and stays so when asked again (answers are memoised per word)
    assert _signals.mentions(file, words) is expected
    for w in words:
        assert _signals.mentions(file, [w]) is (bool(lowered) and w in lowered)


@settings(max_examples=200, deadline=None)
@given(source=_TEXTS)
def test_vocabulary_holds_every_token_once(source: str) -> None:
    file = py(source)
    # tokens: maximal runs of ASCII letters, digits, "_" and non-ASCII characters
    runs = {t.encode() for t in re.findall(r"(?:[A-Za-z0-9_]|[^\x00-\x7f])+", _signals.lower(file))}
    vocab = _signals.vocabulary(file)
    assert set(vocab.split(b"\n")) - {b""} == runs
    assert len(vocab.split(b"\n")) == max(len(runs), 1)
    assert _signals.longest_token(file) == max(map(len, runs), default=0)


@settings(max_examples=200, deadline=None)
@given(source=_TEXTS)
def test_line_starts_match_the_newlines(source: str) -> None:
    file = py(source)
    text = _signals.source(file) or ""
    expected = [0] + [m.end() for m in re.finditer("\n", text)]
    assert _signals._line_starts(file) == expected
    for offset in range(len(text) + 1):
        assert _signals.line_of(file, offset) == text.count("\n", 0, offset) + 1


@settings(max_examples=200, deadline=None)
@given(source=_TEXTS, words=st.lists(_WORDS.filter(bool), min_size=1, max_size=4))
def test_candidate_lines_are_the_lines_holding_a_word(source: str, words: list[str]) -> None:
    file = py(source)
    text = _signals.lower(file)
    expected = []
    start = 0
    for line in text.split("\n"):
        end = start + len(line) + 1
        if any(w in line for w in words):
            expected.append((start, min(end, len(text))))
        start = end
    # a word with a newline in it never makes a line a candidate on its own: compare the lines
    # that hold a word wholly; the helper reports lines where a word starts.
    if not any("\n" in w for w in words):
        assert _signals._candidate_lines(file, tuple(words)) == expected
        assert _signals._candidate_lines(file, tuple(words)) == expected  # memoised


def test_mentions_on_an_empty_file_is_false() -> None:
    assert _signals.mentions(py(""), ["", "a"]) is False


def test_a_monero_wallet_is_still_found_behind_the_token_length_gate() -> None:
    from pipvet.analysis.rules import behaviour

    wallet = "4" + "A" + "x" * 93
    found = [f for r in behaviour.RULES for f in r.check(py(f"wallet = '{wallet}'\n"), package())]
    assert [f.rule for f in found] == ["PV-BEH-MINER"]
    short = [f for r in behaviour.RULES for f in r.check(py(f"wallet = '{wallet[:-1]}'\n"), package())]
    assert short == []


def test_the_projects_own_folder_is_no_demo_or_docs_folder() -> None:
    own = frozenset({"demo"})
    assert _signals.not_installed("demo-1.0/demo/__init__.py")
    assert not _signals.not_installed("demo-1.0/demo/__init__.py", own)
    assert not _signals.not_installed("demo/__init__.py", own)
    assert _signals.not_installed("demo-1.0/demo/tests/test_x.py", own)
    assert _signals.not_installed("demo-1.0/examples/run.py", own)
