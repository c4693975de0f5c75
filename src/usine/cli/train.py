"""``usine train``: train a reference model, log it, register it, apply the quality gate."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from usine.cli.claims import run_claims_training
from usine.cli.progress import stages
from usine.domain.errors import QualityGateFailed
from usine.settings import Settings, load_settings

if TYPE_CHECKING:
    from usine.services.training import TrainingResult

console = Console()


class Pipeline(StrEnum):
    """Training pipelines usine ships."""

    CREDIT = "credit"
    CLAIMS = "claims"


def train(
    pipeline: Annotated[
        str | None,
        typer.Argument(help="credit (default), claims, or the pipeline a --pipeline-file declares."),
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="Training CSV or Parquet file; the vendored data set by default.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (USINE_RANDOM_SEED by default).")] = None,
    definition: Annotated[
        Path | None,
        typer.Option("--pipeline-file", help="YAML file naming the blocks to run and their parameters."),
    ] = None,
) -> None:
    """Train a model, log the run to MLflow, register it as challenger; the gate decides the champion."""
    from usine.services.notifications import channels_for, notified

    settings = load_settings()
    if pipeline == Pipeline.CLAIMS:
        train_claims_pipeline(settings, seed)
        return
    with notified(channels_for(settings), f"train {pipeline or definition or Pipeline.CREDIT}") as facts:
        result = run_training(settings, data=data, seed=seed, definition=definition, pipeline=pipeline)
        facts.update(
            version=result.version,
            run_id=result.run_id,
            roc_auc=f"{result.metrics['roc_auc']:.4f}",
            alias=result.alias if result.promoted else "(not promoted)",
        )
        if not result.promoted:
            raise QualityGateFailed(
                f"{result.name} version {result.version} registered as challenger, {_refusal(result)}"
            )


def train_claims_pipeline(settings: Settings, seed: int | None) -> None:
    """Train the claims model; refuse promotion below ``USINE_CLAIMS_MIN_F1`` (exit 3)."""
    from usine.services.notifications import channels_for, notified

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


def _refusal(result: TrainingResult) -> str:
    auc = result.metrics["roc_auc"]
    if auc < result.min_auc:
        return f"not promoted: AUC {auc:.3f} < {result.min_auc:.3f} (USINE_MIN_AUC)"
    champion = result.champion
    theirs = champion.metrics["roc_auc"] if champion and champion.metrics else float("nan")
    which = champion.version if champion else "?"
    return f"not promoted: AUC {auc:.3f} < {theirs:.3f} of champion version {which} on the same rows"


def run_training(
    settings: Settings,
    data: Path | None = None,
    seed: int | None = None,
    definition: Path | None = None,
    pipeline: str | None = None,
) -> TrainingResult:
    """Train a pipeline (credit's, or one a pipeline file declares) with a progress display per block.

    Raises:
        PipelineError: an unknown pipeline, or a pipeline file that declares another one.

    """
    from usine.pipelines import credit
    from usine.pipelines.blocks import PipelineError
    from usine.pipelines.tabular import Gate, read_pipeline_file
    from usine.services.models import open_registry
    from usine.services.training import run_blocks

    registry = open_registry(settings)
    gate = Gate(settings.min_auc, settings.serving_alias, settings.gate_beat_champion)
    blocks = credit.credit_pipeline(
        data, min_auc=gate.min_auc, alias=gate.alias, beat_champion=gate.beat_champion
    )
    name = credit.MODEL_NAME
    if definition is not None:
        declared = read_pipeline_file(
            definition, {credit.MODEL_NAME: [*blocks, *credit.optional_blocks()]}, gate
        )
        if pipeline is not None and declared.pipeline != pipeline:
            raise PipelineError(f"{definition} declares pipeline {declared.pipeline!r}, not {pipeline!r}")
        name, blocks, seed = declared.pipeline, declared.blocks, seed if seed is not None else declared.seed
    elif pipeline not in (None, credit.MODEL_NAME):
        raise PipelineError(
            f"unknown pipeline {pipeline!r}: usine ships credit and claims; train your own with "
            f"--pipeline-file (usine init {pipeline} scaffolds one)"
        )
    with stages(console) as stage:
        result = run_blocks(
            registry,
            blocks,
            name=name,
            seed=settings.random_seed if seed is None else seed,
            min_auc=settings.min_auc,
            step=stage,
        )
    table = Table(title=f"{result.name} version {result.version} (run {result.run_id[:8]})")
    table.add_column("metric")
    table.add_column("held-out value", justify="right")
    champion = result.champion.metrics if result.champion and result.champion.metrics else None
    if champion is not None and result.champion is not None:
        table.add_column(f"champion (v{result.champion.version}), same rows", justify="right")
    for metric, value in result.metrics.items():
        row = [metric, f"{value:.4f}"]
        if champion is not None:
            row.append(f"{champion[metric]:.4f}")
        table.add_row(*row)
    console.print(table)
    if result.promoted:
        console.print(f"[green]quality gate passed[/]: version {result.version} is now {result.alias!r}")
    return result
