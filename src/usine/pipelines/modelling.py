"""Blocks that build, tune, fit and evaluate a tabular binary classifier."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import ParameterSampler, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from usine.domain.compiled_predictor import compile_predictor
from usine.domain.errors import TrainingDataError
from usine.domain.fairness import ProtectedAttribute
from usine.domain.features import FeatureKind, FeatureSpec
from usine.domain.metrics import classification_metrics
from usine.domain.model_spec import ModelSpec
from usine.domain.reference import compute_reference
from usine.pipelines.blocks import Block, RunState, need
from usine.services.evaluation import Scorer, evaluate

# A numeric input: its kind (integer or number), closed domain and description.
NumericDeclaration = tuple[FeatureKind, float, float, str]


def feature_specs(
    frame: pd.DataFrame, target: str, numeric: dict[str, NumericDeclaration]
) -> list[FeatureSpec]:
    """The input contract: declared numbers with their domain, every other column a category.

    Columns keep the table's order; categories are those the table holds.

    Raises:
        TrainingDataError: a declared column is missing or a numeric column holds text.

    """
    missing = [c for c in [*numeric, target] if c not in frame.columns]
    if missing:
        raise TrainingDataError(f"training data lacks columns: {', '.join(missing)}")
    specs = []
    for column in frame.columns.drop(target):
        if column in numeric:
            kind, low, high, description = numeric[column]
            if not pd.api.types.is_numeric_dtype(frame[column]):
                raise TrainingDataError(f"column {column!r} should be numeric")
            specs.append(
                FeatureSpec(name=column, kind=kind, minimum=low, maximum=high, description=description)
            )
        else:
            categories = tuple(sorted(frame[column].dropna().astype(str).unique()))
            specs.append(FeatureSpec(name=column, kind=FeatureKind.CATEGORY, categories=categories))
    return specs


def one_hot_encoder(features: list[FeatureSpec]) -> ColumnTransformer:
    """One-hot encoding of the categories (unknown ones encode as zeros), numbers passed through."""
    categorical = [f.name for f in features if f.kind is FeatureKind.CATEGORY]
    numeric = [f.name for f in features if f.kind is not FeatureKind.CATEGORY]
    return ColumnTransformer(
        [
            ("categories", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
            ("numbers", "passthrough", numeric),
        ],
        verbose_feature_names_out=False,
    )


def calibrated_boosting(params: dict[str, Any], seed: int) -> CalibratedClassifierCV:
    """Histogram gradient boosting whose probabilities are calibrated by cross-validation."""
    boosting = HistGradientBoostingClassifier(
        learning_rate=float(params["learning_rate"]),
        max_iter=int(params["max_iter"]),
        max_leaf_nodes=int(params["max_leaf_nodes"]),
        min_samples_leaf=int(params["min_samples_leaf"]),
        l2_regularization=float(params["l2_regularization"]),
        random_state=seed,
    )
    return CalibratedClassifierCV(
        boosting, method=str(params["calibration"]), cv=int(params["calibration_folds"])
    )


def label_names(target: np.ndarray, classes: tuple[str, str]) -> np.ndarray:
    """Map 0/1 targets back to the class names (negative, positive) the model is fitted on."""
    return np.where(target == 1, classes[1], classes[0])


@dataclass(frozen=True)
class Featurize(Block):
    """Declare the input contract from the table and build the one-hot encoder."""

    numeric: dict[str, NumericDeclaration]
    kind: ClassVar[str] = "featurize"
    needs: ClassVar[tuple[str, ...]] = ("frame", "schema")
    gives: ClassVar[tuple[str, ...]] = ("features",)

    def run(self, state: RunState) -> None:
        """Build the contract and the encoder."""
        frame = need(state.frame, "frame")
        schema = need(state.schema, "schema")
        # Only the schema's columns are inputs: an extra column (an id, a date) never leaks in.
        declared = {*schema.numeric, *schema.categorical}
        inputs = [column for column in frame.columns if column in declared]
        state.features = feature_specs(frame[[*inputs, schema.target]], schema.target, self.numeric)
        state.encoder = one_hot_encoder(state.features)


def _pipeline(state: RunState, params: dict[str, Any]) -> Pipeline:
    return Pipeline([("encode", clone(state.encoder)), ("classify", calibrated_boosting(params, state.seed))])


@dataclass(frozen=True)
class Tune(Block):
    """Bounded random search of hyper-parameters, each trial a nested MLflow run.

    Each of ``trials`` parameter sets drawn from ``space`` (seeded) over the base ``params``
    is scored by ``folds``-fold cross-validated ROC AUC on the training part only; the best
    set goes to ``fit``.
    """

    space: dict[str, list[Any]]
    params: dict[str, Any]
    trials: int = 8
    folds: int = 3
    kind: ClassVar[str] = "tune"
    needs: ClassVar[tuple[str, ...]] = ("features", "split")
    gives: ClassVar[tuple[str, ...]] = ("params",)

    def run(self, state: RunState) -> None:
        """Search, log each trial, keep the best parameters."""
        inputs, target = state.inputs_and_target(state.train_frame, "split")
        labels = label_names(target, need(state.schema, "schema").classes)
        folds = StratifiedKFold(self.folds, shuffle=True, random_state=state.seed)
        with state.tracking() as registry:
            if state.run_id is None:
                state.run_id = registry.start_run(f"{state.model_name}-seed{state.seed}")
        best: tuple[float, dict[str, Any]] | None = None
        for number, drawn in enumerate(ParameterSampler(self.space, self.trials, random_state=state.seed)):
            params = {**self.params, **drawn}
            auc = float(
                cross_val_score(_pipeline(state, params), inputs, labels, cv=folds, scoring="roc_auc").mean()
            )
            with state.tracking() as registry:
                registry.log_trial(state.run_id, f"trial-{number}", params, {"cv_roc_auc": auc})
            if best is None or auc > best[0]:
                best = (auc, params)
        if best is not None:
            state.params = best[1]
            state.extra_metrics["tune_best_cv_roc_auc"] = best[0]


@dataclass(frozen=True)
class Fit(Block):
    """Fit encoder, boosting and calibration on the training part."""

    params: dict[str, Any] = field(default_factory=dict)
    kind: ClassVar[str] = "fit"
    needs: ClassVar[tuple[str, ...]] = ("features", "split")
    gives: ClassVar[tuple[str, ...]] = ("model",)

    def run(self, state: RunState) -> None:
        """Fit; tuned parameters, when a tune block ran, win over the declared ones."""
        state.params = {**self.params, **state.params}
        inputs, target = state.inputs_and_target(state.train_frame, "split")
        model = _pipeline(state, state.params)
        model.fit(inputs, label_names(target, need(state.schema, "schema").classes))
        state.model = model


@dataclass(frozen=True)
class Evaluate(Block):
    """Held-out metrics, reference statistics, figures, permutation importance and fairness."""

    threshold: float = 0.5
    protected: tuple[ProtectedAttribute, ...] = ()
    kind: ClassVar[str] = "evaluate"
    needs: ClassVar[tuple[str, ...]] = ("model",)
    gives: ClassVar[tuple[str, ...]] = ("metrics",)

    def run(self, state: RunState) -> None:
        """Score the held-out part and evaluate."""
        model = need(state.model, "model")
        classes = need(state.schema, "schema").classes
        train_inputs, _ = state.inputs_and_target(state.train_frame, "split")
        inputs, target = state.inputs_and_target(state.test_frame, "split")
        scores = model.predict_proba(inputs)[:, list(model.classes_).index(classes[1])]
        state.scores = scores
        state.metrics = classification_metrics(target, scores)
        state.reference = compute_reference(train_inputs, need(state.features, "features"), scores)
        state.artifacts["reference/statistics.json"] = state.reference.model_dump(mode="json")
        evaluation = evaluate(
            self._scorer(state, model, classes[1]),
            inputs,
            target,
            scores,
            labels=classes,
            protected={attribute.name: attribute.groups(inputs) for attribute in self.protected},
            threshold=self.threshold,
            seed=state.seed,
        )
        state.fairness = evaluation.fairness
        state.extra_metrics.update(evaluation.metrics)
        state.artifacts.update(evaluation.artifacts())
        state.texts.update(evaluation.figures)

    @staticmethod
    def _scorer(state: RunState, model: Any, positive: str) -> Scorer:
        """The compiled model when the pipeline compiles (hundreds of scorings: speed matters)."""
        spec = ModelSpec(
            name=state.model_name,
            target=need(state.schema, "schema").target,
            classes=need(state.schema, "schema").classes,
            positive_class=positive,
            features=need(state.features, "features"),
            reference=need(state.reference, "reference"),
            metrics=need(state.metrics, "metrics"),
            data_sha256=state.sha256,
        )
        compiled = compile_predictor(model, spec)
        if compiled is None:
            return lambda inputs: model.predict_proba(inputs)[:, list(model.classes_).index(positive)]
        return lambda inputs: compiled.predict_scores(inputs.to_dict("records"))
