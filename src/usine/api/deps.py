"""Dependencies injected into routes, each declared once as an ``Annotated`` alias.

Dependencies that only read the app's state are ``async``: FastAPI runs a plain ``def``
dependency on a worker thread, and that hand-over cost every request more than the
dependency itself (seen in a profile of the predictions route under load).
"""

from __future__ import annotations

import json
from typing import Annotated

import orjson
from fastapi import Depends, Request

from usine.adapters.registry import ModelRegistry
from usine.domain.errors import MalformedRequest, PayloadTooLarge
from usine.services.model_holder import ModelHolder
from usine.services.predictions import PredictionService
from usine.settings import Settings


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_prediction_service(request: Request) -> PredictionService:
    """The prediction service of this app."""
    service: PredictionService = request.app.state.predictions
    return service


async def get_registry(request: Request) -> ModelRegistry:
    """The model registry this app follows."""
    registry: ModelRegistry = request.app.state.registry
    return registry


async def get_model_holder(request: Request) -> ModelHolder:
    """The models this app serves."""
    holder: ModelHolder = request.app.state.holder
    return holder


async def read_json_body(request: Request) -> object:
    """Read the body within the configured size limit and decode it as JSON.

    ``NaN`` and ``Infinity`` literals are decoded (Python clients send them) so that the
    schema can name the field that holds them.

    Raises:
        PayloadTooLarge: the body exceeds ``max_body_bytes`` (checked while reading).
        MalformedRequest: the body is empty or not JSON.

    """
    settings: Settings = request.app.state.settings
    limit = settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body of {declared} bytes, at most {limit} accepted")
    chunks = bytearray()
    async for chunk in request.stream():
        chunks.extend(chunk)
        if len(chunks) > limit:
            raise PayloadTooLarge(f"body over {limit} bytes")
    if not chunks:
        raise MalformedRequest("the body is empty: send one record (a JSON object) or a list of them")
    try:
        return orjson.loads(chunks)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(chunks)
    except (ValueError, RecursionError) as exc:
        raise MalformedRequest(f"the body is not valid JSON: {exc}") from None


SettingsDep = Annotated[Settings, Depends(get_settings)]
PredictionServiceDep = Annotated[PredictionService, Depends(get_prediction_service)]
ModelHolderDep = Annotated[ModelHolder, Depends(get_model_holder)]
RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
JsonBody = Annotated[object, Depends(read_json_body)]
