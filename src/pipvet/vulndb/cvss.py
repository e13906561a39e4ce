"""CVSS 3.0/3.1 base scores from vector strings (pure), and the qualitative rating of a score.

Only the base metrics are used; temporal and environmental metrics in a vector are ignored.
The formulas and the round-up are those of the CVSS v3.1 specification, section 7.
"""

from __future__ import annotations

import math

from pipvet.models import Severity

_AV = {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}
_AC = {"L": 0.77, "H": 0.44}
_PR_UNCHANGED = {"N": 0.85, "L": 0.62, "H": 0.27}
_PR_CHANGED = {"N": 0.85, "L": 0.68, "H": 0.5}
_UI = {"N": 0.85, "R": 0.62}
_CIA = {"H": 0.56, "L": 0.22, "N": 0.0}
_BASE = ("AV", "AC", "PR", "UI", "S", "C", "I", "A")


class InvalidVector(ValueError):
    """The string is not a CVSS 3.x vector with all base metrics."""


def roundup(value: float) -> float:
    """The smallest number with one decimal that is >= ``value`` (CVSS v3.1 Appendix A)."""
    as_int = round(value * 100_000)
    if as_int % 10_000 == 0:
        return as_int / 100_000.0
    return (math.floor(as_int / 10_000) + 1) / 10.0


def base_score(vector: str) -> float:
    """``CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H`` -> ``9.8``. Raises :class:`InvalidVector`."""
    parts = vector.strip().split("/")
    if not parts or parts[0] not in ("CVSS:3.0", "CVSS:3.1"):
        raise InvalidVector(f"not a CVSS 3.x vector: {vector!r}")
    metrics: dict[str, str] = {}
    for part in parts[1:]:
        key, sep, value = part.partition(":")
        if not sep or key in metrics:
            raise InvalidVector(f"malformed metric {part!r} in {vector!r}")
        metrics[key] = value
    missing = [m for m in _BASE if m not in metrics]
    if missing:
        raise InvalidVector(f"missing base metrics {', '.join(missing)} in {vector!r}")
    try:
        changed = {"U": False, "C": True}[metrics["S"]]
        av = _AV[metrics["AV"]]
        ac = _AC[metrics["AC"]]
        pr = (_PR_CHANGED if changed else _PR_UNCHANGED)[metrics["PR"]]
        ui = _UI[metrics["UI"]]
        c, i, a = (_CIA[metrics[m]] for m in ("C", "I", "A"))
    except KeyError as exc:
        raise InvalidVector(f"unknown metric value {exc.args[0]!r} in {vector!r}") from None
    iss = 1 - (1 - c) * (1 - i) * (1 - a)
    impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 if changed else 6.42 * iss
    exploitability = 8.22 * av * ac * pr * ui
    if impact <= 0:
        return 0.0
    if changed:
        return roundup(min(1.08 * (impact + exploitability), 10))
    return roundup(min(impact + exploitability, 10))


def rating(score: float) -> Severity:
    """CVSS qualitative rating; a score of 0.0 ("none") is reported as low."""
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    return Severity.LOW
