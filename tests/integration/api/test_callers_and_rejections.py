"""Who called and what was refused: logged beside the predictions, reported by monitoring."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select

from support import wait_until
from usine.adapters.db.tables import PredictionRow, RejectionRow
from usine.api.app import create_app
from usine.domain.access import Scope
from usine.services.access import create_key, open_key_store
from usine.services.training import TrainingResult
from usine.settings import Profile, Settings

PREDICT = "/1.0.0/models/credit/predictions"


@pytest.fixture
def settings(trained_home: tuple[Path, TrainingResult], database_url: str) -> Settings:
    return Settings(
        home=trained_home[0],
        database_url=database_url,
        profile=Profile.STAGING,
        reload_interval_s=0,
        max_body_bytes=16_384,
    )


@pytest.fixture
def keys(settings: Settings) -> dict[str, dict[str, str]]:
    store = open_key_store(settings)
    made = {
        name: {"X-API-Key": create_key(store, name, frozenset(scopes))[1]}
        for name, scopes in {
            "web": {Scope.PREDICT},
            "batch": {Scope.PREDICT},
            "back-office": {Scope.FEEDBACK},
            "ops": {Scope.ADMIN},
        }.items()
    }
    store.engine.dispose()
    return made


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def stored(settings: Settings, *columns: Any) -> list[tuple[Any, ...]]:
    engine = create_engine(settings.database_url)
    with engine.connect() as connection:
        rows = [tuple(row) for row in connection.execute(select(*columns))]
    engine.dispose()
    return rows


def test_callers_and_rejections_are_logged_and_monitored(
    client: TestClient,
    settings: Settings,
    keys: dict[str, dict[str, str]],
    credit_records: list[dict[str, Any]],
) -> None:
    assert client.post(PREDICT, json=credit_records[:3], headers=keys["web"]).status_code == 200
    assert client.post(PREDICT, json=credit_records[3], headers=keys["batch"]).status_code == 200
    broken = {**credit_records[0], "duration_months": "long"}
    assert client.post(PREDICT, json=broken, headers=keys["web"]).status_code == 422
    assert client.post(PREDICT, json=[broken, broken], headers=keys["web"]).status_code == 422
    assert client.post(PREDICT, content=b"x" * 20_000, headers=keys["web"]).status_code == 413
    assert client.post(PREDICT, json=credit_records[0]).status_code == 401
    assert client.post(PREDICT, json=credit_records[0], headers=keys["back-office"]).status_code == 403
    assert client.post("/1.0.0/models/nope/predictions", json={}, headers=keys["web"]).status_code == 404
    client.app.state.predictions.writer.flush()  # type: ignore[attr-defined]
    wait_until(lambda: len(stored(settings, RejectionRow.id)) == 6, "rejections stored")

    assert sorted(stored(settings, PredictionRow.caller)) == [("batch",), ("web",), ("web",), ("web",)]
    rejections = stored(
        settings, RejectionRow.status, RejectionRow.reason, RejectionRow.caller, RejectionRow.model_name
    )
    assert sorted(rejections) == [
        (401, "unauthenticated", "unauthenticated", "credit"),
        (403, "forbidden", "back-office", "credit"),
        (404, "model-not-found", "web", "nope"),
        (413, "payload-too-large", "web", "credit"),
        (422, "invalid-input", "web", "credit"),
        (422, "invalid-input", "web", "credit"),
    ]
    assert "long" not in str(rejections)

    report = client.get("/1.0.0/monitoring/credit", params={"since": "1h"}, headers=keys["ops"]).json()
    assert report["callers"] == [
        {"caller": "web", "version": "1", "predictions": 3, "requests": 1},
        {"caller": "batch", "version": "1", "predictions": 1, "requests": 1},
    ]
    health = report["health"]
    assert (health["requests"], health["rejected"], health["failed"]) == (2, 5, 0)
    assert health["error_rate"] == pytest.approx(5 / 7)  # 2 served, 5 refused
    assert health["rejections"] == [
        {"status": 422, "reason": "invalid-input", "count": 2},
        {"status": 401, "reason": "unauthenticated", "count": 1},
        {"status": 403, "reason": "forbidden", "count": 1},
        {"status": 413, "reason": "payload-too-large", "count": 1},
    ]
    page = client.get("/1.0.0/monitoring/credit/report", params={"since": "1h"}, headers=keys["ops"]).text
    assert "back-office" not in page  # it never predicted: not a caller
    assert "payload-too-large" in page
    assert "batch" in page


def test_a_prediction_read_back_names_its_caller(
    client: TestClient, keys: dict[str, dict[str, str]], credit_record: dict[str, Any]
) -> None:
    scored = client.post(PREDICT, json=credit_record, headers=keys["web"]).json()
    logged = client.get(f"/1.0.0/predictions/{scored['predictions'][0]['id']}", headers=keys["web"]).json()
    assert logged["caller"] == "web"
