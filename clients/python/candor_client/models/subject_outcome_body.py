from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="SubjectOutcomeBody")


@_attrs_define
class SubjectOutcomeBody:
    """
    Attributes:
        at (str):
        campaign (str):
        explanation (str): The outcome as a sentence for the person.
        run (str):
        selected (bool):
        reason (None | str | Unset): The exclusion code when not selected.
    """

    at: str
    campaign: str
    explanation: str
    run: str
    selected: bool
    reason: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        at = self.at

        campaign = self.campaign

        explanation = self.explanation

        run = self.run

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
                "at": at,
                "campaign": campaign,
                "explanation": explanation,
                "run": run,
                "selected": selected,
            }
        )
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        at = d.pop("at")

        campaign = d.pop("campaign")

        explanation = d.pop("explanation")

        run = d.pop("run")

        selected = d.pop("selected")

        def _parse_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reason = _parse_reason(d.pop("reason", UNSET))

        subject_outcome_body = cls(
            at=at,
            campaign=campaign,
            explanation=explanation,
            run=run,
            selected=selected,
            reason=reason,
        )

        subject_outcome_body.additional_properties = d
        return subject_outcome_body

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
