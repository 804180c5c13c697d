from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.clause_value import ClauseValue


T = TypeVar("T", bound="ClauseBody")


@_attrs_define
class ClauseBody:
    """
    Attributes:
        clause (str): The clause as written in the rule.
        holds (bool):
        negated (bool): Under a `not`: supports membership when it does not hold.
        text (str): The clause with its values, e.g. `views(30d) = 12 >= 5`.
        values (list[ClauseValue]):
    """

    clause: str
    holds: bool
    negated: bool
    text: str
    values: list[ClauseValue]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        clause = self.clause

        holds = self.holds

        negated = self.negated

        text = self.text

        values = []
        for values_item_data in self.values:
            values_item = values_item_data.to_dict()
            values.append(values_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "clause": clause,
                "holds": holds,
                "negated": negated,
                "text": text,
                "values": values,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.clause_value import ClauseValue  # noqa: PLC0415

        d = dict(src_dict)
        clause = d.pop("clause")

        holds = d.pop("holds")

        negated = d.pop("negated")

        text = d.pop("text")

        values = []
        _values = d.pop("values")
        for values_item_data in _values:
            values_item = ClauseValue.from_dict(values_item_data)

            values.append(values_item)

        clause_body = cls(
            clause=clause,
            holds=holds,
            negated=negated,
            text=text,
            values=values,
        )

        clause_body.additional_properties = d
        return clause_body

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
