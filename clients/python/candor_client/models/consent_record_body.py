from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ConsentRecordBody")


@_attrs_define
class ConsentRecordBody:
    """
    Attributes:
        at (str):
        bulk (bool): Part of an "accept all" / "reject all" choice.
        decision (str):
        evidence (Any): The evidence as it was given (any JSON), or the signal a bulk record came from.
        policy_version (str):
        purpose (str):
        purpose_version (str):
        source (str):
    """

    at: str
    bulk: bool
    decision: str
    evidence: Any
    policy_version: str
    purpose: str
    purpose_version: str
    source: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        at = self.at

        bulk = self.bulk

        decision = self.decision

        evidence = self.evidence

        policy_version = self.policy_version

        purpose = self.purpose

        purpose_version = self.purpose_version

        source = self.source

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "at": at,
                "bulk": bulk,
                "decision": decision,
                "evidence": evidence,
                "policy_version": policy_version,
                "purpose": purpose,
                "purpose_version": purpose_version,
                "source": source,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        at = d.pop("at")

        bulk = d.pop("bulk")

        decision = d.pop("decision")

        evidence = d.pop("evidence")

        policy_version = d.pop("policy_version")

        purpose = d.pop("purpose")

        purpose_version = d.pop("purpose_version")

        source = d.pop("source")

        consent_record_body = cls(
            at=at,
            bulk=bulk,
            decision=decision,
            evidence=evidence,
            policy_version=policy_version,
            purpose=purpose,
            purpose_version=purpose_version,
            source=source,
        )

        consent_record_body.additional_properties = d
        return consent_record_body

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
