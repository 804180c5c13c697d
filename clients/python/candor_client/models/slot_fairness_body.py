from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.group_fairness_body import GroupFairnessBody
    from ..models.item_side_body import ItemSideBody


T = TypeVar("T", bound="SlotFairnessBody")


@_attrs_define
class SlotFairnessBody:
    """
    Attributes:
        empty (bool): Nothing was shown in this slot in the period: there is nothing to measure.
        items (ItemSideBody):
        n_exposed_subjects (int):
        n_exposures (int):
        people (GroupFairnessBody):
        since (str):
        slot (str):
    """

    empty: bool
    items: ItemSideBody
    n_exposed_subjects: int
    n_exposures: int
    people: GroupFairnessBody
    since: str
    slot: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        empty = self.empty

        items = self.items.to_dict()

        n_exposed_subjects = self.n_exposed_subjects

        n_exposures = self.n_exposures

        people = self.people.to_dict()

        since = self.since

        slot = self.slot

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "empty": empty,
                "items": items,
                "n_exposed_subjects": n_exposed_subjects,
                "n_exposures": n_exposures,
                "people": people,
                "since": since,
                "slot": slot,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.group_fairness_body import GroupFairnessBody  # noqa: PLC0415
        from ..models.item_side_body import ItemSideBody  # noqa: PLC0415

        d = dict(src_dict)
        empty = d.pop("empty")

        items = ItemSideBody.from_dict(d.pop("items"))

        n_exposed_subjects = d.pop("n_exposed_subjects")

        n_exposures = d.pop("n_exposures")

        people = GroupFairnessBody.from_dict(d.pop("people"))

        since = d.pop("since")

        slot = d.pop("slot")

        slot_fairness_body = cls(
            empty=empty,
            items=items,
            n_exposed_subjects=n_exposed_subjects,
            n_exposures=n_exposures,
            people=people,
            since=since,
            slot=slot,
        )

        slot_fairness_body.additional_properties = d
        return slot_fairness_body

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
