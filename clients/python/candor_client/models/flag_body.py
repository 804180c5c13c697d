from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.acknowledgement_body import AcknowledgementBody


T = TypeVar("T", bound="FlagBody")


@_attrs_define
class FlagBody:
    """One flag: a campaign run or a slot whose parity ratio is below 0.8.

    Attributes:
        flagged_at (str): When the run committed; for a slot, now (slots are measured on request).
        held (bool):
        id (str): The campaign id or the slot name.
        kind (str): `campaign` or `slot`.
        parity_ratio (float):
        acknowledged (AcknowledgementBody | None | Unset):
        run (None | str | Unset): The flagged run (campaigns only).
    """

    flagged_at: str
    held: bool
    id: str
    kind: str
    parity_ratio: float
    acknowledged: AcknowledgementBody | None | Unset = UNSET
    run: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.acknowledgement_body import AcknowledgementBody  # noqa: PLC0415

        flagged_at = self.flagged_at

        held = self.held

        id = self.id

        kind = self.kind

        parity_ratio = self.parity_ratio

        acknowledged: dict[str, Any] | None | Unset
        if isinstance(self.acknowledged, Unset):
            acknowledged = UNSET
        elif isinstance(self.acknowledged, AcknowledgementBody):
            acknowledged = self.acknowledged.to_dict()
        else:
            acknowledged = self.acknowledged

        run: None | str | Unset
        if isinstance(self.run, Unset):
            run = UNSET
        else:
            run = self.run

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "flagged_at": flagged_at,
                "held": held,
                "id": id,
                "kind": kind,
                "parity_ratio": parity_ratio,
            }
        )
        if acknowledged is not UNSET:
            field_dict["acknowledged"] = acknowledged
        if run is not UNSET:
            field_dict["run"] = run

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.acknowledgement_body import AcknowledgementBody  # noqa: PLC0415

        d = dict(src_dict)
        flagged_at = d.pop("flagged_at")

        held = d.pop("held")

        id = d.pop("id")

        kind = d.pop("kind")

        parity_ratio = d.pop("parity_ratio")

        def _parse_acknowledged(data: object) -> AcknowledgementBody | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                acknowledged_type_1 = AcknowledgementBody.from_dict(data)

                return acknowledged_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(AcknowledgementBody | None | Unset, data)

        acknowledged = _parse_acknowledged(d.pop("acknowledged", UNSET))

        def _parse_run(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        run = _parse_run(d.pop("run", UNSET))

        flag_body = cls(
            flagged_at=flagged_at,
            held=held,
            id=id,
            kind=kind,
            parity_ratio=parity_ratio,
            acknowledged=acknowledged,
            run=run,
        )

        flag_body.additional_properties = d
        return flag_body

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
