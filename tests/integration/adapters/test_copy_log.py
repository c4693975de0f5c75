"""PostgreSQL's fast path for the prediction log: COPY from the event loop, on a real server."""

import asyncio
import math
from dataclasses import replace
from datetime import timedelta, timezone

import pytest
from sqlalchemy import Engine, text

from integration.adapters.test_prediction_log import NOW, count, record
from usine.adapters.db.copy_log import CopyLog
from usine.adapters.db.input_layouts import InputLayouts
from usine.adapters.db.repository import SqlPredictionLog
from usine.adapters.db.tables import PredictionRow

pytestmark = pytest.mark.postgres


def copier(engine: Engine) -> CopyLog:
    found = CopyLog.of(engine, timeout_s=5, layouts=InputLayouts(engine))
    assert found is not None
    return found


def test_copied_records_read_back_exactly_and_a_stored_id_fails_the_whole_batch(
    postgres_engine: Engine,
) -> None:
    paris = timezone(timedelta(hours=1))
    late = replace(
        record(2),
        created_at=NOW.astimezone(paris),
        caller="web\tfront\\end\r\n\x01",
        inputs={"note": 'tab\there, line\nbreak, \\N, back\\slash, "quoted", é 漢 🙂', "amount": 1e-7},
        score=0.1 + 0.2,
    )
    copy = copier(postgres_engine)

    async def scenario() -> str:
        await copy.append([record(1), late])
        try:
            await copy.append([record(3), record(1)])
        except Exception as exc:  # COPY is all or nothing
            return str(exc)
        finally:
            await copy.close()
        return "no error"

    assert "duplicate key" in asyncio.run(scenario())
    log = SqlPredictionLog(postgres_engine)
    assert log.get(record(1).id).record == record(1)
    stored = log.get(late.id).record
    assert stored == late
    assert stored.created_at.utcoffset() == timedelta(0)
    assert count(postgres_engine, PredictionRow) == 2
    log.add_new([record(3), record(1)])  # the spool's replay stores what is missing, once
    assert count(postgres_engine, PredictionRow) == 3


def test_the_held_connection_is_replaced_when_the_server_dropped_it(postgres_engine: Engine) -> None:
    copy = copier(postgres_engine)

    async def scenario() -> None:
        await copy.append([record(1)])
        # The server ends every other session (a restart, an idle timeout).
        with postgres_engine.connect() as connection:
            ended = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        assert ended >= 1
        await copy.append([record(2)])
        await copy.close()

    asyncio.run(scenario())
    assert count(postgres_engine, PredictionRow) == 2


def test_a_score_that_is_not_finite_is_stored_as_the_insert_would_store_it(postgres_engine: Engine) -> None:
    copy = copier(postgres_engine)

    async def scenario() -> None:
        await copy.append([replace(record(1), score=math.nan), replace(record(2), score=math.inf)])
        await copy.close()

    asyncio.run(scenario())
    log = SqlPredictionLog(postgres_engine)
    assert math.isnan(log.get(record(1).id).record.score)
    assert log.get(record(2).id).record.score == math.inf
