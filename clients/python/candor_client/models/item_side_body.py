from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.decile_body import DecileBody
    from ..models.provider_share_body import ProviderShareBody


T = TypeVar("T", bound="ItemSideBody")


@_attrs_define
class ItemSideBody:
    """
    Attributes:
        n_catalog_items (int):
        n_exposures (int):
        n_exposures_outside_catalog (int):
        popularity_deciles (list[DecileBody]):
        providers (list[ProviderShareBody]):
        coverage (float | None | Unset): Share of the catalog shown at least once.
        gini (float | None | Unset):
        head_share (float | None | Unset):
        popularity_lift (float | None | Unset):
    """

    n_catalog_items: int
    n_exposures: int
    n_exposures_outside_catalog: int
    popularity_deciles: list[DecileBody]
    providers: list[ProviderShareBody]
    coverage: float | None | Unset = UNSET
    gini: float | None | Unset = UNSET
    head_share: float | None | Unset = UNSET
    popularity_lift: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        n_catalog_items = self.n_catalog_items

        n_exposures = self.n_exposures

        n_exposures_outside_catalog = self.n_exposures_outside_catalog

        popularity_deciles = []
        for popularity_deciles_item_data in self.popularity_deciles:
            popularity_deciles_item = popularity_deciles_item_data.to_dict()
            popularity_deciles.append(popularity_deciles_item)

        providers = []
        for providers_item_data in self.providers:
            providers_item = providers_item_data.to_dict()
            providers.append(providers_item)

        coverage: float | None | Unset
        if isinstance(self.coverage, Unset):
            coverage = UNSET
        else:
            coverage = self.coverage

        gini: float | None | Unset
        if isinstance(self.gini, Unset):
            gini = UNSET
        else:
            gini = self.gini

        head_share: float | None | Unset
        if isinstance(self.head_share, Unset):
            head_share = UNSET
        else:
            head_share = self.head_share

        popularity_lift: float | None | Unset
        if isinstance(self.popularity_lift, Unset):
            popularity_lift = UNSET
        else:
            popularity_lift = self.popularity_lift

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "n_catalog_items": n_catalog_items,
                "n_exposures": n_exposures,
                "n_exposures_outside_catalog": n_exposures_outside_catalog,
                "popularity_deciles": popularity_deciles,
                "providers": providers,
            }
        )
        if coverage is not UNSET:
            field_dict["coverage"] = coverage
        if gini is not UNSET:
            field_dict["gini"] = gini
        if head_share is not UNSET:
            field_dict["head_share"] = head_share
        if popularity_lift is not UNSET:
            field_dict["popularity_lift"] = popularity_lift

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.decile_body import DecileBody  # noqa: PLC0415
        from ..models.provider_share_body import ProviderShareBody  # noqa: PLC0415

        d = dict(src_dict)
        n_catalog_items = d.pop("n_catalog_items")

        n_exposures = d.pop("n_exposures")

        n_exposures_outside_catalog = d.pop("n_exposures_outside_catalog")

        popularity_deciles = []
        _popularity_deciles = d.pop("popularity_deciles")
        for popularity_deciles_item_data in _popularity_deciles:
            popularity_deciles_item = DecileBody.from_dict(popularity_deciles_item_data)

            popularity_deciles.append(popularity_deciles_item)

        providers = []
        _providers = d.pop("providers")
        for providers_item_data in _providers:
            providers_item = ProviderShareBody.from_dict(providers_item_data)

            providers.append(providers_item)

        def _parse_coverage(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        coverage = _parse_coverage(d.pop("coverage", UNSET))

        def _parse_gini(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        gini = _parse_gini(d.pop("gini", UNSET))

        def _parse_head_share(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        head_share = _parse_head_share(d.pop("head_share", UNSET))

        def _parse_popularity_lift(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        popularity_lift = _parse_popularity_lift(d.pop("popularity_lift", UNSET))

        item_side_body = cls(
            n_catalog_items=n_catalog_items,
            n_exposures=n_exposures,
            n_exposures_outside_catalog=n_exposures_outside_catalog,
            popularity_deciles=popularity_deciles,
            providers=providers,
            coverage=coverage,
            gini=gini,
            head_share=head_share,
            popularity_lift=popularity_lift,
        )

        item_side_body.additional_properties = d
        return item_side_body

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
