"""Score records, read a logged prediction, send feedback, erase a prediction."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Request, Response, status
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from usine.api.auth import authenticate, presented_key, scoped, security_requirement
from usine.api.deps import PredictionServiceDep, get_prediction_service, read_json_body
from usine.api.plain_parameters import CountParameter, TextParameter
from usine.domain.access import Scope
from usine.domain.errors import FieldError, InvalidInput
from usine.domain.predictions import LoggedPrediction, SpooledFeedback
from usine.domain.schemas import (
    FeedbackIn,
    FeedbackOut,
    FeedbackQueuedOut,
    LoggedPredictionOut,
    PredictionsOut,
)

router = APIRouter(tags=["predictions"])

PredictionId = Annotated[str, Path(max_length=36, pattern=r"^[0-9a-f-]+$")]
MODEL_NAME = TextParameter(name="name", location="path", pattern=r"[A-Za-z0-9_-]+", max_length=128)
REASONS = CountParameter(
    name="reasons",
    location="query",
    minimum=0,
    maximum=50,
    description="Reason codes per prediction (features that pushed the score up most); "
    "default USINE_REASON_CODES. They cost the server about a millisecond per record.",
)
REQUEST_ID = TextParameter(
    name="X-Request-ID",
    location="header",
    pattern=r"[A-Za-z0-9._:-]+",
    max_length=64,
    description="Echoed back; made when absent.",
)
PREDICT = (Scope.PREDICT,)
PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
PREDICTIONS_OPERATION: dict[str, Any] = {
    "parameters": [parameter.openapi() for parameter in (MODEL_NAME, REASONS, REQUEST_ID)],
    "security": security_requirement(),
    "requestBody": {
        "required": True,
        "description": "One record (a JSON object) or a list of records; GET /1.0.0/models lists the fields.",
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"type": "object"},
                        {"type": "array", "items": {"type": "object"}},
                    ]
                }
            }
        },
    },
}


@router.post(
    "/models/{name}/predictions",
    response_model=PredictionsOut,
    openapi_extra=PREDICTIONS_OPERATION,
    responses={
        400: {"description": "Body is not JSON", **PROBLEM},
        404: {"description": "No such model", **PROBLEM},
        413: {"description": "Too many bytes or records", **PROBLEM},
        422: {
            "description": "A field is missing, mistyped or out of domain",
            **PROBLEM,
        },
    },
)
async def create_predictions(request: Request) -> Response:
    """Score one record or a list of records; every prediction is logged (in the background).

    The hot path of the API: the key, the parameters and the body are read here rather than
    declared as dependencies (see :mod:`usine.api.plain_parameters`); the OpenAPI document
    describes them all the same.
    """
    caller = await authenticate(request, await presented_key(request), PREDICT)
    errors: list[FieldError] = []
    name, reasons = MODEL_NAME.read(request, errors), REASONS.read(request, errors)
    request_id = REQUEST_ID.read(request, errors)
    if errors:
        raise InvalidInput(errors)
    body = await read_json_body(request)
    service = await get_prediction_service(request)
    batch = await service.predict(str(name), body, request_id, caller.name, reasons)
    # Serialised directly: the document is exactly PredictionsOut.
    content = orjson.dumps(
        {
            "model": batch.model_name,
            "version": batch.model_version,
            "request_id": batch.request_id,
            "predictions": [
                {"id": record.id, "score": record.score, "reasons": [vars(reason) for reason in reasons]}
                for record, reasons in zip(batch.records, batch.reasons, strict=True)
            ],
        }
    )
    return Response(content, media_type="application/json", headers={"X-Request-ID": batch.request_id})


def scoring_route() -> APIRoute:
    """The route of :func:`create_predictions`, which :mod:`usine.api.direct_route` answers."""
    return next(r for r in router.routes if isinstance(r, APIRoute) and r.endpoint is create_predictions)


@router.get(
    "/predictions/{prediction_id}",
    dependencies=scoped(Scope.PREDICT, Scope.FEEDBACK),
    responses={404: {"description": "No such prediction", **PROBLEM}},
)
def get_prediction(prediction_id: PredictionId, service: PredictionServiceDep) -> LoggedPredictionOut:
    """A logged prediction with its feedback."""
    return render(service.get(prediction_id))


@router.put(
    "/predictions/{prediction_id}/feedback",
    dependencies=scoped(Scope.FEEDBACK),
    response_model=LoggedPredictionOut,
    responses={
        202: {
            "description": "The database is unreachable: the feedback is kept and applied when it answers",
            "model": FeedbackQueuedOut,
        },
        404: {"description": "No such prediction", **PROBLEM},
        422: {"description": "Unknown label", **PROBLEM},
    },
)
def put_feedback(prediction_id: PredictionId, feedback: FeedbackIn, service: PredictionServiceDep) -> Any:
    """Record the ground truth of a prediction (the latest wins)."""
    outcome = service.record_feedback(prediction_id, feedback.label)
    if isinstance(outcome, SpooledFeedback):
        queued = FeedbackQueuedOut(
            prediction_id=outcome.prediction_id, label=outcome.label, received_at=outcome.received_at
        )
        return JSONResponse(queued.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED)
    return render(outcome)


@router.delete(
    "/predictions/{prediction_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=scoped(Scope.ADMIN),
    responses={
        404: {"description": "No such prediction", **PROBLEM},
        503: {"description": "The database is unreachable and the spool does not hold it", **PROBLEM},
    },
)
def delete_prediction(prediction_id: PredictionId, service: PredictionServiceDep) -> None:
    """Erase a prediction and its feedback (data-protection request)."""
    service.delete(prediction_id)


def render(logged: LoggedPrediction) -> LoggedPredictionOut:
    """The API view of a logged prediction."""
    record = logged.record
    feedback = logged.feedback
    return LoggedPredictionOut(
        id=record.id,
        request_id=record.request_id,
        model=record.model_name,
        version=record.model_version,
        inputs=record.inputs,
        score=record.score,
        latency_ms=record.latency_ms,
        created_at=record.created_at,
        caller=record.caller,
        feedback=FeedbackOut(label=feedback.label, received_at=feedback.received_at) if feedback else None,
    )
