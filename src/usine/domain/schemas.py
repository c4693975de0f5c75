"""Bodies and responses of the HTTP API (they also document it in OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ReasonOut(BaseModel):
    """A reason code: how much one input feature pushed this score."""

    feature: str
    value: Any = Field(description="The record's value of the feature.")
    contribution: float = Field(
        description="TreeSHAP contribution to the log-odds of the positive class; positive pushes "
        "towards it (for credit: towards default)."
    )


class ScoreOut(BaseModel):
    """One scored record."""

    id: str = Field(description="Id of the logged prediction: use it to send feedback or erase it.")
    score: float = Field(description="Probability of the positive class (for credit: default).")
    reasons: list[ReasonOut] = Field(
        description="The features that pushed the score towards the positive class most, strongest "
        "first (USINE_REASON_CODES of them; empty for a model served natively)."
    )


class PredictionsOut(BaseModel):
    """The answer to a prediction request."""

    model: str
    version: str = Field(description="Registry version of the model that produced these scores.")
    request_id: str
    predictions: list[ScoreOut]


class FeedbackIn(BaseModel):
    """Ground truth of a prediction, known after the fact."""

    label: str = Field(
        min_length=1,
        max_length=64,
        description="The observed class, e.g. 'bad' for a default.",
    )


class FeedbackOut(BaseModel):
    """Ground truth as stored."""

    label: str
    received_at: datetime


class FeedbackQueuedOut(BaseModel):
    """Feedback kept while the database is unreachable (HTTP 202)."""

    prediction_id: str
    label: str
    received_at: datetime
    status: str = Field(default="queued", description="Applied when the database answers again.")


class LoggedPredictionOut(BaseModel):
    """A prediction as it was logged, with its feedback if any arrived."""

    id: str
    request_id: str
    model: str
    version: str
    inputs: dict[str, Any]
    score: float
    latency_ms: float
    created_at: datetime
    caller: str = Field(description="The API key name that asked, or anonymous (profile dev, no key).")
    feedback: FeedbackOut | None


class ModelOut(BaseModel):
    """A model this server serves."""

    name: str
    version: str
    alias: str
    run_id: str
    description: str
    positive_class: str
    classes: list[str]
    metrics: dict[str, float]
    input_schema: dict[str, Any] = Field(description="JSON Schema of one input record.")
    challenger: str | None = Field(
        default=None, description="Shadow mode: the version scoring the same traffic, never returned."
    )


class HealthOut(BaseModel):
    """Liveness answer."""

    status: str
    version: str


class ReadinessOut(BaseModel):
    """Readiness answer: what is loaded."""

    status: str
    models: dict[str, str]
    reload_failures: dict[str, str] | None = Field(
        default=None,
        description="Models whose new version failed to load; the version in `models` still serves.",
    )
    unavailable: dict[str, str] | None = Field(
        default=None,
        description="Optional parts not loaded, with the reason (claims: no claims model); the rest serves.",
    )
    shadow_failures: dict[str, str] | None = Field(
        default=None,
        description="Shadow mode: models whose challenger failed to load; the champion serves alone.",
    )
    warnings: list[str] | None = Field(
        default=None, description="What is ready but unsafe, e.g. authentication off (profile dev)."
    )


class ReloadOut(BaseModel):
    """The outcome of a model reload."""

    name: str
    previous: str | None = Field(description="Version served before the reload.")
    version: str = Field(description="Version served now.")
    changed: bool
    challenger: str | None = Field(
        default=None, description="Shadow mode: the version scored in shadow now, if any."
    )
