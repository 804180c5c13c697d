from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="VisitorSessionBody")


@_attrs_define
class VisitorSessionBody:
    """
    Attributes:
        anonymous_id (str): The visitor's anonymous id, picked by Candor: use it in paths and as `anonymousId`.
        expires_at (str):
        visitor_token (str): Send as `Authorization: Bearer TOKEN` for this visitor's own consent, events and
            recommendations.
    """

    anonymous_id: str
    expires_at: str
    visitor_token: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        anonymous_id = self.anonymous_id

        expires_at = self.expires_at

        visitor_token = self.visitor_token

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "anonymous_id": anonymous_id,
                "expires_at": expires_at,
                "visitor_token": visitor_token,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        anonymous_id = d.pop("anonymous_id")

        expires_at = d.pop("expires_at")

        visitor_token = d.pop("visitor_token")

        visitor_session_body = cls(
            anonymous_id=anonymous_id,
            expires_at=expires_at,
            visitor_token=visitor_token,
        )

        visitor_session_body.additional_properties = d
        return visitor_session_body

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
