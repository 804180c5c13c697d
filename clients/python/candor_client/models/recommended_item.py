from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.item_reason import ItemReason


T = TypeVar("T", bound="RecommendedItem")


@_attrs_define
class RecommendedItem:
    """One recommended item.

    Attributes:
        categories (list[str]):
        id (str):
        reasons (list[ItemReason]):
        score (float): The model's relevance score (only comparable within one list).
        title (str):
    """

    categories: list[str]
    id: str
    reasons: list[ItemReason]
    score: float
    title: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        categories = self.categories

        id = self.id

        reasons = []
        for reasons_item_data in self.reasons:
            reasons_item = reasons_item_data.to_dict()
            reasons.append(reasons_item)

        score = self.score

        title = self.title

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "categories": categories,
                "id": id,
                "reasons": reasons,
                "score": score,
                "title": title,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.item_reason import ItemReason  # noqa: PLC0415

        d = dict(src_dict)
        categories = cast(list[str], d.pop("categories"))

        id = d.pop("id")

        reasons = []
        _reasons = d.pop("reasons")
        for reasons_item_data in _reasons:
            reasons_item = ItemReason.from_dict(reasons_item_data)

            reasons.append(reasons_item)

        score = d.pop("score")

        title = d.pop("title")

        recommended_item = cls(
            categories=categories,
            id=id,
            reasons=reasons,
            score=score,
            title=title,
        )

        recommended_item.additional_properties = d
        return recommended_item

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
