"""Prediction logging off the hot path, against real outages of SQLite and PostgreSQL."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from support import wait_until
from usine.adapters.db.tables import PredictionRow
from usine.adapters.spool import Spool
from usine.api.app import create_app
from usine.services.training import TrainingResult
from usine.settings import Settings

PREDICT = "/1.0.0/models/credit/predictions"


@pytest.fixture
def settings(trained_home: tuple[Path, TrainingResult], database_url: str, tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    (home / "mlflow.db").parent.mkdir()
    return Settings(
        home=home,
        mlflow_tracking_uri=f"sqlite:///{trained_home[0] / 'mlflow.db'}",
        mlflow_artifact_root=(trained_home[0] / "mlartifacts").as_uri(),
        database_url=database_url,
        database_timeout_s=1,
        log_retry_interval_s=0.2,
        reload_interval_s=0,
    )


def stored_ids(settings: Settings) -> list[str]:
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(select(PredictionRow.id)).scalars())
    finally:
        engine.dispose()


@contextmanager
def database_outage(database_url: str) -> Iterator[None]:
    """Make the database really refuse the server's writes, then give it back."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        # A competing writer holds SQLite's write lock: the server's inserts time out.
        blocker = sqlite3.connect(str(url.database), isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        return
    # PostgreSQL stops accepting connections to the database and drops the open ones.
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = url.database
    try:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                {"name": name},
            )
        yield
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        admin.dispose()


def predict(client: TestClient, records: list[dict[str, Any]]) -> list[str]:
    response = client.post(PREDICT, json=records)
    assert response.status_code == 200, response.text
    return [p["id"] for p in response.json()["predictions"]]


def test_every_prediction_made_during_an_outage_arrives_exactly_once(
    settings: Settings, credit_records: list[dict[str, Any]]
) -> None:
    spool = Spool(settings.spool_dir)
    with TestClient(create_app(settings)) as client:
        sent = predict(client, credit_records[:2])
        wait_until(lambda: sorted(stored_ids(settings)) == sorted(sent), "first predictions stored")
        with database_outage(settings.database_url):
            for index in range(8):
                ids = predict(client, [credit_records[index % 5]])
                sent += ids
                # A read answers from the queue, or says the log is away; it never crashes.
                assert client.get(f"/1.0.0/predictions/{ids[0]}").status_code in (200, 503)
            wait_until(lambda: spool.count() > 0, "predictions spooled during the outage")
        wait_until(lambda: len(stored_ids(settings)) >= len(sent), "spool replayed")
        assert spool.count() == 0
    stored = stored_ids(settings)
    assert sorted(stored) == sorted(sent)
    assert len(stored) == len(set(stored)) == 10


def test_a_full_queue_spills_to_the_spool_and_nothing_is_lost(
    settings: Settings, credit_records: list[dict[str, Any]]
) -> None:
    settings = settings.model_copy(update={"log_queue_capacity": 2})
    with TestClient(create_app(settings)) as client:
        sent = predict(client, credit_records) + predict(client, credit_records[:1])
        wait_until(lambda: len(stored_ids(settings)) == 6, "spilled predictions replayed")
    assert sorted(stored_ids(settings)) == sorted(sent)


def test_a_just_returned_prediction_reads_back_and_takes_feedback_at_once(
    settings: Settings, credit_records: list[dict[str, Any]]
) -> None:
    with TestClient(create_app(settings)) as client:
        for record in credit_records:
            (prediction_id,) = predict(client, [record])
            assert client.get(f"/1.0.0/predictions/{prediction_id}").json()["inputs"] == record
            feedback = client.put(f"/1.0.0/predictions/{prediction_id}/feedback", json={"label": "bad"})
            assert feedback.status_code == 200
            assert feedback.json()["feedback"]["label"] == "bad"


def test_queued_predictions_are_stored_before_shutdown_completes(
    settings: Settings, credit_records: list[dict[str, Any]]
) -> None:
    with TestClient(create_app(settings)) as client:
        sent = [pid for _ in range(10) for pid in predict(client, credit_records)]
    assert sorted(stored_ids(settings)) == sorted(sent)


def test_feedback_during_an_outage_is_kept_and_an_erased_spooled_prediction_never_arrives(
    settings: Settings, credit_records: list[dict[str, Any]]
) -> None:
    spool = Spool(settings.spool_dir)
    with TestClient(create_app(settings)) as client:
        (stored,) = predict(client, credit_records[:1])
        wait_until(lambda: stored_ids(settings) == [stored], "first prediction stored")
        with database_outage(settings.database_url):
            kept, erased = predict(client, credit_records[1:3])
            wait_until(lambda: spool.count() >= 2, "predictions spooled during the outage")
            for prediction, label in ((stored, "bad"), (kept, "good"), (erased, "bad")):
                queued = client.put(f"/1.0.0/predictions/{prediction}/feedback", json={"label": label})
                assert queued.status_code == 202, queued.text
                assert queued.json()["status"] == "queued"
            refused = client.put(f"/1.0.0/predictions/{kept}/feedback", json={"label": "maybe"})
            assert refused.status_code == 422  # the label is still checked against the served models
            assert client.delete(f"/1.0.0/predictions/{erased}").status_code == 204
            assert erased.encode() not in b"".join(path.read_bytes() for path in spool.pending_files())
        wait_until(lambda: sorted(stored_ids(settings)) == sorted([stored, kept]), "spool replayed")
        wait_until(lambda: spool.count() == 0, "spool emptied")
        labels = {p: client.get(f"/1.0.0/predictions/{p}").json()["feedback"] for p in (stored, kept)}
        assert {p: f["label"] for p, f in labels.items() if f} == {stored: "bad", kept: "good"}
        assert client.get(f"/1.0.0/predictions/{erased}").status_code == 404
