from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.basis_body import BasisBody
    from ..models.recommended_item import RecommendedItem
    from ..models.served_body import ServedBody


T = TypeVar("T", bound="RecommendationsBody")


@_attrs_define
class RecommendationsBody:
    """A list of recommendations for one subject.

    Attributes:
        basis (BasisBody): Why a list is or is not personalized.
        items (list[RecommendedItem]):
        personalized (bool): Whether the subject's own history shaped the list.
        experiment (None | ServedBody | Unset):
        experiments (list[ServedBody] | Unset): Every experiment this list was shown under: one per layer of the slot,
            their variants
            composed.
        list_id (None | str | Unset): The list's id, when it was shown under an experiment: send it as the `list_id`
            property
            of a click on one of its items (`Product Clicked`), so the click is attributed to it.
        model_built_at (None | str | Unset): When the models were last rebuilt (RFC 3339); absent before the first
            build.
        slot (None | str | Unset):
    """

    basis: BasisBody
    items: list[RecommendedItem]
    personalized: bool
    experiment: None | ServedBody | Unset = UNSET
    experiments: list[ServedBody] | Unset = UNSET
    list_id: None | str | Unset = UNSET
    model_built_at: None | str | Unset = UNSET
    slot: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.served_body import ServedBody  # noqa: PLC0415

        basis = self.basis.to_dict()

        items = []
        for items_item_data in self.items:
            items_item = items_item_data.to_dict()
            items.append(items_item)

        personalized = self.personalized

        experiment: dict[str, Any] | None | Unset
        if isinstance(self.experiment, Unset):
            experiment = UNSET
        elif isinstance(self.experiment, ServedBody):
            experiment = self.experiment.to_dict()
        else:
            experiment = self.experiment

        experiments: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.experiments, Unset):
            experiments = []
            for experiments_item_data in self.experiments:
                experiments_item = experiments_item_data.to_dict()
                experiments.append(experiments_item)

        list_id: None | str | Unset
        if isinstance(self.list_id, Unset):
            list_id = UNSET
        else:
            list_id = self.list_id

        model_built_at: None | str | Unset
        if isinstance(self.model_built_at, Unset):
            model_built_at = UNSET
        else:
            model_built_at = self.model_built_at

        slot: None | str | Unset
        if isinstance(self.slot, Unset):
            slot = UNSET
        else:
            slot = self.slot

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "basis": basis,
                "items": items,
                "personalized": personalized,
            }
        )
        if experiment is not UNSET:
            field_dict["experiment"] = experiment
        if experiments is not UNSET:
            field_dict["experiments"] = experiments
        if list_id is not UNSET:
            field_dict["list_id"] = list_id
        if model_built_at is not UNSET:
            field_dict["model_built_at"] = model_built_at
        if slot is not UNSET:
            field_dict["slot"] = slot

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.basis_body import BasisBody  # noqa: PLC0415
        from ..models.recommended_item import RecommendedItem  # noqa: PLC0415
        from ..models.served_body import ServedBody  # noqa: PLC0415

        d = dict(src_dict)
        basis = BasisBody.from_dict(d.pop("basis"))

        items = []
        _items = d.pop("items")
        for items_item_data in _items:
            items_item = RecommendedItem.from_dict(items_item_data)

            items.append(items_item)

        personalized = d.pop("personalized")

        def _parse_experiment(data: object) -> None | ServedBody | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                experiment_type_1 = ServedBody.from_dict(data)

                return experiment_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ServedBody | Unset, data)

        experiment = _parse_experiment(d.pop("experiment", UNSET))

        _experiments = d.pop("experiments", UNSET)
        experiments: list[ServedBody] | Unset = UNSET
        if _experiments is not UNSET:
            experiments = []
            for experiments_item_data in _experiments:
                experiments_item = ServedBody.from_dict(experiments_item_data)

                experiments.append(experiments_item)

        def _parse_list_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        list_id = _parse_list_id(d.pop("list_id", UNSET))

        def _parse_model_built_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        model_built_at = _parse_model_built_at(d.pop("model_built_at", UNSET))

        def _parse_slot(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        slot = _parse_slot(d.pop("slot", UNSET))

        recommendations_body = cls(
            basis=basis,
            items=items,
            personalized=personalized,
            experiment=experiment,
            experiments=experiments,
            list_id=list_id,
            model_built_at=model_built_at,
            slot=slot,
        )

        recommendations_body.additional_properties = d
        return recommendations_body

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
