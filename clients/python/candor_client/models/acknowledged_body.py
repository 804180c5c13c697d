from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.acknowledgement_body import AcknowledgementBody


T = TypeVar("T", bound="AcknowledgedBody")


@_attrs_define
class AcknowledgedBody:
    """
    Attributes:
        acknowledged (AcknowledgementBody): An operator's acknowledgement of a fairness flag.
        campaign (str):
        n_flags (int): Flags acknowledged by this request (0 when all already were).
        n_released (int): Held deliveries released to the outbox by this request.
    """

    acknowledged: AcknowledgementBody
    campaign: str
    n_flags: int
    n_released: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        acknowledged = self.acknowledged.to_dict()

        campaign = self.campaign

        n_flags = self.n_flags

        n_released = self.n_released

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "acknowledged": acknowledged,
                "campaign": campaign,
                "n_flags": n_flags,
                "n_released": n_released,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.acknowledgement_body import AcknowledgementBody  # noqa: PLC0415

        d = dict(src_dict)
        acknowledged = AcknowledgementBody.from_dict(d.pop("acknowledged"))

        campaign = d.pop("campaign")

        n_flags = d.pop("n_flags")

        n_released = d.pop("n_released")

        acknowledged_body = cls(
            acknowledged=acknowledged,
            campaign=campaign,
            n_flags=n_flags,
            n_released=n_released,
        )

        acknowledged_body.additional_properties = d
        return acknowledged_body

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
