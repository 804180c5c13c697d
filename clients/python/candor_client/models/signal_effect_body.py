from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="SignalEffectBody")


@_attrs_define
class SignalEffectBody:
    """What one signal set.

    Attributes:
        denied (list[str]): Purposes the signal denies.
        granted (list[str]): Purposes the signal grants (a grant never lifts a Global Privacy Control opt-out).
        signal (str): `tcf`, `gpp`, `usp`, `consent_mode` or `gpc`.
    """

    denied: list[str]
    granted: list[str]
    signal: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        denied = self.denied

        granted = self.granted

        signal = self.signal

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "denied": denied,
                "granted": granted,
                "signal": signal,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        denied = cast(list[str], d.pop("denied"))

        granted = cast(list[str], d.pop("granted"))

        signal = d.pop("signal")

        signal_effect_body = cls(
            denied=denied,
            granted=granted,
            signal=signal,
        )

        signal_effect_body.additional_properties = d
        return signal_effect_body

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
