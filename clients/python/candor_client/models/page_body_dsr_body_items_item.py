from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.page_body_dsr_body_items_item_detail import PageBodyDsrBodyItemsItemDetail


T = TypeVar("T", bound="PageBodyDsrBodyItemsItem")


@_attrs_define
class PageBodyDsrBodyItemsItem:
    """
    Attributes:
        deadline_at (str): The statutory deadline for answering.
        detail (PageBodyDsrBodyItemsItemDetail): What was done (for erasures, the signed receipt).
        id (int):
        jurisdiction (str):
        kind (str): access, rectification, erasure, restriction, restriction_lifted or objection.
        overdue (bool): Still open past its deadline.
        received_at (str):
        status (str):
        subject_ref (str): A keyed hash of the subject (the same for all of one person's requests); never an id.
        completed_at (None | str | Unset):
    """

    deadline_at: str
    detail: PageBodyDsrBodyItemsItemDetail
    id: int
    jurisdiction: str
    kind: str
    overdue: bool
    received_at: str
    status: str
    subject_ref: str
    completed_at: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        deadline_at = self.deadline_at

        detail = self.detail.to_dict()

        id = self.id

        jurisdiction = self.jurisdiction

        kind = self.kind

        overdue = self.overdue

        received_at = self.received_at

        status = self.status

        subject_ref = self.subject_ref

        completed_at: None | str | Unset
        if isinstance(self.completed_at, Unset):
            completed_at = UNSET
        else:
            completed_at = self.completed_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "deadline_at": deadline_at,
                "detail": detail,
                "id": id,
                "jurisdiction": jurisdiction,
                "kind": kind,
                "overdue": overdue,
                "received_at": received_at,
                "status": status,
                "subject_ref": subject_ref,
            }
        )
        if completed_at is not UNSET:
            field_dict["completed_at"] = completed_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.page_body_dsr_body_items_item_detail import PageBodyDsrBodyItemsItemDetail  # noqa: PLC0415

        d = dict(src_dict)
        deadline_at = d.pop("deadline_at")

        detail = PageBodyDsrBodyItemsItemDetail.from_dict(d.pop("detail"))

        id = d.pop("id")

        jurisdiction = d.pop("jurisdiction")

        kind = d.pop("kind")

        overdue = d.pop("overdue")

        received_at = d.pop("received_at")

        status = d.pop("status")

        subject_ref = d.pop("subject_ref")

        def _parse_completed_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        completed_at = _parse_completed_at(d.pop("completed_at", UNSET))

        page_body_dsr_body_items_item = cls(
            deadline_at=deadline_at,
            detail=detail,
            id=id,
            jurisdiction=jurisdiction,
            kind=kind,
            overdue=overdue,
            received_at=received_at,
            status=status,
            subject_ref=subject_ref,
            completed_at=completed_at,
        )

        page_body_dsr_body_items_item.additional_properties = d
        return page_body_dsr_body_items_item

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
