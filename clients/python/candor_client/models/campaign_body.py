from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.cap_input import CapInput


T = TypeVar("T", bound="CampaignBody")


@_attrs_define
class CampaignBody:
    """
    Attributes:
        channel (str):
        created_at (str):
        holdout_percent (int):
        id (str):
        purpose (str):
        restricted_categories (list[str]):
        segment (str):
        template (str):
        cap (CapInput | None | Unset):
        send_at (None | str | Unset):
    """

    channel: str
    created_at: str
    holdout_percent: int
    id: str
    purpose: str
    restricted_categories: list[str]
    segment: str
    template: str
    cap: CapInput | None | Unset = UNSET
    send_at: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.cap_input import CapInput  # noqa: PLC0415

        channel = self.channel

        created_at = self.created_at

        holdout_percent = self.holdout_percent

        id = self.id

        purpose = self.purpose

        restricted_categories = self.restricted_categories

        segment = self.segment

        template = self.template

        cap: dict[str, Any] | None | Unset
        if isinstance(self.cap, Unset):
            cap = UNSET
        elif isinstance(self.cap, CapInput):
            cap = self.cap.to_dict()
        else:
            cap = self.cap

        send_at: None | str | Unset
        if isinstance(self.send_at, Unset):
            send_at = UNSET
        else:
            send_at = self.send_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "channel": channel,
                "created_at": created_at,
                "holdout_percent": holdout_percent,
                "id": id,
                "purpose": purpose,
                "restricted_categories": restricted_categories,
                "segment": segment,
                "template": template,
            }
        )
        if cap is not UNSET:
            field_dict["cap"] = cap
        if send_at is not UNSET:
            field_dict["send_at"] = send_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.cap_input import CapInput  # noqa: PLC0415

        d = dict(src_dict)
        channel = d.pop("channel")

        created_at = d.pop("created_at")

        holdout_percent = d.pop("holdout_percent")

        id = d.pop("id")

        purpose = d.pop("purpose")

        restricted_categories = cast(list[str], d.pop("restricted_categories"))

        segment = d.pop("segment")

        template = d.pop("template")

        def _parse_cap(data: object) -> CapInput | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                cap_type_1 = CapInput.from_dict(data)

                return cap_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CapInput | None | Unset, data)

        cap = _parse_cap(d.pop("cap", UNSET))

        def _parse_send_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        send_at = _parse_send_at(d.pop("send_at", UNSET))

        campaign_body = cls(
            channel=channel,
            created_at=created_at,
            holdout_percent=holdout_percent,
            id=id,
            purpose=purpose,
            restricted_categories=restricted_categories,
            segment=segment,
            template=template,
            cap=cap,
            send_at=send_at,
        )

        campaign_body.additional_properties = d
        return campaign_body

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
