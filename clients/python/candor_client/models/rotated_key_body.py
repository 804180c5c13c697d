from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.key_body import KeyBody


T = TypeVar("T", bound="RotatedKeyBody")


@_attrs_define
class RotatedKeyBody:
    """
    Attributes:
        key (str): The new key: shown once, never stored.
        previous (KeyBody):
        record (KeyBody):
    """

    key: str
    previous: KeyBody
    record: KeyBody
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        key = self.key

        previous = self.previous.to_dict()

        record = self.record.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "key": key,
                "previous": previous,
                "record": record,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.key_body import KeyBody  # noqa: PLC0415

        d = dict(src_dict)
        key = d.pop("key")

        previous = KeyBody.from_dict(d.pop("previous"))

        record = KeyBody.from_dict(d.pop("record"))

        rotated_key_body = cls(
            key=key,
            previous=previous,
            record=record,
        )

        rotated_key_body.additional_properties = d
        return rotated_key_body

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
