"""The HTTP contract in process, on SQLite and PostgreSQL, with the trained credit model."""

import gc
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select

from support import wait_until
from usine.adapters.db.tables import FeedbackRow, PredictionRow
from usine.api.app import create_app
from usine.services.models import open_registry
from usine.services.training import TrainingResult
from usine.settings import Settings

PROBLEM = "application/problem+json"


@pytest.fixture
def settings(trained_home: tuple[Path, TrainingResult], database_url: str) -> Settings:
    return Settings(home=trained_home[0], database_url=database_url, max_records=5, max_body_bytes=16_384)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def logged_rows(settings: Settings) -> tuple[int, int]:
    engine = create_engine(settings.database_url)
    with engine.connect() as connection:
        predictions = connection.execute(select(func.count()).select_from(PredictionRow)).scalar_one()
        feedback = connection.execute(select(func.count()).select_from(FeedbackRow)).scalar_one()
    engine.dispose()
    return predictions, feedback


def test_what_start_up_loaded_is_kept_out_of_collections_while_serving_only(settings: Settings) -> None:
    # Frozen: full collections no longer walk the libraries and models (they stalled requests).
    # Unfrozen at shutdown: a process that starts the app again can collect the old one.
    with TestClient(create_app(settings)) as client:
        assert client.get("/1.0.0/readiness").status_code == 200
        assert gc.get_freeze_count() > 100_000
    assert gc.get_freeze_count() == 0


def test_liveness_and_readiness(client: TestClient) -> None:
    assert client.get("/1.0.0/health_check").json()["status"] == "ok"
    ready = client.get("/1.0.0/readiness")
    assert ready.status_code == 200
    body = ready.json()
    assert (body["status"], body["models"]) == ("ready", {"credit": "1"})
    # No claims model in this home: claim uploads answer 503, the credit model still serves.
    assert body["unavailable"].keys() == {"claims"}
    assert "usine train claims" in body["unavailable"]["claims"]
    assert "AUTHENTICATION IS OFF" in body["warnings"][0]  # profile dev, no key required


def test_models_publish_version_alias_and_input_schema(client: TestClient) -> None:
    (model,) = client.get("/1.0.0/models").json()
    assert (model["name"], model["version"], model["alias"]) == ("credit", "1", "champion")
    assert model["positive_class"] == "bad"
    assert len(model["input_schema"]["properties"]) == 20
    assert model["metrics"]["roc_auc"] > 0.7


def test_one_record_is_scored_logged_and_read_back(
    client: TestClient, settings: Settings, credit_record: dict[str, Any]
) -> None:
    response = client.post(
        "/1.0.0/models/credit/predictions", json=credit_record, headers={"X-Request-ID": "loan-42"}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["model"], body["version"], body["request_id"]) == ("credit", "1", "loan-42")
    assert response.headers["X-Request-ID"] == "loan-42"
    (prediction,) = body["predictions"]
    assert 0.0 < prediction["score"] < 1.0
    reasons = prediction["reasons"]  # USINE_REASON_CODES (3) features that pushed towards default most
    assert len(reasons) == 3
    assert [r["contribution"] for r in reasons] == sorted((r["contribution"] for r in reasons), reverse=True)
    assert all(credit_record[r["feature"]] == r["value"] for r in reasons)
    logged = client.get(f"/1.0.0/predictions/{prediction['id']}").json()
    assert logged["inputs"] == credit_record
    assert logged["score"] == prediction["score"]
    assert (logged["model"], logged["version"], logged["request_id"]) == ("credit", "1", "loan-42")
    assert logged["feedback"] is None
    assert logged["latency_ms"] > 0
    # Logging is asynchronous: the row reaches the database shortly after the response.
    wait_until(lambda: logged_rows(settings) == (1, 0), "the prediction stored")


def test_broken_parameters_are_one_problem_naming_each_and_nothing_is_scored(
    client: TestClient, settings: Settings, credit_record: dict[str, Any]
) -> None:
    response = client.post(
        "/1.0.0/models/cr%C3%A9dit/predictions?reasons=many",
        json=credit_record,
        headers={"X-Request-ID": "x" * 65},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert {error["field"] for error in response.json()["errors"]} == {"name", "reasons", "X-Request-ID"}
    too_many = client.post("/1.0.0/models/credit/predictions?reasons=-1", json=credit_record)
    assert too_many.json()["errors"] == [
        {"index": None, "field": "reasons", "message": "Input should be between 0 and 50"}
    ]
    assert logged_rows(settings) == (0, 0)


def test_a_caller_asks_for_more_fewer_or_no_reason_codes_per_request(
    client: TestClient, credit_record: dict[str, Any]
) -> None:
    def reasons(query: str) -> list[list[dict[str, Any]]]:
        response = client.post(f"/1.0.0/models/credit/predictions{query}", json=[credit_record] * 2)
        assert response.status_code == 200, response.text
        return [prediction["reasons"] for prediction in response.json()["predictions"]]

    assert [len(codes) for codes in reasons("?reasons=0")] == [0, 0]
    five = reasons("?reasons=5")
    assert [len(codes) for codes in five] == [5, 5]
    assert [code["feature"] for code in five[0][:3]] == [code["feature"] for code in reasons("")[0]]
    refused = client.post("/1.0.0/models/credit/predictions?reasons=51", json=credit_record)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"


def test_a_list_is_scored_exactly_as_the_registered_pipeline_scores_it(
    client: TestClient, settings: Settings, credit_records: list[dict[str, Any]]
) -> None:
    records = credit_records
    body = client.post("/1.0.0/models/credit/predictions", json=records).json()
    scores = [p["score"] for p in body["predictions"]]
    loaded = open_registry(settings).load("credit", "1")
    expected = loaded.model.predict_proba(pd.DataFrame(records))[:, 0]
    assert scores == pytest.approx(expected.tolist(), abs=1e-12)
    assert len({p["id"] for p in body["predictions"]}) == 5


def test_feedback_is_joined_replaced_and_erased_with_the_prediction(
    client: TestClient, settings: Settings, credit_record: dict[str, Any]
) -> None:
    (prediction,) = client.post("/1.0.0/models/credit/predictions", json=credit_record).json()["predictions"]
    url = f"/1.0.0/predictions/{prediction['id']}"
    assert client.put(f"{url}/feedback", json={"label": "good"}).json()["feedback"]["label"] == "good"
    updated = client.put(f"{url}/feedback", json={"label": "bad"})
    assert updated.status_code == 200
    assert updated.json()["feedback"]["label"] == "bad"
    assert logged_rows(settings) == (1, 1)
    assert client.delete(url).status_code == 204
    gone = client.get(url)
    assert gone.status_code == 404
    assert gone.headers["content-type"] == PROBLEM
    assert logged_rows(settings) == (0, 0)


def test_feedback_with_a_label_outside_the_classes_is_refused(
    client: TestClient, credit_record: dict[str, Any]
) -> None:
    (prediction,) = client.post("/1.0.0/models/credit/predictions", json=credit_record).json()["predictions"]
    response = client.put(f"/1.0.0/predictions/{prediction['id']}/feedback", json={"label": "maybe"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "label"


@pytest.mark.parametrize("method", ["get", "delete", "put"])
def test_unknown_predictions_are_404_problems(client: TestClient, method: str) -> None:
    url = "/1.0.0/predictions/00000000-0000-4000-8000-000000000000"
    response = client.request(method, url + ("/feedback" if method == "put" else ""), json={"label": "bad"})
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["instance"].startswith("/1.0.0/predictions/")


def bad_requests(record: dict[str, Any]) -> list[tuple[str, bytes, int, str | None]]:
    """(case, raw body, expected status, field the problem must name)."""

    def body(value: Any) -> bytes:
        return json.dumps(value).encode()

    without_age = {k: v for k, v in record.items() if k != "age_in_years"}
    return [
        ("not json", b"{'age': 3", 400, None),
        ("empty body", b"", 400, None),
        ("a bare string", body("hello"), 400, None),
        ("an empty list", body([]), 400, None),
        ("missing field", body(without_age), 422, "age_in_years"),
        ("wrong type", body({**record, "credit_amount": "lots"}), 422, "credit_amount"),
        ("NaN literal", body({**record, "credit_amount": math.nan}), 422, "credit_amount"),
        ("Infinity literal", body({**record, "duration_in_month": math.inf}), 422, "duration_in_month"),
        ("unknown category", body({**record, "purpose": "yacht"}), 422, "purpose"),
        ("below domain", body({**record, "age_in_years": 12}), 422, "age_in_years"),
        ("extra field", body({**record, "salary": 1}), 422, "salary"),
        ("too many records", body([record] * 6), 413, None),
        ("body too large", body([{**record, "purpose": "x" * 20_000}]), 413, None),
    ]


@pytest.mark.parametrize("case", [c[0] for c in bad_requests({})])
def test_bad_input_gets_a_clear_problem_and_logs_nothing(
    client: TestClient, settings: Settings, credit_record: dict[str, Any], case: str
) -> None:
    _, raw, status, field = next(c for c in bad_requests(credit_record) if c[0] == case)
    response = client.post(
        "/1.0.0/models/credit/predictions", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == status
    assert problem["detail"]
    if field is not None:
        assert field in {error["field"] for error in problem["errors"]}
    assert logged_rows(settings) == (0, 0)
    assert client.post("/1.0.0/models/credit/predictions", json=credit_record).status_code == 200


def test_errors_in_a_list_are_reported_one_by_one(client: TestClient, credit_record: dict[str, Any]) -> None:
    records = [credit_record, {**credit_record, "age_in_years": "old"}, {**credit_record, "housing": "cave"}]
    problem = client.post("/1.0.0/models/credit/predictions", json=records).json()
    assert [(e["index"], e["field"]) for e in problem["errors"]] == [(1, "age_in_years"), (2, "housing")]


def test_an_unknown_model_is_a_404_problem(client: TestClient, credit_record: dict[str, Any]) -> None:
    response = client.post("/1.0.0/models/fraud/predictions", json=credit_record)
    assert response.status_code == 404
    assert "fraud" in response.json()["detail"]


def test_openapi_documents_the_served_record_schema(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert "CreditRecord" in document["components"]["schemas"]
    body = document["paths"]["/1.0.0/models/{name}/predictions"]["post"]["requestBody"]
    one_of = body["content"]["application/json"]["schema"]["oneOf"]
    assert one_of[0] == {"$ref": "#/components/schemas/CreditRecord"}
    assert one_of[1]["maxItems"] == 5


def test_a_model_that_cannot_load_fails_readiness_but_the_others_serve(
    trained_home: tuple[Path, TrainingResult], tmp_path: Path, credit_record: dict[str, Any]
) -> None:
    settings = Settings(
        home=trained_home[0],
        database_url=f"sqlite:///{tmp_path / 'log.db'}",
        served_models=["credit", "fraud"],
    )
    with TestClient(create_app(settings)) as client:
        ready = client.get("/1.0.0/readiness")
        assert ready.status_code == 503
        assert ready.headers["content-type"] == PROBLEM
        assert "fraud" in ready.json()["detail"]
        assert client.post("/1.0.0/models/credit/predictions", json=credit_record).status_code == 200
        assert client.post("/1.0.0/models/fraud/predictions", json=credit_record).status_code == 503


def test_the_docs_page_needs_no_cdn(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text
    script = next(line for line in page.text.splitlines() if "swagger-ui-bundle.js" in line)
    path = script.split('src="')[1].split('"')[0]
    assert client.get(path).status_code == 200
