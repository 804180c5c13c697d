from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PreferencesBody")


@_attrs_define
class PreferencesBody:
    """A person's recommendation preferences.

    Attributes:
        hidden_items (list[str]):
        muted_categories (list[str]):
        paused (bool):
        self_excluded (bool):
    """

    hidden_items: list[str]
    muted_categories: list[str]
    paused: bool
    self_excluded: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        hidden_items = self.hidden_items

        muted_categories = self.muted_categories

        paused = self.paused

        self_excluded = self.self_excluded

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "hidden_items": hidden_items,
                "muted_categories": muted_categories,
                "paused": paused,
                "self_excluded": self_excluded,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        hidden_items = cast(list[str], d.pop("hidden_items"))

        muted_categories = cast(list[str], d.pop("muted_categories"))

        paused = d.pop("paused")

        self_excluded = d.pop("self_excluded")

        preferences_body = cls(
            hidden_items=hidden_items,
            muted_categories=muted_categories,
            paused=paused,
            self_excluded=self_excluded,
        )

        preferences_body.additional_properties = d
        return preferences_body

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
