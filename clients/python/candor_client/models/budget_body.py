from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.budget_body_per_day import BudgetBodyPerDay
    from ..models.budget_body_remaining import BudgetBodyRemaining


T = TypeVar("T", bound="BudgetBody")


@_attrs_define
class BudgetBody:
    """The family's budget and what it has left, as sent.

    Attributes:
        per_day (BudgetBodyPerDay): What the family may spend on any one day of data.
        remaining (BudgetBodyRemaining): The least any day the report covers has left.
    """

    per_day: BudgetBodyPerDay
    remaining: BudgetBodyRemaining
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        per_day = self.per_day.to_dict()

        remaining = self.remaining.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "per_day": per_day,
                "remaining": remaining,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.budget_body_per_day import BudgetBodyPerDay  # noqa: PLC0415
        from ..models.budget_body_remaining import BudgetBodyRemaining  # noqa: PLC0415

        d = dict(src_dict)
        per_day = BudgetBodyPerDay.from_dict(d.pop("per_day"))

        remaining = BudgetBodyRemaining.from_dict(d.pop("remaining"))

        budget_body = cls(
            per_day=per_day,
            remaining=remaining,
        )

        budget_body.additional_properties = d
        return budget_body

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
