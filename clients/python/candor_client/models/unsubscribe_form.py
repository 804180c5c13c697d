from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="UnsubscribeForm")


@_attrs_define
class UnsubscribeForm:
    """What a mail client's one-click unsubscribe posts (RFC 8058): nothing, or exactly
    `List-Unsubscribe=One-Click`. Documentation only: the handler compares the bytes.

        Attributes:
            list_unsubscribe (None | str | Unset):  Example: One-Click.
    """

    list_unsubscribe: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        list_unsubscribe: None | str | Unset
        if isinstance(self.list_unsubscribe, Unset):
            list_unsubscribe = UNSET
        else:
            list_unsubscribe = self.list_unsubscribe

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if list_unsubscribe is not UNSET:
            field_dict["List-Unsubscribe"] = list_unsubscribe

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_list_unsubscribe(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        list_unsubscribe = _parse_list_unsubscribe(d.pop("List-Unsubscribe", UNSET))

        unsubscribe_form = cls(
            list_unsubscribe=list_unsubscribe,
        )

        unsubscribe_form.additional_properties = d
        return unsubscribe_form

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
