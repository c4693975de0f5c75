"""The child process that stores the writer's batches, on a real SQLite file and a real PostgreSQL server."""

import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from usine.adapters.db.copy_text import copy_text
from usine.adapters.db.repository import SqlPredictionLog
from usine.adapters.db.writer_process import WriterProcess, WriterProcessError
from usine.domain.errors import PredictionNotFound
from usine.domain.ids import uuid7_texts
from usine.domain.predictions import PredictionRecord


def records(count: int, score: float = 0.5) -> list[PredictionRecord]:
    *ids, request_id = uuid7_texts(count + 1)
    return [
        PredictionRecord(
            id=prediction_id,
            request_id=request_id,
            model_name="credit",
            model_version="2",
            inputs={"age_in_years": 40 + index, "purpose": 'tab\there, quote " and ß'},
            score=score,
            latency_ms=2.25,
            created_at=datetime(2026, 12, 6, 9, 0, index, 5, tzinfo=UTC),
            caller="batch team",
        )
        for index, prediction_id in enumerate(ids)
    ]


@pytest.fixture
def process(migrated_engine: Engine) -> Iterator[WriterProcess]:
    writer = WriterProcess(migrated_engine.url.render_as_string(hide_password=False), timeout_s=10)
    writer.start()
    yield writer
    writer.close()


def test_a_batch_is_stored_exactly_as_sent(migrated_engine: Engine, process: WriterProcess) -> None:
    sent = records(3)
    process.store(copy_text(sent))
    log = SqlPredictionLog(migrated_engine)
    assert [log.get(record.id).record for record in sent] == sent


def test_a_refused_batch_stores_nothing_says_why_and_the_next_one_is_stored(
    migrated_engine: Engine, process: WriterProcess
) -> None:
    refused = records(2, score=float("nan"))  # written as null: the score column refuses it
    with pytest.raises(WriterProcessError, match="score"):
        process.store(copy_text(refused))
    log = SqlPredictionLog(migrated_engine)
    with pytest.raises(PredictionNotFound):
        log.get(refused[0].id)
    later = records(1)
    process.store(copy_text(later))
    assert log.get(later[0].id).record == later[0]


def test_a_killed_process_is_replaced_for_the_next_batch(
    migrated_engine: Engine, process: WriterProcess, caplog: pytest.LogCaptureFixture
) -> None:
    process.store(copy_text(records(1)))
    first = process.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    while Path(f"/proc/{first}/stat").read_text().split(") ")[1][0] != "Z":  # dead, not yet reaped
        time.sleep(0.01)
    later = records(2)
    process.store(copy_text(later))
    assert process.pid not in (None, first)
    log = SqlPredictionLog(migrated_engine)
    assert [log.get(record.id).record for record in later] == later
    assert "writer process ended (-9)" in caplog.text


def test_the_process_outlives_a_ctrl_c_and_ends_when_closed(migrated_engine: Engine) -> None:
    writer = WriterProcess(migrated_engine.url.render_as_string(hide_password=False), timeout_s=10)
    writer.store(copy_text(records(1)))
    pid = writer.pid
    assert pid is not None
    os.kill(pid, signal.SIGINT)
    os.kill(pid, signal.SIGTERM)
    after = records(1)
    writer.store(copy_text(after))
    assert writer.pid == pid
    writer.close()
    assert writer.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert SqlPredictionLog(migrated_engine).get(after[0].id).record == after[0]


def test_an_in_memory_sqlite_log_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="in-memory"):
        WriterProcess("sqlite://", timeout_s=1)
