from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="CapInput")


@_attrs_define
class CapInput:
    """
    Attributes:
        max_ (int): Messages allowed per window; 0 means never.
        window_days (int): The rolling window, in days.
    """

    max_: int
    window_days: int

    def to_dict(self) -> dict[str, Any]:
        max_ = self.max_

        window_days = self.window_days

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "max": max_,
                "window_days": window_days,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        max_ = d.pop("max")

        window_days = d.pop("window_days")

        cap_input = cls(
            max_=max_,
            window_days=window_days,
        )

        return cap_input
