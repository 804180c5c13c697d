from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.receipt import Receipt


T = TypeVar("T", bound="SignedReceipt")


@_attrs_define
class SignedReceipt:
    """A receipt and its signature: HMAC-SHA-256 over the receipt's JSON under a key derived from
    the server secret.

        Attributes:
            receipt (Receipt): What an erasure did, as signed by the server.
            signature (str): Hex; check it with `candor dsr verify-receipt` or `POST /v1/dsr/receipts/verify`.
    """

    receipt: Receipt
    signature: str

    def to_dict(self) -> dict[str, Any]:
        receipt = self.receipt.to_dict()

        signature = self.signature

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "receipt": receipt,
                "signature": signature,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.receipt import Receipt  # noqa: PLC0415

        d = dict(src_dict)
        receipt = Receipt.from_dict(d.pop("receipt"))

        signature = d.pop("signature")

        signed_receipt = cls(
            receipt=receipt,
            signature=signature,
        )

        return signed_receipt
