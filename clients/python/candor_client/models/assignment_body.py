from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="AssignmentBody")


@_attrs_define
class AssignmentBody:
    """One experiment a person is in, as the person sees it.

    Attributes:
        arm (str): The person's arm: a variant's name, or `holdout`.
        assigned_at (str):
        experiment (str): The experiment's id.
        n_lists_shown (int): How many lists (or campaign messages) were shown to the person under this experiment.
        name (str): Its name.
        text (str): The same as a sentence.
    """

    arm: str
    assigned_at: str
    experiment: str
    n_lists_shown: int
    name: str
    text: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        arm = self.arm

        assigned_at = self.assigned_at

        experiment = self.experiment

        n_lists_shown = self.n_lists_shown

        name = self.name

        text = self.text

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "arm": arm,
                "assigned_at": assigned_at,
                "experiment": experiment,
                "n_lists_shown": n_lists_shown,
                "name": name,
                "text": text,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        arm = d.pop("arm")

        assigned_at = d.pop("assigned_at")

        experiment = d.pop("experiment")

        n_lists_shown = d.pop("n_lists_shown")

        name = d.pop("name")

        text = d.pop("text")

        assignment_body = cls(
            arm=arm,
            assigned_at=assigned_at,
            experiment=experiment,
            n_lists_shown=n_lists_shown,
            name=name,
            text=text,
        )

        assignment_body.additional_properties = d
        return assignment_body

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
