"""Credit scoring: probability that a loan applicant defaults.

Trained on the Statlog German Credit data (UCI, CC BY 4.0, vendored in
``usine/datasets``). The pipeline one-hot encodes the categorical features and fits a
histogram gradient-boosting classifier whose probabilities are calibrated by
cross-validation (sigmoid), because a credit score is read as a probability.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from usine.datasets import dataset_path
from usine.domain.errors import TrainingDataError
from usine.domain.features import FeatureKind, FeatureSpec

MODEL_NAME = "credit"
TARGET = "creditability"
CLASSES = ("good", "bad")
POSITIVE_CLASS = "bad"
DATA_FILE = "german_credit.csv"

# Declared domains of the numeric features: a request outside them is refused (422),
# because the model never saw anything like it and its score would mean nothing.
NUMERIC_FEATURES: dict[str, tuple[FeatureKind, float, float, str]] = {
    "duration_in_month": (
        FeatureKind.INTEGER,
        1,
        120,
        "Duration of the credit, in months",
    ),
    "credit_amount": (FeatureKind.NUMBER, 1, 1_000_000, "Amount of the credit, in DM"),
    "installment_rate_in_percentage_of_disposable_income": (
        FeatureKind.INTEGER,
        1,
        4,
        "Instalment rate as a share of disposable income, band 1-4",
    ),
    "present_residence_since": (
        FeatureKind.INTEGER,
        1,
        4,
        "Years at present residence, band 1-4",
    ),
    "age_in_years": (FeatureKind.INTEGER, 18, 120, "Age of the applicant, in years"),
    "number_of_existing_credits_at_this_bank": (
        FeatureKind.INTEGER,
        1,
        20,
        "Number of credits already held at this bank",
    ),
    "number_of_people_being_liable_to_provide_maintenance_for": (
        FeatureKind.INTEGER,
        0,
        20,
        "Number of people the applicant provides for",
    ),
}

# Types a fitted pipeline holds beyond what skops trusts by default. MLflow refuses to
# load a skops file holding anything else, so this list is exactly what we trust.
SKOPS_TRUSTED_TYPES = [
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
]


@dataclass(frozen=True)
class CreditData:
    """The credit data, split for training and held-out evaluation."""

    features: list[FeatureSpec]
    train_inputs: pd.DataFrame
    train_target: np.ndarray
    test_inputs: pd.DataFrame
    test_target: np.ndarray
    sha256: str
    source: str


def load_credit_frame(path: Path | None = None) -> tuple[pd.DataFrame, str]:
    """Read the credit CSV and fingerprint its bytes.

    Args:
        path: a CSV with the German Credit columns; the vendored file when omitted.

    Returns:
        The frame and the SHA-256 of the file's content.

    Raises:
        TrainingDataError: when the file is missing, empty or not a CSV.

    """
    source = path or dataset_path(DATA_FILE)
    try:
        content = source.read_bytes()
    except OSError as exc:
        raise TrainingDataError(f"cannot read training data {source}: {exc.strerror}") from exc
    try:
        frame = pd.read_csv(source)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise TrainingDataError(f"{source} is not a readable CSV: {exc}") from exc
    return frame, hashlib.sha256(content).hexdigest()


def feature_specs(frame: pd.DataFrame) -> list[FeatureSpec]:
    """The credit model's input contract, categories taken from the training data.

    Raises:
        TrainingDataError: when a column is missing or a numeric column holds text.

    """
    missing = [c for c in [*NUMERIC_FEATURES, TARGET] if c not in frame.columns]
    if missing:
        raise TrainingDataError(f"training data lacks columns: {', '.join(missing)}")
    specs = []
    for column in frame.columns.drop(TARGET):
        if column in NUMERIC_FEATURES:
            kind, low, high, description = NUMERIC_FEATURES[column]
            if not pd.api.types.is_numeric_dtype(frame[column]):
                raise TrainingDataError(f"column {column!r} should be numeric")
            specs.append(
                FeatureSpec(
                    name=column,
                    kind=kind,
                    minimum=low,
                    maximum=high,
                    description=description,
                )
            )
        else:
            categories = tuple(sorted(frame[column].dropna().astype(str).unique()))
            specs.append(FeatureSpec(name=column, kind=FeatureKind.CATEGORY, categories=categories))
    return specs


def prepare_credit_data(path: Path | None = None, seed: int = 42, test_size: float = 0.2) -> CreditData:
    """Load, check and split the credit data (stratified on the target).

    Raises:
        TrainingDataError: when the target is not exactly ``good``/``bad`` with both present.

    """
    frame, digest = load_credit_frame(path)
    features = feature_specs(frame)
    labels = set(frame[TARGET].dropna().astype(str).unique())
    if labels != set(CLASSES):
        raise TrainingDataError(f"target {TARGET!r} must hold both {CLASSES}, found {sorted(labels)}")
    inputs = frame[[f.name for f in features]]
    target = (frame[TARGET].astype(str) == POSITIVE_CLASS).to_numpy(dtype=np.int8)
    train_x, test_x, train_y, test_y = train_test_split(
        inputs, target, test_size=test_size, stratify=target, random_state=seed
    )
    return CreditData(
        features=features,
        train_inputs=train_x,
        train_target=train_y,
        test_inputs=test_x,
        test_target=test_y,
        sha256=digest,
        source=str(path or dataset_path(DATA_FILE)),
    )


def default_params() -> dict[str, float | int | str]:
    """Hyper-parameters of the reference credit model."""
    return {
        "learning_rate": 0.05,
        "max_iter": 200,
        "max_leaf_nodes": 15,
        "min_samples_leaf": 20,
        "l2_regularization": 1.0,
        "calibration": "sigmoid",
        "calibration_folds": 5,
    }


def build_pipeline(features: list[FeatureSpec], params: dict[str, float | int | str], seed: int) -> Pipeline:
    """The untrained credit pipeline: one-hot encoding, boosting, calibration.

    Labels are read as strings (``good``/``bad``) so that ``classes_`` names them.
    """
    categorical = [f.name for f in features if f.kind is FeatureKind.CATEGORY]
    numeric = [f.name for f in features if f.kind is not FeatureKind.CATEGORY]
    encoder = ColumnTransformer(
        [
            (
                "categories",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                categorical,
            ),
            ("numbers", "passthrough", numeric),
        ],
        verbose_feature_names_out=False,
    )
    boosting = HistGradientBoostingClassifier(
        learning_rate=float(params["learning_rate"]),
        max_iter=int(params["max_iter"]),
        max_leaf_nodes=int(params["max_leaf_nodes"]),
        min_samples_leaf=int(params["min_samples_leaf"]),
        l2_regularization=float(params["l2_regularization"]),
        random_state=seed,
    )
    calibrated = CalibratedClassifierCV(
        boosting, method=str(params["calibration"]), cv=int(params["calibration_folds"])
    )
    return Pipeline([("encode", encoder), ("classify", calibrated)])


def label_names(target: np.ndarray) -> np.ndarray:
    """Map 0/1 targets back to the class names the model is fitted on."""
    return np.where(target == 1, POSITIVE_CLASS, CLASSES[0])
