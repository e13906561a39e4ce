"""Shared, pure helpers for the secrets, exfiltration, persistence, payload and behaviour rules.

These families mostly look for *strings* (paths, URLs, registry keys, magic bytes) and for the
co-occurrence of a capability and an intent in one file. Matching is done on the decoded source
text so it keeps working on Python 2 files, syntax errors and huge generated modules; where the
parse tree exists it is only used to tell module-level code from code inside functions.
Everything is memoised in ``FileContext.cache`` under ``rules2.*`` keys.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import cast

from pipvet.analysis.context import FileContext, FileKind
from pipvet.analysis.facts import facts_of
from pipvet.analysis.lazyre import LazyPattern
from pipvet.analysis.where import within
from pipvet.analysis.wordindex import Scan, WordIndex
from pipvet.models import Finding, Severity, Stage

EVIDENCE_MAX = 160
"""Longest evidence snippet a finding carries."""

CODE_KINDS = frozenset({FileKind.PYTHON, FileKind.PTH})


@dataclass(frozen=True, kw_only=True, slots=True)
class Match:
    """One place in a file where a pattern matched."""

    line: int
    text: str
    """The matched text itself."""


BLOB_RUN = LazyPattern(r"(?<![A-Za-z0-9+/=\\_-])[A-Za-z0-9+/=\\_-]{4096,}")
"""A run of base64/hex/escape characters long enough to be an embedded blob, not code."""
BLOB_KEEP = 256


def source(file: FileContext) -> str | None:
    """The text rules match on: source for code files, ``None`` for everything else.

    Embedded blobs (runs of 4 KiB or more of base64/hex characters) are cut to their first
    :data:`BLOB_KEEP` characters: the path and URL patterns of these families never live inside
    them, the blob's head still shows what it encodes, and a multi-megabyte one-line ``setup.py``
    no longer costs every pattern a full scan. Line numbers are unchanged (blobs hold no newline).
    """
    if file.kind not in CODE_KINDS or file.text is None:
        return None
    key = "rules2.source"
    cached = file.cache.get(key)
    if isinstance(cached, str):
        return cached
    text = file.text
    # A blob holds no newline, so only a file with a line of 4 KiB or more can hold one.
    if len(text) > 4096 and max(map(len, text.split("\n"))) >= 4096:
        text = BLOB_RUN.sub(lambda m: m.group(0)[:BLOB_KEEP] + "...", text)
    file.cache[key] = text
    return text


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def lower(file: FileContext) -> str:
    """Lower-cased source, memoised (used for cheap substring pre-filters)."""
    key = "rules2.lower"
    cached = file.cache.get(key)
    if isinstance(cached, str):
        return cached
    original = source(file) or ""
    text = original.lower()
    if len(text) != len(original):  # a few characters lower-case to two; keep offsets aligned
        text = original.translate(_ASCII_LOWER)
    file.cache[key] = text
    return text


def _line_starts(file: FileContext) -> list[int]:
    key = "rules2.line_starts"
    cached = file.cache.get(key)
    if isinstance(cached, list):
        return cached
    text = source(file) or ""
    # Offsets just past every newline: running sums of the line lengths (+1 for the newline).
    pieces = text.split("\n")
    pieces.pop()
    starts = list(accumulate(map(_PLUS_ONE, map(len, pieces)), initial=0))
    file.cache[key] = starts
    return starts


_PLUS_ONE = (1).__add__


def line_of(file: FileContext, offset: int) -> int:
    """1-based line number of a character offset in the source."""
    return bisect.bisect_right(_line_starts(file), offset)


def line_text(file: FileContext, line: int) -> str:
    text = source(file) or ""
    starts = _line_starts(file)
    if line < 1 or line > len(starts):
        return ""
    start = starts[line - 1]
    end = starts[line] - 1 if line < len(starts) else len(text)
    return text[start:end]


def trim(snippet: str, around: str | None = None) -> str:
    """Collapse whitespace and cut a snippet to :data:`EVIDENCE_MAX`, centred on ``around``."""
    flat = " ".join(snippet.split())
    if len(flat) <= EVIDENCE_MAX:
        return flat
    centre = flat.find(around) if around else -1
    if centre < 0:
        return flat[: EVIDENCE_MAX - 3] + "..."
    start = max(0, centre - EVIDENCE_MAX // 3)
    piece = flat[start : start + EVIDENCE_MAX - 6]
    return ("..." if start else "") + piece + "..."


@dataclass(frozen=True, slots=True)
class Gated:
    """A line-local pattern plus lower-case words, one of which every match's line contains.

    Python's regex engine tries an alternation at every position of a file; for patterns with
    many branches that is ~1 MB/s. Finding the words with ``str.find`` first and running the
    pattern only on the lines that hold them keeps large packages fast.
    """

    pattern: re.Pattern[str] | LazyPattern[str]
    words: tuple[str, ...]


def _word_lines(file: FileContext, text: str, starts: list[int], word: str) -> tuple[int, ...]:
    """Indices of the lines of the lower-cased source holding ``word`` (memoised per file:
    several patterns share words such as ``open`` or ``write``)."""
    key = "rules2.word_lines"
    memo = file.cache.get(key)
    if not isinstance(memo, dict):
        memo = {}
        file.cache[key] = memo
    found = memo.get(word)
    if isinstance(found, tuple):
        return found
    if not _present(file, word):
        memo[word] = ()
        return ()
    indices: list[int] = []
    pos = text.find(word)
    while pos >= 0:
        index = bisect.bisect_right(starts, pos) - 1
        indices.append(index)
        nxt = starts[index + 1] if index + 1 < len(starts) else len(text)
        pos = text.find(word, nxt)
    found = tuple(indices)
    memo[word] = found
    return found


def _candidate_lines(file: FileContext, words: tuple[str, ...]) -> list[tuple[int, int]]:
    """(start, end) offsets of the lines of the source holding any of ``words``, in order
    (memoised per file and word tuple: several patterns of a family share one tuple)."""
    key = "rules2.candidate_lines"
    memo = file.cache.get(key)
    if not isinstance(memo, dict):
        memo = {}
        file.cache[key] = memo
    spans = memo.get(words)
    if isinstance(spans, list):
        return spans
    spans = []
    if any(_present(file, word) for word in words):
        text = lower(file)
        starts = _line_starts(file)
        lines: set[int] = set()
        for word in words:
            lines.update(_word_lines(file, text, starts, word))
        last = len(starts) - 1
        for index in sorted(lines):
            spans.append((starts[index], starts[index + 1] if index < last else len(text)))
    memo[words] = spans
    return spans


def _docstring_spans(file: FileContext) -> list[tuple[int, int]]:
    key = "rules2.docstrings"
    cached = file.cache.get(key)
    if isinstance(cached, list):
        return cached
    facts = facts_of(file)
    spans = sorted((lit.line, lit.end_line) for lit in facts.literals if lit.docstring) if facts else []
    file.cache[key] = spans
    return spans


def is_prose(file: FileContext, offset: int) -> bool:
    """Whether ``offset`` sits in a comment line or a docstring: documentation, not code."""
    line = line_of(file, offset)
    if line_text(file, line).lstrip().startswith("#"):
        return True
    spans = _docstring_spans(file)
    i = bisect.bisect_right(spans, (line, 1 << 30)) - 1
    return i >= 0 and spans[i][0] <= line <= spans[i][1]


def _iter_matches(
    file: FileContext, pattern: re.Pattern[str] | LazyPattern[str] | Gated
) -> Iterator[re.Match[str]]:
    """Matches in code (comment lines and docstrings are skipped: they only document)."""
    text = source(file)
    if not text:
        return
    if not isinstance(pattern, Gated):
        found: Iterator[re.Match[str]] = pattern.finditer(text)
    else:
        found = (
            m
            for start, end in _candidate_lines(file, pattern.words)
            for m in pattern.pattern.finditer(text, start, end)
        )
    for m in found:
        if not is_prose(file, m.start()):
            yield m


def find(
    file: FileContext, pattern: re.Pattern[str] | LazyPattern[str] | Gated, *, limit: int = 20
) -> list[Match]:
    """All matches of ``pattern`` in the source (at most ``limit``)."""
    found: list[Match] = []
    for m in _iter_matches(file, pattern):
        found.append(Match(line=line_of(file, m.start()), text=m.group(0)))
        if len(found) >= limit:
            break
    return found


def first(file: FileContext, pattern: re.Pattern[str] | LazyPattern[str] | Gated) -> Match | None:
    for m in _iter_matches(file, pattern):
        return Match(line=line_of(file, m.start()), text=m.group(0))
    return None


def _function_spans(file: FileContext) -> list[tuple[int, int]]:
    """Sorted, merged line spans of function bodies that do *not* run when the module runs.

    A top-level function that module-level code calls (or hands over by name, e.g. as a thread
    target or an ``atexit`` hook) runs with the module, and so do the functions it calls in turn;
    only the others count as "inside a function".
    """
    key = "rules2.function_spans"
    cached = file.cache.get(key)
    if isinstance(cached, list):
        return cached
    spans: list[tuple[int, int]] = []
    if file.tree is not None:
        reached = _reached_functions(file.tree)
        for node in ast.walk(file.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                if node in reached:
                    continue
                spans.append((node.lineno, node.end_lineno or node.lineno))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    file.cache[key] = merged
    return merged


_FUNC = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _names_used(nodes: Iterable[ast.AST]) -> set[str]:
    """Names loaded in ``nodes``, not descending into nested function bodies."""
    used: set[str] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            used.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            used.add(node.attr)
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, _FUNC):
                stack.append(child)
            elif isinstance(child, ast.Lambda):
                stack.append(child.body)
    return used


def _reached_functions(tree: ast.Module) -> set[ast.AST]:
    defs: dict[str, list[ast.AST]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            defs.setdefault(node.name, []).append(node)
    module_level = [n for n in tree.body if not isinstance(n, _FUNC)]
    pending = list(_names_used(module_level) & defs.keys())
    reached: set[ast.AST] = set()
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        for fn in defs[name]:
            reached.add(fn)
            body = fn.body if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) else []
            pending.extend(_names_used(body) & defs.keys())
    return reached


def in_function(file: FileContext, line: int) -> bool:
    """Whether ``line`` lies inside a function body (needs a parse tree; else ``False``)."""
    spans = _function_spans(file)
    i = bisect.bisect_right(spans, (line, 1 << 30)) - 1
    return i >= 0 and spans[i][0] <= line <= spans[i][1]


def stage_at(file: FileContext, line: int | None) -> Stage:
    """Where code on ``line`` runs: import-time files run function bodies only when called.

    Install and start-up files keep their stage (setup.py calls its helpers and command classes
    during the install); in an import-time module, code inside a function only runs when the
    package's user calls it, so it weighs as run time.
    """
    if file.stage is Stage.IMPORT and line is not None and in_function(file, line):
        return Stage.RUNTIME
    return file.stage


def strongest_stage(file: FileContext, lines: Iterable[int]) -> Stage:
    """The most dangerous stage among several lines (module level beats function level)."""
    stages = {stage_at(file, line) for line in lines}
    if not stages:
        return file.stage
    for stage in (Stage.INSTALL, Stage.STARTUP, Stage.IMPORT):
        if stage in stages:
            return stage
    return next(iter(stages))


NOT_INSTALLED = LazyPattern(
    r"(?:^|/)(?:[^/]*[ _-])?(?:tests?|testing|docs?|examples?|benchmarks?|demos?|samples?)/|"
    r"(?:^|/)(?:test_[^/]*|[^/]*_test|conftest)\.py$"
)
"""Tests, docs and examples: shipped in sdists, neither installed nor imported by users."""


def not_installed(path: str, own: frozenset[str] = frozenset()) -> bool:
    """Whether ``path`` is in a test, docs or examples folder; the project's ``own`` package
    folder (first or second level: a wheel's or an sdist's) is no such folder, whatever its name."""
    if own:
        if within(path, own):
            return False  # a test folder the package's own code imports
        parts = path.split("/")
        for i in (0, 1):
            if len(parts) > i + 1 and parts[i].lower().replace("-", "_").replace(".", "_") in own:
                path = "/".join(parts[i + 1 :])
                break
    return NOT_INSTALLED.search(path) is not None


@dataclass(kw_only=True, slots=True)
class RuleBase:
    """Identity and explanation of a rule; subclasses implement :meth:`check`.

    Not frozen: the :class:`~pipvet.analysis.context.Rule` protocol declares plain attributes.
    A subclass that adds no fields is a plain class with ``__slots__ = ()``: it inherits the
    generated methods, and skipping ``@dataclass`` on it saves ~0.4 ms of start-up per rule.
    """

    id: str
    title: str
    severity: Severity
    rationale: str

    def finding(
        self,
        file: FileContext,
        *,
        line: int | None,
        message: str,
        evidence: str | None = None,
        severity: Severity | None = None,
        stage: Stage | None = None,
    ) -> Finding:
        if evidence is None and line is not None:
            evidence = line_text(file, line)
        severity = severity or self.severity
        if not_installed(file.path, file.own) and severity > Severity.LOW:
            severity = Severity.LOW
            message += " (In test, documentation or example code, which is not installed.)"
        return Finding(
            rule=self.id,
            severity=severity,
            title=self.title,
            message=message,
            path=file.path,
            line=line,
            evidence=trim(evidence) if evidence else None,
            stage=stage if stage is not None else stage_at(file, line),
        )


def evidence_for(file: FileContext, match: Match) -> str:
    return trim(line_text(file, match.line) or match.text, match.text)


# --- capabilities shared by several families ------------------------------------------------

SINK_WORDS = (
    "requests",
    "urllib",
    "urlopen",
    "httpx",
    "aiohttp",
    "clientsession",
    "http.client",
    "httplib",
    "httpconnection",
    "httpsconnection",
    "socket",
    "sendall",
    "sendto",
    ".connect(",
    "smtplib",
    "ftplib",
    "pycurl",
    "webhook",
    "dhooks",
    "telebot",
    "websocket",
    "curl",
    "wget",
    "sftp",
)
"""Words without which :data:`NETWORK_SINK` cannot match."""

NETWORK_SINK = Gated(
    LazyPattern(
        r"""(?x)
    \brequests\s*\.\s*(?:post|put|patch|get|request|Session)\b
    | \b(?:urllib2?|urllib\.request|request)\s*\.\s*(?:urlopen|urlretrieve|build_opener)\b
    | \b(?:urlopen|build_opener)\s*\(
    | \bhttpx\s*\.\s*(?:post|put|get|request|Client|AsyncClient)\b
    | \baiohttp\s*\.\s*ClientSession\b | \bClientSession\s*\(
    | \bhttp\.client\b | \bhttplib\b | \bHTTPS?Connection\s*\(
    | \bsocket\s*\.\s*(?:socket|create_connection)\s*\(
    | \.\s*(?:sendall|sendto)\s*\( | \.connect\s*\(\s*\(
    | \bsmtplib\b | \bftplib\b | \bpycurl\b | \bopen_sftp\s*\( | \bSFTPClient\b | \bpysftp\b
    | \b(?:DiscordWebhook|SyncWebhook|Webhook\.from_url|dhooks|telebot|TeleBot)\b
    | \bwebsocket\s*\.\s*create_connection\b
    | \b(?:curl|wget)\b[^\n'"]{0,80}?(?:\s-d\b|\s--data|\s-F\b|\s-T\b|--post-data|--upload-file)
    | ['"](?:curl|wget)['"]\s*,\s*(?:['"][^'"\n]{0,80}['"]\s*,\s*){0,4}
      ['"](?:-d|--data[\w-]*|-F|--form|-T|--upload-file|--post-data|--post-file)['"]
    """
    ),
    SINK_WORDS,
)
"""Anything that can send bytes somewhere: HTTP clients, sockets, mail/FTP, webhook libraries."""

DNS_LOOKUP = Gated(
    LazyPattern(
        r"\b(?:gethostbyname(?:_ex)?|getaddrinfo)\s*\(|\bresolver\s*\.\s*(?:resolve|query)\s*\(|\bnslookup\b|"
        r"\bping\b[^\n'\"]{0,40}\s-p\s"  # data in the padding of ICMP echo requests
    ),
    ("gethostbyname", "getaddrinfo", "resolver", "nslookup", "ping"),
)

WRITE_OP = Gated(
    LazyPattern(
        r"""(?x)
    \bopen\s*\([^)\n]{0,300}?,\s*(?:mode\s*=\s*)?['"][^'"\n]*[wa+x]
    | \.\s*write(?:_text|_bytes)?\s*\(
    | \bshutil\s*\.\s*(?:copy\w*|move)\s*\( | \bcopyfile\s*\( | \bos\s*\.\s*(?:rename|replace)\s*\(
    | \bSetValueEx\s*\( | \bCreateKey(?:Ex)?\s*\(
    | \becho\b[^\n]{0,200}?>> | \btee\s+-a\b | \bcopy\s+/[yY]\b | \breg\s+add\b
    """
    ),
    ("open", "write", "shutil", "copy", "rename", "replace", "setvalueex", "createkey", "echo", "tee", "reg"),
)
"""Writing or copying a file (or a registry value)."""


def mentions(file: FileContext, words: Iterable[str]) -> bool:
    """Cheap pre-filter: does the lower-cased source contain any of ``words`` (as substrings)?

    Memoised per file and word tuple. Words made only of ASCII letters, digits and ``_`` are
    looked up in the file's :func:`vocabulary` in one C-level loop; any other word only when its
    longest such run is there, and then in the text itself.
    """
    key = words if isinstance(words, tuple) else tuple(words)
    memo = file.cache.get("rules2.mentions")
    if memo is None:
        memo = file.cache["rules2.mentions"] = {}
    found = memo.get(key)
    if found is None:
        found = memo[key] = _any_present(file, key)
    return bool(found)


def _any_present(file: FileContext, words: tuple[str, ...]) -> bool:
    text = lower(file)
    if not text:
        return False
    plan = _PLANS.get(words)
    if plan is None:
        plan = _PLANS[words] = _Plan(words)
    scan = _scan(file)
    if scan.covers(plan.last):
        found = scan.found
        if not found.isdisjoint(plan.pure):
            return True
        return any((not piece or piece in found) and word in text for piece, word in plan.other)
    # Words first asked for after this file's scan (a fresh process meets new word lists while
    # it analyses its first files): look them up in the vocabulary, one search per word.
    vocab = vocabulary(file)
    if any(vocab.__contains__(word.encode()) for word in plan.pure):
        return True
    return any((not piece or piece.encode() in vocab) and word in text for piece, word in plan.other)


_SEPARATORS = bytes(c for c in range(128) if not (chr(c).isalnum() or chr(c) == "_"))
_TO_SPACE = bytes.maketrans(_SEPARATORS, b" " * len(_SEPARATORS))
"""Maps every ASCII byte but letters, digits and ``_`` to a space."""
_ASCII_WORD = LazyPattern(r"[A-Za-z0-9_]+")

_WORDS = WordIndex()
"""Every word (or ASCII run of one) a rule has asked :func:`mentions` about."""


class _Plan:
    """How to answer :func:`mentions` for one word tuple."""

    __slots__ = ("last", "other", "pure")

    def __init__(self, words: tuple[str, ...]) -> None:
        pure: list[str] = []
        other: list[tuple[str, str]] = []
        for word in words:
            runs = cast("list[str]", _ASCII_WORD.findall(word))  # no groups: strings
            piece = max(runs, key=len) if runs else ""
            if piece and piece == word:
                pure.append(word)
            else:
                other.append((piece, word))
        self.pure = tuple(pure)
        """Words made only of ASCII letters, digits and ``_``: found in the vocabulary alone."""
        self.other = tuple(other)
        """(longest such run, word) for the others: the run must be in the vocabulary, then
        the word is looked for in the text."""
        self.last = _WORDS.register([*pure, *(piece for piece, _ in other if piece)])
        """The highest :class:`WordIndex` number among them."""


_PLANS: dict[tuple[str, ...], _Plan] = {}


def _scan(file: FileContext) -> Scan:
    """The registered words found in the file's :func:`vocabulary` (memoised)."""
    key = "rules2.scan"
    cached = file.cache.get(key)
    if isinstance(cached, Scan):
        return cached
    # Latin-1 maps every byte to one character, so ASCII words match exactly as in the bytes.
    scan = _WORDS.scan(vocabulary(file).decode("latin-1"))
    file.cache[key] = scan
    return scan


def vocabulary(file: FileContext) -> bytes:
    """The distinct tokens of the lower-cased source, one per line (memoised): its UTF-8 bytes
    split at every ASCII byte that is not a letter, digit or ``_``.

    A word made only of ASCII letters, digits and ``_`` occurs in the text exactly when it occurs
    in one of these tokens (a token is a maximal run of bytes the word may hold, and UTF-8 never
    puts an ASCII byte inside a multi-byte character). The vocabulary is a fraction of the text,
    so looking up a few hundred words costs a fraction of scanning the text for each; building
    it is a byte translation and a split, in C.
    """
    key = "rules2.vocabulary"
    cached = file.cache.get(key)
    if isinstance(cached, bytes):
        return cached
    data = lower(file).encode("utf-8", "surrogatepass").translate(_TO_SPACE)
    tokens = set(data.split())
    vocab = b"\n".join(tokens)
    file.cache[key] = vocab
    file.cache["rules2.longest_token"] = max(map(len, tokens), default=0)
    return vocab


def longest_token(file: FileContext) -> int:
    """Length in bytes of the longest :func:`vocabulary` token: a pattern needing a run of ``n``
    ASCII letters and digits cannot match when this is shorter than ``n``."""
    vocabulary(file)
    found = file.cache.get("rules2.longest_token")
    return found if isinstance(found, int) else 0


def _present(file: FileContext, word: str) -> bool:
    """Whether the lower-cased source holds ``word`` (``False`` for an empty source), memoised."""
    return mentions(file, (word,))


def has(file: FileContext, pattern: re.Pattern[str] | LazyPattern[str] | Gated) -> bool:
    return first(file, pattern) is not None


def any_substring(haystack: str, needles: Iterable[str]) -> bool:
    return any(n in haystack for n in needles)


def iter_literals(file: FileContext) -> Iterator[tuple[int, str]]:
    """String constants of a parsed file with their line (empty when it did not parse)."""
    key = "rules2.literals"
    cached = file.cache.get(key)
    if not isinstance(cached, list):
        cached = []
        if file.tree is not None:
            for node in ast.walk(file.tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
                    value = node.value
                    text = value if isinstance(value, str) else value.decode("latin-1")
                    cached.append((node.lineno, text))
        file.cache[key] = cached
    yield from cached


#: A literal list, tuple, set or dict (nested ones included) holding only constants, at least this
#: many of them strings, is a data table: a blocklist of disposable-mail domains, a scanner's
#: table of suspicious keywords (oletools). Names in it are what the code looks for, not uses.
DATA_TABLE_MIN = 50


def first_in_code(file: FileContext, pattern: re.Pattern[str] | LazyPattern[str] | Gated) -> Match | None:
    """Like :func:`first`, but the first match outside literal data tables
    (:func:`in_data_table`): a name listed in a keyword table is looked for, not used."""
    hit = first(file, pattern)
    if hit is None or not in_data_table(file, hit.line):
        return hit
    for m in _iter_matches(file, pattern):
        line = line_of(file, m.start())
        if not in_data_table(file, line):
            return Match(line=line, text=m.group(0))
    return None


def in_data_table(file: FileContext, line: int) -> bool:
    """``line`` lies in a :data:`DATA_TABLE_MIN`-string literal table of constants, or in the
    literal pattern of a regular expression (``re.compile(r"\\.ssh[/\\]")``: what a scanner looks
    for, not what the code opens). Asked only for a rule's hits, so it may parse the file; only
    the nodes whose lines hold ``line`` are visited, and each answer is kept per file."""
    key = "rules2.data_lines"
    known = file.cache.get(key)
    if not isinstance(known, dict):
        known = file.cache[key] = {}
    found = known.get(line)
    if found is None:
        found = known[line] = file.tree is not None and _in_data(file.tree, line)
    return bool(found)


_CONTAINERS = (ast.List, ast.Tuple, ast.Set, ast.Dict)


_REGEX_FUNCTIONS = frozenset(
    {"compile", "search", "match", "fullmatch", "findall", "finditer", "sub", "subn", "split"}
)


def _regex_call(node: ast.Call) -> bool:
    """``re.compile("literal")`` (or ``regex.``, another ``re`` function): a pattern to match."""
    func = node.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr in _REGEX_FUNCTIONS
        and isinstance(func.value, ast.Name)
        and func.value.id in {"re", "regex"}
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )


def _in_data(tree: ast.Module, line: int) -> bool:
    """Descend from the module only into the nodes that span ``line``: the outermost literal
    table holding it decides (a table's nested literals are part of it), as does a regular
    expression's literal pattern."""
    stack: list[ast.AST] = [tree]
    while stack:
        for child in ast.iter_child_nodes(stack.pop()):
            first = getattr(child, "lineno", None)
            if first is None:
                stack.append(child)  # ``arguments``, ``comprehension``: no lines of their own
                continue
            if not first <= line <= (getattr(child, "end_lineno", None) or first):
                continue
            if isinstance(child, _CONTAINERS) and _is_table(child):
                return True
            if isinstance(child, ast.Call) and _regex_call(child):
                pattern = child.args[0]
                if pattern.lineno <= line <= (pattern.end_lineno or pattern.lineno):
                    return True
            stack.append(child)
    return False


def _is_table(node: ast.expr) -> bool:
    strings = 0
    for part in ast.walk(node):
        if isinstance(part, ast.Constant):
            strings += isinstance(part.value, str)
        elif not isinstance(part, (*_CONTAINERS, ast.expr_context)):
            return False
    return strings >= DATA_TABLE_MIN
