from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.interest_body import InterestBody


T = TypeVar("T", bound="InferredBody")


@_attrs_define
class InferredBody:
    """What Candor inferred from it.

    Attributes:
        interests (list[InterestBody]): Interest in catalog categories, strongest first.
        muted_interests (list[str]): Interests the person asked Candor to forget; never inferred again.
        n_adds (int):
        n_purchases (int):
        n_views (int):
        last_seen (None | str | Unset):
    """

    interests: list[InterestBody]
    muted_interests: list[str]
    n_adds: int
    n_purchases: int
    n_views: int
    last_seen: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        interests = []
        for interests_item_data in self.interests:
            interests_item = interests_item_data.to_dict()
            interests.append(interests_item)

        muted_interests = self.muted_interests

        n_adds = self.n_adds

        n_purchases = self.n_purchases

        n_views = self.n_views

        last_seen: None | str | Unset
        if isinstance(self.last_seen, Unset):
            last_seen = UNSET
        else:
            last_seen = self.last_seen

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "interests": interests,
                "muted_interests": muted_interests,
                "n_adds": n_adds,
                "n_purchases": n_purchases,
                "n_views": n_views,
            }
        )
        if last_seen is not UNSET:
            field_dict["last_seen"] = last_seen

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.interest_body import InterestBody  # noqa: PLC0415

        d = dict(src_dict)
        interests = []
        _interests = d.pop("interests")
        for interests_item_data in _interests:
            interests_item = InterestBody.from_dict(interests_item_data)

            interests.append(interests_item)

        muted_interests = cast(list[str], d.pop("muted_interests"))

        n_adds = d.pop("n_adds")

        n_purchases = d.pop("n_purchases")

        n_views = d.pop("n_views")

        def _parse_last_seen(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_seen = _parse_last_seen(d.pop("last_seen", UNSET))

        inferred_body = cls(
            interests=interests,
            muted_interests=muted_interests,
            n_adds=n_adds,
            n_purchases=n_purchases,
            n_views=n_views,
            last_seen=last_seen,
        )

        inferred_body.additional_properties = d
        return inferred_body

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
