from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="TimeZoneBody")


@_attrs_define
class TimeZoneBody:
    """
    Attributes:
        time_zone (str): An IANA time zone such as `Europe/Berlin` (a browser's
            `Intl.DateTimeFormat().resolvedOptions().timeZone`).
    """

    time_zone: str

    def to_dict(self) -> dict[str, Any]:
        time_zone = self.time_zone

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "time_zone": time_zone,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        time_zone = d.pop("time_zone")

        time_zone_body = cls(
            time_zone=time_zone,
        )

        return time_zone_body
