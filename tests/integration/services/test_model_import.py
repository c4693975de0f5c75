"""Bring your own model: a model logged in a data scientist's own MLflow run, registered and served."""

from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from own_models import OwnRun, log_own_model, save_own_model
from usine.api.app import create_app
from usine.domain.errors import ModelNotFound, ModelNotRegistrable
from usine.services.batch import BatchJob, FileTable, rejects_for, score_table
from usine.services.model_import import register_run_model, register_saved_model
from usine.services.models import model_card, open_registry, promote
from usine.settings import Settings


@pytest.fixture(scope="module")
def brought(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, OwnRun]:
    """A home where a notebook run logged a churn model, registered and promoted as ``churn``."""
    settings = Settings(home=tmp_path_factory.mktemp("own-model"), served_models=["churn"])
    own = log_own_model(settings)
    registry = open_registry(settings)
    registered = register_run_model(registry, own.run_id, "churn", positive_class="left", target="churned")
    assert (registered.version, registered.reference_rows) == ("1", 300)
    assert registry.version_for_alias("churn", "challenger") == "1"
    promote(registry, "churn", None, "champion")
    return settings, own


def test_the_version_keeps_the_signature_reference_and_a_card(brought: tuple[Settings, OwnRun]) -> None:
    settings, own = brought
    registry = open_registry(settings)
    spec = registry.spec("churn", "1")
    assert [(f.name, f.kind.value) for f in spec.features] == [
        ("tenure_months", "integer"),
        ("monthly_charges", "number"),
        ("contract", "category"),
    ]
    assert (spec.classes, spec.positive_class, spec.target) == (("stayed", "left"), "left", "churned")
    assert spec.reference is not None
    assert set(spec.reference.categorical["contract"].frequencies) == {"monthly", "yearly", "two-year"}
    card = model_card(registry, "churn", "1", html=False)
    assert f"MLflow run `{own.run_id}`" in card
    assert "usine did not train" in card
    assert "figures/" not in card  # no broken images: a brought model has no usine figures
    with pytest.raises(ModelNotRegistrable, match="positive class 'maybe'"):
        register_run_model(registry, own.run_id, "churn", positive_class="maybe")
    assert [version.version for version in registry.list_versions("churn")] == ["1"]


def test_the_served_model_scores_like_the_notebook_and_validates_inputs(
    brought: tuple[Settings, OwnRun], database_url: str
) -> None:
    settings, own = brought
    record = own.inputs.iloc[0].to_dict()
    record = {key: value.item() if hasattr(value, "item") else value for key, value in record.items()}
    expected = own.model.predict_proba(own.inputs.head(1))[0, list(own.model.classes_).index("left")]
    with TestClient(create_app(settings.model_copy(update={"database_url": database_url}))) as client:
        scored = client.post("/1.0.0/models/churn/predictions", json=record)
        assert scored.status_code == 200, scored.text
        assert scored.json()["version"] == "1"
        assert scored.json()["predictions"][0]["score"] == pytest.approx(expected, abs=1e-9)
        refused = client.post("/1.0.0/models/churn/predictions", json={**record, "tenure_months": "long"})
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        assert "tenure_months" in refused.text


def test_refusals_name_the_problem_and_register_nothing(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    registry = open_registry(settings)
    unsigned = log_own_model(settings, signature=False, reference=False)
    with pytest.raises(ModelNotRegistrable, match=r"no signature.*infer_signature"):
        register_run_model(registry, unsigned.run_id, "churn")
    with pytest.raises(ModelNotFound, match="no MLflow model at 'classifier'"):
        register_run_model(registry, unsigned.run_id, "churn", artifact_path="classifier")
    with pytest.raises(ModelNotFound, match="no MLflow run 'f00'"):
        register_run_model(registry, "f00", "churn")
    assert registry.list_versions("churn") == []


def test_the_brought_model_scores_a_file_in_batch(brought: tuple[Settings, OwnRun], tmp_path: Path) -> None:
    settings, own = brought
    source, output = tmp_path / "customers.csv", tmp_path / "scores.csv"
    own.inputs.head(20).to_csv(source, index=False)
    job = BatchJob(
        model="churn",
        source=FileTable(str(source)),
        output=FileTable(str(output)),
        rejects=rejects_for(FileTable(str(output))),
    )
    report = score_table(job, open_registry(settings), "usine-batch")
    assert (report.rows_scored, report.version) == (20, "1")
    left = list(own.model.classes_).index("left")
    expected = own.model.predict_proba(own.inputs.head(20))[:, left]
    assert pd.read_csv(output)["score"].to_numpy() == pytest.approx(expected, abs=1e-6)


def test_a_model_saved_in_a_folder_is_registered_through_a_run_of_its_own(tmp_path: Path) -> None:
    registry = open_registry(Settings(home=tmp_path / "home"))
    model, inputs = save_own_model(tmp_path / "saved")
    inputs.to_csv(tmp_path / "train.csv", index=False)
    brought = register_saved_model(
        registry, tmp_path / "saved", "churn", reference=tmp_path / "train.csv", positive_class="left"
    )
    assert (brought.version, brought.reference_rows) == ("1", 300)
    assert registry.version_for_alias("churn", "challenger") == "1"
    loaded = registry.load("churn", "1")
    assert loaded.run_id == brought.run_id
    left = list(model.classes_).index("left")
    assert loaded.model.predict_proba(inputs.head(5))[:, left] == pytest.approx(
        model.predict_proba(inputs.head(5))[:, left], abs=1e-12
    )
    with pytest.raises(ModelNotFound, match="no MLmodel file"):
        register_saved_model(registry, tmp_path, "churn")
    assert [version.version for version in registry.list_versions("churn")] == ["1"]
