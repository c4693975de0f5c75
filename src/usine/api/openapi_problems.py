"""The OpenAPI document says what the API really answers on error: RFC 9457 problem documents.

FastAPI documents its own validation errors as ``application/json`` and omits the 400 a body
that is not JSON gets. This rewrites every documented error of every operation as
``application/problem+json`` with one ``Problem`` schema, and adds the errors any operation can
answer: 422 when it takes parameters, 400 and 413 when it takes a body.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem document.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "urn:usine:problem:<slug>"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "Each invalid field (422 only).",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": ["integer", "null"]},
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}
METHODS = ("get", "put", "post", "delete", "patch")


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": PROBLEM_REF}}}


def with_problem_responses(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every error response of every operation documented as a problem."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for path_item in document.get("paths", {}).values():
        for method in METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            if operation.get("parameters"):
                responses.setdefault("422", {"description": "A parameter is invalid"})
            if "requestBody" in operation:
                responses.setdefault("400", {"description": "The body is not JSON"})
                responses.setdefault("413", {"description": "The body is too large"})
                responses.setdefault("422", {"description": "The body breaks the schema"})
            for code, response in responses.items():
                if code.isdigit() and int(code) >= HTTPStatus.BAD_REQUEST:
                    description = response.get("description") or HTTPStatus(int(code)).phrase
                    responses[code] = _problem(description)
    return document
