from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.clause_body import ClauseBody


T = TypeVar("T", bound="MembershipBody")


@_attrs_define
class MembershipBody:
    """
    Attributes:
        clauses (list[ClauseBody]):
        explanation (str): "You are in 'Runners' because views(30d) = 12 >= 5."
        name (str):
        purpose (str):
        segment (str):
    """

    clauses: list[ClauseBody]
    explanation: str
    name: str
    purpose: str
    segment: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        clauses = []
        for clauses_item_data in self.clauses:
            clauses_item = clauses_item_data.to_dict()
            clauses.append(clauses_item)

        explanation = self.explanation

        name = self.name

        purpose = self.purpose

        segment = self.segment

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "clauses": clauses,
                "explanation": explanation,
                "name": name,
                "purpose": purpose,
                "segment": segment,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.clause_body import ClauseBody  # noqa: PLC0415

        d = dict(src_dict)
        clauses = []
        _clauses = d.pop("clauses")
        for clauses_item_data in _clauses:
            clauses_item = ClauseBody.from_dict(clauses_item_data)

            clauses.append(clauses_item)

        explanation = d.pop("explanation")

        name = d.pop("name")

        purpose = d.pop("purpose")

        segment = d.pop("segment")

        membership_body = cls(
            clauses=clauses,
            explanation=explanation,
            name=name,
            purpose=purpose,
            segment=segment,
        )

        membership_body.additional_properties = d
        return membership_body

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
