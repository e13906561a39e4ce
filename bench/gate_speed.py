"""How much slower is ``pipvet install`` than plain ``pip install`` from the same local index?

Builds (or reads) a set of 30 wheels, serves them as a static simple index on 127.0.0.1, and
installs the whole set into fresh virtual environments twice per round: once with plain
``pip install --no-cache-dir`` and once with ``pipvet install`` (pip behind the vetting index,
every artifact downloaded, analysed and looked up in the database). Prints the median wall
times and their ratio; the target is <= 1.3x.

    .venv/bin/python bench/gate_speed.py                 # 30 synthetic wheels
    .venv/bin/python bench/gate_speed.py --wheels DIR    # your own wheels (first 30 projects)

Throwaway environments go under /work/cache/gate-bench (or --work DIR).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import io
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OSV_ZIP = REPO.parent / "shared" / "data" / "osv" / "PyPI-all.zip"
PACKAGES = 30


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def synth_wheel(folder: Path, index: int) -> Path:
    """A plausible pure-Python wheel: a package of 20 modules, depending on the previous project."""
    name = f"benchpkg{index:02d}"
    version = "1.0.0"
    members: dict[str, bytes] = {}
    for m in range(20):
        body = "\n".join(
            f"def function_{m}_{k}(value, scale=2):\n"
            f"    '''Return a transformed value ({k}).'''\n"
            f"    items = [value * scale + {k} for _ in range(3)]\n"
            f"    return sum(items) // len(items)\n"
            for k in range(40)
        )
        members[f"{name}/mod{m}.py"] = f'"""Module {m} of {name}."""\n\nimport math\n\n{body}\n'.encode()
    members[f"{name}/__init__.py"] = b'__version__ = "1.0.0"\n'
    info = f"{name}-{version}.dist-info"
    requires = f"Requires-Dist: benchpkg{index - 1:02d}\n" if index % 3 else ""
    members[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: bench\n{requires}\n"
    ).encode()
    members[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = "".join(f"{p},{_record_hash(d)},{len(d)}\n" for p, d in members.items())
    members[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    path = folder / f"{name}-{version}-py3-none-any.whl"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    path.write_bytes(buffer.getvalue())
    return path


def project_of(wheel: Path) -> str:
    import re

    return re.sub(r"[-_.]+", "-", wheel.name.split("-", 1)[0]).lower()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_index(wheels: list[Path], root: Path) -> list[str]:
    """A static PEP 503 index: simple/<project>/index.html with sha256 fragments, files/ beside."""
    files = root / "files"
    files.mkdir(parents=True)
    projects: dict[str, list[Path]] = {}
    for w in wheels:
        shutil.copy2(w, files / w.name)
        projects.setdefault(project_of(w), []).append(files / w.name)
    for project, paths in projects.items():
        page = root / "simple" / project
        page.mkdir(parents=True)
        links = "".join(
            f'<a href="../../files/{html.escape(p.name)}#sha256={_sha256(p)}">{html.escape(p.name)}</a><br>\n'
            for p in paths
        )
        (page / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")
    return sorted(projects)


@contextmanager
def serve(root: Path) -> Iterator[str]:
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
        server.server_close()


def fresh_venv(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    return path / "bin" / "python"


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheels", type=Path, help="a folder of wheels to use instead of synthetic ones")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/work/cache/gate-bench"))
    parser.add_argument("--osv", type=Path, default=OSV_ZIP, help="OSV export for the database")
    opts = parser.parse_args()

    work = opts.work
    shutil.rmtree(work, ignore_errors=True)
    (work / "wheels").mkdir(parents=True)
    if opts.wheels:
        chosen: dict[str, Path] = {}
        for w in sorted(opts.wheels.rglob("*.whl")):
            chosen.setdefault(project_of(w), w)
        wheels = list(chosen.values())[:PACKAGES]
    else:
        wheels = [synth_wheel(work / "wheels", i) for i in range(PACKAGES)]
    projects = write_index(wheels, work / "index")
    size = sum(w.stat().st_size for w in wheels)
    pipvet = str(Path(sys.executable).parent / "pipvet")
    # Neither run may see the machine's own pip configuration (find-links, extra indexes).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PIPVET_", "UV_"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    cache = work / "pipvet-cache"
    env["PIPVET_CACHE_DIR"] = str(cache)
    subprocess.run([pipvet, "db", "update", "--osv-url", str(opts.osv), "--quiet"], env=env, check=True)
    print(
        f"{len(projects)} projects, {len(wheels)} wheels, {size / 1e6:.1f} MB; database from {opts.osv.name}"
    )

    # Real wheels depend on projects outside the set: install exactly the set, in both runs.
    extra = ["--no-deps"] if opts.wheels else []
    plain: list[float] = []
    gated: list[float] = []
    with serve(work / "index") as url:
        for _ in range(opts.rounds):
            python = fresh_venv(work / "venv-plain")
            pip = [str(python), "-m", "pip", "install", "-q", "--no-cache-dir", "--disable-pip-version-check"]
            plain.append(timed([*pip, "--index-url", url, *extra, *projects], env))
            python = fresh_venv(work / "venv-gate")
            shutil.rmtree(cache / "artifacts", ignore_errors=True)  # cold: every artifact fetched and vetted
            gate = [pipvet, "install", "-q", "--python", str(python), "--index-url", url]
            gated.append(timed([*gate, "--", "-q", *extra, *projects], env))
    p, g = statistics.median(plain), statistics.median(gated)
    print(f"plain pip install : median {p:.2f}s  ({', '.join(f'{x:.2f}' for x in plain)})")
    print(f"pipvet install    : median {g:.2f}s  ({', '.join(f'{x:.2f}' for x in gated)})")
    print(f"ratio             : {g / p:.2f}x (target <= 1.3x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
