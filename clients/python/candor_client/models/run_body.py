from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.run_body_excluded import RunBodyExcluded


T = TypeVar("T", bound="RunBody")


@_attrs_define
class RunBody:
    """
    Attributes:
        dry_run (bool):
        excluded (RunBodyExcluded): Per exclusion reason, in precedence order.
        flagged (bool): A real run whose demographic parity ratio fell below four-fifths
            (`GET /v1/fairness/campaigns/{id}`).
        held (bool): Its deliveries wait for an operator's acknowledgement
            (`POST /v1/fairness/campaigns/{id}/acknowledge`).
        k (int): Counts below this are shown as "fewer than k", and a count that would reveal one by
            subtraction as "withheld".
        selected (int | str): A number, or a phrase where the number could single someone out
        total (int | str): A number, or a phrase where the number could single someone out
        run_id (None | str | Unset): The run's id (absent for a dry run); its per-subject outcomes are kept.
    """

    dry_run: bool
    excluded: RunBodyExcluded
    flagged: bool
    held: bool
    k: int
    selected: int | str
    total: int | str
    run_id: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        dry_run = self.dry_run

        excluded = self.excluded.to_dict()

        flagged = self.flagged

        held = self.held

        k = self.k

        selected: int | str
        selected = self.selected

        total: int | str
        total = self.total

        run_id: None | str | Unset
        if isinstance(self.run_id, Unset):
            run_id = UNSET
        else:
            run_id = self.run_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "dry_run": dry_run,
                "excluded": excluded,
                "flagged": flagged,
                "held": held,
                "k": k,
                "selected": selected,
                "total": total,
            }
        )
        if run_id is not UNSET:
            field_dict["run_id"] = run_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.run_body_excluded import RunBodyExcluded  # noqa: PLC0415

        d = dict(src_dict)
        dry_run = d.pop("dry_run")

        excluded = RunBodyExcluded.from_dict(d.pop("excluded"))

        flagged = d.pop("flagged")

        held = d.pop("held")

        k = d.pop("k")

        def _parse_selected(data: object) -> int | str:
            return cast(int | str, data)

        selected = _parse_selected(d.pop("selected"))

        def _parse_total(data: object) -> int | str:
            return cast(int | str, data)

        total = _parse_total(d.pop("total"))

        def _parse_run_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        run_id = _parse_run_id(d.pop("run_id", UNSET))

        run_body = cls(
            dry_run=dry_run,
            excluded=excluded,
            flagged=flagged,
            held=held,
            k=k,
            selected=selected,
            total=total,
            run_id=run_id,
        )

        run_body.additional_properties = d
        return run_body

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
