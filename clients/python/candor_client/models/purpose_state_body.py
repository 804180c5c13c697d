from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="PurposeStateBody")


@_attrs_define
class PurposeStateBody:
    """
    Attributes:
        allowed (bool): Whether the purpose may be used now.
        legal_basis (str):
        purpose (str):
        reason (str): Why, as a sentence: "denied: no choice yet".
        reason_code (str): Why, as a stable code.
        status (str): `granted`, `denied`, or `not_required` for purposes on another legal basis.
        text (str):
        title (str):
        since (None | str | Unset): When the deciding record was made.
    """

    allowed: bool
    legal_basis: str
    purpose: str
    reason: str
    reason_code: str
    status: str
    text: str
    title: str
    since: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        allowed = self.allowed

        legal_basis = self.legal_basis

        purpose = self.purpose

        reason = self.reason

        reason_code = self.reason_code

        status = self.status

        text = self.text

        title = self.title

        since: None | str | Unset
        if isinstance(self.since, Unset):
            since = UNSET
        else:
            since = self.since

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "allowed": allowed,
                "legal_basis": legal_basis,
                "purpose": purpose,
                "reason": reason,
                "reason_code": reason_code,
                "status": status,
                "text": text,
                "title": title,
            }
        )
        if since is not UNSET:
            field_dict["since"] = since

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        allowed = d.pop("allowed")

        legal_basis = d.pop("legal_basis")

        purpose = d.pop("purpose")

        reason = d.pop("reason")

        reason_code = d.pop("reason_code")

        status = d.pop("status")

        text = d.pop("text")

        title = d.pop("title")

        def _parse_since(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        since = _parse_since(d.pop("since", UNSET))

        purpose_state_body = cls(
            allowed=allowed,
            legal_basis=legal_basis,
            purpose=purpose,
            reason=reason,
            reason_code=reason_code,
            status=status,
            text=text,
            title=title,
            since=since,
        )

        purpose_state_body.additional_properties = d
        return purpose_state_body

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
