"""What shadow mode costs the champion: the prediction service with and without a challenger, one run.

The peer is usine itself without shadow mode, on the same model, data and machine. Both run
the prediction service in process (validation, micro-batching, scoring, reason codes off,
logging to SQLite through the background writer) driven by concurrent callers sending one
record each; with shadow mode on, a challenger made of the champion's artefacts scores the
same traffic in the background. Rounds alternate off and on so that a change in the
machine's load touches both. HTTP is left out: it adds the same per-request cost to both.

    .venv/bin/usine train credit                  # once: a champion in USINE_HOME (.usine)
    .venv/bin/python benchmarks/shadow.py --home .usine

The registry is copied to a temporary folder first; the one in ``--home`` is not changed.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from usine.adapters.db.engine import make_engine
from usine.adapters.db.migrate import upgrade
from usine.adapters.db.repository import SqlPredictionLog
from usine.adapters.registry import LoggedRun, ModelRegistry
from usine.adapters.spool import Spool
from usine.datasets import dataset_path
from usine.pipelines.credit import NUMERIC_FEATURES, TARGET
from usine.services.batching import MicroBatcher
from usine.services.model_holder import ModelHolder
from usine.services.models import open_registry
from usine.services.prediction_writer import PredictionWriter, WriterPolicy
from usine.services.predictions import PredictionService
from usine.services.shadow import ShadowScorer
from usine.settings import Settings

console = Console()


def applicants(count: int) -> list[dict[str, object]]:
    """The first ``count`` applicants of the vendored data, as a client sends them."""
    with dataset_path("german_credit.csv").open(newline="") as handle:
        rows = [row for _, row in zip(range(count), csv.DictReader(handle), strict=False)]
    return [
        {key: int(value) if key in NUMERIC_FEATURES else value for key, value in row.items() if key != TARGET}
        for row in rows
    ]


def with_challenger(registry: ModelRegistry) -> None:
    """Register the champion's artefacts again as the challenger."""
    champion = registry.version_for_alias("credit", "champion")
    if champion is None:
        raise SystemExit("no credit champion in --home: run `usine train credit` first")
    source = registry.client.get_model_version("credit", champion)
    version = registry.register("credit", LoggedRun(run_id=source.run_id, model_uri=source.source), {})
    registry.set_alias("credit", "challenger", version)


def measure(registry: ModelRegistry, folder: Path, shadow: bool, requests: int, callers: int) -> float:
    """Predictions per second of the service, with or without the challenger in shadow."""
    holder = ModelHolder(["credit"], "champion", "challenger" if shadow else None)
    holder.load_from(registry)
    engine = make_engine(f"sqlite:///{folder / f'log-{time.monotonic_ns()}.db'}")
    upgrade(engine)
    log = SqlPredictionLog(engine)
    writer = PredictionWriter(log, Spool(folder / "spool"), WriterPolicy(100_000, 1_000, 0.05, 5.0))
    writer.start()
    records = applicants(50)

    async def scenario() -> float:
        batcher = MicroBatcher(64, 0.002)
        scorer = ShadowScorer(batcher, writer, log_scores=True, max_pending=1_000)
        service = PredictionService(holder, log, writer, batcher, 1_000, True, 0, scorer)

        async def caller(index: int) -> None:
            for step in range(requests // callers):
                await service.predict("credit", records[(index + step) % len(records)])

        await service.predict("credit", records[0])  # warm-up
        started = time.perf_counter()
        await asyncio.gather(*(caller(index) for index in range(callers)))
        elapsed = time.perf_counter() - started
        await scorer.close()
        await batcher.close()
        return requests // callers * callers / elapsed

    rate = asyncio.run(scenario())
    writer.close()
    engine.dispose()
    return rate


def main() -> None:
    """Measure, then print a table and the ratio of shadow on to off."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--home", type=Path, default=Path(".usine"), help="a USINE_HOME with a credit champion"
    )
    parser.add_argument("--requests", type=int, default=3_000, help="requests per round")
    parser.add_argument("--callers", type=int, default=16, help="concurrent callers")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of (off, on)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copy(args.home / "mlflow.db", folder / "mlflow.db")
        registry = open_registry(
            Settings(home=folder, mlflow_artifact_root=(args.home / "mlartifacts").as_uri())
        )
        with_challenger(registry)
        rates: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.rounds):
            for shadow in (False, True):
                rates[shadow].append(measure(registry, folder, shadow, args.requests, args.callers))
    table = Table(title=f"prediction service, {args.callers} callers, one record per request, log to SQLite")
    for column in ("shadow mode", *(f"round {n + 1} predictions/s" for n in range(args.rounds)), "mean"):
        table.add_column(column, justify="right")
    for shadow in (False, True):
        mean = sum(rates[shadow]) / len(rates[shadow])
        table.add_row("on" if shadow else "off", *(f"{rate:,.0f}" for rate in rates[shadow]), f"{mean:,.0f}")
    console.print(table)
    off, on = (sum(rates[shadow]) / len(rates[shadow]) for shadow in (False, True))
    console.print(f"shadow on / off: {on / off:.2f}")


if __name__ == "__main__":
    main()
