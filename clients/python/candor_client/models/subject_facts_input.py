from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="SubjectFactsInput")


@_attrs_define
class SubjectFactsInput:
    """Facts the consent rules depend on.

    Attributes:
        age_band (None | str | Unset): Declared age band: `13-15`, `18+`, `under-13`.
        country (None | str | Unset): ISO 3166-1 alpha-2 country code, for the age of digital consent (either case).
    """

    age_band: None | str | Unset = UNSET
    country: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        age_band: None | str | Unset
        if isinstance(self.age_band, Unset):
            age_band = UNSET
        else:
            age_band = self.age_band

        country: None | str | Unset
        if isinstance(self.country, Unset):
            country = UNSET
        else:
            country = self.country

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if age_band is not UNSET:
            field_dict["age_band"] = age_band
        if country is not UNSET:
            field_dict["country"] = country

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_age_band(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        age_band = _parse_age_band(d.pop("age_band", UNSET))

        def _parse_country(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        country = _parse_country(d.pop("country", UNSET))

        subject_facts_input = cls(
            age_band=age_band,
            country=country,
        )

        return subject_facts_input
