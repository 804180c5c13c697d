from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.controller_body import ControllerBody
    from ..models.inferred_body import InferredBody
    from ..models.processing_body import ProcessingBody
    from ..models.provided_body import ProvidedBody


T = TypeVar("T", bound="ExportBody")


@_attrs_define
class ExportBody:
    """Everything Candor holds about a person.

    Attributes:
        controller (ControllerBody):
        format_ (str): Always `candor-export/1`.
        generated_at (str):
        inferred (InferredBody): What Candor inferred from it.
        processing (ProcessingBody):
        provided (ProvidedBody): What the person, or the shop on their behalf, told Candor.
    """

    controller: ControllerBody
    format_: str
    generated_at: str
    inferred: InferredBody
    processing: ProcessingBody
    provided: ProvidedBody
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        controller = self.controller.to_dict()

        format_ = self.format_

        generated_at = self.generated_at

        inferred = self.inferred.to_dict()

        processing = self.processing.to_dict()

        provided = self.provided.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "controller": controller,
                "format": format_,
                "generated_at": generated_at,
                "inferred": inferred,
                "processing": processing,
                "provided": provided,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.controller_body import ControllerBody  # noqa: PLC0415
        from ..models.inferred_body import InferredBody  # noqa: PLC0415
        from ..models.processing_body import ProcessingBody  # noqa: PLC0415
        from ..models.provided_body import ProvidedBody  # noqa: PLC0415

        d = dict(src_dict)
        controller = ControllerBody.from_dict(d.pop("controller"))

        format_ = d.pop("format")

        generated_at = d.pop("generated_at")

        inferred = InferredBody.from_dict(d.pop("inferred"))

        processing = ProcessingBody.from_dict(d.pop("processing"))

        provided = ProvidedBody.from_dict(d.pop("provided"))

        export_body = cls(
            controller=controller,
            format_=format_,
            generated_at=generated_at,
            inferred=inferred,
            processing=processing,
            provided=provided,
        )

        export_body.additional_properties = d
        return export_body

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
