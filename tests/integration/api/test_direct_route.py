"""The scoring route answered directly (usine.api.direct_route) says exactly what the router's says."""

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from usine.api.app import create_app
from usine.api.direct_route import DirectRoute
from usine.services.training import TrainingResult
from usine.settings import Settings

PREDICT = "/1.0.0/models/credit/predictions"
MADE_PER_REQUEST = ("id", "request_id", "instance")


@pytest.fixture
def settings(trained_home: tuple[Path, TrainingResult], tmp_path: Path) -> Settings:
    return Settings(
        home=trained_home[0],
        database_url=f"sqlite:///{tmp_path / 'log.db'}",
        max_records=3,
        max_body_bytes=4_096,
    )


def routed_only(app: FastAPI) -> FastAPI:
    """The same app with every request going through FastAPI's router."""
    app.user_middleware = [layer for layer in app.user_middleware if layer.cls is not DirectRoute]
    return app


def requests(record: dict[str, Any]) -> list[dict[str, Any]]:
    """One of each kind of request a client sends the scoring route, good and bad."""
    return [
        {"url": PREDICT, "json": record, "headers": {"X-Request-ID": "loan-1"}},
        {"url": PREDICT + "?reasons=2", "json": [record, record]},
        {"url": PREDICT, "json": [record] * 4},
        {"url": PREDICT, "json": {**record, "duration": "long"}},
        {"url": PREDICT, "content": json.dumps([record, {**record, "age": float("nan")}])},
        {"url": PREDICT, "content": b'{"duration": 6,'},
        {"url": PREDICT, "content": b"x" * 5_000},
        {"url": PREDICT + "?reasons=many", "json": record, "headers": {"X-Request-ID": "not an id"}},
        {"url": "/1.0.0/models/nobody/predictions", "json": record},
        {"url": "/1.0.0/models/bad%20name/predictions", "json": record},
        {"url": PREDICT + "/", "json": record},
    ]


def answer(client: TestClient, request: dict[str, Any]) -> tuple[int, str, Any]:
    """Status, media type and body of an answer, without what is made anew for each request."""
    response = client.post(**request, follow_redirects=False)
    body = response.json() if response.content else None
    return response.status_code, response.headers.get("content-type", ""), _without_fresh_ids(body)


def _without_fresh_ids(document: Any) -> Any:
    if isinstance(document, dict):
        return {k: _without_fresh_ids(v) for k, v in document.items() if k not in MADE_PER_REQUEST}
    if isinstance(document, list):
        return [_without_fresh_ids(item) for item in document]
    return document


def test_every_answer_is_the_one_the_router_gives(settings: Settings, credit_record: dict[str, Any]) -> None:
    with TestClient(create_app(settings)) as direct, TestClient(routed_only(create_app(settings))) as routed:
        for request in requests(credit_record):
            assert answer(direct, request) == answer(routed, request), request["url"]
        # The answers above cover success and each kind of refusal, not one kind alone.
        statuses = {answer(direct, request)[0] for request in requests(credit_record)}
        assert statuses >= {200, 400, 404, 413, 422}


def test_it_answers_behind_a_proxy_prefix(settings: Settings, credit_record: dict[str, Any]) -> None:
    with TestClient(create_app(settings), root_path="/scoring") as client:
        response = client.post("/scoring" + PREDICT, json=credit_record)
        assert response.status_code == 200
        assert response.json()["model"] == "credit"
