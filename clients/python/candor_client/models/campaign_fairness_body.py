from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.acknowledgement_body import AcknowledgementBody
    from ..models.group_fairness_body import GroupFairnessBody


T = TypeVar("T", bound="CampaignFairnessBody")


@_attrs_define
class CampaignFairnessBody:
    """A stored campaign run's group fairness and its flag.

    Attributes:
        campaign (str):
        flagged (bool): Flagged when the run committed (parity ratio below 0.8), or by the report now.
        held (bool): Some of the run's deliveries are held until the flag is acknowledged.
        report (GroupFairnessBody):
        run (str):
        acknowledged (AcknowledgementBody | None | Unset):
    """

    campaign: str
    flagged: bool
    held: bool
    report: GroupFairnessBody
    run: str
    acknowledged: AcknowledgementBody | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.acknowledgement_body import AcknowledgementBody  # noqa: PLC0415

        campaign = self.campaign

        flagged = self.flagged

        held = self.held

        report = self.report.to_dict()

        run = self.run

        acknowledged: dict[str, Any] | None | Unset
        if isinstance(self.acknowledged, Unset):
            acknowledged = UNSET
        elif isinstance(self.acknowledged, AcknowledgementBody):
            acknowledged = self.acknowledged.to_dict()
        else:
            acknowledged = self.acknowledged

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "campaign": campaign,
                "flagged": flagged,
                "held": held,
                "report": report,
                "run": run,
            }
        )
        if acknowledged is not UNSET:
            field_dict["acknowledged"] = acknowledged

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.acknowledgement_body import AcknowledgementBody  # noqa: PLC0415
        from ..models.group_fairness_body import GroupFairnessBody  # noqa: PLC0415

        d = dict(src_dict)
        campaign = d.pop("campaign")

        flagged = d.pop("flagged")

        held = d.pop("held")

        report = GroupFairnessBody.from_dict(d.pop("report"))

        run = d.pop("run")

        def _parse_acknowledged(data: object) -> AcknowledgementBody | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                acknowledged_type_1 = AcknowledgementBody.from_dict(data)

                return acknowledged_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(AcknowledgementBody | None | Unset, data)

        acknowledged = _parse_acknowledged(d.pop("acknowledged", UNSET))

        campaign_fairness_body = cls(
            campaign=campaign,
            flagged=flagged,
            held=held,
            report=report,
            run=run,
            acknowledged=acknowledged,
        )

        campaign_fairness_body.additional_properties = d
        return campaign_fairness_body

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
