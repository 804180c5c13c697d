from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ProviderShareBody")


@_attrs_define
class ProviderShareBody:
    """
    Attributes:
        n_exposures (int):
        n_items (int):
        provider (str):
        share (float | None | Unset):
    """

    n_exposures: int
    n_items: int
    provider: str
    share: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        n_exposures = self.n_exposures

        n_items = self.n_items

        provider = self.provider

        share: float | None | Unset
        if isinstance(self.share, Unset):
            share = UNSET
        else:
            share = self.share

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "n_exposures": n_exposures,
                "n_items": n_items,
                "provider": provider,
            }
        )
        if share is not UNSET:
            field_dict["share"] = share

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        n_exposures = d.pop("n_exposures")

        n_items = d.pop("n_items")

        provider = d.pop("provider")

        def _parse_share(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        share = _parse_share(d.pop("share", UNSET))

        provider_share_body = cls(
            n_exposures=n_exposures,
            n_items=n_items,
            provider=provider,
            share=share,
        )

        provider_share_body.additional_properties = d
        return provider_share_body

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
