"""The prediction log on a real SQLite file and a real PostgreSQL database."""

import json
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from usine.adapters.db.engine import make_engine
from usine.adapters.db.migrate import alembic_config, current_revision, upgrade
from usine.adapters.db.repository import SqlPredictionLog
from usine.adapters.db.tables import Base, FeedbackRow, PredictionRow
from usine.domain.errors import PredictionNotFound
from usine.domain.predictions import Feedback, PredictionRecord

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


@pytest.fixture
def engine(migrated_engine: Engine) -> Engine:
    return migrated_engine


@pytest.fixture
def log(engine: Engine) -> SqlPredictionLog:
    return SqlPredictionLog(engine)


def record(number: int, request_id: str = "req-1") -> PredictionRecord:
    return PredictionRecord(
        id=f"00000000-0000-4000-8000-{number:012d}",
        request_id=request_id,
        model_name="credit",
        model_version="3",
        inputs={"age_in_years": 30 + number, "housing": "own", "credit_amount": 1234.5},
        score=0.125 * number,
        latency_ms=4.2,
        created_at=NOW,
    )


def count(engine: Engine, table: type[PredictionRow] | type[FeedbackRow]) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_migrations_create_the_log_and_are_idempotent(engine: Engine) -> None:
    upgrade(engine)
    assert current_revision(engine) == "0006"
    tables = set(inspect(engine).get_table_names())
    assert {"predictions", "feedback", "alembic_version"} <= tables


def test_the_migrated_schema_is_the_one_the_code_declares(engine: Engine) -> None:
    # A table, column or index declared in tables.py but not migrated (or the reverse) would
    # break only databases made by the migrations, which every deployment's is.
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def predictions_indexes(engine: Engine) -> dict[str, list[str | None]]:
    return {index["name"]: index["column_names"] for index in inspect(engine).get_indexes("predictions")}


def test_the_log_keeps_one_index_besides_its_key_a_brin_on_postgresql(engine: Engine) -> None:
    # Each index is paid for by every logged prediction (migration 0005).
    assert predictions_indexes(engine) == {"ix_predictions_created": ["created_at"]}
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            definition = connection.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_predictions_created'")
            ).scalar_one()
        assert "USING brin" in definition
        assert "autosummarize='on'" in definition


def stored_as_before_layouts(engine: Engine, logged: PredictionRecord) -> None:
    """Store a prediction as the code before migration 0006 did: its inputs an object."""
    with engine.begin() as connection:
        connection.execute(insert(PredictionRow), [vars(logged)])


def at_revision(database_url: str, revision: str) -> tuple[Engine, Config]:
    """A new database migrated to ``revision``, holding record 1 as the code of then stored it."""
    engine = make_engine(database_url)
    config = alembic_config(engine)
    command.upgrade(config, revision)
    stored_as_before_layouts(engine, record(1))
    return engine, config


def test_the_index_migration_keeps_the_rows_and_goes_back(database_url: str) -> None:
    engine, config = at_revision(database_url, "0004")
    command.upgrade(config, "0005")
    assert SqlPredictionLog(engine).get(record(1).id).record == record(1)
    command.downgrade(config, "0004")
    assert predictions_indexes(engine) == {
        "ix_predictions_model_created": ["model_name", "created_at"],
        "ix_predictions_request_id": ["request_id"],
    }
    assert count(engine, PredictionRow) == 1
    engine.dispose()


RACER = """
import sys, time
from usine.adapters.db.migrate import upgrade_database
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
print(upgrade_database(sys.argv[1]))
"""


def test_processes_upgrading_a_new_database_at_once_all_start(database_url: str) -> None:
    # As pods or servers starting together with USINE_AUTO_MIGRATE: each one migrates.
    start = str(time.time() + 5)  # every process has imported by then and starts together
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, database_url, start],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outcomes = [racer.communicate(timeout=240) for racer in racers]
    assert [racer.returncode for racer in racers] == [0] * 4, [err[-400:] for _, err in outcomes]
    assert [out.strip() for out, _ in outcomes] == ["0006"] * 4


def test_a_logged_prediction_reads_back_exactly(log: SqlPredictionLog) -> None:
    log.add([record(1), record(2)])
    logged = log.get(record(2).id)
    assert logged.record == record(2)
    assert logged.record.created_at.utcoffset() == timedelta(0)
    assert logged.feedback is None


def stored_inputs(engine: Engine, view: str = "predictions") -> dict[str, Any]:
    """Each row's ``inputs`` column as the database holds it, by prediction id."""
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT id, inputs FROM {view}")).all()
    return {id_: json.loads(value) if isinstance(value, str) else value for id_, value in rows}


def test_inputs_are_stored_as_values_named_once_per_version_and_read_back_as_objects(
    log: SqlPredictionLog, engine: Engine
) -> None:
    log.add([record(1), record(2)])
    assert stored_inputs(engine)[record(2).id] == [32, "own", 1234.5]
    with engine.connect() as connection:
        layouts = connection.execute(text("SELECT model_name, model_version, features FROM input_layouts"))
        assert [(n, v, json.loads(f) if isinstance(f, str) else f) for n, v, f in layouts] == [
            ("credit", "3", ["age_in_years", "housing", "credit_amount"])
        ]
    # A reader in another process, and SQL through the view, see the object.
    assert SqlPredictionLog(engine).get(record(2).id).record == record(2)
    assert stored_inputs(engine, "prediction_inputs")[record(2).id] == record(2).inputs


@pytest.mark.postgres
def test_an_auditor_queries_a_field_of_the_inputs_by_name_through_the_view(postgres_engine: Engine) -> None:
    SqlPredictionLog(postgres_engine).add([record(1), record(2)])
    with postgres_engine.connect() as connection:
        ages = connection.execute(
            text(
                "SELECT inputs->>'age_in_years' FROM prediction_inputs"
                " WHERE inputs->>'housing' = 'own' ORDER BY 1"
            )
        ).scalars()
        assert list(ages) == ["31", "32"]


def test_inputs_not_in_the_stored_layout_are_stored_as_the_object_they_are(engine: Engine) -> None:
    SqlPredictionLog(engine).add([record(1)])  # the first process names credit 3's values
    reordered = replace(record(2), inputs={"housing": "rent", "credit_amount": 99.0, "age_in_years": 40})
    shorter = replace(record(3), inputs={"age_in_years": 40})
    other = SqlPredictionLog(engine)
    other.add([reordered, shorter])
    assert stored_inputs(engine)[reordered.id] == reordered.inputs
    assert stored_inputs(engine)[shorter.id] == shorter.inputs
    assert other.get(reordered.id).record == reordered
    assert stored_inputs(engine, "prediction_inputs") == {
        r.id: r.inputs for r in (record(1), reordered, shorter)
    }


def test_the_layout_migration_names_the_values_again_when_going_back(database_url: str) -> None:
    engine, config = at_revision(database_url, "0005")
    command.upgrade(config, "0006")
    SqlPredictionLog(engine).add([record(2)])
    assert stored_inputs(engine, "prediction_inputs") == {r.id: r.inputs for r in (record(1), record(2))}
    command.downgrade(config, "0005")
    assert stored_inputs(engine) == {r.id: r.inputs for r in (record(1), record(2))}
    assert "input_layouts" not in inspect(engine).get_table_names()
    engine.dispose()


def test_feedback_is_joined_to_its_prediction_and_the_latest_wins(
    log: SqlPredictionLog, engine: Engine
) -> None:
    log.add([record(1)])
    log.set_feedback(record(1).id, Feedback(label="good", received_at=NOW))
    later = NOW + timedelta(days=30)
    logged = log.set_feedback(record(1).id, Feedback(label="bad", received_at=later))
    assert logged.feedback is not None
    assert logged.feedback.label == "bad"
    assert count(engine, FeedbackRow) == 1


def test_delete_erases_the_prediction_and_its_feedback(log: SqlPredictionLog, engine: Engine) -> None:
    log.add([record(1), record(2)])
    log.set_feedback(record(1).id, Feedback(label="bad", received_at=NOW))
    log.delete(record(1).id)
    with pytest.raises(PredictionNotFound):
        log.get(record(1).id)
    assert count(engine, PredictionRow) == 1
    assert count(engine, FeedbackRow) == 0


def test_an_unknown_id_is_reported(log: SqlPredictionLog) -> None:
    unknown = record(99).id
    with pytest.raises(PredictionNotFound, match=unknown):
        log.get(unknown)
    with pytest.raises(PredictionNotFound, match=unknown):
        log.delete(unknown)
    with pytest.raises(PredictionNotFound, match=unknown):
        log.set_feedback(unknown, Feedback(label="bad", received_at=NOW))


def test_a_batch_is_stored_all_or_nothing(log: SqlPredictionLog, engine: Engine) -> None:
    log.add([record(1)])
    with pytest.raises(IntegrityError):
        log.add([record(2), record(1)])
    assert count(engine, PredictionRow) == 1


def test_ping_answers_on_a_reachable_database(log: SqlPredictionLog) -> None:
    log.ping()


def test_ping_raises_when_the_server_is_unreachable() -> None:
    engine = make_engine("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(OperationalError):
        SqlPredictionLog(engine).ping()
