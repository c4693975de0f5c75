"""``usine train``: train a reference model, log it, register it, apply the quality gate."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from usine.cli.claims import run_claims_training
from usine.cli.progress import stages
from usine.domain.errors import QualityGateFailed
from usine.services.models import open_registry
from usine.services.notifications import channels_for, notified
from usine.services.training import TrainingResult, train_credit
from usine.settings import Settings, load_settings

console = Console()


class Pipeline(StrEnum):
    """Training pipelines usine ships."""

    CREDIT = "credit"
    CLAIMS = "claims"


def train(
    pipeline: Annotated[Pipeline, typer.Argument(help="The pipeline to run.")] = Pipeline.CREDIT,
    data: Annotated[Path | None, typer.Option(help="Training CSV; the vendored data set by default.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (USINE_RANDOM_SEED by default).")] = None,
) -> None:
    """Train a model, log the run to MLflow, register it; the quality gate decides the champion."""
    settings = load_settings()
    if pipeline is Pipeline.CLAIMS:
        train_claims_pipeline(settings, seed)
        return
    with notified(channels_for(settings), f"train {pipeline.value}") as facts:
        result = run_training(settings, data=data, seed=seed)
        facts.update(
            version=result.version,
            run_id=result.run_id,
            roc_auc=f"{result.metrics['roc_auc']:.4f}",
            alias=result.alias if result.promoted else "(not promoted)",
        )
        if not result.promoted:
            raise QualityGateFailed(
                f"{result.name} version {result.version} registered but not promoted: "
                f"AUC {result.metrics['roc_auc']:.3f} < {result.min_auc:.3f} (USINE_MIN_AUC)"
            )


def train_claims_pipeline(settings: Settings, seed: int | None) -> None:
    """Train the claims model; refuse promotion below ``USINE_CLAIMS_MIN_F1`` (exit 3)."""
    with notified(channels_for(settings), "train claims") as facts:
        result = run_claims_training(settings, seed=seed)
        f1 = result.metrics["heldout_text_f1"]
        facts.update(
            version=result.version,
            run_id=result.run_id,
            heldout_f1=f"{f1:.4f}",
            alias=result.alias if result.promoted else "(not promoted)",
        )
        if not result.promoted:
            raise QualityGateFailed(
                f"{result.name} version {result.version} registered but not promoted: "
                f"held-out F1 {f1:.3f} < {result.min_f1:.3f} (USINE_CLAIMS_MIN_F1)"
            )


def run_training(settings: Settings, data: Path | None = None, seed: int | None = None) -> TrainingResult:
    """Train the credit model with a progress display and print its metrics."""
    registry = open_registry(settings)
    with stages(console) as stage:
        result = train_credit(
            registry,
            min_auc=settings.min_auc,
            alias=settings.serving_alias,
            seed=settings.random_seed if seed is None else seed,
            data_path=data,
            step=stage,
        )
    table = Table(title=f"{result.name} version {result.version} (run {result.run_id[:8]})")
    table.add_column("metric")
    table.add_column("held-out value", justify="right")
    for metric, value in result.metrics.items():
        table.add_row(metric, f"{value:.4f}")
    console.print(table)
    if result.promoted:
        console.print(f"[green]quality gate passed[/]: version {result.version} is now {result.alias!r}")
    return result
