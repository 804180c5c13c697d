from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.preferences_body import PreferencesBody


T = TypeVar("T", bound="FeedbackBody")


@_attrs_define
class FeedbackBody:
    """What the feedback changed.

    Attributes:
        preferences (PreferencesBody): A person's recommendation preferences.
        removed_events (int): Events deleted by `remove_from_history`.
    """

    preferences: PreferencesBody
    removed_events: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        preferences = self.preferences.to_dict()

        removed_events = self.removed_events

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "preferences": preferences,
                "removed_events": removed_events,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.preferences_body import PreferencesBody  # noqa: PLC0415

        d = dict(src_dict)
        preferences = PreferencesBody.from_dict(d.pop("preferences"))

        removed_events = d.pop("removed_events")

        feedback_body = cls(
            preferences=preferences,
            removed_events=removed_events,
        )

        feedback_body.additional_properties = d
        return feedback_body

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
