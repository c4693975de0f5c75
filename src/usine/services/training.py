"""Train the credit model, log the evidence to MLflow, register it and apply the gate."""

from __future__ import annotations

import shutil
import subprocess  # nosec B404
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path

from usine import __version__
from usine.adapters.registry import ModelRegistry, TrainingRun
from usine.domain.metrics import classification_metrics
from usine.domain.model_spec import ModelSpec
from usine.domain.reference import compute_reference
from usine.pipelines import credit

Step = Callable[[str], None]


@dataclass(frozen=True)
class TrainingResult:
    """Outcome of one training run."""

    name: str
    version: str
    run_id: str
    metrics: dict[str, float]
    promoted: bool
    alias: str
    min_auc: float


def git_commit(cwd: Path | None = None) -> str:
    """The commit of the working tree, or ``unknown`` outside a git checkout."""
    git = shutil.which("git")
    if git is None:
        return "unknown"
    try:
        # Bandit B603: the arguments are fixed, nothing comes from a user.
        completed = subprocess.run(  # nosec B603
            [git, "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return completed.stdout.strip() or "unknown"


def train_credit(
    registry: ModelRegistry,
    *,
    min_auc: float,
    alias: str = "champion",
    seed: int = 42,
    data_path: Path | None = None,
    step: Step = lambda _: None,
) -> TrainingResult:
    """Train, evaluate, log and register the credit model; move ``alias`` if it passes.

    Args:
        registry: where the run is logged and the version registered.
        min_auc: the quality gate on held-out ROC AUC.
        alias: the alias a passing version receives.
        seed: seeds the split and the model, so a rerun gives the same metrics.
        data_path: a CSV with the German Credit columns; the vendored data by default.
        step: called with the name of each stage as it starts (for progress display).

    Returns:
        The registered version, its metrics and whether it was promoted.

    Raises:
        TrainingDataError: the data cannot be used; nothing is logged or registered.

    """
    step("load and check data")
    data = credit.prepare_credit_data(data_path, seed=seed)
    params = credit.default_params()
    step("fit")
    pipeline = credit.build_pipeline(data.features, params, seed)
    pipeline.fit(data.train_inputs, credit.label_names(data.train_target))
    step("evaluate")
    positive = list(pipeline.classes_).index(credit.POSITIVE_CLASS)
    scores = pipeline.predict_proba(data.test_inputs)[:, positive]
    metrics = classification_metrics(data.test_target, scores)
    reference = compute_reference(data.train_inputs, data.features, scores)
    spec = ModelSpec(
        name=credit.MODEL_NAME,
        description="Probability that a loan applicant defaults (Statlog German Credit).",
        target=credit.TARGET,
        classes=credit.CLASSES,
        positive_class=credit.POSITIVE_CLASS,
        features=data.features,
        reference=reference,
        metrics=metrics,
        data_sha256=data.sha256,
    )
    step("log to MLflow")
    logged = registry.log_training(
        TrainingRun(
            run_name=f"{credit.MODEL_NAME}-seed{seed}",
            params={
                **params,
                "seed": seed,
                "train_rows": len(data.train_inputs),
                "test_rows": len(data.test_inputs),
            },
            metrics=metrics,
            tags={
                "usine.model": credit.MODEL_NAME,
                "usine.version": __version__,
                "usine.git_commit": git_commit(),
                "usine.data_sha256": data.sha256,
                "usine.scikit_learn": package_version("scikit-learn"),
            },
            training_frame=data.train_inputs,
            data_source=data.source,
            spec=spec,
            model=pipeline,
            trusted_types=credit.SKOPS_TRUSTED_TYPES,
            artifacts={"reference/statistics.json": reference.model_dump(mode="json")},
        )
    )
    step("register and gate")
    version = registry.register(credit.MODEL_NAME, logged, metrics)
    promoted = metrics["roc_auc"] >= min_auc
    if promoted:
        registry.set_alias(credit.MODEL_NAME, alias, version)
    return TrainingResult(
        name=credit.MODEL_NAME,
        version=version,
        run_id=logged.run_id,
        metrics=metrics,
        promoted=promoted,
        alias=alias,
        min_auc=min_auc,
    )
