from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.audit_attributes_input_attributes import AuditAttributesInputAttributes


T = TypeVar("T", bound="AuditAttributesInput")


@_attrs_define
class AuditAttributesInput:
    """Self-declared attributes for fairness audits only.

    Attributes:
        attributes (AuditAttributesInputAttributes): Kind to value: `gender`, `age_band`, `ethnicity`, `disability`,
            `religion`,
            `sexual_orientation`. Replaces everything declared before.
    """

    attributes: AuditAttributesInputAttributes

    def to_dict(self) -> dict[str, Any]:
        attributes = self.attributes.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "attributes": attributes,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.audit_attributes_input_attributes import AuditAttributesInputAttributes  # noqa: PLC0415

        d = dict(src_dict)
        attributes = AuditAttributesInputAttributes.from_dict(d.pop("attributes"))

        audit_attributes_input = cls(
            attributes=attributes,
        )

        return audit_attributes_input
