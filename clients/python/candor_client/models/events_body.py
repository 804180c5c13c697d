from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="EventsBody")


@_attrs_define
class EventsBody:
    """A batch of events.

    Attributes:
        events (list[Any]): Segment-spec events: `type` (track, page, identify), `event`, `userId` or
            `anonymousId`, `messageId`, `timestamp`, `properties`, `traits`, `context`. Each is
            checked on its own: one that is not a valid event (even one that is not an object) is
            answered `invalid` in `results` without refusing the others.
    """

    events: list[Any]

    def to_dict(self) -> dict[str, Any]:
        events = self.events

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "events": events,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        events = cast(list[Any], d.pop("events"))

        events_body = cls(
            events=events,
        )

        return events_body
