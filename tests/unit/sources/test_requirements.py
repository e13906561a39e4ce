from __future__ import annotations

import pytest

from pipvet.errors import ExitCode, InputError
from pipvet.models import Resolved, Skipped
from pipvet.sources.markers import TargetEnvironment
from pipvet.sources.requirements import FORMAT, logical_lines, parse

LINUX_311 = TargetEnvironment.for_target(python_version="3.11.4", platform="linux")


def deps(text: str, **kw: object) -> list[Resolved | Skipped]:
    return list(parse(text, path="req.txt", target=LINUX_311, **kw).dependencies)  # type: ignore[arg-type]


def only(text: str) -> Resolved | Skipped:
    (dep,) = deps(text)
    return dep


def test_simple_pins_with_origin() -> None:
    result = parse(
        "Django==3.2.0\n\n# comment\nrequests == 2.19.1  # trailing comment\n",
        path="req.txt",
        target=LINUX_311,
    )
    assert result.format == FORMAT == "requirements"
    a, b = result.dependencies
    assert isinstance(a, Resolved)
    assert (a.name, a.version, str(a.origin)) == ("django", "3.2.0", "req.txt:1")
    assert isinstance(b, Resolved)
    assert (b.name, b.version, str(b.origin)) == ("requests", "2.19.1", "req.txt:4")


def test_arbitrary_equality_and_extras_and_names() -> None:
    a = only("Foo.Bar_baz[security, socks]===1.0-weird")
    assert isinstance(a, Resolved)
    assert a.name == "foo-bar-baz"
    assert a.version == "1.0-weird"
    assert a.extras == ("security", "socks")


def test_hashes_and_continuations() -> None:
    text = (
        "certifi==2024.2.2 \\\n"
        "    --hash=sha256:0569859f95fc761b18b45ef421b1290a0f65f147e92a1e5eb3e635f9a5e4e66f \\\n"
        "    --hash sha256:E30B3BC01EB51B43A4BBB1D8D4B59E1E4F8E8B0C8E3D7C7E6B8E5F4C3D2A1B0C9\n"
        "idna==3.10\n"
    )
    a, b = deps(text)
    assert isinstance(a, Resolved)
    assert a.hashes == (
        "sha256:0569859f95fc761b18b45ef421b1290a0f65f147e92a1e5eb3e635f9a5e4e66f",
        "sha256:e30b3bc01eb51b43a4bbb1d8d4b59e1e4f8e8b0c8e3d7c7e6b8e5f4c3d2a1b0c9",
    )
    assert isinstance(b, Resolved)
    assert b.origin.line == 4


def test_markers_evaluated_for_the_target_and_duplicates_kept() -> None:
    text = (
        "hypothesis==6.168.5 ; python_full_version < '3.11' --hash=sha256:01\n"
        'hypothesis==6.170.17 ; python_full_version >= "3.11"\n'
        'pywin32==306; sys_platform == "win32"\n'
    )
    old, new, win = deps(text)
    assert isinstance(old, Resolved)
    assert isinstance(new, Resolved)
    assert isinstance(win, Resolved)
    assert (old.version, old.applies) == ("6.168.5", False)
    assert (new.version, new.applies) == ("6.170.17", True)
    assert old.marker == 'python_full_version < "3.11"'
    assert not win.applies
    windows = parse(
        text, path="r", target=TargetEnvironment.for_target(python_version="3.10", platform="windows")
    )
    assert [d.applies for d in windows.dependencies] == [True, False, True]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("requests>=2.0", "not pinned to one exact version (>=2.0)"),
        ("requests", "no version given"),
        ("requests==2.*", "not pinned"),
        ("requests~=2.31", "not pinned"),
        ("requests==2.0,==2.1", "not pinned"),
        ("pkg @ https://example.invalid/pkg-1.0.tar.gz", "direct URL reference"),
        ("https://example.invalid/files/pkg-1.0-py3-none-any.whl", "a local path or URL"),
        ("./vendored/pkg", "a local path or URL"),
        ("git+https://example.invalid/org/repo.git#egg=Repo_Name", "a local path or URL"),
        ("-e ./src/mypkg", "editable"),
        ("--editable=git+https://example.invalid/x.git#egg=x", "editable"),
    ],
)
def test_anything_not_exactly_pinned_is_skipped_with_a_reason(line: str, reason: str) -> None:
    dep = only(line)
    assert isinstance(dep, Skipped)
    assert reason in dep.reason
    assert dep.origin.line == 1


def test_skipped_names_are_guessed() -> None:
    assert only("git+https://example.invalid/org/repo.git#egg=Repo_Name").name == "repo-name"
    assert only("https://example.invalid/files/pkg_x-1.0-py3-none-any.whl").name == "pkg-x"
    assert only("pkg @ https://example.invalid/pkg-1.0.tar.gz").name == "pkg"


def test_unpinned_with_false_marker_does_not_apply() -> None:
    dep = only('pywin32>=300; sys_platform == "win32"')
    assert isinstance(dep, Skipped)
    assert not dep.applies


def test_multiple_specifiers_with_one_pin_count_as_pinned() -> None:
    dep = only("requests==2.31.0,>=2")
    assert isinstance(dep, Resolved)
    assert dep.version == "2.31.0"


def test_global_options_and_index_urls() -> None:
    text = (
        "--index-url https://mirror.example.invalid/simple\n"
        "--extra-index-url=https://extra.example.invalid/simple\n"
        "-i https://mirror.example.invalid/simple\n"
        "--require-hashes\n--no-binary :all:\n--pre\n-f ./wheels\n--trusted-host mirror.example.invalid\n"
        "six==1.16.0\n"
    )
    result = parse(text, path="r", target=LINUX_311)
    assert result.index_urls == (
        "https://mirror.example.invalid/simple",
        "https://extra.example.invalid/simple",
    )
    assert [d.name for d in result.dependencies] == ["six"]


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("six==1.16.0\nthis is not valid!!\n", 2, "invalid requirement"),
        ("six==1.16.0\n--frobnicate\n", 2, "unknown option --frobnicate"),
        ("six==1.16.0 --hash=md5\n", 1, "malformed hash"),
        ("six==1.16.0 --bogus=1\n", 1, "unknown option --bogus"),
        ("a==1\nb==1\nc==1 ; python_version >>> '3'\n", 3, "invalid requirement"),
        ("-r\n", 1, "needs a value"),
        ("\n\nsix==1.0 \\\n  --hash\n", 3, "needs a value"),
        ("--pre=yes\n", 1, "takes no value"),
        ("--index-url 'unclosed\n", 1, "cannot split"),
    ],
)
def test_bad_lines_name_file_and_line(text: str, line: int, needle: str) -> None:
    with pytest.raises(InputError) as info:
        parse(text, path="reqs/dev.txt", target=LINUX_311)
    assert info.value.path == "reqs/dev.txt"
    assert info.value.line == line
    assert needle in info.value.message
    assert info.value.message.startswith(f"reqs/dev.txt:{line}: ")
    assert info.value.exit_code is ExitCode.USAGE


def test_logical_lines_join_continuations_and_strip_comments() -> None:
    text = "a==1 \\\n  --hash=sha256:ab\n# only a comment\nurl@https://x.invalid/p#frag  # note\n\n"
    assert logical_lines(text) == [(1, "a==1    --hash=sha256:ab"), (4, "url@https://x.invalid/p#frag")]


def test_comment_line_ends_a_continuation() -> None:
    assert logical_lines("a==1 \\\n# c\nb==2\n") == [(1, "a==1"), (3, "b==2")]


class Files:
    def __init__(self, files: dict[str, str]) -> None:
        self.files = files
        self.calls: list[tuple[str, str, int]] = []

    def __call__(self, reference: str, including: str, line: int) -> tuple[str, str]:
        self.calls.append((reference, including, line))
        if reference not in self.files:
            raise InputError(f"cannot read the included file {reference}", path=including, line=line)
        return self.files[reference], reference


def test_includes_via_the_loader() -> None:
    load = Files({"base.txt": "six==1.16.0\n", "dev.txt": "-r base.txt\npytest==8.0.0\n"})
    result = parse(
        "-r dev.txt\n--requirement=base.txt\nidna==3.10\n", path="main.txt", target=LINUX_311, load=load
    )
    names = [(d.name, str(d.origin)) for d in result.dependencies]
    assert names == [("six", "base.txt:1"), ("pytest", "dev.txt:2"), ("idna", "main.txt:3")]
    assert load.calls[0] == ("dev.txt", "main.txt", 1)


def test_include_cycle_is_an_error() -> None:
    load = Files({"a.txt": "-r b.txt\n", "b.txt": "x==1\n-r a.txt\n"})
    with pytest.raises(InputError, match=r"include cycle: a\.txt -> b\.txt -> a\.txt") as info:
        parse("-r a.txt\n", path="main.txt", target=LINUX_311, load=load)
    assert info.value.path == "b.txt"
    assert info.value.line == 2


def test_self_include_is_a_cycle() -> None:
    load = Files({"main.txt": "-r main.txt\n"})
    with pytest.raises(InputError, match="include cycle"):
        parse("-r main.txt\n", path="main.txt", target=LINUX_311, load=load)


def test_missing_include_names_the_including_line() -> None:
    with pytest.raises(InputError) as info:
        parse("six==1\n-r nowhere.txt\n", path="main.txt", target=LINUX_311, load=Files({}))
    assert (info.value.path, info.value.line) == ("main.txt", 2)


def test_include_without_loader_is_an_error() -> None:
    with pytest.raises(InputError, match="cannot follow the include"):
        parse("-r other.txt\n", path="main.txt", target=LINUX_311)


def test_constraints_pin_unpinned_requirements() -> None:
    load = Files({"constraints.txt": "requests==2.19.1\nurllib3==1.26.0\nidna>=2\n"})
    result = parse(
        "-c constraints.txt\nrequests\nurllib3>=2\nidna\nsix==1.16.0\n",
        path="r.txt",
        target=LINUX_311,
        load=load,
    )
    req, urllib3, idna, six = result.dependencies
    assert isinstance(req, Resolved)
    assert (req.version, str(req.origin)) == ("2.19.1", "r.txt:2")
    assert isinstance(urllib3, Skipped)
    assert "conflicts with the constraint 1.26.0" in urllib3.reason
    assert isinstance(idna, Skipped)  # an unpinned constraint pins nothing
    assert isinstance(six, Resolved)
    assert [d.name for d in result.dependencies] == ["requests", "urllib3", "idna", "six"]
