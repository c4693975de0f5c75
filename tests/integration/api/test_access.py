"""API keys and scopes in process, on SQLite and PostgreSQL: missing, wrong, revoked, under-scoped."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from usine.adapters.db.engine import make_engine
from usine.adapters.db.migrate import upgrade
from usine.api.app import create_app
from usine.domain.access import Scope
from usine.domain.errors import StartupCheckFailed
from usine.services.access import create_key, open_key_store, revoke_key
from usine.services.training import TrainingResult
from usine.settings import Profile, Settings

PROBLEM = "application/problem+json"
PREDICT = "/1.0.0/models/credit/predictions"


def settings_for(home: Path, database_url: str, profile: Profile, ttl_s: float = 0) -> Settings:
    return Settings(
        home=home, database_url=database_url, profile=profile, api_key_cache_ttl_s=ttl_s, reload_interval_s=0
    )


@pytest.fixture
def staging(trained_home: tuple[Path, TrainingResult], database_url: str) -> Settings:
    """Staging (keys required), every key checked against the database (TTL 0)."""
    return settings_for(trained_home[0], database_url, Profile.STAGING)


def new_key(settings: Settings, *scopes: Scope, name: str = "tester") -> tuple[str, str]:
    """A key's id and token, created as ``usine keys create`` does."""
    store = open_key_store(settings)
    key, token = create_key(store, name, frozenset(scopes))
    store.engine.dispose()
    return key.id, token


@pytest.fixture
def client(staging: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(staging)) as client:
        yield client


def header(token: str) -> dict[str, str]:
    return {"X-API-Key": token}


def assert_problem(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == status


GUARDED = [
    ("POST", PREDICT),
    ("GET", "/1.0.0/models"),
    ("POST", "/1.0.0/models/credit/reload"),
    ("GET", "/1.0.0/predictions/0f0e"),
    ("PUT", "/1.0.0/predictions/0f0e/feedback"),
    ("DELETE", "/1.0.0/predictions/0f0e"),
    ("GET", "/1.0.0/monitoring/credit"),
    ("GET", "/1.0.0/monitoring/credit/report"),
]


@pytest.mark.parametrize(("method", "path"), GUARDED)
def test_every_guarded_operation_refuses_a_missing_or_wrong_key(
    client: TestClient, staging: Settings, method: str, path: str
) -> None:
    new_key(staging, Scope.ADMIN)
    assert_problem(client.request(method, path), 401)
    assert_problem(client.request(method, path, headers=header("usk_not-a-key")), 401)
    assert_problem(client.request(method, path, headers={"Authorization": "Bearer usk_nope"}), 401)


def test_probes_and_metrics_stay_open(client: TestClient) -> None:
    for path in ("/1.0.0/health_check", "/1.0.0/readiness", "/metrics", "/openapi.json"):
        assert client.get(path).status_code == 200, path
    assert "warnings" not in client.get("/1.0.0/readiness").json()


def test_a_scoped_key_calls_what_its_scopes_allow_and_nothing_else(
    client: TestClient, staging: Settings, credit_record: dict[str, Any]
) -> None:
    _, predict = new_key(staging, Scope.PREDICT)
    _, feedback = new_key(staging, Scope.FEEDBACK)
    _, admin = new_key(staging, Scope.ADMIN)
    scored = client.post(PREDICT, json=credit_record, headers=header(predict))
    assert scored.status_code == 200
    prediction = scored.json()["predictions"][0]["id"]
    assert client.get("/1.0.0/models", headers=header(predict)).status_code == 200
    assert client.get(f"/1.0.0/predictions/{prediction}", headers=header(predict)).status_code == 200
    assert_problem(
        client.put(
            f"/1.0.0/predictions/{prediction}/feedback", json={"label": "bad"}, headers=header(predict)
        ),
        403,
    )
    assert_problem(client.post(PREDICT, json=credit_record, headers=header(feedback)), 403)
    assert_problem(client.delete(f"/1.0.0/predictions/{prediction}", headers=header(feedback)), 403)
    assert_problem(client.post("/1.0.0/models/credit/reload", headers=header(predict)), 403)
    assert_problem(client.get("/1.0.0/monitoring/credit", headers=header(feedback)), 403)
    labelled = client.put(
        f"/1.0.0/predictions/{prediction}/feedback",
        json={"label": "bad"},
        headers={"Authorization": f"Bearer {feedback}"},
    )
    assert labelled.status_code == 200
    assert labelled.json()["feedback"]["label"] == "bad"
    assert client.post("/1.0.0/models/credit/reload", headers=header(admin)).status_code == 200
    assert client.delete(f"/1.0.0/predictions/{prediction}", headers=header(admin)).status_code == 204


def test_a_revoked_key_is_refused_at_once_with_no_cache(
    client: TestClient, staging: Settings, credit_record: dict[str, Any]
) -> None:
    key_id, token = new_key(staging, Scope.PREDICT)
    assert client.post(PREDICT, json=credit_record, headers=header(token)).status_code == 200
    store = open_key_store(staging)
    revoke_key(store, key_id)
    store.engine.dispose()
    refused = client.post(PREDICT, json=credit_record, headers=header(token))
    assert_problem(refused, 401)
    assert "revoked" in refused.json()["detail"]


def test_within_the_cache_ttl_a_revoked_key_still_works_then_never_again(
    trained_home: tuple[Path, TrainingResult], database_url: str, credit_record: dict[str, Any]
) -> None:
    """The documented trade-off: a revocation reaches a worker when its cached answer expires."""
    cached = settings_for(trained_home[0], database_url, Profile.STAGING, ttl_s=3600)
    key_id, token = new_key(cached, Scope.PREDICT)
    with TestClient(create_app(cached)) as client:
        assert client.post(PREDICT, json=credit_record, headers=header(token)).status_code == 200
        store = open_key_store(cached)
        revoke_key(store, key_id)
        store.engine.dispose()
        assert client.post(PREDICT, json=credit_record, headers=header(token)).status_code == 200
    with TestClient(create_app(cached)) as restarted:
        assert_problem(restarted.post(PREDICT, json=credit_record, headers=header(token)), 401)


def test_dev_serves_anonymous_callers_but_checks_a_key_that_is_sent(
    trained_home: tuple[Path, TrainingResult], database_url: str, credit_record: dict[str, Any]
) -> None:
    dev = settings_for(trained_home[0], database_url, Profile.DEV)
    with TestClient(create_app(dev)) as client:
        assert client.post(PREDICT, json=credit_record).status_code == 200
        assert_problem(client.post(PREDICT, json=credit_record, headers=header("usk_wrong")), 401)
        (warning,) = client.get("/1.0.0/readiness").json()["warnings"]
        assert "AUTHENTICATION IS OFF" in warning


def test_prod_refuses_to_start_without_an_active_key(
    trained_home: tuple[Path, TrainingResult], database_url: str
) -> None:
    prod = settings_for(trained_home[0], database_url, Profile.PROD)
    with pytest.raises(StartupCheckFailed, match="usine keys create"), TestClient(create_app(prod)):
        pass
    key_id, _ = new_key(prod, Scope.PREDICT)
    store = open_key_store(prod)
    revoke_key(store, key_id)
    store.engine.dispose()
    with pytest.raises(StartupCheckFailed), TestClient(create_app(prod)):
        pass
    new_key(prod, Scope.PREDICT)
    with TestClient(create_app(prod)) as client:
        assert client.get("/1.0.0/readiness").status_code == 200


def test_keys_are_stored_as_digests_only(staging: Settings) -> None:
    _, token = new_key(staging, Scope.PREDICT, Scope.FEEDBACK, name="branch-42")
    engine = make_engine(staging.database_url)
    upgrade(engine)
    with engine.connect() as connection:
        dumped = " ".join(
            str(value) for row in connection.exec_driver_sql("SELECT * FROM api_keys") for value in row
        )
    engine.dispose()
    assert token not in dumped
    assert token[:12] in dumped
    assert "branch-42" in dumped
    assert len(token) > 40
