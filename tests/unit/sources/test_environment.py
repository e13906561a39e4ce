from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipvet.errors import ExitCode, UsageError
from pipvet.models import Resolved
from pipvet.sources.environment import (
    default_python,
    read_distribution,
    read_environment,
    scan,
    search_folders,
)


def dist_info(site: Path, folder: str, name: str, version: str) -> Path:
    d = site / folder
    d.mkdir(parents=True)
    (d / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nName: NotThis\n")
    return d


def test_scan_reads_dist_info_and_egg_info(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    dist_info(site, "Django-3.2.0.dist-info", "Django", "3.2.0")
    (site / "old_pkg-0.1-py3.11.egg-info").mkdir()
    (site / "old_pkg-0.1-py3.11.egg-info" / "PKG-INFO").write_text("Name: old-pkg\nVersion: 0.1\n")
    (site / "single.egg-info").write_text("Metadata-Version: 1.0\nName: Single\nVersion: 2.0\n")
    (site / "nometa-1.5.dist-info").mkdir()
    (site / "~ip-1.0.dist-info").mkdir()  # pip's leftovers are ignored
    (site / "django").mkdir()
    result = scan([site], label="env")
    found = {(d.name, d.version) for d in result.dependencies if isinstance(d, Resolved)}
    assert found == {("django", "3.2.0"), ("old-pkg", "0.1"), ("single", "2.0"), ("nometa", "1.5")}
    assert result.format == "environment"
    django = next(d for d in result.dependencies if d.name == "django")
    assert django.origin.path == str(site / "Django-3.2.0.dist-info")


def test_first_copy_on_the_path_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    dist_info(first, "six-1.16.0.dist-info", "six", "1.16.0")
    dist_info(second, "six-1.0.0.dist-info", "six", "1.0.0")
    (dep,) = scan([first, second], label="env").dependencies
    assert isinstance(dep, Resolved)
    assert dep.version == "1.16.0"


def test_pth_folders_are_read_as_text_never_run(tmp_path: Path) -> None:
    site = tmp_path / "site"
    extra = tmp_path / "extra"
    site.mkdir()
    dist_info(extra, "extra_pkg-1.0.dist-info", "extra-pkg", "1.0")
    marker = tmp_path / "executed"
    (site / "a.pth").write_text(
        f"# comment\n../extra\nimport os; open({str(marker)!r}, 'w')\n/does/not/exist\n"
    )
    folders = search_folders([str(site), str(site)])
    assert [f.resolve() for f in folders] == [site.resolve(), extra.resolve()]
    assert not marker.exists()


def test_read_distribution_unreadable_entry(tmp_path: Path) -> None:
    (tmp_path / "weird.dist-info").mkdir()
    assert read_distribution(tmp_path / "weird.dist-info") is None


def test_default_python_prefers_the_active_venv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").write_text("")
    monkeypatch.setenv("VIRTUAL_ENV", str(tmp_path))
    assert default_python() == str(tmp_path / "bin" / "python")
    monkeypatch.delenv("VIRTUAL_ENV")
    assert default_python() == sys.executable


def test_real_venv_is_listed_without_running_its_pth_files(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    (site,) = list((venv / "lib").glob("python*/site-packages"))
    dist_info(site, "num2words-0.5.15.dist-info", "num2words", "0.5.15")
    marker = tmp_path / "pth-ran"
    (site / "evil.pth").write_text(f"import os; open({str(marker)!r}, 'w').close()\n")
    result = read_environment(str(python))
    names: dict[str, object] = {d.name: d for d in result.dependencies}
    assert "num2words" in names
    assert isinstance(names["num2words"], Resolved)
    assert names["num2words"].version == "0.5.15"
    assert "pytest" not in names  # not the interpreter running the tests
    assert not marker.exists()
    assert str(venv) in result.path


def test_bad_interpreters_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such interpreter") as info:
        read_environment(str(tmp_path / "nope"))
    assert info.value.exit_code is ExitCode.USAGE
    fake = tmp_path / "fake-python"
    fake.write_text("#!/bin/sh\necho hello\n")
    fake.chmod(0o755)
    with pytest.raises(UsageError, match="does not look like a Python interpreter"):
        read_environment(str(fake))
    failing = tmp_path / "failing-python"
    failing.write_text("#!/bin/sh\necho broken >&2\nexit 4\n")
    failing.chmod(0o755)
    with pytest.raises(UsageError, match="exited with 4: broken"):
        read_environment(str(failing))


def test_probe_ignores_modules_in_the_current_folder_and_reads_pythonpath(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "shadow-ran"
    for module in ("json.py", "site.py", "os.py"):
        (tmp_path / module).write_text(f"open({str(marker)!r}, 'w').close()\n")
    extra = tmp_path / "extra"
    dist_info(extra, "from_pythonpath-2.0.dist-info", "from-pythonpath", "2.0")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(extra))
    result = read_environment(sys.executable)
    assert not marker.exists()
    assert "from-pythonpath" in {d.name for d in result.dependencies}
