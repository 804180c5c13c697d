from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.disparities_body import DisparitiesBody
    from ..models.group_body import GroupBody


T = TypeVar("T", bound="AttributeReportBody")


@_attrs_define
class AttributeReportBody:
    """
    Attributes:
        attribute (str):
        between_groups (DisparitiesBody):
        groups (list[GroupBody]):
        k_min (int):
        n_suppressed (int):
        n_undeclared (int): Audited people who did not declare this attribute.
        title (str):
        to_overall (DisparitiesBody):
        four_fifths_flag (bool | None | Unset): Parity ratio below 0.8 (the four-fifths rule); absent with fewer than
            two groups shown.
        overall_selection_rate (float | None | Unset):
    """

    attribute: str
    between_groups: DisparitiesBody
    groups: list[GroupBody]
    k_min: int
    n_suppressed: int
    n_undeclared: int
    title: str
    to_overall: DisparitiesBody
    four_fifths_flag: bool | None | Unset = UNSET
    overall_selection_rate: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        attribute = self.attribute

        between_groups = self.between_groups.to_dict()

        groups = []
        for groups_item_data in self.groups:
            groups_item = groups_item_data.to_dict()
            groups.append(groups_item)

        k_min = self.k_min

        n_suppressed = self.n_suppressed

        n_undeclared = self.n_undeclared

        title = self.title

        to_overall = self.to_overall.to_dict()

        four_fifths_flag: bool | None | Unset
        if isinstance(self.four_fifths_flag, Unset):
            four_fifths_flag = UNSET
        else:
            four_fifths_flag = self.four_fifths_flag

        overall_selection_rate: float | None | Unset
        if isinstance(self.overall_selection_rate, Unset):
            overall_selection_rate = UNSET
        else:
            overall_selection_rate = self.overall_selection_rate

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "attribute": attribute,
                "between_groups": between_groups,
                "groups": groups,
                "k_min": k_min,
                "n_suppressed": n_suppressed,
                "n_undeclared": n_undeclared,
                "title": title,
                "to_overall": to_overall,
            }
        )
        if four_fifths_flag is not UNSET:
            field_dict["four_fifths_flag"] = four_fifths_flag
        if overall_selection_rate is not UNSET:
            field_dict["overall_selection_rate"] = overall_selection_rate

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.disparities_body import DisparitiesBody  # noqa: PLC0415
        from ..models.group_body import GroupBody  # noqa: PLC0415

        d = dict(src_dict)
        attribute = d.pop("attribute")

        between_groups = DisparitiesBody.from_dict(d.pop("between_groups"))

        groups = []
        _groups = d.pop("groups")
        for groups_item_data in _groups:
            groups_item = GroupBody.from_dict(groups_item_data)

            groups.append(groups_item)

        k_min = d.pop("k_min")

        n_suppressed = d.pop("n_suppressed")

        n_undeclared = d.pop("n_undeclared")

        title = d.pop("title")

        to_overall = DisparitiesBody.from_dict(d.pop("to_overall"))

        def _parse_four_fifths_flag(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        four_fifths_flag = _parse_four_fifths_flag(d.pop("four_fifths_flag", UNSET))

        def _parse_overall_selection_rate(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        overall_selection_rate = _parse_overall_selection_rate(d.pop("overall_selection_rate", UNSET))

        attribute_report_body = cls(
            attribute=attribute,
            between_groups=between_groups,
            groups=groups,
            k_min=k_min,
            n_suppressed=n_suppressed,
            n_undeclared=n_undeclared,
            title=title,
            to_overall=to_overall,
            four_fifths_flag=four_fifths_flag,
            overall_selection_rate=overall_selection_rate,
        )

        attribute_report_body.additional_properties = d
        return attribute_report_body

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
