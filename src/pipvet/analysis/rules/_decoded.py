"""Read code that pipvet decoded (never ran) with every rule, as if it were a file of the package.

Two rules hand decoded Python on: PV-EXE-001 splices what an ``exec`` of a literal payload runs
into the file in its place, and PV-PAY-HIDDEN-CODE reads programs encoded inside data files.
Decoded code may itself decode more; ``DEPTH_KEY`` in the file's cache counts the layers so that
the reading stops at ``MAX_DEPTH``.
"""

from __future__ import annotations

from pipvet.analysis.context import FileContext, FileKind, PackageContext
from pipvet.models import Finding, Stage

#: Decoded payloads inside decoded payloads are read up to this depth; deeper ones stay opaque.
MAX_DEPTH = 3
DEPTH_KEY = "peel.depth"


def depth_of(file: FileContext) -> int:
    """How many decoding layers deep ``file`` is (0: a file of the archive itself)."""
    depth = file.cache.get(DEPTH_KEY, 0)
    return depth if isinstance(depth, int) else MAX_DEPTH


def read_as_python(
    text: str,
    *,
    path: str,
    stage: Stage,
    depth: int,
    package: PackageContext,
    own: frozenset[str] = frozenset(),
) -> tuple[FileContext, list[Finding]] | None:
    """Every rule's findings on ``text`` read as a Python file at ``path`` (the file it was
    decoded from), ``depth`` layers deep. ``None`` when it is too deep, does not parse, or a
    rule cannot read it (the payload then stays opaque: the caller keeps its own finding)."""
    from pipvet.analysis.limits import DEFAULT_LIMITS
    from pipvet.analysis.parsing import parse_python
    from pipvet.analysis.rules import ALL_RULES

    if depth >= MAX_DEPTH:
        return None
    tree, _ = parse_python(text, path, DEFAULT_LIMITS)
    if tree is None:
        return None
    decoded = FileContext(
        path=path,
        data=text.encode("utf-8", "surrogatepass"),
        kind=FileKind.PYTHON,
        stage=stage,
        text=text,
        tree=tree,
        cache={DEPTH_KEY: depth + 1},
        own=own,
    )
    try:
        return decoded, [f for rule in ALL_RULES for f in rule.check(decoded, package)]
    except Exception:  # a rule that cannot read it: the payload stays opaque (fail closed)
        return None
