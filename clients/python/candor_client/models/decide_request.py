from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="DecideRequest")


@_attrs_define
class DecideRequest:
    """
    Attributes:
        campaigns (list[str]): Candidate campaign ids, in order of preference.
        channel (str): `email`, `sms`, `push` or `web`.
        subject (str): The shop's id for the person; pseudonymized on arrival.
        dry_run (bool | Unset): Decide without reserving a cap slot.
        time_zone (None | str | Unset): The person's IANA time zone, if the site knows it (for quiet hours).
    """

    campaigns: list[str]
    channel: str
    subject: str
    dry_run: bool | Unset = UNSET
    time_zone: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        campaigns = self.campaigns

        channel = self.channel

        subject = self.subject

        dry_run = self.dry_run

        time_zone: None | str | Unset
        if isinstance(self.time_zone, Unset):
            time_zone = UNSET
        else:
            time_zone = self.time_zone

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "campaigns": campaigns,
                "channel": channel,
                "subject": subject,
            }
        )
        if dry_run is not UNSET:
            field_dict["dry_run"] = dry_run
        if time_zone is not UNSET:
            field_dict["time_zone"] = time_zone

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        campaigns = cast(list[str], d.pop("campaigns"))

        channel = d.pop("channel")

        subject = d.pop("subject")

        dry_run = d.pop("dry_run", UNSET)

        def _parse_time_zone(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        time_zone = _parse_time_zone(d.pop("time_zone", UNSET))

        decide_request = cls(
            campaigns=campaigns,
            channel=channel,
            subject=subject,
            dry_run=dry_run,
            time_zone=time_zone,
        )

        return decide_request
