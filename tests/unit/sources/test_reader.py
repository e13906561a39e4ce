from __future__ import annotations

from pathlib import Path

import pytest

from pipvet.errors import InputError
from pipvet.models import Resolved
from pipvet.sources.markers import TargetEnvironment
from pipvet.sources.reader import FORMATS, detect_format, file_loader, find_in_folder, read_source, read_text

TARGET = TargetEnvironment.for_target(python_version="3.11", platform="linux")


def test_every_registered_format_module_has_the_contract() -> None:
    import importlib

    for spec in FORMATS:
        module = importlib.import_module(spec.module)
        assert spec.name == module.FORMAT
        assert callable(module.parse)


def test_detection_falls_back_to_requirements() -> None:
    for name in ("requirements.txt", "requirements-dev.in", "constraints.txt", "deps.lst", "REQUIREMENTS"):
        assert detect_format(Path(name)).name == "requirements"


def test_folder_lookup(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no dependency file found") as info:
        find_in_folder(tmp_path)
    assert info.value.path == str(tmp_path)
    (tmp_path / "requirements.txt").write_text("six==1.16.0\n")
    assert find_in_folder(tmp_path) == tmp_path / "requirements.txt"
    result = read_source(tmp_path, TARGET)
    assert [d.name for d in result.dependencies] == ["six"]


def test_read_text_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_text(tmp_path / "missing.txt")
    with pytest.raises(InputError, match="is a folder"):
        read_text(tmp_path)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"six==1\nidna==3\n\xff\xfe==1\n")
    with pytest.raises(InputError) as info:
        read_text(bad)
    assert (info.value.path, info.value.line) == (str(bad), 3)
    bom = tmp_path / "bom.txt"
    bom.write_bytes("\ufeffsix==1.0\n".encode())
    assert read_text(bom) == "six==1.0\n"


def test_includes_resolve_relative_to_the_including_file(tmp_path: Path) -> None:
    (tmp_path / "reqs").mkdir()
    (tmp_path / "reqs" / "base.txt").write_text("six==1.16.0\n")
    (tmp_path / "reqs" / "dev.txt").write_text("-r base.txt\n-c ../constraints.txt\nidna\n")
    (tmp_path / "constraints.txt").write_text("idna==3.10\n")
    result = read_source(tmp_path / "reqs" / "dev.txt", TARGET)
    got = [(d.name, d.version) for d in result.dependencies if isinstance(d, Resolved)]
    assert got == [("six", "1.16.0"), ("idna", "3.10")]


def test_loader_errors(tmp_path: Path) -> None:
    load = file_loader()
    with pytest.raises(InputError, match="remote include") as info:
        load("https://example.invalid/r.txt", str(tmp_path / "r.txt"), 4)
    assert info.value.line == 4
    with pytest.raises(InputError, match="cannot read the included file") as info:
        load("gone.txt", str(tmp_path / "r.txt"), 2)
    assert (info.value.path, info.value.line) == (str(tmp_path / "r.txt"), 2)
