"""Bring your own model: register a model a data scientist logged in their own MLflow run.

The model becomes a version like any usine-trained one (alias ``challenger``, then
promote, rollback, card, serve, batch, monitor) once usine knows its contract: the inputs
come from the MLflow signature, the classes from the classifier, and the reference statistics
for monitoring from a reference data file (logged in the run, or given).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from usine.adapters.registry import LoggedRun, ModelRegistry, features_from_signature
from usine.adapters.run_models import (
    PYFUNC_FLAVOR,
    SKLEARN_FLAVOR,
    RunModel,
    download_reference,
    find_run_model,
    load_run_model,
)
from usine.domain.errors import ModelNotFound, ModelNotRegistrable, UsineError
from usine.domain.features import FeatureSpec
from usine.domain.model_spec import ModelSpec, is_model_name
from usine.domain.reference import ReferenceStatistics, compute_reference
from usine.evaluation.model_card import CardFacts, card_html, card_markdown
from usine.pipelines.blocks import RunState, load_file, need
from usine.services.models import CHALLENGER

# Labels of a pyfunc model, whose predict returns the probability of the positive class.
PYFUNC_CLASSES = ("0", "1")
SIGNATURE_HINT = (
    "log the model with a signature, e.g. mlflow.sklearn.log_model(model, name='model', "
    "signature=mlflow.models.infer_signature(X_train, model.predict_proba(X_train)))"
)


@dataclass(frozen=True)
class BroughtModel:
    """A registered version of a model brought from a run."""

    name: str
    version: str
    run_id: str
    features: list[FeatureSpec]
    positive_class: str
    reference_source: str
    reference_rows: int | None


@dataclass(frozen=True)
class Reference:
    """Reference statistics and where they come from."""

    statistics: ReferenceStatistics
    source: str
    sha256: str


def register_run_model(
    registry: ModelRegistry,
    run_id: str,
    name: str,
    *,
    artifact_path: str = "model",
    reference: Path | None = None,
    positive_class: str | None = None,
    target: str = "target",
) -> BroughtModel:
    """Register the model ``run_id`` logged at ``artifact_path`` as a new version of ``name``.

    The version gets the ``challenger`` alias and a model card; its contract is kept in the
    run. Nothing is left registered when a step fails.

    Args:
        registry: the registry (and tracking store) holding the run.
        run_id: the MLflow run that logged the model.
        name: the registered model name (lower case letters, digits, ``-``, ``_``).
        artifact_path: where the run logged the model.
        reference: a CSV or Parquet file of training inputs; else one the run logged, if any.
        positive_class: the class whose probability is served; the classifier's second by default.
        target: name of the label column (dropped from the reference data if present).

    Returns:
        The version, its inputs and where its reference statistics come from.

    Raises:
        ModelNotFound: no such run, or no model at that path.
        ModelNotRegistrable: the model is not a scikit-learn or pyfunc binary classifier, has
            no signature, or cannot score its reference data.

    """
    if not is_model_name(name):
        raise ModelNotRegistrable(f"model name {name!r}: use lower case letters, digits, '-' and '_'")
    found = find_run_model(registry.client, run_id, artifact_path)
    features = _features(found)
    model = load_run_model(found.model_uri, found.flavors, PYFUNC_CLASSES)
    classes = _classes(model, positive_class, artifact_path)
    with tempfile.TemporaryDirectory(prefix="usine-reference-") as folder:
        path = reference or download_reference(registry.client, run_id, Path(folder))
        statistics = None if path is None else _reference(path, model, features, classes, name)
    spec = ModelSpec(
        name=name,
        description=f"Brought into usine from MLflow run {run_id} ({artifact_path}).",
        target=target,
        classes=classes,
        positive_class=classes[1],
        features=features,
        reference=statistics.statistics if statistics else None,
        metrics=found.run_metrics,
        data_sha256=statistics.sha256 if statistics else "",
    )
    version = registry.register(name, LoggedRun(run_id=run_id, model_uri=found.model_uri), found.run_metrics)
    try:
        registry.attach_spec(name, version, spec)
        registry.set_alias(name, CHALLENGER, version)
        facts = _card_facts(found, spec, version, statistics)
        registry.log_texts(
            run_id,
            {
                "evaluation/model_card.md": card_markdown(facts),
                "evaluation/model_card.html": card_html(facts),
            },
        )
    except (UsineError, OSError, ValueError, RuntimeError):
        registry.remove_alias(name, CHALLENGER)
        registry.delete_version(name, version)
        raise
    return BroughtModel(
        name=name,
        version=version,
        run_id=run_id,
        features=features,
        positive_class=classes[1],
        reference_source=statistics.source if statistics else "",
        reference_rows=statistics.statistics.rows if statistics else None,
    )


def register_saved_model(
    registry: ModelRegistry,
    folder: Path,
    name: str,
    *,
    reference: Path | None = None,
    positive_class: str | None = None,
    target: str = "target",
) -> BroughtModel:
    """Register the MLflow model saved in ``folder`` (``mlflow.sklearn.save_model`` and the like).

    The folder is logged as the model of a new run of usine's experiment, so that the version
    has a run like any other, then registered as :func:`register_run_model` does.

    Raises:
        ModelNotFound: ``folder`` holds no MLflow model (no ``MLmodel`` file).
        ModelNotRegistrable: see :func:`register_run_model`.

    """
    if not (folder / "MLmodel").is_file():
        raise ModelNotFound(
            f"{folder} is not a saved MLflow model (no MLmodel file): save it with "
            "mlflow.sklearn.save_model(model, path, signature=...) or log it in a run and use --run"
        )
    run_id = registry.log_folder_run(folder, "model", run_name=f"register {name} from {folder.name}")
    return register_run_model(
        registry, run_id, name, reference=reference, positive_class=positive_class, target=target
    )


def _features(found: RunModel) -> list[FeatureSpec]:
    where = f"the model at {found.artifact_path!r} of run {found.run_id}"
    if SKLEARN_FLAVOR not in found.flavors and PYFUNC_FLAVOR not in found.flavors:
        raise ModelNotRegistrable(
            f"{where} has flavours {', '.join(found.flavors)}: usine serves scikit-learn and MLflow "
            "pyfunc models"
        )
    if found.signature is None:
        raise ModelNotRegistrable(f"{where} has no signature, so its inputs are unknown: {SIGNATURE_HINT}")
    try:
        return features_from_signature(found.signature)
    except ModelNotFound as exc:
        raise ModelNotRegistrable(f"{where}: {exc}; {SIGNATURE_HINT}") from None


def _classes(model: Any, positive_class: str | None, artifact_path: str) -> tuple[str, str]:
    """(negative, positive) labels of a binary classifier."""
    labels = [str(label) for label in getattr(model, "classes_", [])]
    if not hasattr(model, "predict_proba") or len(labels) != 2:
        raise ModelNotRegistrable(
            f"the model at {artifact_path!r} is not a binary classifier with predict_proba "
            f"(classes: {labels or 'none'}): usine serves the probability of a positive class"
        )
    positive = positive_class or labels[1]
    if positive not in labels:
        raise ModelNotRegistrable(f"positive class {positive!r} is not one of the model's classes {labels}")
    negative = labels[0] if positive == labels[1] else labels[1]
    return negative, positive


def _reference(
    path: Path, model: Any, features: list[FeatureSpec], classes: tuple[str, str], name: str
) -> Reference:
    """Reference statistics of the inputs in ``path`` and of the model's scores on them."""
    state = RunState(model_name=name, seed=0)
    load_file(path).run(state)
    frame = need(state.frame, "frame")
    columns = [feature.name for feature in features]
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ModelNotRegistrable(
            f"reference data {path.name} lacks the model's inputs: {', '.join(missing)}"
        )
    inputs = frame[columns]
    try:
        probabilities = model.predict_proba(inputs)
    except (ValueError, TypeError, KeyError) as exc:
        raise ModelNotRegistrable(f"the model cannot score its reference data {path.name}: {exc}") from exc
    positive = [str(label) for label in model.classes_].index(classes[1])
    scores = np.asarray(probabilities, dtype=np.float64)[:, positive]
    statistics = compute_reference(pd.DataFrame(inputs), features, scores)
    return Reference(statistics=statistics, source=path.name, sha256=state.sha256)


def _card_facts(found: RunModel, spec: ModelSpec, version: str, reference: Reference | None) -> CardFacts:
    return CardFacts(
        name=spec.name,
        version=version,
        run_id=found.run_id,
        description=spec.description,
        intended_use="Stated by the model's authors: usine registered this model, it did not train it.",
        limits=[
            "usine did not train or evaluate this model: the metrics are those its run logged.",
            "No fairness review was made by usine; review the model before any high-risk use.",
            "Monitoring compares traffic with the reference data below"
            if reference
            else "No reference data was given: drift monitoring is unavailable for this version.",
        ],
        data_source=reference.source if reference else "none given",
        data_sha256=reference.sha256 if reference else "",
        train_rows=reference.statistics.rows if reference else 0,
        test_rows=0,
        params=dict(found.run_params),
        metrics=found.run_metrics,
        fairness=[],
        importance={},
        reproducibility={
            "source run": found.run_id,
            "artifact path": found.artifact_path,
            "flavours": ", ".join(found.flavors),
        },
    )
