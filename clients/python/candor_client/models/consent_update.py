from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.decision_input import DecisionInput
    from ..models.subject_facts_input import SubjectFactsInput


T = TypeVar("T", bound="ConsentUpdate")


@_attrs_define
class ConsentUpdate:
    """A batch of consent decisions.

    Attributes:
        choice (None | str | Unset): `individual` (default: each decision was chosen for its purpose), or `accept_all` /
            `reject_all` for one click covering many purposes. A bulk grant never overrides a
            Global Privacy Control opt-out.
        decisions (list[DecisionInput] | Unset): At most the server's `consent_decisions_len_max`.
        evidence (Any | Unset): Proof of the choice (banner version, interaction id, guardian verification...): any
            JSON, at most the server's `consent_evidence_bytes_max` bytes as sent on.
        source (None | str | Unset): Where the choice was made: `api` (default), `banner`, `parental` or `import`.
        subject (None | SubjectFactsInput | Unset):
    """

    choice: None | str | Unset = UNSET
    decisions: list[DecisionInput] | Unset = UNSET
    evidence: Any | Unset = UNSET
    source: None | str | Unset = UNSET
    subject: None | SubjectFactsInput | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.subject_facts_input import SubjectFactsInput  # noqa: PLC0415

        choice: None | str | Unset
        if isinstance(self.choice, Unset):
            choice = UNSET
        else:
            choice = self.choice

        decisions: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.decisions, Unset):
            decisions = []
            for decisions_item_data in self.decisions:
                decisions_item = decisions_item_data.to_dict()
                decisions.append(decisions_item)

        evidence = self.evidence

        source: None | str | Unset
        if isinstance(self.source, Unset):
            source = UNSET
        else:
            source = self.source

        subject: dict[str, Any] | None | Unset
        if isinstance(self.subject, Unset):
            subject = UNSET
        elif isinstance(self.subject, SubjectFactsInput):
            subject = self.subject.to_dict()
        else:
            subject = self.subject

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if choice is not UNSET:
            field_dict["choice"] = choice
        if decisions is not UNSET:
            field_dict["decisions"] = decisions
        if evidence is not UNSET:
            field_dict["evidence"] = evidence
        if source is not UNSET:
            field_dict["source"] = source
        if subject is not UNSET:
            field_dict["subject"] = subject

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.decision_input import DecisionInput  # noqa: PLC0415
        from ..models.subject_facts_input import SubjectFactsInput  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_choice(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        choice = _parse_choice(d.pop("choice", UNSET))

        _decisions = d.pop("decisions", UNSET)
        decisions: list[DecisionInput] | Unset = UNSET
        if _decisions is not UNSET:
            decisions = []
            for decisions_item_data in _decisions:
                decisions_item = DecisionInput.from_dict(decisions_item_data)

                decisions.append(decisions_item)

        evidence = d.pop("evidence", UNSET)

        def _parse_source(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        source = _parse_source(d.pop("source", UNSET))

        def _parse_subject(data: object) -> None | SubjectFactsInput | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                subject_type_1 = SubjectFactsInput.from_dict(data)

                return subject_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SubjectFactsInput | Unset, data)

        subject = _parse_subject(d.pop("subject", UNSET))

        consent_update = cls(
            choice=choice,
            decisions=decisions,
            evidence=evidence,
            source=source,
            subject=subject,
        )

        return consent_update
