from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="SegmentBatch")


@_attrs_define
class SegmentBatch:
    """A Segment `batch` call.

    Attributes:
        batch (list[Any]): The events, each checked on its own as in `/v1/events`.
        field_metadata (Any | Unset): Taken whatever it holds, and not used.
        context (Any | Unset): Taken whatever it holds, and not used: libraries fill it with their own details.
        integrations (Any | Unset): Taken whatever it holds, and not used.
        sent_at (None | str | Unset): When the library sent the batch, by the device's clock: corrects the clock skew of
            every event without a `sentAt` of its own.
        timestamp (None | str | Unset): When the library made the batch (RudderStack's libraries send it); not used.
        write_key (None | str | Unset): The credential, when there is no `Authorization` header (see `SECURITY.md`).
    """

    batch: list[Any]
    field_metadata: Any | Unset = UNSET
    context: Any | Unset = UNSET
    integrations: Any | Unset = UNSET
    sent_at: None | str | Unset = UNSET
    timestamp: None | str | Unset = UNSET
    write_key: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        batch = self.batch

        field_metadata = self.field_metadata

        context = self.context

        integrations = self.integrations

        sent_at: None | str | Unset
        if isinstance(self.sent_at, Unset):
            sent_at = UNSET
        else:
            sent_at = self.sent_at

        timestamp: None | str | Unset
        if isinstance(self.timestamp, Unset):
            timestamp = UNSET
        else:
            timestamp = self.timestamp

        write_key: None | str | Unset
        if isinstance(self.write_key, Unset):
            write_key = UNSET
        else:
            write_key = self.write_key

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "batch": batch,
            }
        )
        if field_metadata is not UNSET:
            field_dict["_metadata"] = field_metadata
        if context is not UNSET:
            field_dict["context"] = context
        if integrations is not UNSET:
            field_dict["integrations"] = integrations
        if sent_at is not UNSET:
            field_dict["sentAt"] = sent_at
        if timestamp is not UNSET:
            field_dict["timestamp"] = timestamp
        if write_key is not UNSET:
            field_dict["writeKey"] = write_key

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        batch = cast(list[Any], d.pop("batch"))

        field_metadata = d.pop("_metadata", UNSET)

        context = d.pop("context", UNSET)

        integrations = d.pop("integrations", UNSET)

        def _parse_sent_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        sent_at = _parse_sent_at(d.pop("sentAt", UNSET))

        def _parse_timestamp(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        timestamp = _parse_timestamp(d.pop("timestamp", UNSET))

        def _parse_write_key(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        write_key = _parse_write_key(d.pop("writeKey", UNSET))

        segment_batch = cls(
            batch=batch,
            field_metadata=field_metadata,
            context=context,
            integrations=integrations,
            sent_at=sent_at,
            timestamp=timestamp,
            write_key=write_key,
        )

        return segment_batch
