from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.consent_bucket_body import ConsentBucketBody
    from ..models.consent_current_body import ConsentCurrentBody


T = TypeVar("T", bound="PurposeConsentBody")


@_attrs_define
class PurposeConsentBody:
    """
    Attributes:
        buckets (list[ConsentBucketBody]): Every bucket from `since` to now, oldest first.
        current (ConsentCurrentBody): Where people stand now.
        purpose (str):
        title (str):
    """

    buckets: list[ConsentBucketBody]
    current: ConsentCurrentBody
    purpose: str
    title: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        buckets = []
        for buckets_item_data in self.buckets:
            buckets_item = buckets_item_data.to_dict()
            buckets.append(buckets_item)

        current = self.current.to_dict()

        purpose = self.purpose

        title = self.title

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "buckets": buckets,
                "current": current,
                "purpose": purpose,
                "title": title,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.consent_bucket_body import ConsentBucketBody  # noqa: PLC0415
        from ..models.consent_current_body import ConsentCurrentBody  # noqa: PLC0415

        d = dict(src_dict)
        buckets = []
        _buckets = d.pop("buckets")
        for buckets_item_data in _buckets:
            buckets_item = ConsentBucketBody.from_dict(buckets_item_data)

            buckets.append(buckets_item)

        current = ConsentCurrentBody.from_dict(d.pop("current"))

        purpose = d.pop("purpose")

        title = d.pop("title")

        purpose_consent_body = cls(
            buckets=buckets,
            current=current,
            purpose=purpose,
            title=title,
        )

        purpose_consent_body.additional_properties = d
        return purpose_consent_body

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
