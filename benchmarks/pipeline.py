"""The credit training pipeline end to end and per block, against the bare scikit-learn fit; reason-code cost.

The peer is what a data scientist runs in a notebook: read the CSV, split, fit the same
one-hot + calibrated boosting pipeline, score the held-out rows (no validation, evaluation
figures, fairness, MLflow or registry). usine runs the whole block pipeline into a fresh
MLflow store; the table gives each block's time, and the share of the run spent talking to
MLflow (logging the run, the model, the artefacts; registering; moving aliases).

The second table prices reason codes: compiled scoring of 1, 16, 64 and 1,000 records per
call, with and without the exact TreeSHAP contributions that serving adds to each response.
Successive calls take successive records of the data set, as serving does, so a call does not
find the previous call's tables in the cache. ``--home`` prices the credit version 1 already
registered there, without training.

    .venv/bin/python benchmarks/pipeline.py [--repeats 1] [--home USINE_HOME]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from usine.adapters.registry import LoadedVersion
from usine.datasets import dataset_path
from usine.domain.compiled_predictor import compile_predictor
from usine.domain.explanations import compile_explainer
from usine.pipelines import credit
from usine.services.models import open_registry
from usine.services.training import TrainingResult, train_credit
from usine.settings import Settings

console = Console()


def bare_fit() -> float:
    """Seconds for the notebook version: read, split, fit, score the held-out rows."""
    started = time.perf_counter()
    frame = pd.read_csv(dataset_path(credit.DATA_FILE))
    inputs = frame.drop(columns=[credit.TARGET])
    target = (frame[credit.TARGET] == credit.POSITIVE_CLASS).to_numpy(dtype="int8")
    train_x, test_x, train_y, _ = train_test_split(
        inputs, target, test_size=0.2, stratify=target, random_state=42
    )
    features = credit.prepare_credit_data().features
    model = credit.build_pipeline(features, credit.default_params(), 42)
    model.fit(train_x, credit.label_names(train_y))
    model.predict_proba(test_x)
    return time.perf_counter() - started


def usine_run(home: Path) -> tuple[float, TrainingResult]:
    """Seconds for ``usine train credit``'s pipeline into a fresh store under ``home``."""
    started = time.perf_counter()
    result = train_credit(open_registry(Settings(home=home)), min_auc=0.7)
    return time.perf_counter() - started, result


def per_call(function: Callable[[list[Any]], object], batches: list[list[Any]], calls: int) -> float:
    """Mean milliseconds of ``calls`` calls, each on the next batch (round robin)."""
    started = time.perf_counter()
    for number in range(calls):
        function(batches[number % len(batches)])
    return (time.perf_counter() - started) / calls * 1000.0


def reason_code_costs(loaded: LoadedVersion) -> None:
    """Print the cost of scoring with and without 3 reason codes, compiled model, one thread."""
    frame = pd.read_csv(dataset_path(credit.DATA_FILE)).drop(columns=[credit.TARGET])
    records = frame.to_dict("records")
    predictor = compile_predictor(loaded.model, loaded.spec)
    explainer = compile_explainer(loaded.model, loaded.spec)
    if predictor is None or explainer is None:
        raise SystemExit("the credit model did not compile")
    costs = Table(title="reason codes (compiled model, one thread)")
    for column in ("records per call", "score ms", "score + 3 reasons ms", "reasons per record ms"):
        costs.add_column(column, justify="right")
    with threadpool_limits(limits=1):
        for count, calls in ((1, 400), (16, 50), (64, 15), (1000, 2)):
            batches = [records[start : start + count] for start in range(0, len(records) - count + 1, count)]
            score = per_call(predictor.predict_scores, batches, calls)
            both = per_call(
                lambda batch: (predictor.predict_scores(batch), explainer.reasons(batch, 3)), batches, calls
            )
            costs.add_row(str(count), f"{score:.2f}", f"{both:.2f}", f"{(both - score) / count:.3f}")
    console.print(costs)


def main() -> None:
    """Run both, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="Runs of each side (the fastest is kept).")
    parser.add_argument("--home", type=Path, help="Only price the reason codes of credit version 1 there.")
    arguments = parser.parse_args()
    if arguments.home is not None:
        reason_code_costs(open_registry(Settings(home=arguments.home)).load("credit", "1"))
        return
    with tempfile.TemporaryDirectory(prefix="usine-bench-pipeline-") as folder:
        bare = min(bare_fit() for _ in range(arguments.repeats))
        runs = [usine_run(Path(folder) / f"home{n}") for n in range(arguments.repeats)]
        total, result = min(runs, key=lambda run: run[0])
        table = Table(title="credit training pipeline (seed 42)")
        table.add_column("step")
        table.add_column("seconds", justify="right")
        table.add_column("share", justify="right")
        for block, seconds in result.timings.items():
            table.add_row(block, f"{seconds:.2f}", f"{seconds / total:.0%}")
        table.add_row("[bold]usine, end to end", f"{total:.2f}", "100%")
        table.add_row(
            "  of which MLflow (log, register, aliases)",
            f"{result.tracking_seconds:.2f}",
            f"{result.tracking_seconds / total:.0%}",
        )
        table.add_row(
            "[bold]bare scikit-learn (read, split, fit, score)",
            f"{bare:.2f}",
            f"ratio usine/bare {total / bare:.1f}x",
        )
        console.print(table)
        console.print(f"held-out ROC AUC {result.metrics['roc_auc']:.6f} (version {result.version})")
        loaded = open_registry(Settings(home=Path(folder) / "home0")).load("credit", result.version)
    reason_code_costs(loaded)


if __name__ == "__main__":
    main()
