from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="CampaignDecision")


@_attrs_define
class CampaignDecision:
    """
    Attributes:
        campaign (str):
        explanation (str): The explanation as shown to the person.
        selected (bool):
        reason (None | str | Unset): The exclusion code when not selected: `not_in_segment`, `no_consent`,
            `unsubscribed`,
            `minor`, `restricted_content`, `frequency_cap`, `quiet_hours`, `control_group`.
    """

    campaign: str
    explanation: str
    selected: bool
    reason: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        campaign = self.campaign

        explanation = self.explanation

        selected = self.selected

        reason: None | str | Unset
        if isinstance(self.reason, Unset):
            reason = UNSET
        else:
            reason = self.reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "campaign": campaign,
                "explanation": explanation,
                "selected": selected,
            }
        )
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        campaign = d.pop("campaign")

        explanation = d.pop("explanation")

        selected = d.pop("selected")

        def _parse_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reason = _parse_reason(d.pop("reason", UNSET))

        campaign_decision = cls(
            campaign=campaign,
            explanation=explanation,
            selected=selected,
            reason=reason,
        )

        campaign_decision.additional_properties = d
        return campaign_decision

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
