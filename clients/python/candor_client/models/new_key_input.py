from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="NewKeyInput")


@_attrs_define
class NewKeyInput:
    """
    Attributes:
        scopes (list[str]): `ingest`, `decide`, `sessions`, `admin` (server keys) or `publishable` alone.
        allowed_origins (list[str] | Unset): Browser origins allowed to use the key (required for a publishable key).
        label (str | Unset): A name for people (at most 200 characters).
        ttl_seconds (int | None | Unset): Seconds until the key stops working (at most ten years); it never expires when
            absent.
    """

    scopes: list[str]
    allowed_origins: list[str] | Unset = UNSET
    label: str | Unset = UNSET
    ttl_seconds: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        scopes = self.scopes

        allowed_origins: list[str] | Unset = UNSET
        if not isinstance(self.allowed_origins, Unset):
            allowed_origins = self.allowed_origins

        label = self.label

        ttl_seconds: int | None | Unset
        if isinstance(self.ttl_seconds, Unset):
            ttl_seconds = UNSET
        else:
            ttl_seconds = self.ttl_seconds

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "scopes": scopes,
            }
        )
        if allowed_origins is not UNSET:
            field_dict["allowed_origins"] = allowed_origins
        if label is not UNSET:
            field_dict["label"] = label
        if ttl_seconds is not UNSET:
            field_dict["ttl_seconds"] = ttl_seconds

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        scopes = cast(list[str], d.pop("scopes"))

        allowed_origins = cast(list[str], d.pop("allowed_origins", UNSET))

        label = d.pop("label", UNSET)

        def _parse_ttl_seconds(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        ttl_seconds = _parse_ttl_seconds(d.pop("ttl_seconds", UNSET))

        new_key_input = cls(
            scopes=scopes,
            allowed_origins=allowed_origins,
            label=label,
            ttl_seconds=ttl_seconds,
        )

        return new_key_input
