"""Hot model reload against a real MLflow registry: promote, reload, serve the new version."""

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from support import register_copy_of_version_1, wait_until
from usine.api.app import create_app
from usine.services.models import open_registry
from usine.services.training import TrainingResult
from usine.settings import Settings

PREDICT = "/1.0.0/models/credit/predictions"


@pytest.fixture
def settings(trained_home: tuple[Path, TrainingResult], tmp_path: Path) -> Settings:
    """A private copy of the trained registry, so promotions here touch no other test."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(trained_home[0] / "mlflow.db", home / "mlflow.db")
    return Settings(home=home, database_url=f"sqlite:///{tmp_path / 'log.db'}", reload_interval_s=0)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def test_a_promoted_version_is_served_after_reload(
    client: TestClient, settings: Settings, credit_record: dict[str, Any]
) -> None:
    before = client.post(PREDICT, json=credit_record).json()
    assert before["version"] == "1"
    registry = open_registry(settings)
    registry.set_alias("credit", "champion", register_copy_of_version_1(registry))
    reloaded = client.post("/1.0.0/models/credit/reload")
    assert reloaded.status_code == 200
    assert reloaded.json() == {
        "name": "credit",
        "previous": "1",
        "version": "2",
        "changed": True,
        "challenger": None,
    }
    after = client.post(PREDICT, json=credit_record).json()
    assert after["version"] == "2"
    assert after["predictions"][0]["score"] == before["predictions"][0]["score"]
    logged = client.get(f"/1.0.0/predictions/{after['predictions'][0]['id']}").json()
    assert logged["version"] == "2"
    assert client.get("/1.0.0/models").json()[0]["version"] == "2"
    again = client.post("/1.0.0/models/credit/reload").json()
    assert again["changed"] is False


def test_a_version_that_fails_to_load_leaves_the_old_one_serving(
    client: TestClient, settings: Settings, credit_record: dict[str, Any]
) -> None:
    registry = open_registry(settings)
    registry._ensure_registered_model("credit")
    broken = registry.client.create_model_version("credit", "file:///nowhere/model", run_id=None)
    registry.set_alias("credit", "champion", str(broken.version))
    failed = client.post("/1.0.0/models/credit/reload")
    assert failed.status_code == 503
    assert failed.headers["content-type"] == "application/problem+json"
    assert f"version {broken.version}" in failed.json()["detail"]
    assert client.post(PREDICT, json=credit_record).json()["version"] == "1"
    ready = client.get("/1.0.0/readiness")
    assert ready.status_code == 200
    assert f"version {broken.version} failed to load" in ready.json()["reload_failures"]["credit"]


def test_an_unknown_model_cannot_be_reloaded(client: TestClient) -> None:
    response = client.post("/1.0.0/models/fraud/reload")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_the_server_follows_the_alias_by_itself(settings: Settings, credit_record: dict[str, Any]) -> None:
    settings = settings.model_copy(update={"reload_interval_s": 0.2})
    with TestClient(create_app(settings)) as client:
        assert client.post(PREDICT, json=credit_record).json()["version"] == "1"
        registry = open_registry(settings)
        registry.set_alias("credit", "champion", register_copy_of_version_1(registry))
        wait_until(
            lambda: client.post(PREDICT, json=credit_record).json()["version"] == "2", "new version served"
        )


def test_a_rollback_serves_the_previous_version_again_without_loading_it(
    client: TestClient, settings: Settings, credit_record: dict[str, Any]
) -> None:
    holder = client.app.state.holder  # type: ignore[attr-defined]
    first = holder.get("credit")
    registry = open_registry(settings)
    registry.set_alias("credit", "champion", register_copy_of_version_1(registry))
    assert client.post("/1.0.0/models/credit/reload").json()["version"] == "2"
    registry.set_alias("credit", "champion", "1")
    assert client.post("/1.0.0/models/credit/reload").json()["version"] == "1"
    # the very compiled model loaded at start, not a new load of version 1's files
    assert holder.get("credit").predictor is first.predictor
    assert client.post(PREDICT, json=credit_record).json()["version"] == "1"
