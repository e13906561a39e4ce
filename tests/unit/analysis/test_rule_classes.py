"""Rule classes without a ``@dataclass`` of their own behave exactly like their dataclass base."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import pytest

from pipvet.analysis.context import Rule
from pipvet.analysis.rules import ALL_RULES
from pipvet.analysis.rules._base import BaseRule
from pipvet.analysis.rules._signals import RuleBase
from pipvet.models import Severity

IDS = [rule.id for rule in ALL_RULES]


@pytest.mark.parametrize("rule", ALL_RULES, ids=IDS)
def test_rule_is_a_slotted_dataclass_instance(rule: Rule) -> None:
    assert isinstance(rule, BaseRule | RuleBase)
    assert dataclasses.is_dataclass(rule)
    assert [f.name for f in dataclasses.fields(rule)] == ["id", "title", "severity", "rationale"]
    assert not hasattr(rule, "__dict__")  # __slots__ all the way down
    name = "not_a_field"
    # AttributeError, or TypeError from CPython 3.11's frozen+slots __setattr__ (as with @dataclass)
    with pytest.raises((AttributeError, TypeError)):
        setattr(rule, name, 1)


@pytest.mark.parametrize("rule", ALL_RULES, ids=IDS)
def test_rule_equality_repr_and_replace(rule: Rule) -> None:
    copy = dataclasses.replace(rule)  # type: ignore[type-var]
    assert copy == rule
    assert type(copy) is type(rule)
    assert repr(rule).startswith(f"{type(rule).__qualname__}(id={rule.id!r}, title=")
    other = dataclasses.replace(rule, severity=Severity.INFO)  # type: ignore[type-var]
    assert (other == rule) is (rule.severity is Severity.INFO)
    assert pickle.loads(pickle.dumps(rule)) == rule


@pytest.mark.parametrize("rule", [r for r in ALL_RULES if isinstance(r, BaseRule)], ids=str)
def test_frozen_rules_stay_frozen(rule: BaseRule) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.id = "changed"  # type: ignore[misc]
    assert hash(rule) == hash(dataclasses.replace(rule))


def test_rules_of_another_class_are_not_equal() -> None:
    first, second = ALL_RULES[0], ALL_RULES[1]
    assert type(first) is not type(second)
    cls: type[Any] = type(second)
    clone = cls(id=first.id, title=first.title, severity=first.severity, rationale=first.rationale)
    assert clone != first
