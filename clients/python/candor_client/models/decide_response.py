from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.campaign_decision import CampaignDecision
    from ..models.decided_experiment_body import DecidedExperimentBody


T = TypeVar("T", bound="DecideResponse")


@_attrs_define
class DecideResponse:
    """
    Attributes:
        decisions (list[CampaignDecision]): Each campaign decided, in order, up to the one chosen.
        campaign (None | str | Unset): The campaign to show now, if any.
        experiment (DecidedExperimentBody | None | Unset):
        message (None | str | Unset): Its message, rendered for this person.
    """

    decisions: list[CampaignDecision]
    campaign: None | str | Unset = UNSET
    experiment: DecidedExperimentBody | None | Unset = UNSET
    message: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.decided_experiment_body import DecidedExperimentBody  # noqa: PLC0415

        decisions = []
        for decisions_item_data in self.decisions:
            decisions_item = decisions_item_data.to_dict()
            decisions.append(decisions_item)

        campaign: None | str | Unset
        if isinstance(self.campaign, Unset):
            campaign = UNSET
        else:
            campaign = self.campaign

        experiment: dict[str, Any] | None | Unset
        if isinstance(self.experiment, Unset):
            experiment = UNSET
        elif isinstance(self.experiment, DecidedExperimentBody):
            experiment = self.experiment.to_dict()
        else:
            experiment = self.experiment

        message: None | str | Unset
        if isinstance(self.message, Unset):
            message = UNSET
        else:
            message = self.message

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "decisions": decisions,
            }
        )
        if campaign is not UNSET:
            field_dict["campaign"] = campaign
        if experiment is not UNSET:
            field_dict["experiment"] = experiment
        if message is not UNSET:
            field_dict["message"] = message

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.campaign_decision import CampaignDecision  # noqa: PLC0415
        from ..models.decided_experiment_body import DecidedExperimentBody  # noqa: PLC0415

        d = dict(src_dict)
        decisions = []
        _decisions = d.pop("decisions")
        for decisions_item_data in _decisions:
            decisions_item = CampaignDecision.from_dict(decisions_item_data)

            decisions.append(decisions_item)

        def _parse_campaign(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        campaign = _parse_campaign(d.pop("campaign", UNSET))

        def _parse_experiment(data: object) -> DecidedExperimentBody | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                experiment_type_1 = DecidedExperimentBody.from_dict(data)

                return experiment_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DecidedExperimentBody | None | Unset, data)

        experiment = _parse_experiment(d.pop("experiment", UNSET))

        def _parse_message(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        message = _parse_message(d.pop("message", UNSET))

        decide_response = cls(
            decisions=decisions,
            campaign=campaign,
            experiment=experiment,
            message=message,
        )

        decide_response.additional_properties = d
        return decide_response

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
