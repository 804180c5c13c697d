from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.recommended_item import RecommendedItem


T = TypeVar("T", bound="SimilarBody")


@_attrs_define
class SimilarBody:
    """Items similar to one item.

    Attributes:
        item (str):
        items (list[RecommendedItem]):
        model_built_at (None | str | Unset):
    """

    item: str
    items: list[RecommendedItem]
    model_built_at: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        item = self.item

        items = []
        for items_item_data in self.items:
            items_item = items_item_data.to_dict()
            items.append(items_item)

        model_built_at: None | str | Unset
        if isinstance(self.model_built_at, Unset):
            model_built_at = UNSET
        else:
            model_built_at = self.model_built_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "item": item,
                "items": items,
            }
        )
        if model_built_at is not UNSET:
            field_dict["model_built_at"] = model_built_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.recommended_item import RecommendedItem  # noqa: PLC0415

        d = dict(src_dict)
        item = d.pop("item")

        items = []
        _items = d.pop("items")
        for items_item_data in _items:
            items_item = RecommendedItem.from_dict(items_item_data)

            items.append(items_item)

        def _parse_model_built_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        model_built_at = _parse_model_built_at(d.pop("model_built_at", UNSET))

        similar_body = cls(
            item=item,
            items=items,
            model_built_at=model_built_at,
        )

        similar_body.additional_properties = d
        return similar_body

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
