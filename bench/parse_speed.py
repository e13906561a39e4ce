"""Parse speed of the input formats on generated large inputs (target: well under 0.2 s each).

Generates, in memory, a 2,000-package ``uv.lock`` (an sdist and two wheels per package, hashes,
upload times, a dependency graph with markers) and its ``pylock.toml``, ``poetry.lock`` and
``Pipfile.lock`` equivalents, plus a 2,000-line requirements file (pins, hashes on continuation
lines, markers, extras), then times each parser (median of several runs, in-process, warm).

Usage: .venv/bin/python bench/parse_speed.py [--count N] [--runs N]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import statistics
import time
from collections.abc import Callable

from pipvet.sources import ParsedSource, pipfilelock, poetrylock, pylock, uvlock
from pipvet.sources.markers import TargetEnvironment

INDEX = "http://127.0.0.1:8080/simple"
FILES = "http://127.0.0.1:8080/files"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _pkg(i: int) -> tuple[str, str]:
    return f"package-{i:04d}", f"{1 + i % 9}.{i % 17}.{i % 5}"


def uv_lock(count: int) -> str:
    out = ['version = 1\nrevision = 3\nrequires-python = ">=3.10"\n']
    deps = ",\n".join(
        f'    {{ name = "{_pkg(i)[0]}"'
        + (", marker = \"sys_platform == 'win32'\"" if i % 50 == 0 else "")
        + " }"
        for i in range(0, count, 3)
    )
    out.append('\n[[package]]\nname = "app"\nversion = "0.1.0"\nsource = { virtual = "." }\n')
    out.append(f"dependencies = [\n{deps}\n]\n")
    for i in range(count):
        name, version = _pkg(i)
        fname = name.replace("-", "_")
        out.append(
            f'\n[[package]]\nname = "{name}"\nversion = "{version}"\nsource = {{ registry = "{INDEX}" }}\n'
        )
        children = [_pkg(j)[0] for j in (i + 1, i + 2) if j < count and j % 3 != 0]
        if children:
            out.append("dependencies = [\n" + "".join(f'    {{ name = "{c}" }},\n' for c in children) + "]\n")
        out.append(
            f'sdist = {{ url = "{FILES}/{name}-{version}.tar.gz", hash = "sha256:{_digest(name + "s")}", '
            f'size = 12345, upload-time = "2024-01-02T03:04:05.123Z" }}\n'
        )
        out.append("wheels = [\n")
        for tag in ("py3-none-any", "cp311-cp311-manylinux_2_17_x86_64"):
            out.append(
                f'    {{ url = "{FILES}/{fname}-{version}-{tag}.whl", hash = "sha256:{_digest(name + tag)}", '
                f'size = 23456, upload-time = "2024-01-02T03:04:05.123Z" }},\n'
            )
        out.append("]\n")
    return "".join(out)


def py_lock(count: int) -> str:
    out = ['lock-version = "1.0"\ncreated-by = "bench"\nrequires-python = ">=3.10"\n']
    for i in range(count):
        name, version = _pkg(i)
        fname = name.replace("-", "_")
        out.append(f'\n[[packages]]\nname = "{name}"\nversion = "{version}"\nindex = "{INDEX}"\n')
        if i % 50 == 0:
            out.append("marker = \"sys_platform == 'win32'\"\n")
        out.append(
            f'sdist = {{ url = "{FILES}/{fname}-{version}.tar.gz", upload-time = 2024-01-02T03:04:05Z, '
            f'size = 12345, hashes = {{ sha256 = "{_digest(name + "s")}" }} }}\n'
            f'wheels = [{{ url = "{FILES}/{fname}-{version}-py3-none-any.whl", upload-time = '
            f'2024-01-02T03:04:05Z, size = 23456, hashes = {{ sha256 = "{_digest(name + "w")}" }} }}]\n'
        )
    return "".join(out)


def poetry_lock(count: int) -> str:
    out = []
    for i in range(count):
        name, version = _pkg(i)
        out.append(
            f'[[package]]\nname = "{name}"\nversion = "{version}"\ndescription = "x"\noptional = false\n'
            f'python-versions = ">=3.8"\ngroups = ["main"]\n'
        )
        if i % 50 == 0:
            out.append('markers = "sys_platform == \\"win32\\""\n')
        out.append(
            f'files = [\n    {{file = "{name}-{version}.tar.gz", hash = "sha256:{_digest(name + "s")}"}},\n'
            f'    {{file = "{name}-{version}-py3-none-any.whl", '
            f'hash = "sha256:{_digest(name + "w")}"}},\n]\n\n'
        )
    out.append('[metadata]\nlock-version = "2.1"\npython-versions = ">=3.10"\ncontent-hash = "0"\n')
    return "".join(out)


def pipfile_lock(count: int) -> str:
    default = {}
    for i in range(count):
        name, version = _pkg(i)
        entry: dict[str, object] = {
            "hashes": [f"sha256:{_digest(name + 's')}", f"sha256:{_digest(name + 'w')}"],
            "index": "local",
            "version": f"=={version}",
        }
        if i % 50 == 0:
            entry["markers"] = "sys_platform == 'win32'"
        default[name] = entry
    meta = {"sources": [{"name": "local", "url": INDEX, "verify_ssl": False}]}
    return json.dumps({"_meta": meta, "default": default, "develop": {}}, indent=4)


def requirements_txt(count: int) -> str:
    lines = []
    for i in range(count // 2):
        name, version = _pkg(i)
        extra = "[socks]" if i % 40 == 0 else ""
        marker = " ; sys_platform == 'win32'" if i % 50 == 0 else ""
        lines.append(f"{name}{extra}=={version}{marker} \\")
        lines.append(f"    --hash=sha256:{_digest(name)}")
    return "\n".join(lines) + "\n"


def _time(parse: Callable[[], ParsedSource], runs: int) -> tuple[float, float, int]:
    """Median wall-clock and best CPU seconds over ``runs`` warm runs, and the dependency count.

    CPU time is printed too because on a shared, loaded machine wall-clock time mostly measures
    the other processes."""
    deps = len(parse().dependencies)  # warm: imports, caches
    wall, cpu = [], []
    for _ in range(runs):
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        parse()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), min(cpu), deps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    target = TargetEnvironment.for_target(python_version="3.11", platform="linux")
    inputs: list[tuple[str, str, Callable[..., ParsedSource]]] = [
        ("uv.lock", uv_lock(args.count), uvlock.parse),
        ("pylock.toml", py_lock(args.count), pylock.parse),
        ("poetry.lock", poetry_lock(args.count), poetrylock.parse),
        ("Pipfile.lock", pipfile_lock(args.count), pipfilelock.parse),
    ]
    try:
        from pipvet.sources import requirements
    except ImportError:  # pragma: no cover - before the requirements parser exists
        pass
    else:
        inputs.append(("requirements.txt", requirements_txt(args.count * 2), requirements.parse))
    print(
        f"{args.runs} warm in-process runs each (target: well under 0.2 s each); "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    for label, text, parse in inputs:

        def run(
            parse: Callable[..., ParsedSource] = parse, text: str = text, label: str = label
        ) -> ParsedSource:
            return parse(text, path=label, target=target)

        seconds, cpu, deps = _time(run, args.runs)
        lines = text.count("\n")
        print(
            f"  {label:<17} {deps:>5} dependencies  {lines:>6} lines  "
            f"{len(text) / 1e6:5.2f} MB  wall median {seconds:.3f} s  cpu best {cpu:.3f} s"
        )


if __name__ == "__main__":
    main()
