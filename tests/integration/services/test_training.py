"""Training end to end into a real MLflow store: evidence logged, gate applied, reproducible."""

import hashlib
import json
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from usine.datasets import dataset_path
from usine.domain.errors import ModelNotFound
from usine.services.models import open_registry, promote, rollback
from usine.services.training import TrainingResult, train_credit
from usine.settings import Settings


@pytest.fixture(scope="module")
def gated_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, TrainingResult]:
    """A store where the only version failed an impossible quality gate."""
    settings = Settings(home=tmp_path_factory.mktemp("gated"))
    return settings, train_credit(open_registry(settings), min_auc=0.99)


def test_the_run_records_data_hash_commit_params_and_reference(
    trained_home: tuple[Path, TrainingResult],
) -> None:
    home, result = trained_home
    client = MlflowClient(tracking_uri=Settings(home=home).mlflow_tracking_uri)
    run = client.get_run(result.run_id)
    expected_hash = hashlib.sha256(dataset_path("german_credit.csv").read_bytes()).hexdigest()
    assert run.data.tags["usine.data_sha256"] == expected_hash
    assert run.data.tags["usine.git_commit"]
    assert run.data.params["seed"] == "42"
    assert run.data.params["calibration"] == "sigmoid"
    assert {"roc_auc", "gini", "ks", "brier", "log_loss"} <= set(run.data.metrics)
    assert run.inputs.dataset_inputs[0].dataset.digest == expected_hash[:16]
    reference_file = Path(
        mlflow.artifacts.download_artifacts(
            run_id=result.run_id,
            artifact_path="reference",
            tracking_uri=Settings(home=home).mlflow_tracking_uri,
        )
    )
    reference = json.loads((reference_file / "statistics.json").read_text())
    assert reference["rows"] == 800
    assert len(reference["numeric"]) + len(reference["categorical"]) == 20


def test_a_version_below_the_gate_is_registered_but_not_champion(
    gated_home: tuple[Settings, TrainingResult],
) -> None:
    settings, result = gated_home
    assert not result.promoted
    registry = open_registry(settings)
    assert registry.version_for_alias("credit", "champion") is None
    assert registry.version_for_alias("credit", "challenger") == "1"
    assert [v.version for v in registry.list_versions("credit")] == ["1"]


def test_the_same_data_and_seed_give_the_same_metrics(
    gated_home: tuple[Settings, TrainingResult], trained_home: tuple[Path, TrainingResult]
) -> None:
    assert gated_home[1].metrics == trained_home[1].metrics


def test_promotion_moves_the_alias_and_remembers_the_previous_version(
    gated_home: tuple[Settings, TrainingResult],
) -> None:
    registry = open_registry(gated_home[0])
    first = promote(registry, "credit", None, "champion")  # no version: the challenger
    assert (first.previous, first.current) == (None, "1")
    assert registry.version_for_alias("credit", "champion") == "1"
    assert registry.version_for_alias("credit", "challenger") is None


def test_rollback_returns_the_champion_to_the_version_it_left_and_back(
    gated_home: tuple[Settings, TrainingResult],
) -> None:
    settings, _ = gated_home
    registry = open_registry(settings)
    with pytest.raises(ModelNotFound, match="never moved"):
        rollback(registry, "credit", "challenger")
    first = registry.client.get_model_version("credit", "1")
    second = registry.client.create_model_version("credit", first.source, run_id=first.run_id).version
    promote(registry, "credit", "1", "champion")
    promote(registry, "credit", str(second), "champion")
    back = rollback(registry, "credit", "champion")
    assert (back.previous, back.current) == (str(second), "1")
    assert registry.version_for_alias("credit", "champion") == "1"
    forth = rollback(registry, "credit", "champion")
    assert registry.version_for_alias("credit", "champion") == forth.current == str(second)
