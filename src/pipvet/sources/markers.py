"""The target interpreter that environment markers are evaluated for.

By default the running interpreter; ``--python-version`` and ``--platform`` describe another
(so a Linux CI can ask about a Windows deployment, or ignore Windows-only dependencies).
"""

from __future__ import annotations

import platform as _platform
from dataclasses import dataclass, field

from packaging.markers import InvalidMarker, Marker, default_environment

from pipvet.errors import UsageError

_PLATFORMS: dict[str, dict[str, str]] = {
    "linux": {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"},
    "darwin": {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix"},
    "macos": {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix"},
    "windows": {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt"},
    "win32": {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt"},
}


def _default_variables() -> dict[str, str]:
    return {k: str(v) for k, v in default_environment().items()}


@dataclass(frozen=True, kw_only=True, slots=True)
class TargetEnvironment:
    """Marker variables of the interpreter dependencies are being installed for."""

    variables: dict[str, str] = field(default_factory=lambda: _default_variables())

    @classmethod
    def current(cls) -> TargetEnvironment:
        return cls()

    @classmethod
    def for_target(
        cls, *, python_version: str | None = None, platform: str | None = None
    ) -> TargetEnvironment:
        env = _default_variables()
        if python_version:
            parts = python_version.split(".")
            if not all(p.isdigit() for p in parts) or len(parts) < 2:
                raise UsageError(f"--python-version: expected e.g. 3.11 or 3.11.4, got {python_version!r}")
            env["python_version"] = ".".join(parts[:2])
            env["python_full_version"] = python_version if len(parts) >= 3 else f"{python_version}.0"
            env["implementation_version"] = env["python_full_version"]
        if platform:
            key = platform.lower()
            if key not in _PLATFORMS:
                raise UsageError(f"--platform: unknown platform {platform!r} (use linux, macos or windows)")
            env.update(_PLATFORMS[key])
            if key in ("windows", "win32"):
                env["platform_machine"] = "AMD64"
        return cls(variables=env)

    def describe(self) -> str:
        v = self.variables
        return f"Python {v.get('python_full_version', '?')} on {v.get('sys_platform', _platform.system())}"

    def evaluate(self, marker: str | Marker | None, *, extras: tuple[str, ...] = ()) -> bool:
        """True when ``marker`` holds for this target (a missing marker always holds).

        Raises ``InvalidMarker`` for unparseable strings; callers turn that into an input error
        with file and line.
        """
        if marker is None or marker == "":
            return True
        parsed = marker if isinstance(marker, Marker) else Marker(marker)
        if not extras:
            return parsed.evaluate({**self.variables, "extra": ""})
        return any(parsed.evaluate({**self.variables, "extra": e}) for e in extras)


__all__ = ["InvalidMarker", "TargetEnvironment"]
