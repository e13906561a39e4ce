"""PEP 751 pylock.toml: the file uv exported, through packaging.pylock and the built-in reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipvet.errors import InputError
from pipvet.models import Resolved, Skipped
from pipvet.sources import pylock
from pipvet.sources.findings import DIRECT_REF, INDEX_MIXING
from pipvet.sources.markers import TargetEnvironment

LOCKS = Path(__file__).resolve().parents[2] / "fixtures" / "lockfiles"
LINUX = TargetEnvironment.for_target(python_version="3.11", platform="linux")
WINDOWS = TargetEnvironment.for_target(python_version="3.11", platform="windows")
PRIVATE = "http://127.0.0.1:38741/private/simple"

READERS = [pytest.param(False, id="built-in")]
if pylock._packaging_pylock() is not None:
    READERS.append(pytest.param(True, id="packaging.pylock"))


@pytest.mark.parametrize("use_packaging", READERS)
def test_real_pylock(use_packaging: bool) -> None:
    text = (LOCKS / "uv" / "pylock.toml").read_text()
    parsed = pylock.parse(text, path="pylock.toml", target=LINUX, use_packaging=use_packaging)
    resolved = {str(d.name): d for d in parsed.dependencies if isinstance(d, Resolved)}
    assert {n: d.version for n, d in resolved.items()} == {
        "colorama": "0.4.6",
        "idna": "3.6",
        "iniconfig": "2.0.0",
        "pysocks": "1.7.1",
        "six": "1.16.0",
        "urllib3": "1.26.5",
    }
    idna = resolved["idna"]
    assert len(idna.hashes) == 2
    assert {f.filename for f in idna.files} == {"idna-3.6.tar.gz", "idna-3.6-py3-none-any.whl"}
    assert idna.upload_time == "2024-01-02T03:04:05Z"
    # the wheel's own name differs from the URL's spelling: the lock's name wins
    assert {f.filename for f in resolved["pysocks"].files} == {"pysocks-1.7.1-py3-none-any.whl"}
    assert resolved["six"].index_url == PRIVATE
    assert resolved["colorama"].applies is False
    (git,) = [d for d in parsed.dependencies if isinstance(d, Skipped)]
    assert git.name == "localgit"
    assert "commit" not in git.reason
    assert sorted(f.rule for f in parsed.findings) == [DIRECT_REF, INDEX_MIXING]
    windows = pylock.parse(text, path="pylock.toml", target=WINDOWS, use_packaging=use_packaging)
    assert next(d for d in windows.dependencies if d.name == "colorama").applies is True


def test_file_names() -> None:
    assert pylock.is_pylock_name("pylock.toml")
    assert pylock.is_pylock_name("pylock.dev.toml")
    assert not pylock.is_pylock_name("pylock.a.b.toml")
    assert not pylock.is_pylock_name("mylock.toml")


GROUP_MARKER = """\
lock-version = "1.0"
created-by = "hand"
dependency-groups = ["dev"]

[[packages]]
name = "devtool"
version = "1.0"
marker = "'dev' in dependency_groups"
wheels = [{ url = "http://127.0.0.1:1/devtool-1.0-py3-none-any.whl", hashes = { sha256 = "ab" } }]
"""


@pytest.mark.parametrize("use_packaging", READERS)
def test_lock_file_markers_count_declared_groups(use_packaging: bool) -> None:
    parsed = pylock.parse(GROUP_MARKER, path="pylock.toml", target=LINUX, use_packaging=use_packaging)
    (dep,) = parsed.dependencies
    assert isinstance(dep, Resolved)
    assert dep.applies is True


BAD_WHEEL_NAME = """\
lock-version = "1.0"
created-by = "hand"

[[packages]]
name = "a"
version = "1.0"
wheels = [{ url = "http://127.0.0.1:1/a-1.0-py3-none-any.whl", hashes = { sha256 = "ab" } }]

[[packages]]
name = "b"
version = "1.0"
wheels = [{ url = "http://127.0.0.1:1/b-1.0-py3-none-any.whl" }]
"""


@pytest.mark.parametrize("use_packaging", READERS)
@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (BAD_WHEEL_NAME, 9, "hashes"),
        ('lock-version = "7.0"\ncreated-by = "x"\npackages = []\n', None, "version"),
        ('lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "a"\n', 3, "a"),
        ("lock-version = \n", 1, "not valid TOML"),
    ],
)
def test_errors_name_file_and_line(use_packaging: bool, text: str, line: int | None, fragment: str) -> None:
    with pytest.raises(InputError) as err:
        pylock.parse(text, path="d/pylock.toml", target=LINUX, use_packaging=use_packaging)
    assert err.value.path == "d/pylock.toml"
    assert err.value.line == line
    assert fragment in str(err.value)
