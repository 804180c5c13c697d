from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.item_body_attributes import ItemBodyAttributes


T = TypeVar("T", bound="ItemBody")


@_attrs_define
class ItemBody:
    """
    Attributes:
        id (str):
        title (str):
        attributes (ItemBodyAttributes | Unset): Free-form attributes.
        categories (list[str] | Unset):
        provider (str | Unset): Provider or brand, for exposure fairness across providers.
        restricted (list[str] | Unset): Restricted categories from the policy (alcohol, gambling...) the item belongs
            to.
    """

    id: str
    title: str
    attributes: ItemBodyAttributes | Unset = UNSET
    categories: list[str] | Unset = UNSET
    provider: str | Unset = UNSET
    restricted: list[str] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        title = self.title

        attributes: dict[str, Any] | Unset = UNSET
        if not isinstance(self.attributes, Unset):
            attributes = self.attributes.to_dict()

        categories: list[str] | Unset = UNSET
        if not isinstance(self.categories, Unset):
            categories = self.categories

        provider = self.provider

        restricted: list[str] | Unset = UNSET
        if not isinstance(self.restricted, Unset):
            restricted = self.restricted

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
                "title": title,
            }
        )
        if attributes is not UNSET:
            field_dict["attributes"] = attributes
        if categories is not UNSET:
            field_dict["categories"] = categories
        if provider is not UNSET:
            field_dict["provider"] = provider
        if restricted is not UNSET:
            field_dict["restricted"] = restricted

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.item_body_attributes import ItemBodyAttributes  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        title = d.pop("title")

        _attributes = d.pop("attributes", UNSET)
        attributes: ItemBodyAttributes | Unset
        if isinstance(_attributes, Unset):
            attributes = UNSET
        else:
            attributes = ItemBodyAttributes.from_dict(_attributes)

        categories = cast(list[str], d.pop("categories", UNSET))

        provider = d.pop("provider", UNSET)

        restricted = cast(list[str], d.pop("restricted", UNSET))

        item_body = cls(
            id=id,
            title=title,
            attributes=attributes,
            categories=categories,
            provider=provider,
            restricted=restricted,
        )

        return item_body
