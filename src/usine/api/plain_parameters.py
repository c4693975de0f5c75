"""Path, query and header parameters read by a route itself, documented from the same definition.

FastAPI's dependency solving costs a request about a third of a millisecond for the handful of
parameters of the predictions route, more than the rest of the route without the model. The
hot route reads its parameters with these definitions instead; each one gives both its check
(the same constraints, a 422 naming every broken parameter) and its OpenAPI description.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.requests import Request

from usine.domain.errors import FieldError

Location = Literal["path", "query", "header"]
WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True, kw_only=True)
class _Parameter(ABC):
    """Where a parameter is read, what it is called there, and how the document describes it."""

    name: str
    location: Location
    description: str = ""

    @abstractmethod
    def schema(self) -> dict[str, Any]:
        """The JSON Schema of a value."""

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI parameter object (path parameters required, the others optional)."""
        required = self.location == "path"
        schema = self.schema()
        parameter: dict[str, Any] = {"name": self.name, "in": self.location, "required": required}
        parameter["schema"] = schema if required else {"anyOf": [schema, {"type": "null"}]}
        if self.description:
            parameter["description"] = self.description
        return parameter

    def raw(self, request: Request) -> str | None:
        """The parameter as the request carries it, ``None`` when absent."""
        if self.location == "path":
            return str(request.path_params[self.name])
        if self.location == "query":
            return request.query_params.get(self.name)
        return request.headers.get(self.name)

    def error(self, message: str) -> FieldError:
        """A broken value of this parameter."""
        return FieldError(index=None, field=self.name, message=message)


@dataclass(frozen=True, kw_only=True)
class TextParameter(_Parameter):
    """A string matching ``pattern`` (whole) in at most ``max_length`` characters."""

    pattern: str
    max_length: int
    # Compiled once, when the route module defines the parameter, not per request.
    _matcher: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_matcher", re.compile(self.pattern))

    def schema(self) -> dict[str, Any]:
        """A string of the pattern and length."""
        return {"type": "string", "maxLength": self.max_length, "pattern": f"^{self.pattern}$"}

    def read(self, request: Request, errors: list[FieldError]) -> str | None:
        """The value (``None`` when an optional one is absent); a broken one joins ``errors``."""
        value = self.raw(request)
        if value is None:
            return None
        if len(value) > self.max_length:
            errors.append(self.error(f"String should have at most {self.max_length} characters"))
        elif self._matcher.fullmatch(value) is None:
            errors.append(self.error(f"String should match pattern '^{self.pattern}$'"))
        return value


@dataclass(frozen=True, kw_only=True)
class CountParameter(_Parameter):
    """A whole number between ``minimum`` and ``maximum``."""

    minimum: int
    maximum: int

    def schema(self) -> dict[str, Any]:
        """An integer within the bounds."""
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}

    def read(self, request: Request, errors: list[FieldError]) -> int | None:
        """The value, or ``None`` when absent; a broken one joins ``errors``."""
        value = self.raw(request)
        if value is None:
            return None
        if WHOLE_NUMBER.fullmatch(value) is None:
            errors.append(self.error("Input should be a valid integer"))
            return None
        number = int(value)
        if not self.minimum <= number <= self.maximum:
            errors.append(self.error(f"Input should be between {self.minimum} and {self.maximum}"))
            return None
        return number
