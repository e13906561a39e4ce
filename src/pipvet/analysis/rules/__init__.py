"""Detection rules, one module per family of signals (see THREATS.md).

``ALL_RULES`` is the registry the engine runs; each family module exports a ``RULES`` tuple.
"""

from __future__ import annotations

from pipvet.analysis.context import Rule
from pipvet.analysis.rules import behaviour, exfiltration, payloads, persistence, secrets

ALL_RULES: tuple[Rule, ...] = (
    *secrets.RULES,
    *exfiltration.RULES,
    *persistence.RULES,
    *payloads.RULES,
    *behaviour.RULES,
)
