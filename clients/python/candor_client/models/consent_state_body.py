from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.purpose_state_body import PurposeStateBody


T = TypeVar("T", bound="ConsentStateBody")


@_attrs_define
class ConsentStateBody:
    """
    Attributes:
        policy_version (str):
        purposes (list[PurposeStateBody]):
    """

    policy_version: str
    purposes: list[PurposeStateBody]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        policy_version = self.policy_version

        purposes = []
        for purposes_item_data in self.purposes:
            purposes_item = purposes_item_data.to_dict()
            purposes.append(purposes_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "policy_version": policy_version,
                "purposes": purposes,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.purpose_state_body import PurposeStateBody  # noqa: PLC0415

        d = dict(src_dict)
        policy_version = d.pop("policy_version")

        purposes = []
        _purposes = d.pop("purposes")
        for purposes_item_data in _purposes:
            purposes_item = PurposeStateBody.from_dict(purposes_item_data)

            purposes.append(purposes_item)

        consent_state_body = cls(
            policy_version=policy_version,
            purposes=purposes,
        )

        consent_state_body.additional_properties = d
        return consent_state_body

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
