"""Models that data scientists logged in their own MLflow runs, as usine reads them.

A run's model is found by its artifact path; its flavours, signature and the run's metrics
say what it is, and a reference data file logged beside it (``reference.csv``,
``training_data.parquet``, ...) gives the distribution monitoring compares traffic with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import Model, ModelSignature
from mlflow.tracking import MlflowClient

from usine.domain.errors import ModelNotFound

SKLEARN_FLAVOR = "sklearn"
PYFUNC_FLAVOR = "python_function"
REFERENCE_STEMS = ("reference", "training_data", "training", "train")
REFERENCE_SUFFIXES = (".csv", ".parquet")
REFERENCE_FOLDERS = ("", "data", "reference")


@dataclass(frozen=True)
class RunModel:
    """A model logged in a run: where it is, its flavours and signature, the run's metrics."""

    run_id: str
    artifact_path: str
    model_uri: str
    flavors: tuple[str, ...]
    signature: ModelSignature | None
    run_metrics: dict[str, float]
    run_params: dict[str, str]


class PyfuncProbabilities:
    """A pyfunc model whose ``predict`` returns the positive class's probability, as a classifier.

    Args:
        model: the loaded pyfunc model.
        classes: (negative, positive) labels the probabilities are reported for.

    """

    def __init__(self, model: Any, classes: tuple[str, str]) -> None:
        self.model = model
        self.classes_ = np.array(classes)

    def predict_proba(self, inputs: pd.DataFrame) -> np.ndarray:
        """Probability of each class, one row per input."""
        positive = np.asarray(self.model.predict(inputs), dtype=np.float64).reshape(len(inputs), -1)[:, -1]
        return np.column_stack([1.0 - positive, positive])


def find_run_model(client: MlflowClient, run_id: str, artifact_path: str) -> RunModel:
    """The model ``run_id`` logged at ``artifact_path``.

    Raises:
        ModelNotFound: no such run in this tracking store, or no MLflow model at that path.

    """
    try:
        run = client.get_run(run_id)
    except MlflowException:
        raise ModelNotFound(
            f"no MLflow run {run_id!r} in this tracking store (USINE_MLFLOW_TRACKING_URI)"
        ) from None
    uri = f"runs:/{run_id}/{artifact_path}"
    try:
        descriptor = Model.load(uri)
    except (MlflowException, OSError):
        raise ModelNotFound(
            f"run {run_id} holds no MLflow model at {artifact_path!r}: name the path with --artifact-path"
        ) from None
    return RunModel(
        run_id=run_id,
        artifact_path=artifact_path,
        # MLflow 3 keeps a run's model as a logged model of its own: register that, not the run folder.
        model_uri=f"models:/{descriptor.model_id}" if descriptor.model_id else uri,
        flavors=tuple(sorted(descriptor.flavors)),
        signature=descriptor.signature,
        run_metrics={key: float(value) for key, value in run.data.metrics.items()},
        run_params={key: str(value) for key, value in run.data.params.items()},
    )


def load_run_model(uri: str, flavors: tuple[str, ...], classes: tuple[str, str]) -> Any:
    """The scikit-learn estimator at ``uri``, or its pyfunc wrapped as a classifier."""
    if SKLEARN_FLAVOR in flavors:
        return mlflow.sklearn.load_model(uri)
    return PyfuncProbabilities(mlflow.pyfunc.load_model(uri), classes)


def download_reference(client: MlflowClient, run_id: str, folder: Path) -> Path | None:
    """Download the reference data file the run logged (``reference.csv``, ``data/train.parquet``...).

    Returns:
        Its local path, or ``None`` when the run logged none.

    """
    wanted = {f"{stem}{suffix}" for stem in REFERENCE_STEMS for suffix in REFERENCE_SUFFIXES}
    for under in REFERENCE_FOLDERS:
        try:
            listed = client.list_artifacts(run_id, under or None)
        except (MlflowException, OSError):
            continue
        for artifact in sorted(listed, key=lambda item: str(item.path)):
            if not artifact.is_dir and Path(str(artifact.path)).name in wanted:
                return Path(client.download_artifacts(run_id, str(artifact.path), str(folder)))
    return None
