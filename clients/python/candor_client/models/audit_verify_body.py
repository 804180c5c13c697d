from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.first_bad_body import FirstBadBody


T = TypeVar("T", bound="AuditVerifyBody")


@_attrs_define
class AuditVerifyBody:
    """The verdict on the whole audit chain.

    Attributes:
        entries (int): Entries read (all of them, unless a row could not be read back).
        head (str): Hash of the last entry read (hex); 64 zeros when the log is empty.
        ok (bool): Every entry hashes, links to the one before and is numbered in order.
        first_bad (FirstBadBody | None | Unset):
    """

    entries: int
    head: str
    ok: bool
    first_bad: FirstBadBody | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.first_bad_body import FirstBadBody  # noqa: PLC0415

        entries = self.entries

        head = self.head

        ok = self.ok

        first_bad: dict[str, Any] | None | Unset
        if isinstance(self.first_bad, Unset):
            first_bad = UNSET
        elif isinstance(self.first_bad, FirstBadBody):
            first_bad = self.first_bad.to_dict()
        else:
            first_bad = self.first_bad

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "entries": entries,
                "head": head,
                "ok": ok,
            }
        )
        if first_bad is not UNSET:
            field_dict["first_bad"] = first_bad

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.first_bad_body import FirstBadBody  # noqa: PLC0415

        d = dict(src_dict)
        entries = d.pop("entries")

        head = d.pop("head")

        ok = d.pop("ok")

        def _parse_first_bad(data: object) -> FirstBadBody | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                first_bad_type_1 = FirstBadBody.from_dict(data)

                return first_bad_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(FirstBadBody | None | Unset, data)

        first_bad = _parse_first_bad(d.pop("first_bad", UNSET))

        audit_verify_body = cls(
            entries=entries,
            head=head,
            ok=ok,
            first_bad=first_bad,
        )

        audit_verify_body.additional_properties = d
        return audit_verify_body

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
