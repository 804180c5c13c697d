from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ServedBody")


@_attrs_define
class ServedBody:
    """An experiment a recommendation list was shown under.

    Attributes:
        arm (str): The person's arm (`holdout` for the global holdout).
        id (str): The experiment's id.
        list_id (str): Send it as the `list_id` property of a click on one of the list's items, so the click
            is attributed to this list.
    """

    arm: str
    id: str
    list_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        arm = self.arm

        id = self.id

        list_id = self.list_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "arm": arm,
                "id": id,
                "list_id": list_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        arm = d.pop("arm")

        id = d.pop("id")

        list_id = d.pop("list_id")

        served_body = cls(
            arm=arm,
            id=id,
            list_id=list_id,
        )

        served_body.additional_properties = d
        return served_body

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
