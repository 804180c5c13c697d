from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="FeedbackInput")


@_attrs_define
class FeedbackInput:
    """One piece of feedback, by `action`:

    - `not_interested` with `item` or `category`: left out of every list from now on;
    - `interested_again` with `item` or `category`: undoes `not_interested`;
    - `remove_from_history` with `item`: the person's events with the item are deleted, their
      profile rebuilt, and the shared models forget them at the next rebuild;
    - `pause_personalization` / `resume_personalization`: lists are non-personalized while
      paused; consent is untouched;
    - `self_exclude`: items of the policy's restricted categories for self-excluded people are
      never shown again. Lifting a self-exclusion is deliberately not offered here.

        Attributes:
            action (str): `not_interested`, `interested_again`, `remove_from_history`, `pause_personalization`,
                `resume_personalization` or `self_exclude`.
            category (None | str | Unset): A catalog category name.
            item (None | str | Unset): An item id from the catalog.
    """

    action: str
    category: None | str | Unset = UNSET
    item: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        action = self.action

        category: None | str | Unset
        if isinstance(self.category, Unset):
            category = UNSET
        else:
            category = self.category

        item: None | str | Unset
        if isinstance(self.item, Unset):
            item = UNSET
        else:
            item = self.item

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "action": action,
            }
        )
        if category is not UNSET:
            field_dict["category"] = category
        if item is not UNSET:
            field_dict["item"] = item

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        action = d.pop("action")

        def _parse_category(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        category = _parse_category(d.pop("category", UNSET))

        def _parse_item(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        item = _parse_item(d.pop("item", UNSET))

        feedback_input = cls(
            action=action,
            category=category,
            item=item,
        )

        return feedback_input
