from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.analytics_body_report import AnalyticsBodyReport
    from ..models.budget_body import BudgetBody


T = TypeVar("T", bound="AnalyticsBody")


@_attrs_define
class AnalyticsBody:
    """A released report, its repetition and the budget, as the API and the command line send it.

    Attributes:
        budget (BudgetBody): The family's budget and what it has left, as sent.
        repeated (bool): Whether this is the earlier release of the same request (nothing charged now).
        report (AnalyticsBodyReport): The report: each period's shown cells with every number as `{value, ci95_low,
            ci95_high, noise, noise_std_dev}`, the noise and ε of each measure, the selection
            threshold, the consent basis and what it charged per day.
    """

    budget: BudgetBody
    repeated: bool
    report: AnalyticsBodyReport
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        budget = self.budget.to_dict()

        repeated = self.repeated

        report = self.report.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "budget": budget,
                "repeated": repeated,
                "report": report,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.analytics_body_report import AnalyticsBodyReport  # noqa: PLC0415
        from ..models.budget_body import BudgetBody  # noqa: PLC0415

        d = dict(src_dict)
        budget = BudgetBody.from_dict(d.pop("budget"))

        repeated = d.pop("repeated")

        report = AnalyticsBodyReport.from_dict(d.pop("report"))

        analytics_body = cls(
            budget=budget,
            repeated=repeated,
            report=report,
        )

        analytics_body.additional_properties = d
        return analytics_body

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
