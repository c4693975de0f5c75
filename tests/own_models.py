"""Models a data scientist logs in their own MLflow run, outside usine, as the tests need them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.models import infer_signature
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from usine.services.scaffold import sample_frame
from usine.settings import Settings


@dataclass(frozen=True)
class OwnRun:
    """A run logged by hand: its id, the fitted model and the inputs it was trained on."""

    run_id: str
    model: Pipeline
    inputs: pd.DataFrame


def fit_own_model() -> tuple[Pipeline, pd.DataFrame]:
    """A small LogisticRegression fitted on generated churn data, and its training inputs."""
    frame = sample_frame(300)
    inputs, target = frame[["tenure_months", "monthly_charges", "contract"]], frame["churned"]
    model = Pipeline(
        [
            (
                "encode",
                ColumnTransformer(
                    [("contract", OneHotEncoder(handle_unknown="ignore"), ["contract"])],
                    remainder="passthrough",
                ),
            ),
            ("classify", LogisticRegression(max_iter=500)),
        ]
    ).fit(inputs, target)
    return model, inputs


def save_own_model(folder: Path) -> tuple[Pipeline, pd.DataFrame]:
    """Fit the model and save it in ``folder`` with its signature, as a notebook without a run would."""
    model, inputs = fit_own_model()
    mlflow.sklearn.save_model(
        model,
        str(folder),
        signature=infer_signature(inputs, model.predict_proba(inputs)),
        pip_requirements=["scikit-learn"],
    )
    return model, inputs


def log_own_model(settings: Settings, *, signature: bool = True, reference: bool = True) -> OwnRun:
    """Fit a small LogisticRegression and log it as a data scientist would, in their own experiment."""
    model, inputs = fit_own_model()
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    experiment = mlflow.get_experiment_by_name("my-notebook")
    experiment_id = (
        experiment.experiment_id
        if experiment is not None
        else mlflow.create_experiment("my-notebook", artifact_location=(settings.home / "notebook").as_uri())
    )
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_metric("roc_auc", 0.8)
        mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(inputs, model.predict_proba(inputs)) if signature else None,
            pip_requirements=["scikit-learn"],
        )
        if reference:
            path = Path(settings.home) / "reference.csv"
            inputs.to_csv(path, index=False)
            mlflow.log_artifact(str(path))
    return OwnRun(run_id=run.info.run_id, model=model, inputs=inputs)
