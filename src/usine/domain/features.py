"""The input contract of a model: its features, their kinds and their domains.

A model version carries a list of :class:`FeatureSpec`. :class:`InputSchema` compiles that
list once into a pydantic validator, so a request is checked field by field (missing,
extra, wrong type, NaN or infinity, outside the domain) without per-request set-up, and
every broken field is reported with its record index and name.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from usine.domain.errors import FieldError, InvalidInput, MalformedRequest


class FeatureKind(StrEnum):
    """How a feature's values are typed in requests."""

    INTEGER = "integer"
    NUMBER = "number"
    CATEGORY = "category"


class FeatureSpec(BaseModel):
    """One input feature: name, kind and the domain a value must lie in."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: FeatureKind
    description: str = ""
    categories: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def annotation(self) -> Any:
        """The pydantic type that accepts exactly this feature's domain."""
        if self.kind is FeatureKind.CATEGORY:
            if not self.categories:
                return Annotated[str, Field(description=self.description or None)]
            return Annotated[Literal[self.categories], Field(description=self.description or None)]
        base: type = int if self.kind is FeatureKind.INTEGER else float
        return Annotated[
            base,
            Field(
                ge=self.minimum,
                le=self.maximum,
                allow_inf_nan=False,
                description=self.description or None,
            ),
        ]


Record = dict[str, Any]


class InputSchema:
    """A compiled validator for the records a model accepts.

    Args:
        model_name: used to name the record type in JSON Schema and OpenAPI.
        features: the model's features, in the order the model expects them.

    """

    def __init__(self, model_name: str, features: list[FeatureSpec]) -> None:
        self.features = features
        self.feature_names = [feature.name for feature in features]
        record_type = TypedDict(  # type: ignore[misc]
            f"{model_name.title().replace('-', '').replace('_', '')}Record",
            {feature.name: feature.annotation() for feature in features},
        )
        record_type.__pydantic_config__ = ConfigDict(extra="forbid", strict=True)  # type: ignore[attr-defined]
        self._records = TypeAdapter(list[record_type])
        self._record = TypeAdapter(record_type)

    def json_schema(self) -> dict[str, Any]:
        """JSON Schema of one record, as published by ``GET /1.0.0/models``."""
        return self._record.json_schema()

    def validate(self, payload: object) -> tuple[list[Record], bool]:
        """Check a decoded request body against the schema.

        Args:
            payload: one record (a JSON object) or a list of records.

        Returns:
            The validated records and whether the payload was a single record.

        Raises:
            MalformedRequest: the payload is neither an object nor a list, or the list is empty.
            InvalidInput: at least one field is missing, extra, mistyped or out of domain.

        """
        single = isinstance(payload, dict)
        if single:
            payload = [payload]
        if not isinstance(payload, list):
            raise MalformedRequest("the body must be one record (a JSON object) or a list of them")
        if not payload:
            raise MalformedRequest("the list of records is empty")
        try:
            records = self._records.validate_python(payload)
        except ValidationError as exc:
            raise InvalidInput(field_errors(exc, single)) from None
        return cast(list[Record], records), single


def field_errors(exc: ValidationError, single: bool) -> list[FieldError]:
    """Turn a pydantic error into one :class:`FieldError` per broken field.

    Args:
        exc: the validation error of a list of records.
        single: whether the client sent one record (then no index is reported).

    Returns:
        The broken fields, in the order pydantic found them.

    """
    errors = []
    for error in exc.errors(include_url=False):
        location = list(error["loc"])
        index = location.pop(0) if location and isinstance(location[0], int) else None
        field = ".".join(str(part) for part in location) or "(record)"
        errors.append(
            FieldError(
                index=None if single else cast(int | None, index),
                field=field,
                message=error["msg"],
            )
        )
    return errors
