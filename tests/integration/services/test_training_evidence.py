"""What a training run leaves for a reviewer, and the challenger/champion state machine."""

import json
from collections.abc import Callable
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from usine.datasets import dataset_path
from usine.domain.errors import TrainingDataError
from usine.pipelines import credit
from usine.pipelines.lifecycle import CompareWithChampion, Promote, Register
from usine.pipelines.modelling import Evaluate, Fit, Tune
from usine.services.models import model_card, open_registry, rollback
from usine.services.training import TrainingResult, run_blocks, train_credit
from usine.settings import Settings

# Held-out metrics of the credit pipeline before it was rebuilt from blocks (seed 42).
CREDIT_METRICS_BEFORE_BLOCKS = {
    "roc_auc": 0.7935714285714286,
    "gini": 0.5871428571428572,
    "ks": 0.5119047619047619,
    "brier": 0.1601769430402637,
    "log_loss": 0.4897148227800486,
}
SMALL = {**credit.default_params(), "max_iter": 15, "calibration_folds": 2}


def test_the_block_pipeline_gives_the_metrics_of_the_pipeline_it_replaced(
    trained_home: tuple[Path, TrainingResult],
) -> None:
    assert trained_home[1].metrics == pytest.approx(CREDIT_METRICS_BEFORE_BLOCKS, abs=1e-12)


def test_the_run_holds_figures_fairness_card_and_reproducibility_record(
    trained_home: tuple[Path, TrainingResult],
) -> None:
    home, result = trained_home
    settings = Settings(home=home)
    client = MlflowClient(tracking_uri=settings.mlflow_tracking_uri)
    run = client.get_run(result.run_id)
    assert 0.0 < run.data.metrics["fairness_sex_disparate_impact"] <= 1.0
    assert "fairness_age_band_25_34_roc_auc" in run.data.metrics
    folder = Path(
        mlflow.artifacts.download_artifacts(run_id=result.run_id, tracking_uri=settings.mlflow_tracking_uri)
    )
    figures = sorted(path.name for path in (folder / "evaluation" / "figures").iterdir())
    assert figures == [
        "calibration.svg",
        "fairness_age_band.svg",
        "fairness_sex.svg",
        "permutation_importance.svg",
        "roc.svg",
        "score_distribution.svg",
    ]
    assert all((folder / "evaluation" / "figures" / name).read_text().startswith("<svg") for name in figures)
    record = json.loads((folder / "reproducibility" / "record.json").read_text())
    assert record["seed"] == 42
    assert record["data"]["rows"] == 1000
    assert record["packages"]["scikit-learn"] == run.data.tags["usine.scikit_learn"]
    blocks = "load_csv validate featurize split_stratified fit evaluate compare register promote"
    assert [block["block"] for block in record["pipeline"]] == blocks.split()
    assert record["pipeline"][4]["params"] == credit.default_params()
    importance = json.loads((folder / "evaluation" / "importance.json").read_text())
    assert (
        max(importance, key=lambda name: importance[name]["mean_auc_drop"])
        == "status_of_existing_checking_account"
    )
    markdown = model_card(open_registry(settings), "credit", result.version, html=False)
    page = model_card(open_registry(settings), "credit", result.version, html=True)
    assert f"# Model card: credit, version {result.version}" in markdown
    assert "Annex III" in markdown
    assert "| female |" in markdown
    assert page.count("<svg") == 6
    assert "figures/roc.svg" not in page  # inlined, so the page opens anywhere


def test_a_challenger_is_compared_with_the_champion_on_the_same_rows_then_gated(tmp_path: Path) -> None:
    registry = open_registry(Settings(home=tmp_path))

    def train(params: dict[str, object], min_auc: float = 0.6) -> TrainingResult:
        blocks = [
            *credit.data_blocks(),
            Fit(params),
            Evaluate(credit.APPROVAL_THRESHOLD, credit.PROTECTED),
            CompareWithChampion(),
            Register(credit.DESCRIPTION, tuple(credit.SKOPS_TRUSTED_TYPES)),
            Promote(min_auc),
        ]
        return run_blocks(registry, blocks, name="credit", seed=42, min_auc=min_auc)

    first = train(SMALL)
    assert first.champion is not None
    assert first.champion.version is None
    assert first.promoted
    second = train(SMALL)
    assert second.champion is not None
    assert second.champion.version == "1"
    assert second.champion.metrics == second.metrics  # the same model scored on the same rows
    assert second.promoted
    assert registry.version_for_alias("credit", "champion") == "2"
    assert registry.version_for_alias("credit", "challenger") is None
    weaker = train({**SMALL, "max_iter": 1, "learning_rate": 0.01})
    assert weaker.champion is not None
    assert weaker.metrics["roc_auc"] < weaker.champion.metrics["roc_auc"]  # type: ignore[index]
    assert not weaker.promoted
    assert registry.version_for_alias("credit", "champion") == "2"
    assert registry.version_for_alias("credit", "challenger") == "3"
    assert rollback(registry, "credit", "champion").current == "1"


def test_each_tuning_trial_is_a_nested_run(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    registry = open_registry(settings)
    blocks = [
        *credit.data_blocks(),
        Tune(space={"max_iter": [5, 10, 20]}, params=SMALL, trials=2, folds=2),
        Fit(SMALL),
        Evaluate(),
        Register(credit.DESCRIPTION, tuple(credit.SKOPS_TRUSTED_TYPES)),
    ]
    result = run_blocks(registry, blocks, name="credit", seed=42, min_auc=0.5)
    client = MlflowClient(tracking_uri=settings.mlflow_tracking_uri)
    trials = client.search_runs(
        [client.get_run(result.run_id).info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{result.run_id}'",
    )
    assert len(trials) == 2
    assert all(0.5 < trial.data.metrics["cv_roc_auc"] <= 1.0 for trial in trials)
    best = max(trials, key=lambda trial: trial.data.metrics["cv_roc_auc"])
    assert client.get_run(result.run_id).data.params["max_iter"] == best.data.params["max_iter"]
    assert result.tracking_seconds > 0


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda text: text.replace("age_in_years", "age"), "age_in_years: column missing"),
        (lambda text: text.replace(",bad\n", ",good\n"), "must hold both classes"),
        (lambda text: text.replace(",1169,", ",lots,"), "credit_amount: not a number"),
    ],
)
def test_bad_data_stops_before_anything_reaches_the_tracking_store(
    tmp_path: Path, edit: Callable[[str], str], message: str
) -> None:
    data = tmp_path / "data.csv"
    data.write_text(edit(dataset_path(credit.DATA_FILE).read_text()))
    settings = Settings(home=tmp_path / "home")
    registry = open_registry(settings)
    with pytest.raises(TrainingDataError, match=message):
        train_credit(registry, min_auc=0.7, data_path=data)
    assert registry.list_versions() == []
    client = MlflowClient(tracking_uri=settings.mlflow_tracking_uri)
    assert client.search_runs([exp.experiment_id for exp in client.search_experiments()]) == []
