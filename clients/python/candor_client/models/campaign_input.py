from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.cap_input import CapInput


T = TypeVar("T", bound="CampaignInput")


@_attrs_define
class CampaignInput:
    """
    Attributes:
        channel (str): `email`, `sms`, `push` or `web`.
        id (str): Lowercase letters, digits, `_` and `-`.
        purpose (str): A marketing purpose of the policy for this channel.
        segment (str): The id of the segment to target.
        template (str): Text with `{{first_name}}`, `{{recommendations}}`, `{{unsubscribe_url}}`, filled by
            plain substitution. Email templates must contain `{{unsubscribe_url}}`.
        cap (CapInput | None | Unset):
        holdout_percent (int | Unset): Share held out as a control group, 0 to 50.
        restricted_categories (list[str] | Unset): Restricted categories (policy ids) the campaign promotes.
        send_at (None | str | Unset): Not sent before this time (RFC 3339).
    """

    channel: str
    id: str
    purpose: str
    segment: str
    template: str
    cap: CapInput | None | Unset = UNSET
    holdout_percent: int | Unset = UNSET
    restricted_categories: list[str] | Unset = UNSET
    send_at: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.cap_input import CapInput  # noqa: PLC0415

        channel = self.channel

        id = self.id

        purpose = self.purpose

        segment = self.segment

        template = self.template

        cap: dict[str, Any] | None | Unset
        if isinstance(self.cap, Unset):
            cap = UNSET
        elif isinstance(self.cap, CapInput):
            cap = self.cap.to_dict()
        else:
            cap = self.cap

        holdout_percent = self.holdout_percent

        restricted_categories: list[str] | Unset = UNSET
        if not isinstance(self.restricted_categories, Unset):
            restricted_categories = self.restricted_categories

        send_at: None | str | Unset
        if isinstance(self.send_at, Unset):
            send_at = UNSET
        else:
            send_at = self.send_at

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "channel": channel,
                "id": id,
                "purpose": purpose,
                "segment": segment,
                "template": template,
            }
        )
        if cap is not UNSET:
            field_dict["cap"] = cap
        if holdout_percent is not UNSET:
            field_dict["holdout_percent"] = holdout_percent
        if restricted_categories is not UNSET:
            field_dict["restricted_categories"] = restricted_categories
        if send_at is not UNSET:
            field_dict["send_at"] = send_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.cap_input import CapInput  # noqa: PLC0415

        d = dict(src_dict)
        channel = d.pop("channel")

        id = d.pop("id")

        purpose = d.pop("purpose")

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

        holdout_percent = d.pop("holdout_percent", UNSET)

        restricted_categories = cast(list[str], d.pop("restricted_categories", UNSET))

        def _parse_send_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        send_at = _parse_send_at(d.pop("send_at", UNSET))

        campaign_input = cls(
            channel=channel,
            id=id,
            purpose=purpose,
            segment=segment,
            template=template,
            cap=cap,
            holdout_percent=holdout_percent,
            restricted_categories=restricted_categories,
            send_at=send_at,
        )

        return campaign_input
