"""What a registered model version promises: its task, inputs, labels and evidence.

A :class:`ModelSpec` travels with the model in the registry (as MLflow model metadata),
so a server or a batch job knows how to validate inputs and read feedback without
importing the code that trained the model.
"""

from __future__ import annotations

import re
from typing import Protocol

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from usine.domain.features import FeatureSpec, InputSchema, Record
from usine.domain.reference import ReferenceStatistics

MODEL_NAME = re.compile(r"[a-z][a-z0-9_-]{0,62}")


def is_model_name(name: str) -> bool:
    """Whether ``name`` can name a registered model (and its URL path and record type)."""
    return MODEL_NAME.fullmatch(name) is not None


class ModelSpec(BaseModel):
    """Contract and evidence of one binary scoring model version."""

    name: str
    task: str = "binary-classification"
    description: str = ""
    target: str
    classes: tuple[str, str]
    positive_class: str
    features: list[FeatureSpec]
    reference: ReferenceStatistics | None = Field(
        default=None,
        description="Training distribution for monitoring; None for a model registered without data.",
    )
    metrics: dict[str, float]
    data_sha256: str

    def input_schema(self) -> InputSchema:
        """Compile the validator of this model's input records."""
        return InputSchema(self.name, self.features)


class ProbabilityModel(Protocol):
    """Anything with scikit-learn's ``predict_proba`` and ``classes_``."""

    classes_: np.ndarray

    def predict_proba(self, inputs: pd.DataFrame) -> np.ndarray:
        """Probability of each class, one row per input."""
        ...


class Predictor:
    """Scores validated records with a fitted probabilistic classifier.

    Args:
        model: the fitted estimator (e.g. a scikit-learn pipeline).
        spec: the version's contract, giving the feature order and the positive class.

    """

    def __init__(self, model: ProbabilityModel, spec: ModelSpec) -> None:
        self.model = model
        self.columns = [feature.name for feature in spec.features]
        classes = [str(label) for label in model.classes_]
        if spec.positive_class not in classes:
            raise ValueError(f"positive class {spec.positive_class!r} not among {classes}")
        self.positive_index = classes.index(spec.positive_class)

    def predict_scores(self, records: list[Record]) -> np.ndarray:
        """Probability of the positive class for each record, in order."""
        frame = pd.DataFrame.from_records(records, columns=self.columns)
        return self.model.predict_proba(frame)[:, self.positive_index]
