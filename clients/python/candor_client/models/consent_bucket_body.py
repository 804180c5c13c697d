from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ConsentBucketBody")


@_attrs_define
class ConsentBucketBody:
    """One time bucket of one purpose.

    Attributes:
        denied (int | str): A number, or a phrase where the number could single someone out
        granted (int | str): A number, or a phrase where the number could single someone out
        start (str): Start of the bucket, `YYYY-MM-DD` (UTC).
        withdrawn (int | str): A number, or a phrase where the number could single someone out
    """

    denied: int | str
    granted: int | str
    start: str
    withdrawn: int | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        denied: int | str
        denied = self.denied

        granted: int | str
        granted = self.granted

        start = self.start

        withdrawn: int | str
        withdrawn = self.withdrawn

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "denied": denied,
                "granted": granted,
                "start": start,
                "withdrawn": withdrawn,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_denied(data: object) -> int | str:
            return cast(int | str, data)

        denied = _parse_denied(d.pop("denied"))

        def _parse_granted(data: object) -> int | str:
            return cast(int | str, data)

        granted = _parse_granted(d.pop("granted"))

        start = d.pop("start")

        def _parse_withdrawn(data: object) -> int | str:
            return cast(int | str, data)

        withdrawn = _parse_withdrawn(d.pop("withdrawn"))

        consent_bucket_body = cls(
            denied=denied,
            granted=granted,
            start=start,
            withdrawn=withdrawn,
        )

        consent_bucket_body.additional_properties = d
        return consent_bucket_body

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
