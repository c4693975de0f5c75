"""Replay realistic credit traffic, with controlled shifts, into the prediction log.

Applicants are drawn from the vendored German Credit data, optionally shifted, scored by
the champion version and logged as the API would log them, spread over a past period.
Feedback mimics a lender's: only accepted applicants (score below the cut-off) ever show
whether they repaid, some days after the decision — the selection bias monitoring lives with.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from threadpoolctl import threadpool_limits

from usine.adapters.registry import ModelRegistry
from usine.domain.errors import ModelNotReady
from usine.domain.model_spec import Predictor
from usine.domain.predictions import Feedback, PredictionLog, PredictionRecord
from usine.domain.shifts import Shift, apply_shifts
from usine.pipelines import credit

Progress = Callable[[int], None]


@dataclass(frozen=True)
class TrafficPlan:
    """What to replay.

    Args:
        rows: predictions to log.
        days: the period they spread over, ending now.
        shifts: changes applied to the applicants.
        feedback_share: share of accepted applicants whose outcome arrives.
        accept_below: applicants scored below this are accepted (and may show a label).
        request_rows: records per logged request.
        seed: makes the replay repeatable.

    """

    rows: int
    days: float = 7.0
    shifts: tuple[Shift, ...] = ()
    feedback_share: float = 0.5
    accept_below: float = 0.5
    request_rows: int = 50
    seed: int = 0


@dataclass(frozen=True)
class TrafficReplayed:
    """What was logged."""

    model: str
    version: str
    rows: int
    labelled: int
    since: datetime
    until: datetime


def replay_credit_traffic(
    registry: ModelRegistry,
    log: PredictionLog,
    plan: TrafficPlan,
    alias: str = "champion",
    now: datetime | None = None,
    progress: Progress = lambda _: None,
) -> TrafficReplayed:
    """Score and log ``plan.rows`` credit applications, then send the feedback a lender would get.

    Args:
        registry: where the champion version is loaded from.
        log: the prediction log written to (through its ordinary contract).
        plan: what to replay.
        alias: the version scoring the traffic.
        now: end of the period (the current time by default).
        progress: called with the number of predictions logged so far.

    Raises:
        ModelNotReady: no version has ``alias``.

    """
    version = registry.version_for_alias(credit.MODEL_NAME, alias)
    if version is None:
        raise ModelNotReady(f"no version of {credit.MODEL_NAME!r} has the alias {alias!r}: train one first")
    loaded = registry.load(credit.MODEL_NAME, version)
    predictor = Predictor(loaded.model, loaded.spec)
    rng = np.random.default_rng(plan.seed)
    frame, _ = credit.load_credit_frame()
    drawn = frame.sample(n=plan.rows, replace=True, random_state=plan.seed).reset_index(drop=True)
    outcomes = drawn[credit.TARGET].astype(str).to_numpy()
    features = loaded.spec.features
    inputs = apply_shifts(drawn[[f.name for f in features]], list(plan.shifts), features, rng)
    until = now or datetime.now(UTC)
    since = until - timedelta(days=plan.days)
    offsets = np.sort(rng.uniform(0, plan.days * 86_400, plan.rows))
    feedback: list[tuple[str, Feedback]] = []
    for start in range(0, plan.rows, plan.request_rows):
        batch = inputs.iloc[start : start + plan.request_rows]
        records = [{k: _plain(v) for k, v in row.items()} for row in batch.to_dict(orient="records")]
        started = time.perf_counter()
        # One OpenMP thread, as a serving worker runs: per-request calls are slower with more.
        with threadpool_limits(limits=1):
            scores = predictor.predict_scores(records)
        latency_ms = (time.perf_counter() - started) * 1000
        created = since + timedelta(seconds=float(offsets[start]))
        request = uuid.uuid4().hex
        logged = [
            PredictionRecord(
                id=str(uuid.uuid4()),
                request_id=request,
                model_name=credit.MODEL_NAME,
                model_version=version,
                inputs=record,
                score=float(score),
                latency_ms=latency_ms,
                created_at=created,
            )
            for record, score in zip(records, scores, strict=True)
        ]
        log.add(logged)
        for offset, (record, score) in enumerate(zip(logged, scores, strict=True)):
            if score < plan.accept_below and rng.uniform() < plan.feedback_share:
                received = min(created + timedelta(hours=float(rng.uniform(1, 72))), until)
                feedback.append((record.id, Feedback(str(outcomes[start + offset]), received)))
        progress(min(start + plan.request_rows, plan.rows))
    for prediction_id, label in feedback:
        log.set_feedback(prediction_id, label)
    return TrafficReplayed(
        model=credit.MODEL_NAME,
        version=version,
        rows=plan.rows,
        labelled=len(feedback),
        since=since,
        until=until,
    )


def _plain(value: object) -> object:
    """NumPy scalars as the JSON types a client would send."""
    return value.item() if isinstance(value, np.generic) else value
