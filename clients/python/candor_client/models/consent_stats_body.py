from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.purpose_consent_body import PurposeConsentBody


T = TypeVar("T", bound="ConsentStatsBody")


@_attrs_define
class ConsentStatsBody:
    """
    Attributes:
        bucket (str): `day` or `week`.
        k (int): Counts below this are shown as "fewer than k", and one that could be worked out by
            subtraction as "withheld".
        purposes (list[PurposeConsentBody]): Each purpose that needs consent, in policy order.
        since (str): Start of the first bucket (RFC 3339).
    """

    bucket: str
    k: int
    purposes: list[PurposeConsentBody]
    since: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        bucket = self.bucket

        k = self.k

        purposes = []
        for purposes_item_data in self.purposes:
            purposes_item = purposes_item_data.to_dict()
            purposes.append(purposes_item)

        since = self.since

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "bucket": bucket,
                "k": k,
                "purposes": purposes,
                "since": since,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.purpose_consent_body import PurposeConsentBody  # noqa: PLC0415

        d = dict(src_dict)
        bucket = d.pop("bucket")

        k = d.pop("k")

        purposes = []
        _purposes = d.pop("purposes")
        for purposes_item_data in _purposes:
            purposes_item = PurposeConsentBody.from_dict(purposes_item_data)

            purposes.append(purposes_item)

        since = d.pop("since")

        consent_stats_body = cls(
            bucket=bucket,
            k=k,
            purposes=purposes,
            since=since,
        )

        consent_stats_body.additional_properties = d
        return consent_stats_body

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
