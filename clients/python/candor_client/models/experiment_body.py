from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.experiment_body_definition import ExperimentBodyDefinition


T = TypeVar("T", bound="ExperimentBody")


@_attrs_define
class ExperimentBody:
    """An experiment as stored.

    Attributes:
        created_at (str):
        definition (ExperimentBodyDefinition): The definition: target, variants with their allocations and settings,
            holdout share,
            start and stop, primary metric and guardrails.
        id (str):
        policy_version (str): The policy version the definition was validated against.
        status (str): `active` (assigns people between its start and stop) or `stopped`.
        stopped_at (None | str | Unset):
    """

    created_at: str
    definition: ExperimentBodyDefinition
    id: str
    policy_version: str
    status: str
    stopped_at: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at

        definition = self.definition.to_dict()

        id = self.id

        policy_version = self.policy_version

        status = self.status

        stopped_at: None | str | Unset
        if isinstance(self.stopped_at, Unset):
            stopped_at = UNSET
        else:
            stopped_at = self.stopped_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "definition": definition,
                "id": id,
                "policy_version": policy_version,
                "status": status,
            }
        )
        if stopped_at is not UNSET:
            field_dict["stopped_at"] = stopped_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.experiment_body_definition import ExperimentBodyDefinition  # noqa: PLC0415

        d = dict(src_dict)
        created_at = d.pop("created_at")

        definition = ExperimentBodyDefinition.from_dict(d.pop("definition"))

        id = d.pop("id")

        policy_version = d.pop("policy_version")

        status = d.pop("status")

        def _parse_stopped_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        stopped_at = _parse_stopped_at(d.pop("stopped_at", UNSET))

        experiment_body = cls(
            created_at=created_at,
            definition=definition,
            id=id,
            policy_version=policy_version,
            status=status,
            stopped_at=stopped_at,
        )

        experiment_body.additional_properties = d
        return experiment_body

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
