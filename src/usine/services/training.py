"""Run a training pipeline: data to registered version, evidence to MLflow, the gate to the alias."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from usine.adapters.registry import ModelRegistry
from usine.pipelines import credit
from usine.pipelines.blocks import Block, ChampionComparison, RunState, need, run_pipeline

Step = Callable[[str], None]


@dataclass(frozen=True)
class TrainedVersion:
    """What every training run ends with: the version it registered, its metrics, its alias."""

    name: str
    version: str
    run_id: str
    metrics: dict[str, float]
    promoted: bool
    alias: str


@dataclass(frozen=True)
class TrainingResult(TrainedVersion):
    """Outcome of one training run of a tabular pipeline, gated on held-out ROC AUC."""

    min_auc: float
    champion: ChampionComparison | None = None
    timings: dict[str, float] = field(default_factory=dict)
    tracking_seconds: float = 0.0


def run_blocks(
    registry: ModelRegistry,
    blocks: list[Block],
    *,
    name: str,
    seed: int,
    min_auc: float,
    step: Step = lambda _: None,
) -> TrainingResult:
    """Run a pipeline that ends by registering (and gating) a version.

    Raises:
        TrainingDataError: the data cannot be used; nothing is logged or registered.
        PipelineError: the blocks do not chain.

    """
    state = run_pipeline(blocks, RunState(model_name=name, seed=seed, registry=registry), step)
    return TrainingResult(
        name=name,
        version=need(state.version, "version"),
        run_id=need(state.run_id, "run_id"),
        metrics=need(state.metrics, "metrics"),
        promoted=state.promoted,
        alias=state.alias,
        min_auc=min_auc,
        champion=state.champion,
        timings=state.timings,
        tracking_seconds=state.tracking_seconds,
    )


def train_credit(
    registry: ModelRegistry,
    *,
    min_auc: float,
    alias: str = "champion",
    seed: int = 42,
    data_path: Path | None = None,
    step: Step = lambda _: None,
    beat_champion: bool = True,
) -> TrainingResult:
    """Train, evaluate, log and register the credit model; move ``alias`` if it passes the gate.

    Args:
        registry: where the run is logged and the version registered.
        min_auc: the quality gate on held-out ROC AUC.
        alias: the alias a passing version receives.
        seed: seeds the split and the model, so a rerun gives the same metrics.
        data_path: a CSV or Parquet file with the German Credit columns; the vendored data by default.
        step: called with the name of each block as it starts (for progress display).
        beat_champion: the gate also asks for the champion's AUC on the same held-out rows.

    Returns:
        The registered version, its metrics and whether it was promoted.

    Raises:
        TrainingDataError: the data cannot be used; nothing is logged or registered.

    """
    blocks = credit.credit_pipeline(data_path, min_auc=min_auc, alias=alias, beat_champion=beat_champion)
    return run_blocks(registry, blocks, name=credit.MODEL_NAME, seed=seed, min_auc=min_auc, step=step)
