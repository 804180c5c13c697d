from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="PurposeBody")


@_attrs_define
class PurposeBody:
    """A purpose as a consent banner presents it.

    Attributes:
        categories (list[str]): Data categories the purpose may use.
        id (str):
        legal_basis (str):
        requires_consent (bool): Whether the purpose is off until the person opts in.
        retention_days (int):
        sale_or_sharing (bool):
        session_only (bool):
        targeted_advertising (bool):
        text (str): The plain-language text to show, exactly as written in the policy.
        title (str):
        channel (None | str | Unset):
    """

    categories: list[str]
    id: str
    legal_basis: str
    requires_consent: bool
    retention_days: int
    sale_or_sharing: bool
    session_only: bool
    targeted_advertising: bool
    text: str
    title: str
    channel: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        categories = self.categories

        id = self.id

        legal_basis = self.legal_basis

        requires_consent = self.requires_consent

        retention_days = self.retention_days

        sale_or_sharing = self.sale_or_sharing

        session_only = self.session_only

        targeted_advertising = self.targeted_advertising

        text = self.text

        title = self.title

        channel: None | str | Unset
        if isinstance(self.channel, Unset):
            channel = UNSET
        else:
            channel = self.channel

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "categories": categories,
                "id": id,
                "legal_basis": legal_basis,
                "requires_consent": requires_consent,
                "retention_days": retention_days,
                "sale_or_sharing": sale_or_sharing,
                "session_only": session_only,
                "targeted_advertising": targeted_advertising,
                "text": text,
                "title": title,
            }
        )
        if channel is not UNSET:
            field_dict["channel"] = channel

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        categories = cast(list[str], d.pop("categories"))

        id = d.pop("id")

        legal_basis = d.pop("legal_basis")

        requires_consent = d.pop("requires_consent")

        retention_days = d.pop("retention_days")

        sale_or_sharing = d.pop("sale_or_sharing")

        session_only = d.pop("session_only")

        targeted_advertising = d.pop("targeted_advertising")

        text = d.pop("text")

        title = d.pop("title")

        def _parse_channel(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        channel = _parse_channel(d.pop("channel", UNSET))

        purpose_body = cls(
            categories=categories,
            id=id,
            legal_basis=legal_basis,
            requires_consent=requires_consent,
            retention_days=retention_days,
            sale_or_sharing=sale_or_sharing,
            session_only=session_only,
            targeted_advertising=targeted_advertising,
            text=text,
            title=title,
            channel=channel,
        )

        purpose_body.additional_properties = d
        return purpose_body

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
