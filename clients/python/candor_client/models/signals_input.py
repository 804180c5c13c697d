from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.signals_input_consent_mode_type_0 import SignalsInputConsentModeType0


T = TypeVar("T", bound="SignalsInput")


@_attrs_define
class SignalsInput:
    """Consent signals as a page or a consent-management platform holds them. Send any of them,
    at least one (a `Sec-GPC: 1` header counts as one).

        Attributes:
            consent_mode (None | SignalsInputConsentModeType0 | Unset): Google Consent Mode v2 states: `ad_storage`,
                `analytics_storage`, `ad_user_data`,
                `ad_personalization`, each `granted` or `denied`.
            gpc (bool | None | Unset): The browser's Global Privacy Control (`navigator.globalPrivacyControl`).
            gpp (None | str | Unset): An IAB GPP string; its TCF EU v2, US National and US Privacy sections are read.
            tcf (None | str | Unset): An IAB TCF v2.2 TC string.
            usp (None | str | Unset): A US Privacy (`uspv1`) string such as `1YNN`.
    """

    consent_mode: None | SignalsInputConsentModeType0 | Unset = UNSET
    gpc: bool | None | Unset = UNSET
    gpp: None | str | Unset = UNSET
    tcf: None | str | Unset = UNSET
    usp: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.signals_input_consent_mode_type_0 import SignalsInputConsentModeType0  # noqa: PLC0415

        consent_mode: dict[str, Any] | None | Unset
        if isinstance(self.consent_mode, Unset):
            consent_mode = UNSET
        elif isinstance(self.consent_mode, SignalsInputConsentModeType0):
            consent_mode = self.consent_mode.to_dict()
        else:
            consent_mode = self.consent_mode

        gpc: bool | None | Unset
        if isinstance(self.gpc, Unset):
            gpc = UNSET
        else:
            gpc = self.gpc

        gpp: None | str | Unset
        if isinstance(self.gpp, Unset):
            gpp = UNSET
        else:
            gpp = self.gpp

        tcf: None | str | Unset
        if isinstance(self.tcf, Unset):
            tcf = UNSET
        else:
            tcf = self.tcf

        usp: None | str | Unset
        if isinstance(self.usp, Unset):
            usp = UNSET
        else:
            usp = self.usp

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if consent_mode is not UNSET:
            field_dict["consent_mode"] = consent_mode
        if gpc is not UNSET:
            field_dict["gpc"] = gpc
        if gpp is not UNSET:
            field_dict["gpp"] = gpp
        if tcf is not UNSET:
            field_dict["tcf"] = tcf
        if usp is not UNSET:
            field_dict["usp"] = usp

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.signals_input_consent_mode_type_0 import SignalsInputConsentModeType0  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_consent_mode(data: object) -> None | SignalsInputConsentModeType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                consent_mode_type_0 = SignalsInputConsentModeType0.from_dict(data)

                return consent_mode_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SignalsInputConsentModeType0 | Unset, data)

        consent_mode = _parse_consent_mode(d.pop("consent_mode", UNSET))

        def _parse_gpc(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        gpc = _parse_gpc(d.pop("gpc", UNSET))

        def _parse_gpp(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        gpp = _parse_gpp(d.pop("gpp", UNSET))

        def _parse_tcf(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        tcf = _parse_tcf(d.pop("tcf", UNSET))

        def _parse_usp(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        usp = _parse_usp(d.pop("usp", UNSET))

        signals_input = cls(
            consent_mode=consent_mode,
            gpc=gpc,
            gpp=gpp,
            tcf=tcf,
            usp=usp,
        )

        return signals_input
