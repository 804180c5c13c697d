from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PreviewBody")


@_attrs_define
class PreviewBody:
    """
    Attributes:
        k (int): Counts below this are not shown.
        segment (str):
        size (int | str): A number, or a phrase where the number could single someone out
    """

    k: int
    segment: str
    size: int | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        k = self.k

        segment = self.segment

        size: int | str
        size = self.size

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "k": k,
                "segment": segment,
                "size": size,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        k = d.pop("k")

        segment = d.pop("segment")

        def _parse_size(data: object) -> int | str:
            return cast(int | str, data)

        size = _parse_size(d.pop("size"))

        preview_body = cls(
            k=k,
            segment=segment,
            size=size,
        )

        preview_body.additional_properties = d
        return preview_body

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
