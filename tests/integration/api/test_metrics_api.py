"""GET /metrics through the in-process client: what an operator's Prometheus scrapes."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from usine.api.app import create_app
from usine.services.training import TrainingResult
from usine.settings import Settings


@pytest.fixture
def client(trained_home: tuple[Path, TrainingResult], tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(home=trained_home[0], database_url=f"sqlite:///{tmp_path / 'log.db'}")
    with TestClient(create_app(settings)) as client:
        yield client


def samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_requests_predictions_scores_batches_and_loads(
    client: TestClient, credit_records: list[dict[str, Any]]
) -> None:
    before = samples(client)
    route = {"method": "POST", "route": "/1.0.0/models/{name}/predictions"}
    for _ in range(3):
        assert client.post("/1.0.0/models/credit/predictions", json=credit_records).status_code == 200
    assert client.post("/1.0.0/models/credit/predictions", json=[{}]).status_code == 422
    after = samples(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("usine_http_requests_total", **route, status="200") == 3
    assert grew("usine_http_requests_total", **route, status="422") == 1
    assert grew("usine_http_request_duration_seconds_count", **route, status="200") == 3
    assert grew("usine_predictions_total", model="credit", version="1") == 15
    assert grew("usine_prediction_score_count", model="credit", version="1") == 15
    assert grew("usine_batch_size_records_sum", model="credit", version="1") == 15
    assert value(after, "usine_model_load_seconds", model="credit", version="1") > 0
    assert ("usine_log_queue_depth", frozenset()) in after
    assert ("usine_log_writer_lag_seconds", frozenset()) in after


def test_raw_paths_never_become_labels(client: TestClient) -> None:
    client.get("/1.0.0/predictions/00000000-0000-4000-8000-000000000001")
    client.get("/no/such/page")
    routes = {
        dict(labels)["route"] for name, labels in samples(client) if name == "usine_http_requests_total"
    }
    assert "/1.0.0/predictions/{prediction_id}" in routes
    assert "unmatched" in routes
    assert not any("00000000" in route or "no/such" in route for route in routes)
