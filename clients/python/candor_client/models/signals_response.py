from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.purpose_state_body import PurposeStateBody
    from ..models.signal_effect_body import SignalEffectBody


T = TypeVar("T", bound="SignalsResponse")


@_attrs_define
class SignalsResponse:
    """The consent state after the signals were recorded, and what each signal set.

    Attributes:
        policy_version (str):
        purposes (list[PurposeStateBody]):
        signals (list[SignalEffectBody]):
    """

    policy_version: str
    purposes: list[PurposeStateBody]
    signals: list[SignalEffectBody]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        policy_version = self.policy_version

        purposes = []
        for purposes_item_data in self.purposes:
            purposes_item = purposes_item_data.to_dict()
            purposes.append(purposes_item)

        signals = []
        for signals_item_data in self.signals:
            signals_item = signals_item_data.to_dict()
            signals.append(signals_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "policy_version": policy_version,
                "purposes": purposes,
                "signals": signals,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.purpose_state_body import PurposeStateBody  # noqa: PLC0415
        from ..models.signal_effect_body import SignalEffectBody  # noqa: PLC0415

        d = dict(src_dict)
        policy_version = d.pop("policy_version")

        purposes = []
        _purposes = d.pop("purposes")
        for purposes_item_data in _purposes:
            purposes_item = PurposeStateBody.from_dict(purposes_item_data)

            purposes.append(purposes_item)

        signals = []
        _signals = d.pop("signals")
        for signals_item_data in _signals:
            signals_item = SignalEffectBody.from_dict(signals_item_data)

            signals.append(signals_item)

        signals_response = cls(
            policy_version=policy_version,
            purposes=purposes,
            signals=signals,
        )

        signals_response.additional_properties = d
        return signals_response

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
