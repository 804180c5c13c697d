from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.consent_record_body import ConsentRecordBody


T = TypeVar("T", bound="PurposeUsedBody")


@_attrs_define
class PurposeUsedBody:
    """
    Attributes:
        allowed (bool):
        legal_basis (str):
        purpose (str):
        reason (str): Why the purpose is or is not allowed now.
        title (str):
        consent_record (ConsentRecordBody | None | Unset):
    """

    allowed: bool
    legal_basis: str
    purpose: str
    reason: str
    title: str
    consent_record: ConsentRecordBody | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.consent_record_body import ConsentRecordBody  # noqa: PLC0415

        allowed = self.allowed

        legal_basis = self.legal_basis

        purpose = self.purpose

        reason = self.reason

        title = self.title

        consent_record: dict[str, Any] | None | Unset
        if isinstance(self.consent_record, Unset):
            consent_record = UNSET
        elif isinstance(self.consent_record, ConsentRecordBody):
            consent_record = self.consent_record.to_dict()
        else:
            consent_record = self.consent_record

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "allowed": allowed,
                "legal_basis": legal_basis,
                "purpose": purpose,
                "reason": reason,
                "title": title,
            }
        )
        if consent_record is not UNSET:
            field_dict["consent_record"] = consent_record

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.consent_record_body import ConsentRecordBody  # noqa: PLC0415

        d = dict(src_dict)
        allowed = d.pop("allowed")

        legal_basis = d.pop("legal_basis")

        purpose = d.pop("purpose")

        reason = d.pop("reason")

        title = d.pop("title")

        def _parse_consent_record(data: object) -> ConsentRecordBody | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                consent_record_type_1 = ConsentRecordBody.from_dict(data)

                return consent_record_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ConsentRecordBody | None | Unset, data)

        consent_record = _parse_consent_record(d.pop("consent_record", UNSET))

        purpose_used_body = cls(
            allowed=allowed,
            legal_basis=legal_basis,
            purpose=purpose,
            reason=reason,
            title=title,
            consent_record=consent_record,
        )

        purpose_used_body.additional_properties = d
        return purpose_used_body

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
