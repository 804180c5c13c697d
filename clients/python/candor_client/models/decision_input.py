from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="DecisionInput")


@_attrs_define
class DecisionInput:
    """One choice about one purpose.

    Attributes:
        decision (str): `granted`, `denied` or `withdrawn`.
        purpose (str): A purpose id from the policy.
    """

    decision: str
    purpose: str

    def to_dict(self) -> dict[str, Any]:
        decision = self.decision

        purpose = self.purpose

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "decision": decision,
                "purpose": purpose,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        decision = d.pop("decision")

        purpose = d.pop("purpose")

        decision_input = cls(
            decision=decision,
            purpose=purpose,
        )

        return decision_input
