"""Shadow mode through the in-process client: a challenger scores live traffic, logged, never returned."""

import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, select

from support import register_copy_of_version_1, wait_until
from usine.adapters.db.tables import ShadowPredictionRow
from usine.api.app import create_app
from usine.services.models import open_registry
from usine.services.training import TrainingResult
from usine.settings import Settings

PREDICT = "/1.0.0/models/credit/predictions"
MONITOR = "/1.0.0/monitoring/credit?since=1h"


def private_registry(trained_home: tuple[Path, TrainingResult], home: Path) -> None:
    """A copy of the trained registry, so that aliases moved here touch no other test."""
    home.mkdir()
    shutil.copy(trained_home[0] / "mlflow.db", home / "mlflow.db")


@pytest.fixture
def settings(trained_home: tuple[Path, TrainingResult], database_url: str, tmp_path: Path) -> Settings:
    """Shadow mode on, on a registry whose credit version 2 is the challenger."""
    private_registry(trained_home, tmp_path / "home")
    settings = Settings(home=tmp_path / "home", database_url=database_url, reload_interval_s=0, shadow=True)
    registry = open_registry(settings)
    registry.set_alias("credit", "challenger", register_copy_of_version_1(registry))
    return settings


def shadow_rows(settings: Settings) -> dict[str, tuple[str, float]]:
    """The stored challenger scores: prediction id -> (challenger version, score)."""
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(
                    ShadowPredictionRow.prediction_id,
                    ShadowPredictionRow.model_version,
                    ShadowPredictionRow.score,
                )
            ).all()
    finally:
        engine.dispose()
    return {prediction_id: (version, score) for prediction_id, version, score in rows}


def without_ids(body: dict[str, Any]) -> dict[str, Any]:
    """A prediction response without what differs between two calls (the prediction ids)."""
    return {**body, "predictions": [{**p, "id": None} for p in body["predictions"]]}


def test_the_answer_is_the_same_with_shadow_and_the_challenger_is_logged_apart(
    settings: Settings, credit_records: list[dict[str, Any]]
) -> None:
    headers = {"X-Request-ID": "same-request"}
    with TestClient(create_app(settings.model_copy(update={"shadow": False}))) as client:
        alone = client.post(PREDICT, json=credit_records, headers=headers)
        assert client.get("/1.0.0/models").json()[0]["challenger"] is None
    counted = {"model": "credit", "version": "2"}
    before = REGISTRY.get_sample_value("usine_shadow_predictions_total", counted) or 0
    with TestClient(create_app(settings)) as client:
        shadowed = client.post(PREDICT, json=credit_records, headers=headers)
        assert shadowed.status_code == alone.status_code == 200
        assert without_ids(shadowed.json()) == without_ids(alone.json())
        assert shadowed.json()["version"] == "1"
        ids = [p["id"] for p in shadowed.json()["predictions"]]
        wait_until(lambda: set(ids) <= set(shadow_rows(settings)), "challenger scores stored")
        stored = shadow_rows(settings)
        scores = [p["score"] for p in shadowed.json()["predictions"]]
        assert [stored[i] for i in ids] == [("2", pytest.approx(s, abs=1e-9)) for s in scores]
        assert client.get(f"/1.0.0/predictions/{ids[0]}").json()["version"] == "1"
        assert client.get("/1.0.0/models").json()[0]["challenger"] == "2"
        assert 'usine_shadow_predictions_total{model="credit",version="2"}' in client.get("/metrics").text
        assert REGISTRY.get_sample_value("usine_shadow_predictions_total", counted) == before + 5
        report = client.get(MONITOR).json()
    # Shadow scores are no champion usage: the champion's figures count its own predictions only.
    assert [(u["version"], u["predictions"]) for u in report["usage"]] == [("1", 10)]
    assert [v["version"] for v in report["versions"]] == ["1"]
    (pair,) = report["challengers"]
    assert (pair["champion_version"], pair["challenger_version"]) == ("1", "2")
    assert (pair["requests"], pair["predictions"]) == (1, 5)
    assert pair["decision_agreement"] == 1.0  # version 2 is made of version 1's artefacts
    assert pair["mean_absolute_score_difference"] == pytest.approx(0.0, abs=1e-9)


def test_without_a_challenger_shadow_mode_does_nothing(
    settings: Settings, credit_record: dict[str, Any]
) -> None:
    open_registry(settings).remove_alias("credit", "challenger")
    with TestClient(create_app(settings)) as client:
        answer = client.post(PREDICT, json=credit_record)
        assert answer.status_code == 200
        assert client.get("/1.0.0/models").json()[0]["challenger"] is None
        wait_until(lambda: client.get(MONITOR).status_code == 200, "prediction stored")
        report = client.get(MONITOR).json()
    assert report["rows"] == 1
    assert report["challengers"] == []
    assert shadow_rows(settings) == {}


@pytest.fixture
def sqlite_settings(trained_home: tuple[Path, TrainingResult], tmp_path: Path) -> Settings:
    """Shadow mode on, no challenger yet, the log on SQLite (reloads touch no database)."""
    private_registry(trained_home, tmp_path / "home")
    return Settings(home=tmp_path / "home", reload_interval_s=0, shadow=True)


def test_reload_follows_the_challenger_alias_as_it_appears_moves_is_promoted_and_goes(
    sqlite_settings: Settings, credit_record: dict[str, Any]
) -> None:
    registry = open_registry(sqlite_settings)
    with TestClient(create_app(sqlite_settings)) as client:

        def reload() -> dict[str, Any]:
            response = client.post("/1.0.0/models/credit/reload")
            assert response.status_code == 200
            return dict(response.json())

        assert reload()["challenger"] is None
        registry.set_alias("credit", "challenger", register_copy_of_version_1(registry))
        assert reload() == {
            "name": "credit",
            "previous": "1",
            "version": "1",
            "changed": False,
            "challenger": "2",
        }
        registry.set_alias("credit", "challenger", register_copy_of_version_1(registry))
        assert reload()["challenger"] == "3"
        registry.set_alias("credit", "champion", "3")  # promoted: the loaded challenger now answers
        registry.remove_alias("credit", "challenger")  # and the challenger alias goes
        promoted = reload()
        assert (promoted["version"], promoted["challenger"]) == ("3", None)
        assert client.post(PREDICT, json=credit_record).json()["version"] == "3"
        assert client.get("/1.0.0/models").json()[0]["challenger"] is None


def test_a_challenger_that_fails_to_load_leaves_the_champion_serving_alone(
    sqlite_settings: Settings, credit_record: dict[str, Any]
) -> None:
    registry = open_registry(sqlite_settings)
    broken = registry.client.create_model_version("credit", "file:///nowhere/model", run_id=None)
    registry.set_alias("credit", "challenger", str(broken.version))
    with TestClient(create_app(sqlite_settings)) as client:
        answer = client.post(PREDICT, json=credit_record)
        assert answer.status_code == 200
        assert answer.json()["version"] == "1"
        ready = client.get("/1.0.0/readiness")
        assert ready.status_code == 200
        assert (
            f"challenger version {broken.version} failed to load" in ready.json()["shadow_failures"]["credit"]
        )
        assert client.get("/1.0.0/models").json()[0]["challenger"] is None
