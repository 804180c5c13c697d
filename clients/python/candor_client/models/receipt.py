from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.receipt_deleted import ReceiptDeleted


T = TypeVar("T", bound="Receipt")


@_attrs_define
class Receipt:
    """What an erasure did, as signed by the server.

    Attributes:
        completed_at (str):
        consent_proof_kept (int): Consent-proof tombstones kept (choices and times only, under a one-way hash).
        data_key_destroyed (bool): Whether the subject's data key was destroyed (contact data sealed with it, in any
            backup too, can no longer be opened).
        deleted (ReceiptDeleted): Rows deleted per kind of data (`events`, `consents`, `contact`, `data_key`...).
        format_ (str): Always `candor-erasure-receipt/1`.
        request_id (int): The id of the request in the request log (`GET /v1/dsr`).
        requested_at (str):
        subject_ref (str): A keyed hash of the subject: the controller can recompute it from the person's id,
            nobody else can.
    """

    completed_at: str
    consent_proof_kept: int
    data_key_destroyed: bool
    deleted: ReceiptDeleted
    format_: str
    request_id: int
    requested_at: str
    subject_ref: str

    def to_dict(self) -> dict[str, Any]:
        completed_at = self.completed_at

        consent_proof_kept = self.consent_proof_kept

        data_key_destroyed = self.data_key_destroyed

        deleted = self.deleted.to_dict()

        format_ = self.format_

        request_id = self.request_id

        requested_at = self.requested_at

        subject_ref = self.subject_ref

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "completed_at": completed_at,
                "consent_proof_kept": consent_proof_kept,
                "data_key_destroyed": data_key_destroyed,
                "deleted": deleted,
                "format": format_,
                "request_id": request_id,
                "requested_at": requested_at,
                "subject_ref": subject_ref,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.receipt_deleted import ReceiptDeleted  # noqa: PLC0415

        d = dict(src_dict)
        completed_at = d.pop("completed_at")

        consent_proof_kept = d.pop("consent_proof_kept")

        data_key_destroyed = d.pop("data_key_destroyed")

        deleted = ReceiptDeleted.from_dict(d.pop("deleted"))

        format_ = d.pop("format")

        request_id = d.pop("request_id")

        requested_at = d.pop("requested_at")

        subject_ref = d.pop("subject_ref")

        receipt = cls(
            completed_at=completed_at,
            consent_proof_kept=consent_proof_kept,
            data_key_destroyed=data_key_destroyed,
            deleted=deleted,
            format_=format_,
            request_id=request_id,
            requested_at=requested_at,
            subject_ref=subject_ref,
        )

        return receipt
