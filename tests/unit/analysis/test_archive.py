"""Hostile archives, built at test time: every limit yields a finding and a verdict, never a crash.

Each test also runs inside an empty working folder and checks that nothing was written there or
next to the archive: the reader never extracts.
"""

from __future__ import annotations

import io
import os
import tarfile
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipvet.analysis.archive import ArchiveContents, MemberType, read_archive
from pipvet.analysis.engine import analyze, analyze_bytes
from pipvet.analysis.limits import Limits, MiB
from pipvet.models import Verdict

EVERYTHING = 64 * MiB


def keep_all(path: str, size: int) -> int:
    return EVERYTHING


def make_tar(entries: list[tarfile.TarInfo | tuple[str, bytes]], compression: str = "gz") -> bytes:
    buffer = io.BytesIO()
    mode = f"w:{compression}" if compression else "w"
    with tarfile.open(fileobj=buffer, mode=mode) as tf:  # type: ignore[call-overload]
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                tf.addfile(entry)
            else:
                name, data = entry
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def make_zip(entries: list[tuple[str, bytes]], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are the point of one test
        with zipfile.ZipFile(buffer, "w", compression=method) as zf:
            for name, data in entries:
                zf.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buffer.getvalue()


def rules_of(contents: ArchiveContents) -> set[str]:
    return {i.finding.rule for i in contents.issues}


def floors_of(contents: ArchiveContents) -> set[Verdict | None]:
    return {i.floor for i in contents.issues}


@pytest.fixture(autouse=True)
def no_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run in an empty folder; fail if anything appears in it or beside it."""
    work = tmp_path / "work" / "cwd"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    yield tmp_path
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    created = [p for p in after if p not in before and not str(p).startswith("in")]
    assert created == [], f"files written during analysis: {created}"


def write_input(tmp_path: Path, name: str, data: bytes) -> Path:
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- well-formed input


def test_reads_a_plain_sdist_and_hashes_it() -> None:
    data = make_tar(
        [("foo-1.0/setup.py", b"from setuptools import setup\nsetup()\n"), ("foo-1.0/PKG-INFO", b"")]
    )
    contents = read_archive(data, filename="foo-1.0.tar.gz", budget=keep_all)
    assert contents.format == "tar.gz"
    assert contents.issues == ()
    assert [m.path for m in contents.members] == ["foo-1.0/setup.py", "foo-1.0/PKG-INFO"]
    assert contents.members[0].data.startswith(b"from setuptools")
    assert contents.sha256 is not None
    assert len(contents.sha256) == 64
    assert contents.size == len(data)


@pytest.mark.parametrize("compression", ["gz", "bz2", "xz", ""])
def test_every_tar_compression_is_read(compression: str) -> None:
    data = make_tar([("p-1/a.py", b"x = 1\n")], compression)
    contents = read_archive(
        data, filename=f"p-1.tar{'.' + compression if compression else ''}", budget=keep_all
    )
    assert [m.data for m in contents.members] == [b"x = 1\n"]
    assert contents.issues == ()


def test_budget_bounds_what_is_kept() -> None:
    data = make_zip([("big.bin", b"A" * 100_000)])
    contents = read_archive(data, filename="x.whl", budget=lambda p, s: 10)
    (member,) = contents.members
    assert member.data == b"A" * 10
    assert member.size == 100_000
    assert member.truncated


# --------------------------------------------------------------------------- bombs and sizes


def test_zip_bomb_by_ratio_is_malicious() -> None:
    data = make_zip([("zeros.txt", b"\0" * (3 * MiB))])
    contents = read_archive(data, filename="b.whl", budget=keep_all, limits=Limits(ratio_min_bytes=1 * MiB))
    assert "PV-ARCHIVE-BOMB" in rules_of(contents)
    assert Verdict.MALICIOUS in floors_of(contents)
    assert all(m.data == b"" for m in contents.members)


def test_compressible_test_data_of_ordinary_size_is_no_bomb() -> None:
    # a ZIP-reading library's fixtures: tens of MB of zeros expand far beyond 100:1
    data = make_tar([("p-1/tests/zeros.bin", b"\0" * (40 * MiB)), ("p-1/p.py", b"print(1)\n")])
    contents = read_archive(data, filename="p-1.tar.gz", budget=keep_all)
    assert "PV-ARCHIVE-BOMB" not in rules_of(contents)
    assert [m.path for m in contents.members if m.path.endswith(".py")] == ["p-1/p.py"]


def test_tar_bomb_stops_before_decompressing() -> None:
    data = make_tar([("p-1/zeros.bin", b"\0" * (3 * MiB)), ("p-1/later.py", b"print(1)\n")])
    contents = read_archive(
        data, filename="p-1.tar.gz", budget=keep_all, limits=Limits(ratio_min_bytes=1 * MiB)
    )
    assert "PV-ARCHIVE-BOMB" in rules_of(contents)
    assert contents.members == ()


def test_too_many_members_is_an_error() -> None:
    data = make_zip([(f"m{i}.txt", b"x") for i in range(30)])
    contents = read_archive(data, filename="m.zip", budget=keep_all, limits=Limits(max_members=10))
    assert "PV-ARCHIVE-TOO-MANY-MEMBERS" in rules_of(contents)
    assert Verdict.ERROR in floors_of(contents)
    assert contents.members == ()  # the directory's declared count is checked before it is parsed


def test_too_many_tar_members_stops_reading() -> None:
    data = make_tar([(f"p-1/m{i}.txt", b"x") for i in range(30)])
    contents = read_archive(data, filename="m.tar.gz", budget=keep_all, limits=Limits(max_members=10))
    assert "PV-ARCHIVE-TOO-MANY-MEMBERS" in rules_of(contents)
    assert len(contents.members) == 10


def test_total_size_limit_is_an_error() -> None:
    data = make_tar([(f"p-1/f{i}.txt", b"y" * 1000) for i in range(10)])
    contents = read_archive(
        data, filename="p.tar.gz", budget=keep_all, limits=Limits(max_total_uncompressed=5000)
    )
    assert "PV-ARCHIVE-TOO-LARGE" in rules_of(contents)
    assert Verdict.ERROR in floors_of(contents)


def test_oversized_member_is_not_read() -> None:
    data = make_tar([("p-1/huge.txt", b"z" * 5000)])
    contents = read_archive(data, filename="p.tar.gz", budget=keep_all, limits=Limits(max_member_size=1000))
    assert "PV-ARCHIVE-MEMBER-TOO-LARGE" in rules_of(contents)
    assert contents.members[0].data == b""


# --------------------------------------------------------------------------- paths and links


@pytest.mark.parametrize("name", ["../evil.py", "p-1/../../evil.py", "..\\evil.py"])
def test_path_traversal_in_tar_is_malicious(name: str) -> None:
    contents = read_archive(make_tar([(name, b"x")]), filename="p.tar.gz", budget=keep_all)
    assert "PV-ARCHIVE-PATH-TRAVERSAL" in rules_of(contents)
    assert Verdict.MALICIOUS in floors_of(contents)


def test_path_traversal_in_zip_is_malicious() -> None:
    contents = read_archive(make_zip([("../../evil.pth", b"import os")]), filename="p.whl", budget=keep_all)
    assert "PV-ARCHIVE-PATH-TRAVERSAL" in rules_of(contents)


@pytest.mark.parametrize("name", ["/etc/cron.d/evil", "C:/Windows/evil.dll"])
def test_absolute_paths_are_malicious(name: str) -> None:
    tar = read_archive(make_tar([(name, b"x")]), filename="p.tar.gz", budget=keep_all)
    zf = read_archive(make_zip([(name, b"x")]), filename="p.zip", budget=keep_all)
    for contents in (tar, zf):
        assert "PV-ARCHIVE-ABSOLUTE-PATH" in rules_of(contents)
        assert Verdict.MALICIOUS in floors_of(contents)


def _link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def test_symlink_inside_is_noted_and_never_followed() -> None:
    data = make_tar([("p-1/real.txt", b"hello"), _link("p-1/alias.txt", "real.txt", tarfile.SYMTYPE)])
    contents = read_archive(data, filename="p.tar.gz", budget=keep_all)
    assert rules_of(contents) == {"PV-ARCHIVE-LINK"}
    link = contents.members[1]
    assert link.type is MemberType.SYMLINK
    assert link.data == b""
    assert link.link_target == "real.txt"


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        ("/etc/passwd", tarfile.SYMTYPE),
        ("../../../.ssh/id_rsa", tarfile.SYMTYPE),
        ("/etc/shadow", tarfile.LNKTYPE),
    ],
)
def test_links_out_of_the_archive_are_malicious(target: str, kind: bytes) -> None:
    contents = read_archive(make_tar([_link("p-1/x", target, kind)]), filename="p.tar.gz", budget=keep_all)
    assert "PV-ARCHIVE-LINK-ESCAPE" in rules_of(contents)
    assert Verdict.MALICIOUS in floors_of(contents)


def test_a_packed_virtualenv_interpreter_link_is_noted_not_malicious() -> None:
    """py-vapid's sdist ships venv/bin/python -> /bin/python: an accident, not an escape; a link
    to anything else outside (or a bin/python link to a non-interpreter) still is one."""
    contents = read_archive(
        make_tar([_link("p-1/venv/bin/python", "/bin/python", tarfile.SYMTYPE)]),
        filename="p.tar.gz",
        budget=keep_all,
    )
    assert rules_of(contents) == {"PV-ARCHIVE-LINK"}
    assert Verdict.MALICIOUS not in floors_of(contents)
    for path, target in [("p-1/venv/bin/python", "/etc/shadow"), ("p-1/venv/lib/python", "/usr/bin/python3")]:
        other = read_archive(
            make_tar([_link(path, target, tarfile.SYMTYPE)]), filename="p.tar.gz", budget=keep_all
        )
        assert Verdict.MALICIOUS in floors_of(other)


def test_hardlink_inside_is_noted() -> None:
    data = make_tar([("p-1/a.txt", b"a"), _link("p-1/b.txt", "p-1/a.txt", tarfile.LNKTYPE)])
    contents = read_archive(data, filename="p.tar.gz", budget=keep_all)
    assert rules_of(contents) == {"PV-ARCHIVE-LINK"}
    assert contents.members[1].type is MemberType.HARDLINK


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_devices_and_fifos_are_malicious(kind: bytes) -> None:
    info = tarfile.TarInfo("p-1/dev")
    info.type = kind
    contents = read_archive(make_tar([info]), filename="p.tar.gz", budget=keep_all)
    assert "PV-ARCHIVE-SPECIAL-MEMBER" in rules_of(contents)
    assert Verdict.MALICIOUS in floors_of(contents)


def test_zip_symlink_is_recorded_not_followed() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        info = zipfile.ZipInfo("pkg/link")
        info.create_system = 3
        info.external_attr = (0o120777 << 16) & 0xFFFFFFFF
        zf.writestr(info, "/root/.aws/credentials")
    contents = read_archive(buffer.getvalue(), filename="p.whl", budget=keep_all)
    assert "PV-ARCHIVE-LINK-ESCAPE" in rules_of(contents)
    assert contents.members[0].type is MemberType.SYMLINK


def test_folder_symlink_is_never_followed(tmp_path: Path) -> None:
    folder = tmp_path / "in" / "pkg"
    folder.mkdir(parents=True)
    (folder / "setup.py").write_text("print('hi')\n")
    secret = tmp_path / "in" / "secret.txt"
    secret.write_text("TOP SECRET")
    (folder / "leak.txt").symlink_to(secret)
    (folder / "escape").symlink_to("/etc/passwd")
    contents = read_archive(folder, budget=keep_all)
    assert contents.format == "folder"
    by_path = {m.path: m for m in contents.members}
    assert by_path["leak.txt"].type is MemberType.SYMLINK
    assert all(b"TOP SECRET" not in m.data for m in contents.members)
    assert "PV-ARCHIVE-LINK-ESCAPE" in rules_of(contents)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs mkfifo")
def test_folder_fifo_is_never_opened(tmp_path: Path) -> None:
    folder = tmp_path / "in" / "pkg"
    folder.mkdir(parents=True)
    os.mkfifo(folder / "pipe")
    contents = read_archive(folder, budget=keep_all)  # would block forever if opened
    assert "PV-ARCHIVE-SPECIAL-MEMBER" in rules_of(contents)


# --------------------------------------------------------------------------- zip structure


def test_duplicate_names_in_zip_are_malicious() -> None:
    data = make_zip([("pkg/__init__.py", b"good = 1\n"), ("pkg/__init__.py", b"evil = 1\n")])
    contents = read_archive(data, filename="p.whl", budget=keep_all)
    assert "PV-ARCHIVE-DUPLICATE-NAME" in rules_of(contents)
    assert Verdict.MALICIOUS in floors_of(contents)
    assert len(contents.members) == 2  # both copies are vetted


def test_duplicate_names_in_tar_are_noted() -> None:
    data = make_tar([("p-1/a.py", b"1"), ("p-1/a.py", b"2")])
    contents = read_archive(data, filename="p.tar.gz", budget=keep_all)
    issue = next(i for i in contents.issues if i.finding.rule == "PV-ARCHIVE-DUPLICATE-NAME")
    assert issue.floor is None


def test_empty_and_control_character_names_are_flagged() -> None:
    contents = read_archive(
        make_zip([("", b"a"), ("pkg/evil\n.py", b"b")]), filename="p.whl", budget=keep_all
    )
    issues = [i for i in contents.issues if i.finding.rule == "PV-ARCHIVE-UNSAFE-NAME"]
    assert len(issues) == 2
    assert len(contents.members) == 2


def test_local_header_name_mismatch_is_malicious() -> None:
    data = make_zip([("pkg/aaaa.py", b"x = 1\n")], method=zipfile.ZIP_STORED)
    first = data.index(b"pkg/aaaa.py")  # the local header comes before the central directory
    forged = data[:first] + b"pkg/bbbb.py" + data[first + len(b"pkg/bbbb.py") :]
    contents = read_archive(forged, filename="p.whl", budget=keep_all)
    issue = next(i for i in contents.issues if i.finding.rule == "PV-ARCHIVE-ZIP-HEADER-MISMATCH")
    assert issue.floor is Verdict.MALICIOUS
    assert "bbbb" in (issue.finding.evidence or "")


def test_local_header_size_mismatch_is_malicious() -> None:
    data = bytearray(make_zip([("a.py", b"x = 1\n")], method=zipfile.ZIP_STORED))
    data[22:26] = (999).to_bytes(4, "little")  # uncompressed size in the local header
    contents = read_archive(bytes(data), filename="p.whl", budget=keep_all)
    assert "PV-ARCHIVE-ZIP-HEADER-MISMATCH" in rules_of(contents)


def test_trailing_data_after_eocd_is_flagged() -> None:
    data = make_zip([("a.py", b"x = 1\n")]) + b"\x00hidden payload" * 10
    contents = read_archive(data, filename="p.whl", budget=keep_all)
    issue = next(i for i in contents.issues if i.finding.rule == "PV-ARCHIVE-ZIP-TRAILING-DATA")
    assert issue.floor is Verdict.SUSPICIOUS


def test_multiple_eocd_records_are_malicious() -> None:
    data = make_zip([("a.py", b"x = 1\n")])
    data += data[-22:]  # a second end-of-central-directory record
    contents = read_archive(data, filename="p.whl", budget=keep_all)
    assert "PV-ARCHIVE-ZIP-MULTIPLE-EOCD" in rules_of(contents)
    assert Verdict.MALICIOUS in floors_of(contents)


def test_data_before_the_zip_is_flagged() -> None:
    data = b"#!/bin/sh\necho polyglot\n" + make_zip([("a.py", b"x = 1\n")])
    contents = read_archive(data, filename="p.whl", budget=keep_all)
    assert "PV-ARCHIVE-ZIP-PREPENDED-DATA" in rules_of(contents)
    assert [m.data for m in contents.members] == [b"x = 1\n"]


def test_encrypted_member_is_an_error() -> None:
    data = bytearray(make_zip([("a.py", b"x = 1\n")], method=zipfile.ZIP_STORED))
    data[6] |= 0x01  # local header flag
    cd = data.index(b"PK\x01\x02")
    data[cd + 8] |= 0x01  # central directory flag
    contents = read_archive(bytes(data), filename="p.whl", budget=keep_all)
    assert "PV-ARCHIVE-ENCRYPTED" in rules_of(contents)
    assert Verdict.ERROR in floors_of(contents)


# --------------------------------------------------------------------------- broken input


@pytest.mark.parametrize("compression", ["gz", "bz2", "xz"])
def test_truncated_compressed_tar_is_an_error_but_keeps_what_was_read(compression: str) -> None:
    import random

    rnd = random.Random(4)
    noise = bytes(rnd.getrandbits(8) for _ in range(60_000))  # incompressible
    data = make_tar([("p-1/setup.py", b"import os\n"), ("p-1/blob.bin", noise)], compression)
    contents = read_archive(data[: len(data) // 2], filename=f"p-1.tar.{compression}", budget=keep_all)
    assert Verdict.ERROR in floors_of(contents)
    if compression == "bz2":  # one 900 kB block: nothing decodes before the cut
        assert rules_of(contents) == {"PV-ARCHIVE-UNREADABLE"}
    else:
        assert "PV-ARCHIVE-TRUNCATED" in rules_of(contents)
        assert contents.members[0].data == b"import os\n"


def test_archive_hidden_under_another_name_is_flagged() -> None:
    payload = make_zip([("stage2.py", b"import os\n")])
    data = make_tar(
        [
            ("p-1/p/version", payload),
            ("p-1/tests/fixture.zip", payload),
            ("p-1/doc/x.odt", payload),
            ("p-1/doc/diagram.vsdx", payload),  # a Visio drawing is a zip by design
            ("p-1/third_party/protos.srcjar", payload),  # so is a Java source jar
        ]
    )
    contents = read_archive(data, filename="p-1.tar.gz", budget=keep_all)
    flagged = [i.finding.path for i in contents.issues if i.finding.rule == "PV-ARCHIVE-DISGUISED"]
    assert flagged == ["p-1/p/version"]


def test_name_and_content_format_mismatch_is_noted() -> None:
    data = make_tar([("p-1/setup.py", b"x = 1\n")])
    contents = read_archive(data, filename="p-1-py3-none-any.whl", budget=keep_all)
    assert rules_of(contents) == {"PV-ARCHIVE-FORMAT-MISMATCH"}
    assert contents.members[0].data == b"x = 1\n"  # read by what the bytes are
    assert read_archive(data, filename="p-1.tgz", budget=keep_all).issues == ()


def test_garbage_after_gzip_magic_is_unreadable() -> None:
    contents = read_archive(b"\x1f\x8b" + b"garbage" * 20, filename="x.tar.gz", budget=keep_all)
    assert rules_of(contents) == {"PV-ARCHIVE-UNREADABLE"}
    assert Verdict.ERROR in floors_of(contents)


def test_non_archive_file_is_an_error(tmp_path: Path) -> None:
    path = write_input(tmp_path, "notes.tar.gz", b"just some text, not an archive\n")
    analysis = analyze(path)
    assert analysis.result.verdict is Verdict.ERROR
    assert analysis.result.error
    assert [f.rule for f in analysis.result.findings] == ["PV-ARCHIVE-UNREADABLE"]


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    contents = read_archive(tmp_path / "in" / "nope.whl", budget=keep_all)
    assert rules_of(contents) == {"PV-ARCHIVE-UNREADABLE"}


def test_engine_turns_floors_into_verdicts() -> None:
    data = make_tar([("../escape.py", b"x = 1\n")])
    assert analyze_bytes(data, "p-1.tar.gz").result.verdict is Verdict.MALICIOUS
    trailing = make_zip([("a.py", b"x = 1\n")]) + b"junk" * 10
    assert analyze_bytes(trailing, "a-1-py3-none-any.whl").result.verdict is Verdict.SUSPICIOUS


_VALID = [
    make_tar(
        [("p-1/setup.py", b"from setuptools import setup\nsetup(name='p')\n"), ("p-1/p/__init__.py", b"x=1")]
    ),
    make_zip([("p/__init__.py", b"x = 1\n"), ("p-1.dist-info/WHEEL", b"Tag: py3-none-any\n")]),
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    which=st.sampled_from([0, 1]),
    cuts=st.lists(st.tuples(st.integers(0, 2000), st.binary(min_size=0, max_size=8)), max_size=4),
)
def test_mutated_archives_never_crash(which: int, cuts: list[tuple[int, bytes]]) -> None:
    data = bytearray(_VALID[which])
    for pos, blob in cuts:
        pos %= max(len(data), 1)
        data[pos : pos + len(blob)] = blob
    analysis = analyze_bytes(bytes(data), "p-1.tar.gz" if which == 0 else "p-1-py3-none-any.whl")
    assert analysis.result.verdict in set(Verdict)
