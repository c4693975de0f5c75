"""Score records, log every prediction, take feedback, erase on request.

Scoring is asynchronous: records are validated on the event loop (in a thread for large
lists), scored through the micro-batcher, and handed to the background writer; the
response never waits for the database.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from usine.domain.access import ANONYMOUS
from usine.domain.errors import (
    FieldError,
    InvalidInput,
    PayloadTooLarge,
    PredictionNotFound,
    StorageUnavailable,
)
from usine.domain.explanations import Reason
from usine.domain.features import Record
from usine.domain.ids import uuid7_texts
from usine.domain.predictions import (
    Feedback,
    LoggedPrediction,
    PredictionLog,
    PredictionRecord,
    SpooledFeedback,
)
from usine.services.batching import MicroBatcher
from usine.services.metrics import PREDICTIONS, SCORES, labelled
from usine.services.model_holder import VALIDATE_INLINE_RECORDS, ModelHolder, ServedModel
from usine.services.prediction_writer import PredictionWriter
from usine.services.shadow import ShadowScorer


@dataclass(frozen=True)
class ScoredBatch:
    """The answer to one prediction request."""

    model_name: str
    model_version: str
    request_id: str
    single: bool
    records: list[PredictionRecord]
    reasons: list[list[Reason]]


class PredictionService:
    """The prediction use cases over a set of served models and a prediction log.

    Args:
        holder: the served models.
        log: where predictions and feedback are stored.
        writer: the background writer that stores new predictions into ``log``.
        batcher: coalesces concurrent model calls.
        max_records: most records accepted in one request.
        log_predictions: whether new predictions are logged at all.
        reason_codes: reason codes returned with each score (0: none).
        shadow: scores the traffic with each model's challenger, when the holder has one.

    """

    def __init__(
        self,
        holder: ModelHolder,
        log: PredictionLog,
        writer: PredictionWriter,
        batcher: MicroBatcher,
        max_records: int,
        log_predictions: bool = True,
        reason_codes: int = 0,
        shadow: ShadowScorer | None = None,
    ) -> None:
        self.holder = holder
        self.log = log
        self.writer = writer
        self.batcher = batcher
        self.max_records = max_records
        self.log_predictions = log_predictions
        self.reason_codes = reason_codes
        self.shadow = shadow

    async def predict(
        self,
        name: str,
        payload: object,
        request_id: str | None = None,
        caller: str = ANONYMOUS,
        reason_codes: int | None = None,
    ) -> ScoredBatch:
        """Validate, score and log one record or a list of records.

        Args:
            name: the model to score with.
            payload: the decoded request body: one record or a list of records.
            request_id: the caller's request id; one is made when absent.
            caller: who asked (the API key's name), logged with each prediction.
            reason_codes: reason codes for each record; ``None``: the configured number.

        Returns:
            One prediction per record, in order, with the version that scored them; they
            are queued for the log when this returns. In shadow mode the challenger scores
            the same payload afterwards, in the background; nothing of it is returned.

        Raises:
            ModelNotFound, ModelNotReady: no such served model.
            PayloadTooLarge: more records than ``max_records``.
            MalformedRequest, InvalidInput: the payload breaks the model's schema.

        """
        started = time.perf_counter()
        model = self.holder.get(name)
        if isinstance(payload, list) and len(payload) > self.max_records:
            raise PayloadTooLarge(f"{len(payload)} records sent, at most {self.max_records} accepted")
        records, single = await model.validate(payload)
        scores = await self.batcher.score(model, records)
        reasons = await self._reasons(
            model, records, self.reason_codes if reason_codes is None else reason_codes
        )
        latency_ms = (time.perf_counter() - started) * 1000.0
        now = datetime.now(UTC)
        *prediction_ids, made = uuid7_texts(len(records) + 1)
        request = request_id or made.replace("-", "")
        logged = [
            PredictionRecord(
                id=prediction_id,
                request_id=request,
                model_name=model.name,
                model_version=model.version,
                inputs=record,
                score=float(score),
                latency_ms=latency_ms,
                created_at=now,
                caller=caller,
            )
            for prediction_id, record, score in zip(prediction_ids, records, scores, strict=True)
        ]
        if self.log_predictions:
            self.writer.submit(logged)
        challenger = self.holder.challenger(model.name)
        if challenger is not None and self.shadow is not None:
            self.shadow.submit(model, challenger, payload, logged)
        labelled(PREDICTIONS, model.name, model.version).inc(len(logged))
        observe = labelled(SCORES, model.name, model.version).observe
        for record in logged:
            observe(record.score)
        return ScoredBatch(
            model_name=model.name,
            model_version=model.version,
            request_id=request,
            single=single,
            records=logged,
            reasons=reasons,
        )

    @staticmethod
    async def _reasons(model: ServedModel, records: list[Record], count: int) -> list[list[Reason]]:
        """``count`` reason codes of each record, or empty lists when the model has no explainer."""
        if model.explainer is None or count == 0:
            return [[] for _ in records]
        if len(records) > VALIDATE_INLINE_RECORDS:
            return await asyncio.to_thread(model.explainer.reasons, records, count)
        return model.explainer.reasons(records, count)

    def get(self, prediction_id: str) -> LoggedPrediction:
        """A logged prediction with its feedback; raises ``PredictionNotFound``.

        A prediction this process returned but has not stored yet is read from the writer's
        queue (read-your-writes).
        """
        queued = self.writer.pending(prediction_id)
        if queued is not None:
            return LoggedPrediction(record=queued, feedback=None)
        return self.log.get(prediction_id)

    def _stored(self, prediction_id: str) -> None:
        """Make sure a prediction still queued is in the database before changing it."""
        if self.writer.pending(prediction_id) is not None:
            self.writer.flush()

    def record_feedback(self, prediction_id: str, label: str) -> LoggedPrediction | SpooledFeedback:
        """Attach the ground truth of a prediction (the latest feedback wins).

        While the database is unreachable the feedback is spooled (durably) and returned as
        :class:`SpooledFeedback`; it is applied when the database answers again, and dropped
        then if no such prediction exists.

        Raises:
            PredictionNotFound: no such prediction.
            InvalidInput: the label is not one of the model's classes (of any served model,
                while the prediction cannot be read).

        """
        self._stored(prediction_id)
        received = datetime.now(UTC)
        try:
            prediction = self.log.get(prediction_id)
            _check_label(label, self._classes(prediction.record.model_name))
            return self.log.set_feedback(prediction_id, Feedback(label=label, received_at=received))
        except PredictionNotFound:
            # While writes fail, a prediction not in the database may be waiting in the spool
            # (a database that still answers reads, e.g. SQLite in WAL mode under a write lock).
            if not self.writer.database_down:
                raise
        except StorageUnavailable:
            pass
        _check_label(label, tuple({c for model in self.holder.served() for c in model.spec.classes}))
        spooled = SpooledFeedback(prediction_id=prediction_id, label=label, received_at=received)
        self.writer.spool_feedback(spooled)
        return spooled

    def _classes(self, model_name: str) -> tuple[str, ...]:
        served = {model.name: model for model in self.holder.served()}
        return served[model_name].spec.classes if model_name in served else ()

    def delete(self, prediction_id: str) -> None:
        """Erase a prediction and its feedback, in the database and in the spool.

        Raises:
            PredictionNotFound: no such prediction in either.
            StorageUnavailable: the database is unreachable and the spool does not hold it.

        """
        self._stored(prediction_id)
        self.writer.forget_shadow(prediction_id)
        spooled = self.writer.erase_spooled(prediction_id)
        try:
            self.log.delete(prediction_id)
        except (PredictionNotFound, StorageUnavailable):
            if not spooled:
                raise


def _check_label(label: str, classes: tuple[str, ...]) -> None:
    if classes and label not in classes:
        message = f"label must be one of {', '.join(sorted(classes))}"
        raise InvalidInput([FieldError(index=None, field="label", message=message)])
