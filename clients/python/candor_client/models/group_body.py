from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="GroupBody")


@_attrs_define
class GroupBody:
    """
    Attributes:
        label (str):
        suppressed (bool): Fewer than `k_min` people: no figures are shown.
        false_positive_rate (float | None | Unset):
        n (int | None | Unset):
        n_selected (int | None | Unset):
        selection_rate (float | None | Unset):
        selection_rate_ci (list[float] | None | Unset): 95% Wilson interval of the selection rate.
        true_positive_rate (float | None | Unset):
    """

    label: str
    suppressed: bool
    false_positive_rate: float | None | Unset = UNSET
    n: int | None | Unset = UNSET
    n_selected: int | None | Unset = UNSET
    selection_rate: float | None | Unset = UNSET
    selection_rate_ci: list[float] | None | Unset = UNSET
    true_positive_rate: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        label = self.label

        suppressed = self.suppressed

        false_positive_rate: float | None | Unset
        if isinstance(self.false_positive_rate, Unset):
            false_positive_rate = UNSET
        else:
            false_positive_rate = self.false_positive_rate

        n: int | None | Unset
        if isinstance(self.n, Unset):
            n = UNSET
        else:
            n = self.n

        n_selected: int | None | Unset
        if isinstance(self.n_selected, Unset):
            n_selected = UNSET
        else:
            n_selected = self.n_selected

        selection_rate: float | None | Unset
        if isinstance(self.selection_rate, Unset):
            selection_rate = UNSET
        else:
            selection_rate = self.selection_rate

        selection_rate_ci: list[float] | None | Unset
        if isinstance(self.selection_rate_ci, Unset):
            selection_rate_ci = UNSET
        elif isinstance(self.selection_rate_ci, list):
            selection_rate_ci = self.selection_rate_ci

        else:
            selection_rate_ci = self.selection_rate_ci

        true_positive_rate: float | None | Unset
        if isinstance(self.true_positive_rate, Unset):
            true_positive_rate = UNSET
        else:
            true_positive_rate = self.true_positive_rate

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "label": label,
                "suppressed": suppressed,
            }
        )
        if false_positive_rate is not UNSET:
            field_dict["false_positive_rate"] = false_positive_rate
        if n is not UNSET:
            field_dict["n"] = n
        if n_selected is not UNSET:
            field_dict["n_selected"] = n_selected
        if selection_rate is not UNSET:
            field_dict["selection_rate"] = selection_rate
        if selection_rate_ci is not UNSET:
            field_dict["selection_rate_ci"] = selection_rate_ci
        if true_positive_rate is not UNSET:
            field_dict["true_positive_rate"] = true_positive_rate

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        label = d.pop("label")

        suppressed = d.pop("suppressed")

        def _parse_false_positive_rate(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        false_positive_rate = _parse_false_positive_rate(d.pop("false_positive_rate", UNSET))

        def _parse_n(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        n = _parse_n(d.pop("n", UNSET))

        def _parse_n_selected(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        n_selected = _parse_n_selected(d.pop("n_selected", UNSET))

        def _parse_selection_rate(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        selection_rate = _parse_selection_rate(d.pop("selection_rate", UNSET))

        def _parse_selection_rate_ci(data: object) -> list[float] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                selection_rate_ci_type_0 = cast(list[float], data)

                return selection_rate_ci_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[float] | None | Unset, data)

        selection_rate_ci = _parse_selection_rate_ci(d.pop("selection_rate_ci", UNSET))

        def _parse_true_positive_rate(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        true_positive_rate = _parse_true_positive_rate(d.pop("true_positive_rate", UNSET))

        group_body = cls(
            label=label,
            suppressed=suppressed,
            false_positive_rate=false_positive_rate,
            n=n,
            n_selected=n_selected,
            selection_rate=selection_rate,
            selection_rate_ci=selection_rate_ci,
            true_positive_rate=true_positive_rate,
        )

        group_body.additional_properties = d
        return group_body

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
