from __future__ import annotations

from pathlib import Path

import pytest

from pipvet.errors import UsageError
from pipvet.index.locate import locate, make_index


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """An environment whose HOME/XDG folders are empty temporary directories."""
    home = tmp_path / "home"
    home.mkdir()
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CONFIG_DIRS": str(tmp_path / "etc-xdg"),
        "PIP_CONFIG_FILE": str(tmp_path / "none.conf"),
        "UV_CONFIG_FILE": str(tmp_path / "none.toml"),
    }


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_pipvet_setting_wins(env: dict[str, str], tmp_path: Path) -> None:
    env["PIP_INDEX_URL"] = "http://127.0.0.1:9/pip/"
    cfg = locate(index_url="http://127.0.0.1:9/mine/simple", env=env, cwd=tmp_path)
    assert cfg.primary.url == "http://127.0.0.1:9/mine/simple/"
    assert "pipvet" in cfg.primary.source


def test_pip_env_over_pip_files(env: dict[str, str], tmp_path: Path) -> None:
    write(Path(env["XDG_CONFIG_HOME"]) / "pip" / "pip.conf", "[global]\nindex-url = http://127.0.0.1:9/a/\n")
    cfg = locate(env=env, cwd=tmp_path)
    assert cfg.primary.url == "http://127.0.0.1:9/a/"
    assert "pip.conf" in cfg.primary.source
    env["PIP_INDEX_URL"] = "http://127.0.0.1:9/b/"
    env["PIP_EXTRA_INDEX_URL"] = "http://127.0.0.1:9/c/ http://127.0.0.1:9/d/"
    cfg = locate(env=env, cwd=tmp_path)
    assert cfg.primary.url == "http://127.0.0.1:9/b/"
    assert [i.url for i in cfg.extras] == ["http://127.0.0.1:9/c/", "http://127.0.0.1:9/d/"]


def test_pip_file_order_and_install_section(env: dict[str, str], tmp_path: Path) -> None:
    write(
        Path(env["XDG_CONFIG_DIRS"]) / "pip" / "pip.conf",
        "[global]\nindex-url = http://127.0.0.1:9/global/\n",
    )
    write(Path(env["HOME"]) / ".pip" / "pip.conf", "[global]\nindex-url = http://127.0.0.1:9/legacy-user/\n")
    assert locate(env=env, cwd=tmp_path).primary.url == "http://127.0.0.1:9/legacy-user/"
    write(
        Path(env["PIP_CONFIG_FILE"]),
        "[global]\nindex-url = http://127.0.0.1:9/env-global/\n"
        "[install]\nindex-url = http://127.0.0.1:9/env-install/\n"
        "extra-index-url =\n    http://127.0.0.1:9/x/\n    file:///srv/mirror/simple\n",
    )
    cfg = locate(env=env, cwd=tmp_path)
    assert cfg.primary.url == "http://127.0.0.1:9/env-install/"
    assert [i.url for i in cfg.extras] == ["http://127.0.0.1:9/x/", "file:///srv/mirror/simple/"]
    assert cfg.extras[1].is_file


def test_pip_config_file_devnull_disables_files(env: dict[str, str], tmp_path: Path) -> None:
    import os

    write(Path(env["HOME"]) / ".pip" / "pip.conf", "[global]\nindex-url = http://127.0.0.1:9/user/\n")
    env["PIP_CONFIG_FILE"] = os.devnull
    env["UV_DEFAULT_INDEX"] = "http://127.0.0.1:9/uv/"
    assert locate(env=env, cwd=tmp_path).primary.url == "http://127.0.0.1:9/uv/"


def test_uv_environment(env: dict[str, str], tmp_path: Path) -> None:
    env["UV_INDEX_URL"] = "http://127.0.0.1:9/old/"
    env["UV_DEFAULT_INDEX"] = "http://127.0.0.1:9/new/"
    env["UV_INDEX"] = "internal=http://127.0.0.1:9/internal/ http://127.0.0.1:9/other/"
    env["UV_EXTRA_INDEX_URL"] = "http://127.0.0.1:9/extra/"
    cfg = locate(installer="uv", env=env, cwd=tmp_path)
    assert cfg.primary.url == "http://127.0.0.1:9/new/"
    assert [i.url for i in cfg.extras] == [
        "http://127.0.0.1:9/internal/",
        "http://127.0.0.1:9/other/",
        "http://127.0.0.1:9/extra/",
    ]


def test_uv_project_indexes(env: dict[str, str], tmp_path: Path) -> None:
    del env["UV_CONFIG_FILE"]
    project = tmp_path / "proj"
    write(
        project / "pyproject.toml",
        """
[project]
name = "x"
[[tool.uv.index]]
name = "corp"
url = "http://127.0.0.1:9/corp/simple"
[[tool.uv.index]]
name = "pinned-only"
url = "http://127.0.0.1:9/pinned/simple"
explicit = true
[[tool.uv.index]]
name = "main"
url = "http://127.0.0.1:9/main/simple"
default = true
""",
    )
    sub = project / "src"
    sub.mkdir()
    cfg = locate(installer="uv", env=env, cwd=sub)
    assert cfg.primary.url == "http://127.0.0.1:9/main/simple/"
    assert [i.url for i in cfg.extras] == ["http://127.0.0.1:9/corp/simple/"]


def test_uv_toml_in_user_config(env: dict[str, str], tmp_path: Path) -> None:
    del env["UV_CONFIG_FILE"]
    write(
        Path(env["XDG_CONFIG_HOME"]) / "uv" / "uv.toml",
        'index-url = "http://127.0.0.1:9/uvuser/"\nextra-index-url = ["http://127.0.0.1:9/e/"]\n',
    )
    cfg = locate(installer="uv", env=env, cwd=tmp_path)
    assert cfg.primary.url == "http://127.0.0.1:9/uvuser/"
    assert [i.url for i in cfg.extras] == ["http://127.0.0.1:9/e/"]


def test_pip_wins_over_uv_when_both_configure_an_index(env: dict[str, str], tmp_path: Path) -> None:
    env["PIP_INDEX_URL"] = "http://127.0.0.1:9/pip/"
    env["UV_DEFAULT_INDEX"] = "http://127.0.0.1:9/uv/"
    assert locate(env=env, cwd=tmp_path).primary.url == "http://127.0.0.1:9/pip/"
    assert locate(installer="uv", env=env, cwd=tmp_path).primary.url == "http://127.0.0.1:9/uv/"


def test_default_comes_from_pip_itself(env: dict[str, str], tmp_path: Path) -> None:
    from pip._internal.models.index import PyPI

    cfg = locate(env=env, cwd=tmp_path)
    assert cfg.primary.url == PyPI.simple_url.rstrip("/") + "/"
    assert cfg.primary.source == "pip's built-in default"


def test_missing_pip_is_a_usage_error(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pip._internal.models.index", None)
    with pytest.raises(UsageError, match="pip is not importable"):
        locate(env=env, cwd=tmp_path)


def test_credentials_from_url_are_split_off_and_redacted(tmp_path: Path) -> None:
    index = make_index("http://alice:p%40ss@127.0.0.1:9/simple", source="t", netrc_file=tmp_path / "none")
    assert index.url == "http://127.0.0.1:9/simple/"
    assert index.auth == ("alice", "p@ss")
    assert "p@ss" not in repr(index)
    assert "alice" not in index.display


def test_credentials_from_netrc(tmp_path: Path) -> None:
    netrc = write(tmp_path / "netrc", "machine 127.0.0.1 login bob password n3trc\n")
    netrc.chmod(0o600)
    index = make_index("http://127.0.0.1:9/simple/", source="t", netrc_file=netrc)
    assert index.auth == ("bob", "n3trc")
    assert "n3trc" not in repr(index)


def test_broken_pip_config_names_the_file(env: dict[str, str], tmp_path: Path) -> None:
    write(Path(env["PIP_CONFIG_FILE"]), "this is not ini\n")
    with pytest.raises(UsageError, match=r"none\.conf"):
        locate(env=env, cwd=tmp_path)
