"""Read a time window of the prediction log for monitoring, in bounded memory.

Counts are aggregated by the database; rows are streamed in chunks (a server-side cursor
on PostgreSQL), so a window of millions of predictions never sits in memory at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVarTuple

import numpy as np
from sqlalchemy import Engine, Row, Select, func, inspect, select

from usine.adapters.db.input_layouts import InputLayouts
from usine.adapters.db.tables import FeedbackRow, PredictionRow, RejectionRow, ShadowPredictionRow

Columns = TypeVarTuple("Columns")


@dataclass(frozen=True)
class WindowQuery:
    """Which predictions a window holds: one model, a time range, optionally one version."""

    model: str
    since: datetime
    until: datetime
    version: str | None = None


@dataclass(frozen=True)
class VersionCount:
    """Predictions and requests of one model version in the window."""

    version: str
    predictions: int
    requests: int
    first_at: datetime
    last_at: datetime


@dataclass(frozen=True)
class CallerCount:
    """Predictions and requests of one caller on one model version in the window."""

    caller: str
    version: str
    predictions: int
    requests: int


@dataclass(frozen=True)
class RejectionCount:
    """Refused or failed requests naming the model in the window, by status and reason."""

    status: int
    reason: str
    count: int


@dataclass(frozen=True)
class LoggedChunk:
    """A chunk of logged predictions with their feedback, as columns."""

    versions: list[str]
    created_at: list[datetime]
    inputs: list[dict[str, Any]]
    scores: np.ndarray
    labels: list[str | None]
    received_at: list[datetime | None]


@dataclass(frozen=True)
class ShadowPairCount:
    """Records and requests of one champion version scored in shadow by one challenger version."""

    champion_version: str
    challenger_version: str
    predictions: int
    requests: int


@dataclass(frozen=True)
class ShadowChunk:
    """A chunk of records scored by both champion and challenger, with the champion's feedback."""

    champion_versions: list[str]
    challenger_versions: list[str]
    champion_scores: np.ndarray
    challenger_scores: np.ndarray
    labels: list[str | None]


class PredictionWindowReader:
    """Read-only queries on the prediction log behind ``engine``.

    Args:
        engine: the prediction log's database.
        chunk_rows: rows fetched per round trip when streaming.

    """

    def __init__(self, engine: Engine, chunk_rows: int = 5_000) -> None:
        self.engine = engine
        self.chunk_rows = chunk_rows
        self.layouts = InputLayouts(engine)

    @staticmethod
    def _within(statement: Select[*Columns], query: WindowQuery) -> Select[*Columns]:
        statement = statement.where(
            PredictionRow.model_name == query.model,
            PredictionRow.created_at >= query.since,
            PredictionRow.created_at < query.until,
        )
        if query.version is not None:
            statement = statement.where(PredictionRow.model_version == query.version)
        return statement

    def count_by_version(self, query: WindowQuery) -> list[VersionCount]:
        """Predictions, distinct requests and first/last time per version, counted by the database.

        A database where nothing was ever logged (no table yet) holds no prediction.
        """
        if not inspect(self.engine).has_table(PredictionRow.__tablename__):
            return []
        statement = self._within(
            select(
                PredictionRow.model_version,
                func.count(),
                func.count(PredictionRow.request_id.distinct()),
                func.min(PredictionRow.created_at),
                func.max(PredictionRow.created_at),
            ).group_by(PredictionRow.model_version),
            query,
        )
        with self.engine.connect() as connection:
            rows = connection.execute(statement).all()
        return sorted(
            (VersionCount(str(v), int(n), int(r), first, last) for v, n, r, first, last in rows),
            key=lambda count: (len(count.version), count.version),
        )

    def count_by_caller(self, query: WindowQuery) -> list[CallerCount]:
        """Predictions and distinct requests per caller and version, counted by the database."""
        statement = self._within(
            select(
                PredictionRow.caller,
                PredictionRow.model_version,
                func.count(),
                func.count(PredictionRow.request_id.distinct()),
            ).group_by(PredictionRow.caller, PredictionRow.model_version),
            query,
        )
        with self.engine.connect() as connection:
            rows = connection.execute(statement).all()
        counts = [CallerCount(str(c), str(v), int(n), int(r)) for c, v, n, r in rows]
        return sorted(counts, key=lambda count: (-count.predictions, count.caller, count.version))

    def rejections(self, query: WindowQuery) -> list[RejectionCount]:
        """Refused or failed requests naming the model in the window, by status and reason.

        Rejections carry no version (a refused request was scored by none): ``query.version``
        does not filter them.
        """
        if not inspect(self.engine).has_table(RejectionRow.__tablename__):
            return []
        statement = (
            select(RejectionRow.status, RejectionRow.reason, func.count())
            .where(
                RejectionRow.model_name == query.model,
                RejectionRow.created_at >= query.since,
                RejectionRow.created_at < query.until,
            )
            .group_by(RejectionRow.status, RejectionRow.reason)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(statement).all()
        counts = [RejectionCount(int(s), str(r), int(n)) for s, r, n in rows]
        return sorted(counts, key=lambda count: (-count.count, count.status, count.reason))

    def request_latencies(self, query: WindowQuery) -> Iterator[np.ndarray]:
        """Latency of each request (one value per request, not per record), in chunks."""
        statement = self._within(
            select(func.max(PredictionRow.latency_ms)).group_by(PredictionRow.request_id), query
        )
        for partition in self._stream(statement):
            yield np.fromiter((row[0] for row in partition), dtype=np.float64, count=len(partition))

    def chunks(self, query: WindowQuery) -> Iterator[LoggedChunk]:
        """The window's predictions joined with their feedback, ``chunk_rows`` at a time."""
        statement = self._within(
            select(
                PredictionRow.model_version,
                PredictionRow.created_at,
                PredictionRow.inputs,
                PredictionRow.score,
                FeedbackRow.label,
                FeedbackRow.received_at,
            ).outerjoin(FeedbackRow, FeedbackRow.prediction_id == PredictionRow.id),
            query,
        )
        for partition in self._stream(statement):
            versions, created, inputs, scores, labels, received = zip(*partition, strict=True)
            yield LoggedChunk(
                versions=list(versions),
                created_at=list(created),
                inputs=[
                    self.layouts.unpacked(stored, (query.model, version))
                    for version, stored in zip(versions, inputs, strict=True)
                ],
                scores=np.asarray(scores, dtype=np.float64),
                labels=list(labels),
                received_at=list(received),
            )

    def shadow_pairs(self, query: WindowQuery) -> list[ShadowPairCount]:
        """Records and distinct requests the window's predictions share with a challenger, per pair.

        The window is the champion's (its time, model and version filter); a database without
        shadow scores (no table yet) holds none.
        """
        if not inspect(self.engine).has_table(ShadowPredictionRow.__tablename__):
            return []
        statement = self._within(
            select(
                PredictionRow.model_version,
                ShadowPredictionRow.model_version,
                func.count(),
                func.count(PredictionRow.request_id.distinct()),
            )
            .join(ShadowPredictionRow, ShadowPredictionRow.prediction_id == PredictionRow.id)
            .group_by(PredictionRow.model_version, ShadowPredictionRow.model_version),
            query,
        )
        with self.engine.connect() as connection:
            rows = connection.execute(statement).all()
        return sorted(
            (ShadowPairCount(str(c), str(s), int(n), int(r)) for c, s, n, r in rows),
            key=lambda pair: (len(pair.champion_version), pair.champion_version, pair.challenger_version),
        )

    def shadow_chunks(self, query: WindowQuery) -> Iterator[ShadowChunk]:
        """The window's predictions scored in shadow, both scores and the feedback, in chunks."""
        statement = self._within(
            select(
                PredictionRow.model_version,
                ShadowPredictionRow.model_version,
                PredictionRow.score,
                ShadowPredictionRow.score,
                FeedbackRow.label,
            )
            .join(ShadowPredictionRow, ShadowPredictionRow.prediction_id == PredictionRow.id)
            .outerjoin(FeedbackRow, FeedbackRow.prediction_id == PredictionRow.id),
            query,
        )
        for partition in self._stream(statement):
            champions, challengers, champion_scores, challenger_scores, labels = zip(*partition, strict=True)
            yield ShadowChunk(
                champion_versions=list(champions),
                challenger_versions=list(challengers),
                champion_scores=np.asarray(champion_scores, dtype=np.float64),
                challenger_scores=np.asarray(challenger_scores, dtype=np.float64),
                labels=list(labels),
            )

    def _stream(self, statement: Select[*Columns]) -> Iterator[Sequence[Row[*Columns]]]:
        """The rows of ``statement``, ``chunk_rows`` per round trip (a server-side cursor on PostgreSQL)."""
        with self.engine.connect() as connection:
            result = connection.execution_options(stream_results=True, yield_per=self.chunk_rows).execute(
                statement
            )
            yield from result.partitions()
