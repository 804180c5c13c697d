from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.data_used_body import DataUsedBody
    from ..models.explained_item import ExplainedItem
    from ..models.interest_body import InterestBody
    from ..models.purpose_used_body import PurposeUsedBody


T = TypeVar("T", bound="ExplanationBody")


@_attrs_define
class ExplanationBody:
    """
    Attributes:
        data_used (DataUsedBody):
        interests_used (list[InterestBody]): The person's interests in the item's categories, as used.
        item (ExplainedItem):
        personalized (bool): Whether anything about the person may shape what they see of this item.
        purposes (list[PurposeUsedBody]): The personalization purposes and the consent each relied on.
        reasons (list[str]): The reasons, as sentences.
    """

    data_used: DataUsedBody
    interests_used: list[InterestBody]
    item: ExplainedItem
    personalized: bool
    purposes: list[PurposeUsedBody]
    reasons: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data_used = self.data_used.to_dict()

        interests_used = []
        for interests_used_item_data in self.interests_used:
            interests_used_item = interests_used_item_data.to_dict()
            interests_used.append(interests_used_item)

        item = self.item.to_dict()

        personalized = self.personalized

        purposes = []
        for purposes_item_data in self.purposes:
            purposes_item = purposes_item_data.to_dict()
            purposes.append(purposes_item)

        reasons = self.reasons

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "data_used": data_used,
                "interests_used": interests_used,
                "item": item,
                "personalized": personalized,
                "purposes": purposes,
                "reasons": reasons,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.data_used_body import DataUsedBody  # noqa: PLC0415
        from ..models.explained_item import ExplainedItem  # noqa: PLC0415
        from ..models.interest_body import InterestBody  # noqa: PLC0415
        from ..models.purpose_used_body import PurposeUsedBody  # noqa: PLC0415

        d = dict(src_dict)
        data_used = DataUsedBody.from_dict(d.pop("data_used"))

        interests_used = []
        _interests_used = d.pop("interests_used")
        for interests_used_item_data in _interests_used:
            interests_used_item = InterestBody.from_dict(interests_used_item_data)

            interests_used.append(interests_used_item)

        item = ExplainedItem.from_dict(d.pop("item"))

        personalized = d.pop("personalized")

        purposes = []
        _purposes = d.pop("purposes")
        for purposes_item_data in _purposes:
            purposes_item = PurposeUsedBody.from_dict(purposes_item_data)

            purposes.append(purposes_item)

        reasons = cast(list[str], d.pop("reasons"))

        explanation_body = cls(
            data_used=data_used,
            interests_used=interests_used,
            item=item,
            personalized=personalized,
            purposes=purposes,
            reasons=reasons,
        )

        explanation_body.additional_properties = d
        return explanation_body

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
