from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="KeyBody")


@_attrs_define
class KeyBody:
    """
    Attributes:
        allowed_origins (list[str]):
        created_at (str):
        id (str):
        kind (str): `server` (a shop's backend) or `publishable` (web pages).
        label (str):
        scopes (list[str]):
        status (str): `active`, `expired` or `revoked`.
        expires_at (None | str | Unset):
        revoked_at (None | str | Unset):
    """

    allowed_origins: list[str]
    created_at: str
    id: str
    kind: str
    label: str
    scopes: list[str]
    status: str
    expires_at: None | str | Unset = UNSET
    revoked_at: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        allowed_origins = self.allowed_origins

        created_at = self.created_at

        id = self.id

        kind = self.kind

        label = self.label

        scopes = self.scopes

        status = self.status

        expires_at: None | str | Unset
        if isinstance(self.expires_at, Unset):
            expires_at = UNSET
        else:
            expires_at = self.expires_at

        revoked_at: None | str | Unset
        if isinstance(self.revoked_at, Unset):
            revoked_at = UNSET
        else:
            revoked_at = self.revoked_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "allowed_origins": allowed_origins,
                "created_at": created_at,
                "id": id,
                "kind": kind,
                "label": label,
                "scopes": scopes,
                "status": status,
            }
        )
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at
        if revoked_at is not UNSET:
            field_dict["revoked_at"] = revoked_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        allowed_origins = cast(list[str], d.pop("allowed_origins"))

        created_at = d.pop("created_at")

        id = d.pop("id")

        kind = d.pop("kind")

        label = d.pop("label")

        scopes = cast(list[str], d.pop("scopes"))

        status = d.pop("status")

        def _parse_expires_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        expires_at = _parse_expires_at(d.pop("expires_at", UNSET))

        def _parse_revoked_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        revoked_at = _parse_revoked_at(d.pop("revoked_at", UNSET))

        key_body = cls(
            allowed_origins=allowed_origins,
            created_at=created_at,
            id=id,
            kind=kind,
            label=label,
            scopes=scopes,
            status=status,
            expires_at=expires_at,
            revoked_at=revoked_at,
        )

        key_body.additional_properties = d
        return key_body

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
