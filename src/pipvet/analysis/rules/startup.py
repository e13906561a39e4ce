"""Start-up code: ``.pth`` lines that execute, and shipped ``sitecustomize``/``usercustomize``.

``site`` executes every line of a ``*.pth`` file in site-packages that starts with ``import``
(followed by a space or tab), at *every* interpreter start, before the user's program runs.
Packaging uses this for a few well-known, harmless lines, which are recognised by what they do
(not by file name): setuptools' namespace-package lines (``*-nspkg.pth``: ``sys``/``types``/
``os``/``importlib`` calls that register a module path), ``distutils-precedence.pth``
(``__import__('_distutils_hack').add_shim()``), editable-install finders
(``import __editable___x_finder; __editable___x_finder.install()``) and start-up hooks such as
coverage's or pywin32's that import a module the same package ships. Anything that reaches for
processes, network, ``exec``, decoding or file writes is what litellm 1.82.8 did.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import PurePosixPath

from pipvet.analysis.context import FileContext, FileKind, PackageContext
from pipvet.analysis.facts import Facts, capabilities, collect, trim
from pipvet.analysis.lazyre import LazyPattern
from pipvet.analysis.rules._base import BaseRule
from pipvet.models import Finding, Severity, Stage

#: Modules a namespace/distutils/editable ``.pth`` line legitimately touches.
_HOUSEKEEPING: frozenset[str] = frozenset({"sys", "types", "os", "importlib", "site", "_distutils_hack"})
_DANGER = ("exec", "compile", "decode", "network", "process", "file_write", "thread")
_TEXT_DANGER = (
    "exec(",
    "eval(",
    "b64decode",
    "base64",
    "subprocess",
    "os.system",
    "urlopen",
    "socket",
    "marshal",
)
_LONG_LINE = 1000


def _executes(line: str) -> bool:
    return line.startswith(("import ", "import\t"))


def _shipped_modules(package: PackageContext) -> set[str]:
    names: set[str] = set()
    for member in package.members:
        parts = PurePosixPath(member).parts
        for part in parts:
            names.add(part.split(".")[0])
    return names


def _judge_line(line: str, shipped: set[str], nested: int = 0) -> tuple[Severity, str] | None:
    try:
        tree = ast.parse(line)
    except SyntaxError:
        # site.py would fail on it too, but the text still says what it tried.
        hits = [t for t in _TEXT_DANGER if t in line]
        if hits:
            return Severity.CRITICAL, f"uses {', '.join(hits[:3])}"
        return Severity.LOW, "is not valid Python"
    facts = collect(tree)
    dangerous: list[tuple[int, str]] = []
    modules: set[str] = set()
    from_environment = False
    for call in facts.calls:
        caps = capabilities(call)
        inner = _literal_source(call.node) if call.name in {"exec", "eval"} else None
        template = _environment_template(call.node) if call.name in {"exec", "eval"} else None
        if template is not None and nested < 2:
            # eval("install({0[PYTHONMANHOLE]})".format(os.environ)): code written from a literal
            # template and the environment. Whoever sets the environment can already run code at
            # start-up (PYTHONSTARTUP); the template itself is judged like any line.
            judged = _judge_line(template, shipped, nested + 1)
            if judged is not None and judged[0] is Severity.CRITICAL:
                dangerous.append((0, f"{call.name} (of code that {judged[1]})"))
            else:
                from_environment = True
            continue
        if inner is not None and nested < 2:
            # exec('<visible source>'): judge the source itself (coverage's start-up hook).
            judged = _judge_line(inner, shipped, nested + 1)
            if judged is not None and judged[0] is Severity.CRITICAL:
                # Name the exec itself, then what the code it runs does.
                dangerous.append((0, f"{call.name} (of code that {judged[1]})"))
                continue
            if judged is not None and judged[0].rank > Severity.INFO.rank:
                return judged
            modules |= _modules(collect_or_empty(inner))
            continue
        if call.name in {"exec", "eval", "compile"} or caps.intersection(_DANGER):
            dangerous.append((_gravity(call.name, caps), call.name))
    encoded = any(t in line for t in ("b64decode", "base64", "marshal", "zlib"))
    if dangerous or encoded:
        return Severity.CRITICAL, _calls(dangerous, encoded)
    if len(line) > _LONG_LINE:
        return Severity.HIGH, f"is {len(line)} characters long"
    if from_environment:
        return Severity.MEDIUM, "evaluates code filled in from an environment variable"
    modules |= _modules(facts)
    foreign = {m for m in modules if m not in _HOUSEKEEPING and m not in shipped}
    if foreign:
        return Severity.MEDIUM, f"imports {', '.join(sorted(foreign))}, which this package does not ship"
    if modules <= _HOUSEKEEPING:
        return None  # namespace-package / distutils-precedence housekeeping
    return Severity.INFO, "imports a module this package ships (a start-up hook)"


def _gravity(name: str, caps: set[str]) -> int:
    """Rank of a dangerous call for the message: running code first, then what it reaches."""
    if name in {"exec", "eval", "compile"}:
        return 0
    return next((rank for rank, cap in enumerate(_DANGER, start=1) if cap in caps), len(_DANGER) + 1)


_NAMED_CALLS = 4


def _calls(dangerous: list[tuple[int, str]], encoded: bool) -> str:
    """``calls exec, subprocess.run, shutil.copy2 (and 3 more)``: the gravest distinct calls."""
    names = list(dict.fromkeys(name for _, name in sorted(dangerous, key=lambda t: t[0])))
    if encoded:
        names.append("encoded data")
    shown = ", ".join(names[:_NAMED_CALLS])
    more = len(names) - _NAMED_CALLS
    return f"calls {shown}" + (f" (and {more} more)" if more > 0 else "")


def _literal_source(node: ast.Call) -> str | None:
    first = node.args[0] if node.args else None
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    return None


_FIELD = LazyPattern(r"\{[^{}]*\}")


def _environment_template(node: ast.Call) -> str | None:
    """``eval("<template>".format(os.environ))``: the literal template with its fields blanked
    (``install(_)``), when the environment is all that fills it in."""
    first = node.args[0] if node.args else None
    if not (
        isinstance(first, ast.Call)
        and isinstance(first.func, ast.Attribute)
        and first.func.attr == "format"
        and isinstance(first.func.value, ast.Constant)
        and isinstance(first.func.value.value, str)
    ):
        return None
    handed = [*first.args, *(k.value for k in first.keywords)]
    if not handed or not all(_environment(a) for a in handed):
        return None
    return _FIELD.sub("_", first.func.value.value)


def _environment(node: ast.expr) -> bool:
    text = ast.unparse(node)
    reads = ("os.environ[", "os.environ.get(", "os.getenv(")
    return text in {"os.environ", "environ"} or text.startswith(reads)


def collect_or_empty(source: str) -> Facts:
    try:
        return collect(ast.parse(source))
    except SyntaxError:
        return Facts()


def _modules(facts: Facts) -> set[str]:
    found = {i.module.split(".")[0] for i in facts.imports}
    found |= {m.split(".")[0] for c in facts.calls if (m := _literal_import(c.node, c.name))}
    return found


def _literal_import(node: ast.Call, name: str) -> str | None:
    """The module named by ``__import__('x')``/``importlib.import_module('x')``, if literal."""
    first = node.args[0] if node.args else None
    if name in {"__import__", "importlib.import_module"} and isinstance(first, ast.Constant):
        return first.value if isinstance(first.value, str) else None
    return None


class ExecutablePth(BaseRule):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if file.kind is not FileKind.PTH and not file.path.endswith(".pth"):
            return
        text = file.text if file.text is not None else file.data.decode("utf-8", "replace")
        shipped: set[str] | None = None
        worst: tuple[Severity, int, str, str] | None = None
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.rstrip()
            if not _executes(line):
                continue
            if shipped is None:
                shipped = _shipped_modules(package)
            judged = _judge_line(line, shipped)
            if judged is None:
                continue
            if worst is None or judged[0].rank > worst[0].rank:
                worst = (judged[0], number, judged[1], line)
        if worst is None:
            return
        severity, number, why, line = worst
        # A .pth the engine did not place at the top of site-packages runs only if something
        # copies it there; its content still counts as start-up code once it is clearly hostile.
        stage = (
            Stage.STARTUP
            if file.stage is Stage.STARTUP or severity.rank >= Severity.HIGH.rank
            else file.stage
        )
        yield self.finding(
            file,
            line=number,
            evidence=trim(line),
            severity=severity,
            stage=stage,
            message=f"This .pth line runs at every Python start-up once installed, and it {why}.",
        )


_CUSTOMIZE = {"sitecustomize.py", "usercustomize.py"}


class CustomizeModule(BaseRule):
    __slots__ = ()

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        if not file.path.endswith("customize.py"):  # both names do; skips the path object
            return
        path = PurePosixPath(file.path)
        if path.name not in _CUSTOMIZE:
            return
        parent = path.parts[:-1]
        # Installed at the top of site-packages: a wheel's root, or an sdist's root / src folder.
        top = len(parent) == 0 or (not package.is_wheel and (len(parent) == 1 or parent[1:] == ("src",)))
        yield self.finding(
            file,
            line=1,
            evidence=path.name,
            severity=Severity.HIGH if top else Severity.LOW,
            stage=Stage.STARTUP,
            message=f"The package ships {path.name}, which Python imports automatically at every start-up "
            "when it lands on sys.path"
            + (" (here it would)." if top else " (here it sits inside a package, so it would not)."),
        )


RULES = (
    ExecutablePth(
        id="PV-PTH-001",
        title="Executable .pth line",
        severity=Severity.HIGH,
        rationale="import lines in .pth files run at every interpreter start (litellm 1.82.8, "
        "elementary-data) (THREATS signal 1).",
    ),
    CustomizeModule(
        id="PV-PTH-002",
        title="Ships sitecustomize/usercustomize",
        severity=Severity.HIGH,
        rationale="sitecustomize/usercustomize run at every interpreter start (THREATS signal 15).",
    ),
)
