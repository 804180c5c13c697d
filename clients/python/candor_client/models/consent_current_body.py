from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ConsentCurrentBody")


@_attrs_define
class ConsentCurrentBody:
    """Where people stand now.

    Attributes:
        granted (int | str): A number, or a phrase where the number could single someone out
        subjects (int | str): A number, or a phrase where the number could single someone out
        granted_share (float | None | Unset): `granted / subjects`, when neither the granted nor the rest are
            suppressed.
    """

    granted: int | str
    subjects: int | str
    granted_share: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        granted: int | str
        granted = self.granted

        subjects: int | str
        subjects = self.subjects

        granted_share: float | None | Unset
        if isinstance(self.granted_share, Unset):
            granted_share = UNSET
        else:
            granted_share = self.granted_share

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "granted": granted,
                "subjects": subjects,
            }
        )
        if granted_share is not UNSET:
            field_dict["granted_share"] = granted_share

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_granted(data: object) -> int | str:
            return cast(int | str, data)

        granted = _parse_granted(d.pop("granted"))

        def _parse_subjects(data: object) -> int | str:
            return cast(int | str, data)

        subjects = _parse_subjects(d.pop("subjects"))

        def _parse_granted_share(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        granted_share = _parse_granted_share(d.pop("granted_share", UNSET))

        consent_current_body = cls(
            granted=granted,
            subjects=subjects,
            granted_share=granted_share,
        )

        consent_current_body.additional_properties = d
        return consent_current_body

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
