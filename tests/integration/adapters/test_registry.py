"""The MLflow registry adapter on a real MLflow SQLite store in a temporary folder."""

from pathlib import Path

import pytest

from usine.adapters.registry import ModelRegistry
from usine.domain.errors import ModelNotFound
from usine.pipelines import credit
from usine.services.models import open_registry
from usine.services.training import TrainingResult
from usine.settings import Settings


@pytest.fixture(scope="module")
def registry(trained_home: tuple[Path, TrainingResult]) -> ModelRegistry:
    return open_registry(Settings(home=trained_home[0]))


def test_a_passing_version_is_champion(
    registry: ModelRegistry, trained_home: tuple[Path, TrainingResult]
) -> None:
    _, result = trained_home
    assert result.promoted
    assert registry.version_for_alias("credit", "champion") == result.version == "1"


def test_the_loaded_model_carries_its_contract_and_evidence(
    registry: ModelRegistry, trained_home: tuple[Path, TrainingResult]
) -> None:
    loaded = registry.load("credit", "1")
    spec = loaded.spec
    assert loaded.run_id == trained_home[1].run_id
    assert [f.name for f in spec.features] == [f.name for f in credit.prepare_credit_data().features]
    assert spec.positive_class == "bad"
    assert spec.metrics == pytest.approx(trained_home[1].metrics)
    assert set(spec.reference.numeric) == set(credit.NUMERIC_FEATURES)
    assert len(spec.reference.categorical) == 13
    assert list(loaded.model.classes_) == ["bad", "good"]


def test_listing_shows_aliases_and_metrics(registry: ModelRegistry) -> None:
    (version,) = registry.list_versions("credit")
    assert version.aliases == ("champion",)
    assert version.metrics["roc_auc"] > 0.7


def test_unknown_versions_and_models_are_reported(registry: ModelRegistry) -> None:
    with pytest.raises(ModelNotFound, match="no version 42"):
        registry.load("credit", "42")
    with pytest.raises(ModelNotFound):
        registry.set_alias("credit", "champion", "42")
    with pytest.raises(ModelNotFound):
        registry.get_version("fraud", "1")
    assert registry.version_for_alias("credit", "challenger") is None
    assert registry.list_versions("fraud") == []
