from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.property_problem import PropertyProblem


T = TypeVar("T", bound="EventResult")


@_attrs_define
class EventResult:
    """What happened to one event.

    Attributes:
        index (int):
        status (str): `accepted`, `dropped` or `invalid`.
        expires_at (None | str | Unset):
        invalid_properties (list[PropertyProblem] | Unset): Properties removed because they are undeclared or of the
            wrong type.
        merged_events (int | None | Unset): For identify: events of the anonymous visitor merged into the identified
            subject.
        message (None | str | Unset):
        minimized (list[str] | Unset): Properties removed because no purpose the event serves needs their data category.
        purposes (list[str] | Unset): The purposes the stored event serves.
        reason (None | str | Unset): Why it was dropped or invalid: `no_consent`, `unknown_event_type`, `duplicate`,
            `expired`, `invalid_timestamp`, `missing_subject_id`...
    """

    index: int
    status: str
    expires_at: None | str | Unset = UNSET
    invalid_properties: list[PropertyProblem] | Unset = UNSET
    merged_events: int | None | Unset = UNSET
    message: None | str | Unset = UNSET
    minimized: list[str] | Unset = UNSET
    purposes: list[str] | Unset = UNSET
    reason: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        index = self.index

        status = self.status

        expires_at: None | str | Unset
        if isinstance(self.expires_at, Unset):
            expires_at = UNSET
        else:
            expires_at = self.expires_at

        invalid_properties: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.invalid_properties, Unset):
            invalid_properties = []
            for invalid_properties_item_data in self.invalid_properties:
                invalid_properties_item = invalid_properties_item_data.to_dict()
                invalid_properties.append(invalid_properties_item)

        merged_events: int | None | Unset
        if isinstance(self.merged_events, Unset):
            merged_events = UNSET
        else:
            merged_events = self.merged_events

        message: None | str | Unset
        if isinstance(self.message, Unset):
            message = UNSET
        else:
            message = self.message

        minimized: list[str] | Unset = UNSET
        if not isinstance(self.minimized, Unset):
            minimized = self.minimized

        purposes: list[str] | Unset = UNSET
        if not isinstance(self.purposes, Unset):
            purposes = self.purposes

        reason: None | str | Unset
        if isinstance(self.reason, Unset):
            reason = UNSET
        else:
            reason = self.reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "index": index,
                "status": status,
            }
        )
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at
        if invalid_properties is not UNSET:
            field_dict["invalid_properties"] = invalid_properties
        if merged_events is not UNSET:
            field_dict["merged_events"] = merged_events
        if message is not UNSET:
            field_dict["message"] = message
        if minimized is not UNSET:
            field_dict["minimized"] = minimized
        if purposes is not UNSET:
            field_dict["purposes"] = purposes
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.property_problem import PropertyProblem  # noqa: PLC0415

        d = dict(src_dict)
        index = d.pop("index")

        status = d.pop("status")

        def _parse_expires_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        expires_at = _parse_expires_at(d.pop("expires_at", UNSET))

        _invalid_properties = d.pop("invalid_properties", UNSET)
        invalid_properties: list[PropertyProblem] | Unset = UNSET
        if _invalid_properties is not UNSET:
            invalid_properties = []
            for invalid_properties_item_data in _invalid_properties:
                invalid_properties_item = PropertyProblem.from_dict(invalid_properties_item_data)

                invalid_properties.append(invalid_properties_item)

        def _parse_merged_events(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        merged_events = _parse_merged_events(d.pop("merged_events", UNSET))

        def _parse_message(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        message = _parse_message(d.pop("message", UNSET))

        minimized = cast(list[str], d.pop("minimized", UNSET))

        purposes = cast(list[str], d.pop("purposes", UNSET))

        def _parse_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reason = _parse_reason(d.pop("reason", UNSET))

        event_result = cls(
            index=index,
            status=status,
            expires_at=expires_at,
            invalid_properties=invalid_properties,
            merged_events=merged_events,
            message=message,
            minimized=minimized,
            purposes=purposes,
            reason=reason,
        )

        event_result.additional_properties = d
        return event_result

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
