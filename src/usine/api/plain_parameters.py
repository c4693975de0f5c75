"""Path, query and header parameters read by a route itself, documented from the same definition.

FastAPI's dependency solving costs a request about a third of a millisecond for the handful of
parameters of the predictions route, more than the rest of the route without the model. The
hot route reads its parameters with these definitions instead; each one gives both its check
(the same constraints, a 422 naming every broken parameter) and its OpenAPI description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from starlette.requests import Request

from usine.domain.errors import FieldError

Location = Literal["path", "query", "header"]


@dataclass(frozen=True)
class TextParameter:
    """A string parameter matching ``pattern`` (whole) in at most ``max_length`` characters."""

    name: str
    location: Location
    pattern: str
    max_length: int
    description: str = ""

    def read(self, request: Request, errors: list[FieldError]) -> str | None:
        """The parameter's value (``None`` when an optional one is absent); a broken one joins ``errors``."""
        value = _raw(request, self.name, self.location)
        if value is None:
            return None
        if len(value) > self.max_length:
            errors.append(self._error(f"String should have at most {self.max_length} characters"))
        elif re.fullmatch(self.pattern, value) is None:
            errors.append(self._error(f"String should match pattern '^{self.pattern}$'"))
        return value

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI parameter object."""
        schema = {"type": "string", "maxLength": self.max_length, "pattern": f"^{self.pattern}$"}
        return _described(self.name, self.location, schema, self.description)

    def _error(self, message: str) -> FieldError:
        return FieldError(index=None, field=self.name, message=message)


@dataclass(frozen=True)
class CountParameter:
    """An optional whole number between ``minimum`` and ``maximum``."""

    name: str
    location: Location
    minimum: int
    maximum: int
    description: str = ""

    def read(self, request: Request, errors: list[FieldError]) -> int | None:
        """The parameter's value, or ``None`` when absent; a broken one joins ``errors``."""
        value = _raw(request, self.name, self.location)
        if value is None:
            return None
        if re.fullmatch(r"[+-]?[0-9]+", value) is None:
            errors.append(self._error("Input should be a valid integer"))
            return None
        number = int(value)
        if not self.minimum <= number <= self.maximum:
            errors.append(self._error(f"Input should be between {self.minimum} and {self.maximum}"))
            return None
        return number

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI parameter object."""
        schema = {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}
        return _described(self.name, self.location, schema, self.description)

    def _error(self, message: str) -> FieldError:
        return FieldError(index=None, field=self.name, message=message)


def _raw(request: Request, name: str, location: Location) -> str | None:
    if location == "path":
        return str(request.path_params[name])
    if location == "query":
        return request.query_params.get(name)
    return request.headers.get(name)


def _described(name: str, location: Location, schema: dict[str, Any], description: str) -> dict[str, Any]:
    required = location == "path"
    parameter: dict[str, Any] = {"name": name, "in": location, "required": required}
    parameter["schema"] = schema if required else {"anyOf": [schema, {"type": "null"}]}
    if description:
        parameter["description"] = description
    return parameter
