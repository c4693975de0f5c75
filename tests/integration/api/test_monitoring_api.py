"""GET /1.0.0/monitoring/{name} and its report page, in process, on SQLite and PostgreSQL."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from usine.adapters.db.engine import make_engine
from usine.adapters.db.migrate import upgrade
from usine.adapters.db.repository import SqlPredictionLog
from usine.api.app import create_app
from usine.domain.predictions import PredictionRecord
from usine.domain.shifts import parse_shift
from usine.services.models import open_registry
from usine.services.simulation import TrafficPlan, replay_credit_traffic
from usine.services.training import TrainingResult
from usine.settings import Settings

PROBLEM = "application/problem+json"


@pytest.fixture
def settings(trained_home: tuple[Path, TrainingResult], database_url: str) -> Settings:
    return Settings(home=trained_home[0], database_url=database_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def replay(settings: Settings, rows: int, *shifts: str) -> None:
    registry = open_registry(settings)
    features = registry.spec("credit", "1").features
    engine = make_engine(settings.database_url)
    upgrade(engine)
    plan = TrafficPlan(
        rows=rows, days=2, shifts=tuple(parse_shift(s, features) for s in shifts), feedback_share=0.3
    )
    replay_credit_traffic(registry, SqlPredictionLog(engine), plan)
    engine.dispose()


def test_a_drifting_window_is_reported_as_json_and_as_a_page(client: TestClient, settings: Settings) -> None:
    replay(settings, 600, "credit_amount*2.5")
    response = client.get("/1.0.0/monitoring/credit", params={"since": "3d"})
    assert response.status_code == 200
    report = response.json()
    assert (report["model"], report["rows"], report["drift_detected"]) == ("credit", 600, True)
    (version,) = report["versions"]
    assert version["features"][0]["feature"] == "credit_amount"
    assert version["features"][0]["severity"] == "drift"
    assert version["estimated_performance"]["estimated"] is True
    page = client.get("/1.0.0/monitoring/credit/report", params={"since": "3d"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.text.count("<svg") >= 4  # credit_amount, score, scores and performance over time
    assert 'data-feature="credit_amount"' in page.text
    assert not re.search(r"\bnan\b", page.text, re.IGNORECASE)


def test_the_version_filter_and_until_select_the_window(client: TestClient, settings: Settings) -> None:
    replay(settings, 100)
    assert (
        client.get("/1.0.0/monitoring/credit", params={"since": "3d", "version": "1"}).json()["rows"] == 100
    )
    until = (datetime.now(UTC) - timedelta(days=5)).isoformat()
    response = client.get("/1.0.0/monitoring/credit", params={"since": "30d", "until": until})
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("path", "params", "status", "needle"),
    [
        ("/1.0.0/monitoring/credit", {"since": "1h"}, 404, "no prediction of 'credit'"),
        ("/1.0.0/monitoring/credit/report", {"since": "1h"}, 404, "no prediction of 'credit'"),
        ("/1.0.0/monitoring/credit", {"since": "yesterday"}, 422, "neither a duration"),
        ("/1.0.0/monitoring/credit", {"since": "1d", "until": "2d"}, 422, "not after"),
        ("/1.0.0/monitoring/no-such-model", {}, 404, "no prediction of 'no-such-model'"),
    ],
)
def test_a_window_that_cannot_be_monitored_is_a_problem_document(
    client: TestClient, path: str, params: dict[str, str], status: int, needle: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert needle in response.json()["detail"]


def test_a_feature_absent_from_the_log_is_a_conflict_naming_it(
    client: TestClient, settings: Settings
) -> None:
    engine = make_engine(settings.database_url)
    upgrade(engine)
    record = PredictionRecord(
        id="00000000-0000-4000-8000-000000000001",
        request_id="r",
        model_name="credit",
        model_version="1",
        inputs={"age_in_years": 30},
        score=0.3,
        latency_ms=2.0,
        created_at=datetime.now(UTC) - timedelta(minutes=5),
    )
    SqlPredictionLog(engine).add([record])
    engine.dispose()
    response = client.get("/1.0.0/monitoring/credit", params={"since": "1h"})
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert "credit_amount" in response.json()["detail"]


def test_openapi_documents_the_monitoring_report(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/1.0.0/monitoring/{name}"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"name", "since", "until", "version"}
    assert set(operation["responses"]) >= {"200", "404", "409", "422"}
    assert "MonitoringReport" in document["components"]["schemas"]
    assert (
        "text/html"
        in document["paths"]["/1.0.0/monitoring/{name}/report"]["get"]["responses"]["200"]["content"]
    )
