"""Logged predictions and their feedback, and the storage contract that keeps them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from usine.domain.access import ANONYMOUS


@dataclass(frozen=True)
class PredictionRecord:
    """One scored record as it is logged: inputs, output and provenance."""

    id: str
    request_id: str
    model_name: str
    model_version: str
    inputs: dict[str, Any]
    score: float
    latency_ms: float
    created_at: datetime
    caller: str = ANONYMOUS


@dataclass(frozen=True)
class ShadowScore:
    """The challenger's score of a logged prediction (shadow mode): logged, never returned."""

    prediction_id: str
    model_name: str
    model_version: str
    score: float
    created_at: datetime


@dataclass(frozen=True)
class Rejection:
    """A refused or failed request, as logged for monitoring: never its payload.

    ``model_name`` is ``None`` when the request named no model (a prediction id, an unknown path).
    """

    created_at: datetime
    status: int
    reason: str
    caller: str
    model_name: str | None


@dataclass(frozen=True)
class Feedback:
    """Ground truth for a prediction, arriving after it."""

    label: str
    received_at: datetime


@dataclass(frozen=True)
class SpooledFeedback:
    """Feedback taken while the database was unreachable, applied when it answers again."""

    prediction_id: str
    label: str
    received_at: datetime


@dataclass(frozen=True)
class LoggedPrediction:
    """A logged prediction joined with its feedback, when some arrived."""

    record: PredictionRecord
    feedback: Feedback | None


class PredictionLog(Protocol):
    """Where predictions and feedback are kept (SQLite or PostgreSQL, same contract)."""

    def add(self, records: list[PredictionRecord]) -> None:
        """Store new predictions, all or none."""
        ...

    def get(self, prediction_id: str) -> LoggedPrediction:
        """A logged prediction with its feedback; raises ``PredictionNotFound``."""
        ...

    def set_feedback(self, prediction_id: str, feedback: Feedback) -> LoggedPrediction:
        """Attach (or replace) the ground truth of a prediction; raises ``PredictionNotFound``."""
        ...

    def delete(self, prediction_id: str) -> None:
        """Erase a prediction and its feedback; raises ``PredictionNotFound``."""
        ...

    def ping(self) -> None:
        """Raise if the store cannot be reached."""
        ...
