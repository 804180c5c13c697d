from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="InterestRemovedBody")


@_attrs_define
class InterestRemovedBody:
    """
    Attributes:
        category (str):
        muted_interests (list[str]): Every interest the person asked Candor to forget.
        removed (bool): Whether the profile held the interest.
    """

    category: str
    muted_interests: list[str]
    removed: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        category = self.category

        muted_interests = self.muted_interests

        removed = self.removed

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "category": category,
                "muted_interests": muted_interests,
                "removed": removed,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        category = d.pop("category")

        muted_interests = cast(list[str], d.pop("muted_interests"))

        removed = d.pop("removed")

        interest_removed_body = cls(
            category=category,
            muted_interests=muted_interests,
            removed=removed,
        )

        interest_removed_body.additional_properties = d
        return interest_removed_body

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
