"""Credit scoring: probability that a loan applicant defaults.

Trained on the Statlog German Credit data (UCI, CC BY 4.0, vendored in
``usine/datasets``). The pipeline one-hot encodes the categorical features and fits a
histogram gradient-boosting classifier whose probabilities are calibrated by
cross-validation (sigmoid), because a credit score is read as a probability.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from usine.datasets import dataset_path
from usine.domain.fairness import ProtectedAttribute
from usine.domain.features import FeatureKind, FeatureSpec
from usine.domain.validation import TableSchema
from usine.pipelines.blocks import (
    Block,
    RunState,
    SplitStratified,
    Validate,
    load_file,
    need,
    run_pipeline,
)
from usine.pipelines.lifecycle import CompareWithChampion, Promote, Register
from usine.pipelines.modelling import Evaluate, Featurize, Fit, Tune, calibrated_boosting, one_hot_encoder

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


CATEGORICAL_FEATURES = (
    "status_of_existing_checking_account",
    "credit_history",
    "purpose",
    "savings_account_and_bonds",
    "present_employment_since",
    "personal_status_and_sex",
    "other_debtors_or_guarantors",
    "property",
    "other_installment_plans",
    "housing",
    "job",
    "telephone",
    "foreign_worker",
)
SCHEMA = TableSchema(
    target=TARGET,
    classes=(CLASSES[0], CLASSES[1]),
    numeric={name: (low, high) for name, (_, low, high, _) in NUMERIC_FEATURES.items()},
    categorical=CATEGORICAL_FEATURES,
)
DESCRIPTION = "Probability that a loan applicant defaults (Statlog German Credit)."
INTENDED_USE = (
    "Ranks consumer-loan applications by their probability of default, as one input to a "
    "credit decision that a person takes and can explain (the reason codes of each score say "
    "which answers pushed it up). Not for automated refusal without human review."
)
LIMITS = (
    "High-risk AI system under the EU AI Act (Annex III, 5(b), creditworthiness of natural "
    "persons): risk management, data governance, logging, human oversight and a conformity "
    "assessment are required before use.",
    "Trained on 1,000 applications from southern Germany in the 1970s (Statlog German "
    "Credit, UCI, CC BY 4.0); amounts are in Deutsche Mark. It does not describe today's "
    "applicants: retrain on the lender's own data before any real use.",
    "The data holds sex (through personal status) and age, protected attributes the model "
    "reads; the fairness section shows their effect on approval rates.",
    "Probabilities are calibrated on the training split by 5-fold sigmoid calibration; their "
    "calibration on a different population is unknown until monitored.",
)


# Protected attributes the data holds, for the fairness report.
PROTECTED = (
    ProtectedAttribute("sex", "personal_status_and_sex", separator=":"),
    ProtectedAttribute("age_band", "age_in_years", bands=(25, 35, 50)),
)
# An applicant is approved when the predicted probability of default is below this.
APPROVAL_THRESHOLD = 0.5


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


def load_block(path: Path | None = None) -> Block:
    """The block that reads ``path`` by its suffix (Parquet or CSV); the vendored CSV by default."""
    return load_file(path or dataset_path(DATA_FILE))


def load_credit_frame(path: Path | None = None) -> tuple[pd.DataFrame, str]:
    """Read the credit data and fingerprint its bytes.

    Raises:
        TrainingDataError: when the file is missing, empty or not what its name says.

    """
    state = RunState(model_name=MODEL_NAME, seed=0)
    load_block(path).run(state)
    return need(state.frame, "frame"), state.sha256


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


def data_blocks(path: Path | None = None, test_size: float = 0.2) -> list[Block]:
    """Load, validate, declare the contract, split (stratified)."""
    return [load_block(path), Validate(SCHEMA), Featurize(NUMERIC_FEATURES), SplitStratified(test_size)]


def credit_pipeline(
    path: Path | None = None, *, min_auc: float = 0.7, alias: str = "champion", beat_champion: bool = True
) -> list[Block]:
    """The reference credit pipeline, from the data file to the promotion gate."""
    return [
        *data_blocks(path),
        Fit(default_params()),
        Evaluate(APPROVAL_THRESHOLD, PROTECTED),
        CompareWithChampion(alias),
        Register(DESCRIPTION, tuple(SKOPS_TRUSTED_TYPES), INTENDED_USE, LIMITS),
        Promote(min_auc, alias, beat_champion),
    ]


def optional_blocks() -> list[Block]:
    """Blocks a pipeline file may add to the credit pipeline, declared with credit's defaults."""
    space: dict[str, list[Any]] = {
        "learning_rate": [0.03, 0.05, 0.1],
        "max_leaf_nodes": [7, 15, 31],
        "l2_regularization": [0.0, 1.0],
    }
    return [Tune(space=space, params=default_params())]


def prepare_credit_data(path: Path | None = None, seed: int = 42, test_size: float = 0.2) -> CreditData:
    """Load, check and split the credit data (stratified on the target), as the pipeline does.

    Raises:
        TrainingDataError: the data breaks the credit schema (the message lists rows and columns).

    """
    state = run_pipeline(data_blocks(path, test_size), RunState(model_name=MODEL_NAME, seed=seed))
    train_inputs, train_target = state.inputs_and_target(state.train_frame, "split")
    test_inputs, test_target = state.inputs_and_target(state.test_frame, "split")
    return CreditData(
        features=need(state.features, "features"),
        train_inputs=train_inputs,
        train_target=train_target,
        test_inputs=test_inputs,
        test_target=test_target,
        sha256=state.sha256,
        source=state.source,
    )


def build_pipeline(features: list[FeatureSpec], params: dict[str, float | int | str], seed: int) -> Pipeline:
    """The untrained credit pipeline: one-hot encoding, boosting, calibration.

    Labels are read as strings (``good``/``bad``) so that ``classes_`` names them.
    """
    return Pipeline([("encode", one_hot_encoder(features)), ("classify", calibrated_boosting(params, seed))])


def label_names(target: np.ndarray) -> np.ndarray:
    """Map 0/1 targets back to the class names the model is fitted on."""
    return np.where(target == 1, POSITIVE_CLASS, CLASSES[0])
