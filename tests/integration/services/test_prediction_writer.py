"""The background writer on a real SQLite file and a real PostgreSQL database."""

import asyncio
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from support import wait_until
from usine.adapters.db.copy_log import CopyLog
from usine.adapters.db.input_layouts import InputLayouts
from usine.adapters.db.repository import SqlPredictionLog
from usine.adapters.db.tables import PredictionRow
from usine.adapters.spool import Spool
from usine.domain.ids import uuid7_texts
from usine.domain.predictions import PredictionRecord
from usine.services.prediction_writer import PredictionWriter, WriterPolicy


@pytest.fixture
def engine(migrated_engine: Engine) -> Engine:
    return migrated_engine


def request(size: int) -> list[PredictionRecord]:
    """The records of one request: ``size`` predictions sharing a request id and a time."""
    *ids, request_id = uuid7_texts(size + 1)
    now = datetime.now(UTC)
    return [
        PredictionRecord(
            id=prediction_id,
            request_id=request_id,
            model_name="credit",
            model_version="1",
            inputs={"age_in_years": 30 + index, "housing": "own"},
            score=index / 10,
            latency_ms=1.5,
            created_at=now,
        )
        for index, prediction_id in enumerate(ids)
    ]


def writer(
    engine: Engine, tmp_path: Path, batch_records: int, flush_interval_s: float, copier: CopyLog | None = None
) -> PredictionWriter:
    policy = WriterPolicy(
        capacity=100_000, batch_records=batch_records, flush_interval_s=flush_interval_s, retry_interval_s=5
    )
    return PredictionWriter(SqlPredictionLog(engine), Spool(tmp_path / "spool"), policy, copier)


def stored(engine: Engine) -> list[PredictionRecord]:
    with engine.connect() as connection:
        ids = connection.execute(select(PredictionRow.id)).scalars().all()
    return [SqlPredictionLog(engine).get(prediction_id).record for prediction_id in ids]


def running(log_writer: PredictionWriter, scenario: Callable[[], Awaitable[None]]) -> None:
    """Run ``scenario`` on an event loop with the writer started on it, then close the writer.

    ``flush`` blocks until the loop has stored the records, so the scenarios call it from a
    worker thread, as the server's feedback and erasure routes do.
    """

    async def run() -> None:
        log_writer.start()
        try:
            await scenario()
        finally:
            await log_writer.aclose()

    asyncio.run(run())


def by_id(records: list[PredictionRecord]) -> list[PredictionRecord]:
    return sorted(records, key=lambda r: r.id)


def test_requests_queued_from_many_threads_are_all_stored_once_and_a_flush_waits_for_them(
    engine: Engine, tmp_path: Path
) -> None:
    log_writer = writer(engine, tmp_path, batch_records=7, flush_interval_s=0.005)
    sent: list[PredictionRecord] = []
    lock = threading.Lock()

    def client(count: int) -> None:
        for number in range(count):
            records = request(1 + number % 4)
            log_writer.submit(records)
            with lock:
                sent.extend(records)

    async def scenario() -> None:
        await asyncio.gather(*(asyncio.to_thread(client, 60) for _ in range(4)))
        assert await asyncio.to_thread(log_writer.flush, 60)
        assert by_id(stored(engine)) == by_id(sent)

    running(log_writer, scenario)


def test_a_queued_record_reads_back_until_it_is_stored(engine: Engine, tmp_path: Path) -> None:
    log_writer = writer(engine, tmp_path, batch_records=1_000, flush_interval_s=3_600)
    first, second = request(3), request(2)

    async def scenario() -> None:
        log_writer.submit(first)
        log_writer.submit(second)
        assert log_writer.pending(second[1].id) == second[1]
        assert stored(engine) == []
        assert await asyncio.to_thread(log_writer.flush, 30)
        assert log_writer.pending(second[1].id) is None
        assert by_id(stored(engine)) == by_id(first + second)

    running(log_writer, scenario)


def test_closing_stores_what_is_queued(engine: Engine, tmp_path: Path) -> None:
    log_writer = writer(engine, tmp_path, batch_records=2, flush_interval_s=3_600)
    records = [record for _ in range(5) for record in request(3)]

    async def scenario() -> None:
        log_writer.submit(records)

    running(log_writer, scenario)
    assert by_id(stored(engine)) == by_id(records)


@pytest.mark.postgres
def test_on_postgresql_the_event_loop_copies_full_batches_at_once_flushes_and_drains_at_close(
    postgres_engine: Engine, tmp_path: Path
) -> None:
    engine = postgres_engine
    # No flush interval to speak of: only a full batch, a flush or the close store anything.
    log_writer = writer(
        engine, tmp_path, 4, 3_600, CopyLog.of(engine, timeout_s=5, layouts=InputLayouts(engine))
    )
    full, partial, last = request(5), request(2), request(3)

    async def scenario() -> None:
        log_writer.submit(full)
        await asyncio.to_thread(wait_until, lambda: len(stored(engine)) == 5, "a full batch copied")
        log_writer.submit(partial)
        assert log_writer.pending(partial[0].id) == partial[0]
        assert await asyncio.to_thread(log_writer.flush, 30)
        assert by_id(stored(engine)) == by_id(full + partial)
        log_writer.submit(last)

    running(log_writer, scenario)
    assert by_id(stored(engine)) == by_id(full + partial + last)
