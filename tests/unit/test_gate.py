"""The gate's pure parts: index options, the installer command line, requirement-file checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipvet.errors import UsageError
from pipvet.gate import (
    GateOutcome,
    GateRequest,
    check_requirement_files,
    installer_command,
    plan_upstreams,
    split_index_args,
)
from pipvet.models import Decision, Result, Verdict


def test_split_pip_index_options() -> None:
    s = split_index_args(
        "pip",
        [
            "-i",
            "http://a/simple",
            "--extra-index-url=http://b/simple",
            "-r",
            "req.txt",
            "--extra-index-url",
            "http://c/",
        ],
    )
    assert s.primary == "http://a/simple"
    assert s.extras == ("http://b/simple", "http://c/")
    assert s.rest == ("-r", "req.txt")
    assert split_index_args("pip", ["-ihttp://x/"]).primary == "http://x/"


def test_split_uv_index_options() -> None:
    s = split_index_args("uv", ["--default-index", "http://a/", "--index", "corp=http://b/", "foo"])
    assert (s.primary, s.extras, s.rest) == ("http://a/", ("http://b/",), ("foo",))


@pytest.mark.parametrize(
    "args", [["--find-links", "dist/"], ["-f", "x"], ["-fdist"], ["--no-index"], ["--find-links=x"]]
)
def test_bypass_options_are_refused(args: list[str]) -> None:
    with pytest.raises(UsageError, match="bypass the vetting index"):
        split_index_args("pip", args)


def test_plan_upstreams_keeps_order_and_replaces_the_primary() -> None:
    req = GateRequest(args=("--extra-index-url", "http://e/simple/", "foo"))
    urls, rest = plan_upstreams(req, ("http://p/simple/", "http://x/simple/"))
    assert urls == ("http://p/simple/", "http://x/simple/", "http://e/simple/")
    assert rest == ("foo",)
    req = GateRequest(args=("-i", "http://mine/simple/", "foo"))
    assert plan_upstreams(req, ("http://p/simple/",))[0] == ("http://mine/simple/",)


def test_pip_command_isolates_config_and_cache() -> None:
    env = {"PIP_INDEX_URL": "http://evil/", "PIP_EXTRA_INDEX_URL": "http://evil2/", "HOME": "/h"}
    inv = installer_command(
        "pip",
        python="/v/bin/python",
        uv=None,
        index_urls=["http://127.0.0.1:5/simple/", "http://127.0.0.1:5/extra/1/simple/"],
        args=["foo"],
        dry_run=True,
        uv_cache=None,
        env=env,
    )
    assert inv.argv == (
        "/v/bin/python", "-m", "pip", "install",
        "--index-url", "http://127.0.0.1:5/simple/",
        "--extra-index-url", "http://127.0.0.1:5/extra/1/simple/",
        "--no-cache-dir", "--dry-run", "foo",
    )  # fmt: skip
    assert inv.env["PIP_CONFIG_FILE"] == os.devnull
    assert "PIP_INDEX_URL" not in inv.env
    assert "PIP_EXTRA_INDEX_URL" not in inv.env
    assert inv.env["HOME"] == "/h"


def test_uv_command_uses_its_own_cache_and_no_config(tmp_path: Path) -> None:
    inv = installer_command(
        "uv",
        python="/v/bin/python",
        uv="/bin/uv",
        index_urls=["http://127.0.0.1:5/simple/"],
        args=["foo"],
        dry_run=False,
        uv_cache=tmp_path,
        env={"UV_INDEX": "http://evil/", "UV_CACHE_DIR": "/shared"},
    )
    assert inv.argv[:4] == ("/bin/uv", "pip", "install", "--python")
    assert "--no-config" in inv.argv
    assert inv.argv[inv.argv.index("--default-index") + 1] == "http://127.0.0.1:5/simple/"
    assert inv.argv[inv.argv.index("--cache-dir") + 1] == str(tmp_path)
    assert "UV_INDEX" not in inv.env
    assert "UV_CACHE_DIR" not in inv.env


def test_requirement_files_naming_indexes_are_refused(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("foo==1\n--extra-index-url http://other/simple/\n")
    (tmp_path / "req.txt").write_text("# top\n-r base.txt\nbar==2\n")
    with pytest.raises(UsageError, match=r"base\.txt:2: --extra-index-url"):
        check_requirement_files(["-r", "req.txt"], cwd=tmp_path)
    (tmp_path / "ok.txt").write_text("foo==1 --hash=sha256:" + "a" * 64 + "\n")
    check_requirement_files(["-rok.txt"], cwd=tmp_path)


def _r(decision: Decision, verdict: Verdict = Verdict.CLEAN) -> Result:
    return Result(target="x", verdict=verdict, decision=decision)


def test_exit_codes() -> None:
    assert GateOutcome(installer_status=0, results=(_r(Decision.ALLOW),)).exit_code() == 0
    assert GateOutcome(installer_status=2, results=()).exit_code() == 2
    assert GateOutcome(installer_status=1, results=(_r(Decision.BLOCK, Verdict.MALICIOUS),)).exit_code() == 1
    assert GateOutcome(installer_status=1, results=(_r(Decision.BLOCK, Verdict.ERROR),)).exit_code() == 3
    assert GateOutcome(installer_status=1, results=(), failures=("upstream down",)).exit_code() == 3


def test_requirement_guesses_skip_option_values_and_read_requirement_files(tmp_path: Path) -> None:
    from pipvet.gate import requirement_guesses

    (tmp_path / "req.txt").write_text(
        "# pinned\nfoo==1.0 \\\n    --hash=sha256:abc\nbar>=2  # why\n-e ./local\n"
    )
    args = ["-r", "req.txt", "--target", "out", "baz[x]<3", "-U", "qux"]
    assert requirement_guesses(args, cwd=tmp_path) == ["baz[x]<3", "qux", "foo==1.0", "bar>=2"]
