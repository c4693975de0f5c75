"""The prediction log on SQLAlchemy: one implementation for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, delete, insert, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from usine.adapters.db.engine import insert_ignoring_existing
from usine.adapters.db.input_layouts import InputLayouts, packed
from usine.adapters.db.tables import (
    FeedbackRow,
    PredictionRow,
    RejectionRow,
    ShadowPredictionRow,
)
from usine.domain.errors import PredictionNotFound, StorageUnavailable
from usine.domain.predictions import (
    Feedback,
    LoggedPrediction,
    PredictionRecord,
    Rejection,
    ShadowScore,
    SpooledFeedback,
)

FEEDBACK_CHUNK = 500


class SqlPredictionLog:
    """Stores predictions and feedback in the database behind ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.layouts = InputLayouts(engine)
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def add(self, records: list[PredictionRecord]) -> None:
        """Insert the records in one transaction (all or none)."""
        rows = self._rows(records)  # before the transaction: a new version's layout has its own
        with self._sessions.begin() as session:
            session.execute(insert(PredictionRow), rows)

    def add_new(self, records: list[PredictionRecord]) -> None:
        """Bulk-insert the records whose id is not stored yet, in one transaction.

        Used by the background writer and the spool replay: storing the same record twice
        keeps one copy, so a replay after a partial failure stores every record exactly once.
        One multi-row ``INSERT ... ON CONFLICT DO NOTHING`` per chunk of rows is sent.
        """
        if not records:
            return
        rows = self._rows(records)
        with self.engine.begin() as connection:
            connection.execute(insert_ignoring_existing(self.engine, PredictionRow, ["id"]), rows)

    def _rows(self, records: list[PredictionRecord]) -> list[dict[str, Any]]:
        """The records as rows, their inputs packed by their version's layout (stored first if new)."""
        self.layouts.learn(records)
        known = self.layouts.known
        return [
            {
                "id": r.id,
                "request_id": r.request_id,
                "model_name": r.model_name,
                "model_version": r.model_version,
                "inputs": packed(r.inputs, known.get((r.model_name, r.model_version))),
                "score": r.score,
                "latency_ms": r.latency_ms,
                "created_at": r.created_at,
                "caller": r.caller,
            }
            for r in records
        ]

    def add_shadow(self, scores: list[ShadowScore]) -> None:
        """Store challenger scores (shadow mode) in one transaction; one per prediction is kept."""
        if not scores:
            return
        rows = [
            {
                "prediction_id": s.prediction_id,
                "model_name": s.model_name,
                "model_version": s.model_version,
                "score": s.score,
                "created_at": s.created_at,
            }
            for s in scores
        ]
        with self.engine.begin() as connection:
            connection.execute(
                insert_ignoring_existing(self.engine, ShadowPredictionRow, ["prediction_id"]), rows
            )

    def add_rejections(self, rejections: list[Rejection]) -> None:
        """Store refused or failed requests in one transaction."""
        if not rejections:
            return
        with self.engine.begin() as connection:
            connection.execute(
                insert(RejectionRow),
                [
                    {
                        "created_at": r.created_at,
                        "status": r.status,
                        "reason": r.reason[:64],
                        "caller": r.caller[:128],
                        "model_name": r.model_name[:128] if r.model_name else None,
                    }
                    for r in rejections
                ],
            )

    def apply_feedback(self, feedback: list[SpooledFeedback]) -> int:
        """Store spooled feedback (the latest received wins); returns how many named a stored prediction.

        Feedback naming no stored prediction (erased since, or never existed) is not stored.
        """
        applied = 0
        ordered = sorted(feedback, key=lambda item: item.received_at)
        for start in range(0, len(ordered), FEEDBACK_CHUNK):
            chunk = ordered[start : start + FEEDBACK_CHUNK]
            ids = {item.prediction_id for item in chunk}
            with self._sessions.begin() as session:
                known = set(session.scalars(select(PredictionRow.id).where(PredictionRow.id.in_(ids))))
                rows = {
                    row.prediction_id: row
                    for row in session.scalars(select(FeedbackRow).where(FeedbackRow.prediction_id.in_(ids)))
                }
                for item in chunk:
                    if item.prediction_id not in known:
                        continue
                    applied += 1
                    row = rows.get(item.prediction_id)
                    if row is None:
                        rows[item.prediction_id] = row = FeedbackRow(prediction_id=item.prediction_id)
                        session.add(row)
                    elif row.received_at > item.received_at:
                        continue
                    row.label = item.label
                    row.received_at = item.received_at
        return applied

    def get(self, prediction_id: str) -> LoggedPrediction:
        """The prediction with its feedback.

        Raises:
            PredictionNotFound: no prediction has this id.

        """
        with reachable(), self._sessions() as session:
            return _load(session, prediction_id, self.layouts)

    def set_feedback(self, prediction_id: str, feedback: Feedback) -> LoggedPrediction:
        """Attach ground truth to a prediction, replacing earlier feedback.

        Raises:
            PredictionNotFound: no prediction has this id.

        """
        with reachable(), self._sessions.begin() as session:
            _load(session, prediction_id, self.layouts)
            session.merge(
                FeedbackRow(
                    prediction_id=prediction_id,
                    label=feedback.label,
                    received_at=feedback.received_at,
                )
            )
        return self.get(prediction_id)

    def delete(self, prediction_id: str) -> None:
        """Erase a prediction, its feedback and its challenger score in one transaction.

        Raises:
            PredictionNotFound: no prediction has this id.

        """
        with reachable(), self._sessions.begin() as session:
            session.execute(delete(FeedbackRow).where(FeedbackRow.prediction_id == prediction_id))
            session.execute(
                delete(ShadowPredictionRow).where(ShadowPredictionRow.prediction_id == prediction_id)
            )
            erased = session.execute(delete(PredictionRow).where(PredictionRow.id == prediction_id))
            if erased.rowcount == 0:  # type: ignore[attr-defined]
                raise PredictionNotFound(f"no prediction {prediction_id!r}")

    def ping(self) -> None:
        """Run a trivial query; raises the driver's error if the database is unreachable."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))


@contextmanager
def reachable() -> Iterator[None]:
    """Report an unreachable database as :class:`StorageUnavailable` (503), not a crash."""
    try:
        yield
    except OperationalError as exc:
        first_line = (str(exc.orig).strip().splitlines() or ["unreachable"])[0]
        raise StorageUnavailable(f"the database is unreachable, retry later: {first_line}") from None


def _load(session: Session, prediction_id: str, layouts: InputLayouts) -> LoggedPrediction:
    row = session.get(PredictionRow, prediction_id)
    if row is None:
        raise PredictionNotFound(f"no prediction {prediction_id!r}")
    feedback_row = session.execute(
        select(FeedbackRow).where(FeedbackRow.prediction_id == prediction_id)
    ).scalar_one_or_none()
    record = PredictionRecord(
        id=row.id,
        request_id=row.request_id,
        model_name=row.model_name,
        model_version=row.model_version,
        inputs=layouts.unpacked(row.inputs, (row.model_name, row.model_version)),
        score=row.score,
        latency_ms=row.latency_ms,
        created_at=row.created_at,
        caller=row.caller,
    )
    feedback = (
        Feedback(label=feedback_row.label, received_at=feedback_row.received_at) if feedback_row else None
    )
    return LoggedPrediction(record=record, feedback=feedback)
