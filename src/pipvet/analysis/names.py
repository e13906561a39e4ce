"""Look-alike names and dependency-confusion markers. Pure: names in, findings out.

A look-alike is a name that a hurried human (or a model writing a requirements file) would take
for a popular project's. Techniques, strongest first:

``confusable``  same name once separators are dropped and look-alike characters folded
                (``l``/``1``/``i``/``I``, ``o``/``0``, ``rn``->``m``, ``vv``->``w``, ``cl``->``d``);
                the index itself refuses *new* names that collide this way, so one that exists
                is old or comes from another index.
``typo``        Damerau (OSA) distance 1 for names of 5-9 characters, up to 2 from 10 on: adjacent
                swaps, keyboard neighbours, visual substitutions, a dropped or doubled letter.
``affix``       a popular name with a squatting prefix or suffix (``python3-``, ``py-``,
                ``-dev``, ``-lite``, ``-sdk``, ...).
``reordered``   the same words in another order (``dateutil-python``).

The precision rule (documented in the README): a name in the popular list is *established*; it
is only compared with names at least :data:`ESTABLISHED_RATIO` times more popular (by rank, a
Zipf proxy for downloads), only by the ``confusable`` and distance-1 ``typo`` techniques, and
the pairs that still match were reviewed one by one and are listed in :data:`REVIEWED_TWINS`
(legitimate near-twins such as ``pyaml``/``pyyaml``): those never produce a finding. A name
that is not popular is compared with every popular name, by every technique.
"""

from __future__ import annotations

import bisect
import gzip
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from pipvet.analysis.lazyre import LazyPattern
from pipvet.models import Finding, NormalizedName, Severity, Stage, normalize_name

BUNDLED = Path(__file__).resolve().parent.parent / "data" / "popular.txt.gz"
CACHE_NAME = "popular.txt"

#: An established (popular) name is compared only with names this many times more popular.
ESTABLISHED_RATIO = 100
#: Names shorter than this are never matched by edit distance (too many honest neighbours).
MIN_TYPO_LENGTH = 5
#: Affix targets shorter than this are ignored (``py-io`` says nothing about ``io``).
MIN_AFFIX_TARGET = 4
#: Typos of names ranked within this are HIGH severity; beyond it MEDIUM.
TOP_TARGETS = 1000
#: Family members whose last words are at most this long are siblings, not typos.
SIBLING_WORD = 4
#: A swap plus one more edit counts as a typo for top names of at least this length.
SWAP_PLUS_ONE_LENGTH = 7

PREFIXES = ("python3-", "python2-", "python-", "py3-", "py2-", "py-", "pypi-", "pip-", "lib")
#: Words squatters glue to a popular name to make it look like an upgrade or an installer.
LURES = (
    "new",
    "free",
    "ultra",
    "super",
    "advanced",
    "better",
    "fast",
    "real",
    "original",
    "installer",
    "install",
    "loader",
    "module",
    "fix",
    "updated",
)
SUFFIXES = (
    "-python3",
    "-python",
    "-py3",
    "-py",
    "-dev",
    "-lite",
    "-sdk",
    "-api",
    "-lib",
    "-client",
    "-core",
    "-tools",
    "-utils",
    "-official",
    "-latest",
    "-new",
    "-fixed",
    "-patched",
    "-secure",
    "-pro",
    "-plus",
    "-extended",
    "-2",
    "-3",
)
#: Affixes used by squatters much more than by honest projects (MEDIUM instead of LOW).
LOUD_AFFIXES = frozenset(
    {"python3-", "python2-", "py3-", "py2-", "pypi-", "pip-", "-dev", "-lite", "-official", "-latest"}
    | {"-new", "-fixed", "-patched", "-secure", "-2", "-3", "-python3", "-py3"}
    | {f"{w}-" for w in LURES}
    | {f"-{w}" for w in LURES}
)

#: Reviewed pairs of popular names that match each other and are both legitimate projects.
#: Each was checked: different authors or purposes, both long-established. (candidate, target)
#: Reviewed against the index on 2026-11-25 (summary, author, release history).
REVIEWED_TWINS: frozenset[tuple[str, str]] = frozenset(
    {
        ("dydantic", "pydantic"),  # builds pydantic models from JSON schema; named after it on purpose
        ("grequests", "requests"),  # gevent + requests, a long-standing companion by the requests author
        ("pyyml", "pyyaml"),  # "use python in yaml", since 2019; its downloads are mostly typos, not malware
        ("google-oauth", "google-auth"),  # OAuth2 for Google APIs, since 2016, a different author
        ("tombi", "tomli"),  # a TOML toolkit, 100+ releases
        ("scipp", "scipy"),  # multi-dimensional data arrays for neutron science
        ("pymantic", "pydantic"),  # RDF/semantic-web library, older than pydantic's fame
        ("ipytest", "pytest"),  # run pytest in Jupyter; named after it on purpose
        ("panda", "pandas"),  # a REST client for the Panda video service, since 2010
        ("httpr", "httpx"),  # a fast HTTP client, 30+ releases
        ("xoto3", "boto3"),  # higher-level helpers over boto3; named after it on purpose
        ("gqlalchemy", "sqlalchemy"),  # Memgraph's object-graph mapper, named after SQLAlchemy
        ("openapi", "openai"),  # an OpenAPI 2.0 object model, since 2016 (older than the other)
    }
)

_KEYBOARD_ROWS = ("1234567890-", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_VISUAL_PAIRS = frozenset(
    frozenset(p)
    for p in (("l", "1"), ("l", "i"), ("i", "1"), ("o", "0"), ("s", "5"), ("e", "3"), ("a", "4"), ("b", "8"))
)
_SEP = LazyPattern(r"[-_.]+")
_LEADING_NUMBER = LazyPattern(r"\s*[vV]?(?:[0-9]+!)?([0-9]+)")
_FOLD = str.maketrans("1i|0", "lllo")
_YEAR = LazyPattern(r"-?20[0-9]{2}$")


def _keyboard_neighbours() -> dict[str, frozenset[str]]:
    pos = {ch: (r, c) for r, row in enumerate(_KEYBOARD_ROWS) for c, ch in enumerate(row)}
    out: dict[str, frozenset[str]] = {}
    for ch, (r, c) in pos.items():
        near = {
            other
            for other, (r2, c2) in pos.items()
            if other != ch and abs(r - r2) <= 1 and abs((c + 0.5 * r) - (c2 + 0.5 * r2)) <= 1.0
        }
        out[ch] = frozenset(near)
    return out


_NEAR = _keyboard_neighbours()


def squash(name: str) -> str:
    """Drop separators: ``py-yaml`` -> ``pyyaml``."""
    return _SEP.sub("", name.lower())


def fold(name: str) -> str:
    """Squash, then fold characters that look alike; ``rn`` -> ``m``, ``vv`` -> ``w``, ``0`` -> ``o``."""
    return _fold_squashed(squash(name))


def _fold_squashed(text: str) -> str:
    if "rn" in text or "vv" in text or "cl" in text:
        text = text.replace("rn", "m").replace("vv", "w").replace("cl", "d")
    return text.translate(_FOLD)


def tokens(name: str) -> tuple[str, ...]:
    return tuple(t for t in _SEP.split(name.lower()) if t)


@dataclass(frozen=True, kw_only=True, slots=True)
class LookAlike:
    name: NormalizedName
    target: NormalizedName
    target_rank: int
    technique: str
    """``confusable``, ``typo``, ``affix`` or ``reordered``."""
    detail: str
    """Human explanation, e.g. ``adjacent letters swapped (qe)``."""
    distance: int = 0


@dataclass(frozen=True, kw_only=True)
class Popular:
    """The popular names in rank order, with the look-up tables the matcher needs."""

    names: tuple[NormalizedName, ...]
    source: str = "bundled"
    twins: frozenset[tuple[str, str]] = field(default=REVIEWED_TWINS)

    @cached_property
    def rank(self) -> dict[str, int]:
        return {n: i + 1 for i, n in enumerate(self.names)}

    @cached_property
    def head(self) -> list[tuple[NormalizedName, str, str]]:
        """``(name, squashed, folded)`` for the names an established name can be compared with."""
        out = []
        for n in self.names[: len(self.names) // ESTABLISHED_RATIO + 1]:
            sq = n.replace("-", "")
            out.append((n, sq, _fold_squashed(sq)))
        return out

    @cached_property
    def folded(self) -> dict[str, list[NormalizedName]]:
        out: dict[str, list[NormalizedName]] = {}
        for sq, names in self.squashed.items():
            out.setdefault(_fold_squashed(sq), []).extend(names)
        return out

    @cached_property
    def squashed(self) -> dict[str, list[NormalizedName]]:
        out: dict[str, list[NormalizedName]] = {}
        for n in self.names:  # already normalized: "-" is the only separator
            out.setdefault(n.replace("-", ""), []).append(n)
        return out

    @cached_property
    def by_tokens(self) -> dict[tuple[str, ...], list[NormalizedName]]:
        out: dict[tuple[str, ...], list[NormalizedName]] = {}
        for n in self.names:
            parts = tokens(n)
            if len(parts) >= 2:
                out.setdefault(tuple(sorted(parts)), []).append(n)
        return out

    @cached_property
    def windows(self) -> dict[int, list[NormalizedName]]:
        """Length -> the names an edit-distance search of that length must look at."""
        by_len: dict[int, list[NormalizedName]] = {}
        for n in self.names:
            by_len.setdefault(len(n), []).append(n)
        out: dict[int, list[NormalizedName]] = {}
        longest = max(by_len, default=0)
        for length in range(MIN_TYPO_LENGTH - 1, longest + 3):
            k = max_distance(length)
            window = [c for lth in range(length - k, length + k + 1) for c in by_len.get(lth, ())]
            out[length] = sorted(window, key=self.rank.__getitem__)
        return out

    @cached_property
    def swap_windows(self) -> dict[int, list[NormalizedName]]:
        """Length -> top names within two letters, for "swap plus one" typos of 7-9 letter names."""
        top = [n for n in self.names[:TOP_TARGETS] if len(n) >= SWAP_PLUS_ONE_LENGTH]
        out: dict[int, list[NormalizedName]] = {}
        for length in range(SWAP_PLUS_ONE_LENGTH, 10):
            out[length] = [n for n in top if abs(len(n) - length) <= 2 and max_distance(len(n)) < 2]
        return out

    @cached_property
    def anchored(self) -> dict[tuple[int, int, str], list[NormalizedName]]:
        """``(length, 0 or -1, letter)`` -> names of the length window that begin (0) or end (-1)
        with that letter. Two slips in a long name rarely touch both of its ends, so a distance-2
        search only needs the names that share the first or the last letter."""
        out: dict[tuple[int, int, str], list[NormalizedName]] = {}
        for length, names in self.windows.items():
            if max_distance(length) < 2:
                continue
            for n in names:
                out.setdefault((length, 0, n[0]), []).append(n)
                out.setdefault((length, -1, n[-1]), []).append(n)
        return out

    @cached_property
    def window_ranks(self) -> dict[int, list[int]]:
        return {length: [self.rank[n] for n in names] for length, names in self.windows.items()}

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and normalize_name(name) in self.rank


def max_distance(length: int) -> int:
    if length < MIN_TYPO_LENGTH:
        return 0
    return 1 if length < 10 else 2


def parse_popular(text: str, *, normalized: bool = False) -> list[NormalizedName]:
    """A names file (one per line, ``#`` comments) or the top-packages JSON, in rank order.

    ``normalized=True`` trusts a file pipvet wrote itself (already in normal form, no duplicates).
    """
    if normalized and not text.lstrip().startswith("{"):
        return [NormalizedName(line) for line in text.split("\n") if line and not line.startswith("#")]
    stripped = text.lstrip()
    if stripped.startswith("{"):
        data = json.loads(stripped)
        rows = data.get("rows", []) if isinstance(data, dict) else []
        names = [str(r["project"]) for r in rows if isinstance(r, dict) and r.get("project")]
    else:
        names = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    seen: dict[NormalizedName, None] = {}
    for n in names:
        seen.setdefault(normalize_name(n), None)
    return list(seen)


def load_popular(cache_dir: Path | None = None) -> Popular:
    """The refreshed list from ``cache_dir/popular.txt`` if ``db update`` wrote one, else the bundled one."""
    if cache_dir is not None:
        path = cache_dir / CACHE_NAME
        try:
            names = parse_popular(path.read_text(encoding="utf-8"), normalized=True)
        except (OSError, ValueError):
            names = []
        if names:
            return Popular(names=tuple(names), source=str(path))
    with gzip.open(BUNDLED, "rt", encoding="utf-8") as handle:
        return Popular(names=tuple(parse_popular(handle.read(), normalized=True)), source="bundled")


# ---------------------------------------------------------------- matching


def _siblings(a: str, b: str) -> bool:
    """Members of one family that differ only in a short last word (``mypy-boto3-s3`` and
    ``mypy-boto3-sns``, ``nvidia-cusolver-cu11`` and ``-cu12``): siblings, not typos."""
    ta, tb = tokens(a), tokens(b)
    return (
        len(ta) >= 2
        and len(ta) == len(tb)
        and ta[:-1] == tb[:-1]
        and max(len(ta[-1]), len(tb[-1])) <= SIBLING_WORD
    )


def _digits_only(a: str, b: str) -> bool:
    """True when removing digits makes the names equal (``retry2`` / ``retry``)."""
    return a != b and re.sub(r"[0-9]", "", a) == re.sub(r"[0-9]", "", b)


def distance(a: str, b: str) -> int:
    from rapidfuzz.distance import OSA

    return int(OSA.distance(a, b))


def _explain_typo(name: str, target: str) -> str:
    """Say what kind of slip turns ``target`` into ``name`` (for distance-1 pairs)."""
    if len(name) == len(target):
        diffs = [i for i, (a, b) in enumerate(zip(name, target, strict=True)) if a != b]
        if len(diffs) == 2 and diffs[1] == diffs[0] + 1:
            i = diffs[0]
            if name[i] == target[i + 1] and name[i + 1] == target[i]:
                return f"adjacent letters swapped ({target[i : i + 2]} -> {name[i : i + 2]})"
        if len(diffs) == 1:
            a, b = target[diffs[0]], name[diffs[0]]
            if frozenset((a, b)) in _VISUAL_PAIRS:
                return f"look-alike character ({a} -> {b})"
            if b in _NEAR.get(a, frozenset()):
                return f"neighbouring key ({a} -> {b})"
            if {a, b} <= set("-_."):
                return "different separator"
            return f"one character changed ({a} -> {b})"
    if len(name) == len(target) + 1:
        for i in range(len(name)):
            if name[:i] + name[i + 1 :] == target:
                extra = name[i]
                if (i > 0 and name[i - 1] == extra) or (i + 1 < len(name) and name[i + 1] == extra):
                    return f"doubled letter ({extra})"
                return f"extra character ({extra})"
    if len(name) + 1 == len(target):
        for i in range(len(target)):
            if target[:i] + target[i + 1 :] == name:
                return f"missing character ({target[i]})"
    from rapidfuzz.distance import Levenshtein

    d = distance(name, target)
    if Levenshtein.distance(name, target) > d:
        return f"{d} edits, including a swap of adjacent letters"
    return f"{d} edits"


def _strip_affixes(name: str) -> list[tuple[str, str]]:
    """``(residual, affix)`` for each known prefix/suffix ``name`` carries."""
    out = []
    for p in PREFIXES:
        if name.startswith(p) and len(name) > len(p):
            out.append((name[len(p) :].lstrip("-"), p))
    for s in SUFFIXES:
        if name.endswith(s) and len(name) > len(s):
            out.append((name[: -len(s)], s))
    # Glued forms: "pyrequests", "requestspy", "requests2".
    if name.startswith("py") and not name.startswith("py-"):
        out.append((name[2:], "py"))
    if name.endswith("py") and not name.endswith("-py"):
        out.append((name[:-2], "py"))
    if name[-1:].isdigit() and not name[-2:-1].isdigit():
        out.append((name[:-1].rstrip("-"), name[-1]))
    year = _YEAR.search(name)
    if year and year.start() > 0:
        out.append((name[: year.start()], year.group(0)))
    for lure in LURES:
        if name.startswith(lure) and len(name) > len(lure) + 3:
            out.append((name[len(lure) :].lstrip("-_."), f"{lure}-"))
        if name.endswith(lure) and len(name) > len(lure) + 3:
            out.append((name[: -len(lure)].rstrip("-_."), f"-{lure}"))
    return out


def lookalikes(name: str, popular: Popular, *, as_unknown: bool = False) -> list[LookAlike]:
    """Every popular name that ``name`` imitates, strongest technique first, deduplicated by target.

    Implements the precision rule in the module docstring (established names, reviewed twins).
    ``as_unknown`` treats a popular name as if it were not in the list, compared only with more
    popular names (the bench uses it to estimate false positives on honest, unknown names).
    """
    n = normalize_name(name)
    own_rank = popular.rank.get(n)
    established = own_rank is not None and not as_unknown
    if established and own_rank is not None and own_rank < ESTABLISHED_RATIO:
        return []  # no name is ESTABLISHED_RATIO times more popular than this one

    def eligible(target: str) -> bool:
        if target == n:
            return False
        rank = popular.rank[target]
        if own_rank is not None and as_unknown:
            return rank < own_rank
        if established:
            assert own_rank is not None
            if own_rank < rank * ESTABLISHED_RATIO:
                return False
            return (n, target) not in popular.twins
        return True

    found: dict[str, LookAlike] = {}

    def add(target: NormalizedName, technique: str, detail: str, distance: int = 0) -> None:
        if target not in found and eligible(target):
            found[target] = LookAlike(
                name=n,
                target=target,
                target_rank=popular.rank[target],
                technique=technique,
                detail=detail,
                distance=distance,
            )

    if established:
        assert own_rank is not None
        return _established_lookalikes(n, own_rank, popular, add, found)

    sq = squash(n)
    for target in popular.squashed.get(sq, ()):
        add(target, "confusable", "same letters, different separators")
    for target in popular.folded.get(fold(n), ()):
        add(target, "confusable", "look-alike characters (l/1/i, o/0, rn/m, vv/w)")

    k = max_distance(len(n))
    if k:
        from rapidfuzz import process
        from rapidfuzz.distance import OSA, Levenshtein

        if k == 2:
            first = popular.anchored.get((len(n), 0, n[0]), [])
            last = popular.anchored.get((len(n), -1, n[-1]), [])
            window = list(dict.fromkeys([*first, *last]))
            if own_rank is not None:
                window = [t for t in window if popular.rank[t] < own_rank]
        else:
            window = popular.windows.get(len(n), [])
            if own_rank is not None:  # as_unknown: only more popular names are targets
                window = window[: bisect.bisect_right(popular.window_ranks.get(len(n), []), own_rank - 1)]
        hits = process.extract(n, window, scorer=OSA.distance, score_cutoff=k, limit=None)
        if len(n) in popular.swap_windows:
            swaps = popular.swap_windows[len(n)]
            if own_rank is not None:
                swaps = [t for t in swaps if popular.rank[t] < own_rank]
            hits += process.extract(n, swaps, scorer=OSA.distance, score_cutoff=2, limit=None)
        for target, dist, _ in hits:
            if dist == 0 or _siblings(n, target):
                continue
            allowed = min(max_distance(len(n)), max_distance(len(target)))
            if dist > allowed:
                # A swap plus one more slip on a top name of 7+ letters ("requset" for "requests").
                swapped = Levenshtein.distance(n, target) > dist
                if not (
                    dist == 2
                    and swapped
                    and min(len(n), len(target)) >= SWAP_PLUS_ONE_LENGTH
                    and popular.rank[target] <= TOP_TARGETS
                ):
                    continue
            add(target, "typo", _explain_typo(n, target), dist)

    if not established:
        for residual, affix in _strip_affixes(n):
            for target in popular.squashed.get(squash(residual), ()):
                if len(target) >= MIN_AFFIX_TARGET:
                    add(target, "affix", f"{target} with {affix!r} added")
        parts = tokens(n)
        if len(parts) >= 2:
            for target in popular.by_tokens.get(tuple(sorted(parts)), ()):
                add(target, "reordered", "the same words in another order")

    return _ordered(found)


_TECHNIQUE_ORDER = {"confusable": 0, "typo": 1, "affix": 2, "reordered": 3}


def _ordered(found: Mapping[str, LookAlike]) -> list[LookAlike]:
    return sorted(found.values(), key=lambda m: (_TECHNIQUE_ORDER[m.technique], m.target_rank))


def _established_lookalikes(
    n: NormalizedName,
    own_rank: int,
    popular: Popular,
    add: Callable[[NormalizedName, str, str, int], None],
    found: Mapping[str, LookAlike],
) -> list[LookAlike]:
    """The precision rule's narrow check for a popular name: only the names at least
    ESTABLISHED_RATIO times more popular (a short head of the list), only confusable spellings and
    one edit. Cheap, so auditing a lockfile of popular projects costs little."""
    sq = n.replace("-", "")  # n is normalized
    fd = _fold_squashed(sq)
    close: list[NormalizedName] = []
    typo_ok = max_distance(len(n)) >= 1
    for target, t_sq, t_fd in popular.head[: own_rank // ESTABLISHED_RATIO]:
        if t_sq == sq:
            add(target, "confusable", "same letters, different separators", 0)
        elif t_fd == fd:
            add(target, "confusable", "look-alike characters (l/1/i, o/0, rn/m, vv/w)", 0)
        elif typo_ok and abs(len(target) - len(n)) <= 1 and max_distance(len(target)) >= 1:
            close.append(target)
    for target in close:
        if _one_edit(n, target) and not _siblings(n, target):
            add(target, "typo", _explain_typo(n, target), 1)
    return _ordered(found)


def _one_edit(a: str, b: str) -> bool:
    """OSA distance exactly 1: one substitution, insertion, deletion or adjacent swap."""
    if a == b:
        return False
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1:
        return False
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        if a[i + 1 :] == b[i + 1 :]:
            return True  # substitution
        return i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    return a[i:] == b[i + 1 :]  # insertion


# ---------------------------------------------------------------- findings

RULE_LOOKALIKE = "PV-NAME-LOOKALIKE"


def severity_of(match: LookAlike) -> Severity:
    if match.technique == "confusable":
        return Severity.HIGH
    if match.technique == "typo":
        if _digits_only(match.name, match.target):
            return Severity.MEDIUM
        if match.distance == 1 and match.target_rank <= TOP_TARGETS:
            return Severity.HIGH
        return Severity.MEDIUM
    if match.technique == "affix":
        affix = match.detail.split("'")[1] if "'" in match.detail else ""
        return Severity.MEDIUM if affix in LOUD_AFFIXES else Severity.LOW
    return Severity.MEDIUM


def name_findings(name: str, popular: Popular, *, limit: int = 3) -> list[Finding]:
    """Findings for ``name`` looking like popular projects (at most ``limit``, strongest first)."""
    matches = lookalikes(name, popular)[:limit]
    return [
        Finding(
            rule=RULE_LOOKALIKE,
            severity=severity_of(m),
            title=f"Name looks like the popular project {m.target!r}",
            message=(
                f"{m.name!r} resembles {m.target!r} (popularity rank {m.target_rank}): {m.detail}. "
                "Check that you meant this project and not the popular one."
            ),
            evidence=f"{m.name} ~ {m.target} [{m.technique}: {m.detail}]",
            stage=Stage.METADATA,
        )
        for m in matches
    ]


def scan(names: Iterable[str], popular: Popular) -> Mapping[str, list[LookAlike]]:
    """:func:`lookalikes` for many names; only names with matches appear."""
    out: dict[str, list[LookAlike]] = {}
    for name in names:
        matches = lookalikes(name, popular)
        if matches:
            out[name] = matches
    return out


def popular_pairs(popular: Popular, *, reviewed: bool = True) -> Sequence[tuple[str, str, str]]:
    """``(candidate, target, detail)`` for popular names flagged against other popular names.

    With ``reviewed=False`` the :data:`REVIEWED_TWINS` are not excused (the bench reports both).
    """
    view = popular if reviewed else Popular(names=popular.names, source=popular.source, twins=frozenset())
    pairs = []
    for n in view.names:
        for m in lookalikes(n, view):
            pairs.append((n, str(m.target), m.detail))
    return pairs


# ---------------------------------------------------------------- dependency confusion

RULE_CONFUSION_VERSION = "PV-CONFUSION-VERSION"
RULE_CONFUSION_SHADOW = "PV-CONFUSION-SHADOW"
RULE_CONFUSION_UNPINNED = "PV-CONFUSION-UNPINNED"

#: A first version number at or above this is "absurd" unless it reads as a date (calver).
ABSURD_MAJOR = 99


def absurd_version(version: str) -> bool:
    """``99.0.0``, ``1000.1``: numbers chosen to win "highest version" races, not calver dates."""
    lead = _LEADING_NUMBER.match(version)
    if lead is None or int(lead.group(1)) < ABSURD_MAJOR:
        return False  # the common case, decided without parsing
    from packaging.version import InvalidVersion, Version

    try:
        major = Version(version).release[0]
    except (InvalidVersion, IndexError):
        return False
    if major < ABSURD_MAJOR:
        return False
    calver_year = 1990 <= major <= 2100
    calver_date = 19900101 <= major <= 21001231  # 20240131-style
    return not (calver_year or calver_date)


def version_findings(
    name: str, version: str, *, release_count: int | None = None, popular: Popular | None = None
) -> list[Finding]:
    """An absurd version number; strong when the project has only one or two releases."""
    if not absurd_version(version) or (popular is not None and name in popular):
        return []
    few = release_count is not None and release_count <= 2
    if few:
        severity, why = Severity.HIGH, f"and the project has only {release_count} release(s)"
    elif release_count is None:
        severity, why = Severity.LOW, "(release history not checked)"
    else:
        severity, why = Severity.LOW, f"on a project with {release_count} releases"
    return [
        Finding(
            rule=RULE_CONFUSION_VERSION,
            severity=severity,
            title="Absurdly high version number",
            message=(
                f"{name} {version} has a version number chosen to beat any other index's {why}; "
                "this is how dependency-confusion packages win the resolver."
            ),
            evidence=f"{name}=={version}",
            stage=Stage.METADATA,
        )
    ]


@dataclass(frozen=True, kw_only=True, slots=True)
class Presence:
    """What one index holds for a project name."""

    index: str
    """The index's redacted address."""
    versions: tuple[str, ...] = ()
    sha256s: frozenset[str] = frozenset()


def shadow_findings(name: str, presences: Sequence[Presence]) -> list[Finding]:
    """The same name on several indexes with *different* files (a mirror shares hashes; a shadow does not)."""
    found = [p for p in presences if p.versions]
    if len(found) < 2:
        return []
    shared = set.intersection(*(set(p.sha256s) for p in found)) if all(p.sha256s for p in found) else set()
    if shared:
        return []  # a mirror: the same files
    from packaging.version import InvalidVersion, Version

    def top(p: Presence) -> Version:
        best = Version("0")
        for v in p.versions:
            try:
                best = max(best, Version(v))
            except InvalidVersion:
                continue
        return best

    tops = sorted(found, key=top, reverse=True)
    overlap = set(tops[0].versions) & set(tops[1].versions)
    severity = Severity.HIGH if top(tops[0]) != top(tops[1]) or not overlap else Severity.MEDIUM
    return [
        Finding(
            rule=RULE_CONFUSION_SHADOW,
            severity=severity,
            title="The same name lives on more than one index",
            message=(
                f"{name!r} exists on {len(found)} configured indexes with different files; an installer "
                f"that merges them picks the highest version, here from {tops[0].index}. "
                "Pin the index for this project (uv: an explicit index; pip: --index-url) and hashes."
            ),
            evidence="; ".join(f"{p.index}: {top(p)} ({len(p.versions)} versions)" for p in tops),
            stage=Stage.METADATA,
        )
    ]


def unpinned_findings(
    name: str, *, hashes: Sequence[str], remote_indexes: int, pinned_index: bool
) -> list[Finding]:
    """A dependency that several remote indexes could supply, with neither hashes nor an index pin.

    ``file://`` folders do not count: they are under the user's own control.
    """
    if remote_indexes < 2 or hashes or pinned_index:
        return []
    return [
        Finding(
            rule=RULE_CONFUSION_UNPINNED,
            severity=Severity.LOW,
            title="Resolved from several indexes without pinning",
            message=(
                f"{name} may come from any of {remote_indexes} configured indexes and is not pinned by "
                "hash or to one index: a public package with the same name could be installed instead."
            ),
            evidence=f"{remote_indexes} remote indexes, no hashes",
            stage=Stage.METADATA,
        )
    ]


def dependency_findings(
    name: str,
    version: str | None,
    popular: Popular,
    *,
    hashes: Sequence[str] = (),
    pinned_index: bool = False,
    remote_indexes: int = 1,
) -> list[Finding]:
    """The offline name signals for one declared dependency: look-alikes and confusion markers."""
    out = name_findings(name, popular)
    if version:
        out += version_findings(name, version, popular=popular)
    out += unpinned_findings(name, hashes=hashes, remote_indexes=remote_indexes, pinned_index=pinned_index)
    return out
