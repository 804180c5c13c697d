from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.consent_state_body import ConsentStateBody


T = TypeVar("T", bound="ObjectionBody")


@_attrs_define
class ObjectionBody:
    """
    Attributes:
        consents (ConsentStateBody):
        withdrawn (list[str]): The marketing purposes withdrawn by this objection.
    """

    consents: ConsentStateBody
    withdrawn: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        consents = self.consents.to_dict()

        withdrawn = self.withdrawn

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "consents": consents,
                "withdrawn": withdrawn,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.consent_state_body import ConsentStateBody  # noqa: PLC0415

        d = dict(src_dict)
        consents = ConsentStateBody.from_dict(d.pop("consents"))

        withdrawn = cast(list[str], d.pop("withdrawn"))

        objection_body = cls(
            consents=consents,
            withdrawn=withdrawn,
        )

        objection_body.additional_properties = d
        return objection_body

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
