from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.attribute_report_body import AttributeReportBody


T = TypeVar("T", bound="GroupFairnessBody")


@_attrs_define
class GroupFairnessBody:
    """
    Attributes:
        by_attribute (list[AttributeReportBody]):
        flagged (bool): Any attribute's parity ratio is below 0.8.
        n_audited (int): People with usable attributes (declared, `fairness_audit` granted) who were counted.
        title (str):
    """

    by_attribute: list[AttributeReportBody]
    flagged: bool
    n_audited: int
    title: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        by_attribute = []
        for by_attribute_item_data in self.by_attribute:
            by_attribute_item = by_attribute_item_data.to_dict()
            by_attribute.append(by_attribute_item)

        flagged = self.flagged

        n_audited = self.n_audited

        title = self.title

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "by_attribute": by_attribute,
                "flagged": flagged,
                "n_audited": n_audited,
                "title": title,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.attribute_report_body import AttributeReportBody  # noqa: PLC0415

        d = dict(src_dict)
        by_attribute = []
        _by_attribute = d.pop("by_attribute")
        for by_attribute_item_data in _by_attribute:
            by_attribute_item = AttributeReportBody.from_dict(by_attribute_item_data)

            by_attribute.append(by_attribute_item)

        flagged = d.pop("flagged")

        n_audited = d.pop("n_audited")

        title = d.pop("title")

        group_fairness_body = cls(
            by_attribute=by_attribute,
            flagged=flagged,
            n_audited=n_audited,
            title=title,
        )

        group_fairness_body.additional_properties = d
        return group_fairness_body

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
