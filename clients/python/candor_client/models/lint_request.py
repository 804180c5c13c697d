from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="LintRequest")


@_attrs_define
class LintRequest:
    """A rule to check.

    Attributes:
        purpose (str): The purpose the segment serves.
        rule (str): The rule, e.g. `interest("Comedy") >= 0.3 and views(30d) >= 5`.
    """

    purpose: str
    rule: str

    def to_dict(self) -> dict[str, Any]:
        purpose = self.purpose

        rule = self.rule

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "purpose": purpose,
                "rule": rule,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        purpose = d.pop("purpose")

        rule = d.pop("rule")

        lint_request = cls(
            purpose=purpose,
            rule=rule,
        )

        return lint_request
