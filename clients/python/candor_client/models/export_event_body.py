from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.export_event_body_properties import ExportEventBodyProperties


T = TypeVar("T", bound="ExportEventBody")


@_attrs_define
class ExportEventBody:
    """
    Attributes:
        event_type (str):
        expires_at (str): When it is deleted.
        feeds_profile (bool): Whether it feeds the interest profile.
        occurred_at (str):
        properties (ExportEventBodyProperties): The properties kept (others were never stored).
        purposes (list[str]): The purposes the event is kept for.
        received_at (str):
        session_only (bool):
        item_id (None | str | Unset):
    """

    event_type: str
    expires_at: str
    feeds_profile: bool
    occurred_at: str
    properties: ExportEventBodyProperties
    purposes: list[str]
    received_at: str
    session_only: bool
    item_id: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        event_type = self.event_type

        expires_at = self.expires_at

        feeds_profile = self.feeds_profile

        occurred_at = self.occurred_at

        properties = self.properties.to_dict()

        purposes = self.purposes

        received_at = self.received_at

        session_only = self.session_only

        item_id: None | str | Unset
        if isinstance(self.item_id, Unset):
            item_id = UNSET
        else:
            item_id = self.item_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "event_type": event_type,
                "expires_at": expires_at,
                "feeds_profile": feeds_profile,
                "occurred_at": occurred_at,
                "properties": properties,
                "purposes": purposes,
                "received_at": received_at,
                "session_only": session_only,
            }
        )
        if item_id is not UNSET:
            field_dict["item_id"] = item_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.export_event_body_properties import ExportEventBodyProperties  # noqa: PLC0415

        d = dict(src_dict)
        event_type = d.pop("event_type")

        expires_at = d.pop("expires_at")

        feeds_profile = d.pop("feeds_profile")

        occurred_at = d.pop("occurred_at")

        properties = ExportEventBodyProperties.from_dict(d.pop("properties"))

        purposes = cast(list[str], d.pop("purposes"))

        received_at = d.pop("received_at")

        session_only = d.pop("session_only")

        def _parse_item_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        item_id = _parse_item_id(d.pop("item_id", UNSET))

        export_event_body = cls(
            event_type=event_type,
            expires_at=expires_at,
            feeds_profile=feeds_profile,
            occurred_at=occurred_at,
            properties=properties,
            purposes=purposes,
            received_at=received_at,
            session_only=session_only,
            item_id=item_id,
        )

        export_event_body.additional_properties = d
        return export_event_body

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
