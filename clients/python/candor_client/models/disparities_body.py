from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="DisparitiesBody")


@_attrs_define
class DisparitiesBody:
    """
    Attributes:
        demographic_parity_difference (float | None | Unset):
        demographic_parity_ratio (float | None | Unset):
        equalized_odds_difference (float | None | Unset):
        equalized_odds_ratio (float | None | Unset):
    """

    demographic_parity_difference: float | None | Unset = UNSET
    demographic_parity_ratio: float | None | Unset = UNSET
    equalized_odds_difference: float | None | Unset = UNSET
    equalized_odds_ratio: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        demographic_parity_difference: float | None | Unset
        if isinstance(self.demographic_parity_difference, Unset):
            demographic_parity_difference = UNSET
        else:
            demographic_parity_difference = self.demographic_parity_difference

        demographic_parity_ratio: float | None | Unset
        if isinstance(self.demographic_parity_ratio, Unset):
            demographic_parity_ratio = UNSET
        else:
            demographic_parity_ratio = self.demographic_parity_ratio

        equalized_odds_difference: float | None | Unset
        if isinstance(self.equalized_odds_difference, Unset):
            equalized_odds_difference = UNSET
        else:
            equalized_odds_difference = self.equalized_odds_difference

        equalized_odds_ratio: float | None | Unset
        if isinstance(self.equalized_odds_ratio, Unset):
            equalized_odds_ratio = UNSET
        else:
            equalized_odds_ratio = self.equalized_odds_ratio

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if demographic_parity_difference is not UNSET:
            field_dict["demographic_parity_difference"] = demographic_parity_difference
        if demographic_parity_ratio is not UNSET:
            field_dict["demographic_parity_ratio"] = demographic_parity_ratio
        if equalized_odds_difference is not UNSET:
            field_dict["equalized_odds_difference"] = equalized_odds_difference
        if equalized_odds_ratio is not UNSET:
            field_dict["equalized_odds_ratio"] = equalized_odds_ratio

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_demographic_parity_difference(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        demographic_parity_difference = _parse_demographic_parity_difference(
            d.pop("demographic_parity_difference", UNSET)
        )

        def _parse_demographic_parity_ratio(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        demographic_parity_ratio = _parse_demographic_parity_ratio(d.pop("demographic_parity_ratio", UNSET))

        def _parse_equalized_odds_difference(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        equalized_odds_difference = _parse_equalized_odds_difference(d.pop("equalized_odds_difference", UNSET))

        def _parse_equalized_odds_ratio(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        equalized_odds_ratio = _parse_equalized_odds_ratio(d.pop("equalized_odds_ratio", UNSET))

        disparities_body = cls(
            demographic_parity_difference=demographic_parity_difference,
            demographic_parity_ratio=demographic_parity_ratio,
            equalized_odds_difference=equalized_odds_difference,
            equalized_odds_ratio=equalized_odds_ratio,
        )

        disparities_body.additional_properties = d
        return disparities_body

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
