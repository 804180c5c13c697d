from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="SegmentInput")


@_attrs_define
class SegmentInput:
    """
    Attributes:
        id (str): Lowercase letters, digits, `_` and `-`.
        name (str): The name shown to people ("Runners").
        purpose (str):
        rule (str):
    """

    id: str
    name: str
    purpose: str
    rule: str

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        purpose = self.purpose

        rule = self.rule

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
                "name": name,
                "purpose": purpose,
                "rule": rule,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        purpose = d.pop("purpose")

        rule = d.pop("rule")

        segment_input = cls(
            id=id,
            name=name,
            purpose=purpose,
            rule=rule,
        )

        return segment_input
