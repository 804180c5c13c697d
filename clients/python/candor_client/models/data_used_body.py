from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.data_used_body_events_by_type import DataUsedBodyEventsByType


T = TypeVar("T", bound="DataUsedBody")


@_attrs_define
class DataUsedBody:
    """
    Attributes:
        events_by_type (DataUsedBodyEventsByType): Events that fed the interests used, by event type.
        first_at (None | str | Unset):
        last_at (None | str | Unset):
    """

    events_by_type: DataUsedBodyEventsByType
    first_at: None | str | Unset = UNSET
    last_at: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        events_by_type = self.events_by_type.to_dict()

        first_at: None | str | Unset
        if isinstance(self.first_at, Unset):
            first_at = UNSET
        else:
            first_at = self.first_at

        last_at: None | str | Unset
        if isinstance(self.last_at, Unset):
            last_at = UNSET
        else:
            last_at = self.last_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "events_by_type": events_by_type,
            }
        )
        if first_at is not UNSET:
            field_dict["first_at"] = first_at
        if last_at is not UNSET:
            field_dict["last_at"] = last_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.data_used_body_events_by_type import DataUsedBodyEventsByType  # noqa: PLC0415

        d = dict(src_dict)
        events_by_type = DataUsedBodyEventsByType.from_dict(d.pop("events_by_type"))

        def _parse_first_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        first_at = _parse_first_at(d.pop("first_at", UNSET))

        def _parse_last_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_at = _parse_last_at(d.pop("last_at", UNSET))

        data_used_body = cls(
            events_by_type=events_by_type,
            first_at=first_at,
            last_at=last_at,
        )

        data_used_body.additional_properties = d
        return data_used_body

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
