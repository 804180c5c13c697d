from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.page_body_audit_entry_body_items_item_details import PageBodyAuditEntryBodyItemsItemDetails


T = TypeVar("T", bound="PageBodyAuditEntryBodyItemsItem")


@_attrs_define
class PageBodyAuditEntryBodyItemsItem:
    """One entry of the audit chain, with everything needed to recompute its hash.

    Attributes:
        action (str): A stable code such as `consent_changed` or `personal_data_read`.
        actor (str): `api_key:<id>`, `subject`, `system` or `cli`.
        at (str):
        at_ms (int): Unix milliseconds, as hashed.
        details (PageBodyAuditEntryBodyItemsItemDetails):
        hash_ (str):
        prev_hash (str):
        seq (int):
        target (str): A pseudonymous reference such as `subject:<subject key hex>` or `policy`.
        purpose (None | str | Unset):
    """

    action: str
    actor: str
    at: str
    at_ms: int
    details: PageBodyAuditEntryBodyItemsItemDetails
    hash_: str
    prev_hash: str
    seq: int
    target: str
    purpose: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        action = self.action

        actor = self.actor

        at = self.at

        at_ms = self.at_ms

        details = self.details.to_dict()

        hash_ = self.hash_

        prev_hash = self.prev_hash

        seq = self.seq

        target = self.target

        purpose: None | str | Unset
        if isinstance(self.purpose, Unset):
            purpose = UNSET
        else:
            purpose = self.purpose

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "action": action,
                "actor": actor,
                "at": at,
                "at_ms": at_ms,
                "details": details,
                "hash": hash_,
                "prev_hash": prev_hash,
                "seq": seq,
                "target": target,
            }
        )
        if purpose is not UNSET:
            field_dict["purpose"] = purpose

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.page_body_audit_entry_body_items_item_details import PageBodyAuditEntryBodyItemsItemDetails  # noqa: PLC0415

        d = dict(src_dict)
        action = d.pop("action")

        actor = d.pop("actor")

        at = d.pop("at")

        at_ms = d.pop("at_ms")

        details = PageBodyAuditEntryBodyItemsItemDetails.from_dict(d.pop("details"))

        hash_ = d.pop("hash")

        prev_hash = d.pop("prev_hash")

        seq = d.pop("seq")

        target = d.pop("target")

        def _parse_purpose(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        purpose = _parse_purpose(d.pop("purpose", UNSET))

        page_body_audit_entry_body_items_item = cls(
            action=action,
            actor=actor,
            at=at,
            at_ms=at_ms,
            details=details,
            hash_=hash_,
            prev_hash=prev_hash,
            seq=seq,
            target=target,
            purpose=purpose,
        )

        page_body_audit_entry_body_items_item.additional_properties = d
        return page_body_audit_entry_body_items_item

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
