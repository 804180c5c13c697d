from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="EventsBody")


@_attrs_define
class EventsBody:
    """A batch of events.

    Attributes:
        events (list[Any]): Segment-spec events: `type` (track, page, identify), `event`, `userId` or
            `anonymousId`, `messageId`, `timestamp`, `properties`, `traits`, `context`. Each is
            checked on its own: one that is not a valid event (even one that is not an object) is
            answered `invalid` in `results` without refusing the others.
        write_key (None | str | Unset): The credential, when there is no `Authorization` header (see `SECURITY.md`).
    """

    events: list[Any]
    write_key: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        events = self.events

        write_key: None | str | Unset
        if isinstance(self.write_key, Unset):
            write_key = UNSET
        else:
            write_key = self.write_key

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "events": events,
            }
        )
        if write_key is not UNSET:
            field_dict["writeKey"] = write_key

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        events = cast(list[Any], d.pop("events"))

        def _parse_write_key(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        write_key = _parse_write_key(d.pop("writeKey", UNSET))

        events_body = cls(
            events=events,
            write_key=write_key,
        )

        return events_body
