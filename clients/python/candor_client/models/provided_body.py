from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.consents_body import ConsentsBody
    from ..models.export_event_body import ExportEventBody
    from ..models.provided_body_contact import ProvidedBodyContact
    from ..models.subject_facts_body import SubjectFactsBody


T = TypeVar("T", bound="ProvidedBody")


@_attrs_define
class ProvidedBody:
    """What the person, or the shop on their behalf, told Candor.

    Attributes:
        consents (ConsentsBody):
        contact (ProvidedBodyContact): Contact data, decrypted.
        events (list[ExportEventBody]): Behaviour events, oldest first.
        subject (None | SubjectFactsBody | Unset):
    """

    consents: ConsentsBody
    contact: ProvidedBodyContact
    events: list[ExportEventBody]
    subject: None | SubjectFactsBody | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.subject_facts_body import SubjectFactsBody  # noqa: PLC0415

        consents = self.consents.to_dict()

        contact = self.contact.to_dict()

        events = []
        for events_item_data in self.events:
            events_item = events_item_data.to_dict()
            events.append(events_item)

        subject: dict[str, Any] | None | Unset
        if isinstance(self.subject, Unset):
            subject = UNSET
        elif isinstance(self.subject, SubjectFactsBody):
            subject = self.subject.to_dict()
        else:
            subject = self.subject

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "consents": consents,
                "contact": contact,
                "events": events,
            }
        )
        if subject is not UNSET:
            field_dict["subject"] = subject

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.consents_body import ConsentsBody  # noqa: PLC0415
        from ..models.export_event_body import ExportEventBody  # noqa: PLC0415
        from ..models.provided_body_contact import ProvidedBodyContact  # noqa: PLC0415
        from ..models.subject_facts_body import SubjectFactsBody  # noqa: PLC0415

        d = dict(src_dict)
        consents = ConsentsBody.from_dict(d.pop("consents"))

        contact = ProvidedBodyContact.from_dict(d.pop("contact"))

        events = []
        _events = d.pop("events")
        for events_item_data in _events:
            events_item = ExportEventBody.from_dict(events_item_data)

            events.append(events_item)

        def _parse_subject(data: object) -> None | SubjectFactsBody | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                subject_type_1 = SubjectFactsBody.from_dict(data)

                return subject_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SubjectFactsBody | Unset, data)

        subject = _parse_subject(d.pop("subject", UNSET))

        provided_body = cls(
            consents=consents,
            contact=contact,
            events=events,
            subject=subject,
        )

        provided_body.additional_properties = d
        return provided_body

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
