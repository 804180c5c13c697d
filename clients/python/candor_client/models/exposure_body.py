from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ExposureBody")


@_attrs_define
class ExposureBody:
    """One item shown in one recommendation list.

    Attributes:
        at (str):
        item_id (str):
        personalized (bool):
        rank (int):
        slot (str):
    """

    at: str
    item_id: str
    personalized: bool
    rank: int
    slot: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        at = self.at

        item_id = self.item_id

        personalized = self.personalized

        rank = self.rank

        slot = self.slot

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "at": at,
                "item_id": item_id,
                "personalized": personalized,
                "rank": rank,
                "slot": slot,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        at = d.pop("at")

        item_id = d.pop("item_id")

        personalized = d.pop("personalized")

        rank = d.pop("rank")

        slot = d.pop("slot")

        exposure_body = cls(
            at=at,
            item_id=item_id,
            personalized=personalized,
            rank=rank,
            slot=slot,
        )

        exposure_body.additional_properties = d
        return exposure_body

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
