"""Detection rules, one module per family of signals (see THREATS.md).

``ALL_RULES`` is the registry the engine runs; each family module exports a ``RULES`` tuple.
"""

from __future__ import annotations

from pipvet.analysis.context import Rule
from pipvet.analysis.rules import (
    behaviour,
    commands,
    dependencies,
    download,
    execution,
    exfiltration,
    imports,
    install,
    obfuscation,
    payloads,
    persistence,
    secrets,
    startup,
)

ALL_RULES: tuple[Rule, ...] = (
    *install.RULES,
    *startup.RULES,
    *commands.RULES,
    *dependencies.RULES,
    *imports.RULES,
    *execution.RULES,
    *download.RULES,
    *obfuscation.RULES,
    *secrets.RULES,
    *exfiltration.RULES,
    *persistence.RULES,
    *payloads.RULES,
    *behaviour.RULES,
)
