from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.assignment_body import AssignmentBody
    from ..models.campaign_outcome_body import CampaignOutcomeBody
    from ..models.exposure_body import ExposureBody
    from ..models.membership_body import MembershipBody
    from ..models.preferences_body import PreferencesBody


T = TypeVar("T", bound="ProcessingBody")


@_attrs_define
class ProcessingBody:
    """
    Attributes:
        campaigns (list[CampaignOutcomeBody]): Every campaign run that decided about the person: sent, or not and why.
        experiments (list[AssignmentBody]): The experiments the person is in, with their arm ("you are in test X,
            variant B").
        exposures (list[ExposureBody]): Recommendations shown to the person, newest last.
        preferences (PreferencesBody): A person's recommendation preferences.
        segments (list[MembershipBody]): The marketing segments the person is in now, and the values that put them
            there.
        restricted_since (None | str | Unset): Set while processing is restricted: data kept, nothing new collected or
            personalized.
    """

    campaigns: list[CampaignOutcomeBody]
    experiments: list[AssignmentBody]
    exposures: list[ExposureBody]
    preferences: PreferencesBody
    segments: list[MembershipBody]
    restricted_since: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        campaigns = []
        for campaigns_item_data in self.campaigns:
            campaigns_item = campaigns_item_data.to_dict()
            campaigns.append(campaigns_item)

        experiments = []
        for experiments_item_data in self.experiments:
            experiments_item = experiments_item_data.to_dict()
            experiments.append(experiments_item)

        exposures = []
        for exposures_item_data in self.exposures:
            exposures_item = exposures_item_data.to_dict()
            exposures.append(exposures_item)

        preferences = self.preferences.to_dict()

        segments = []
        for segments_item_data in self.segments:
            segments_item = segments_item_data.to_dict()
            segments.append(segments_item)

        restricted_since: None | str | Unset
        if isinstance(self.restricted_since, Unset):
            restricted_since = UNSET
        else:
            restricted_since = self.restricted_since

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "campaigns": campaigns,
                "experiments": experiments,
                "exposures": exposures,
                "preferences": preferences,
                "segments": segments,
            }
        )
        if restricted_since is not UNSET:
            field_dict["restricted_since"] = restricted_since

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.assignment_body import AssignmentBody  # noqa: PLC0415
        from ..models.campaign_outcome_body import CampaignOutcomeBody  # noqa: PLC0415
        from ..models.exposure_body import ExposureBody  # noqa: PLC0415
        from ..models.membership_body import MembershipBody  # noqa: PLC0415
        from ..models.preferences_body import PreferencesBody  # noqa: PLC0415

        d = dict(src_dict)
        campaigns = []
        _campaigns = d.pop("campaigns")
        for campaigns_item_data in _campaigns:
            campaigns_item = CampaignOutcomeBody.from_dict(campaigns_item_data)

            campaigns.append(campaigns_item)

        experiments = []
        _experiments = d.pop("experiments")
        for experiments_item_data in _experiments:
            experiments_item = AssignmentBody.from_dict(experiments_item_data)

            experiments.append(experiments_item)

        exposures = []
        _exposures = d.pop("exposures")
        for exposures_item_data in _exposures:
            exposures_item = ExposureBody.from_dict(exposures_item_data)

            exposures.append(exposures_item)

        preferences = PreferencesBody.from_dict(d.pop("preferences"))

        segments = []
        _segments = d.pop("segments")
        for segments_item_data in _segments:
            segments_item = MembershipBody.from_dict(segments_item_data)

            segments.append(segments_item)

        def _parse_restricted_since(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        restricted_since = _parse_restricted_since(d.pop("restricted_since", UNSET))

        processing_body = cls(
            campaigns=campaigns,
            experiments=experiments,
            exposures=exposures,
            preferences=preferences,
            segments=segments,
            restricted_since=restricted_since,
        )

        processing_body.additional_properties = d
        return processing_body

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
