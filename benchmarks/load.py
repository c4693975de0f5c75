"""Sustainable load and a soak: predictions, feedback and claim extraction on a real server,
stepped until p99 breaks.

Trains the credit model and the claims model (on a small generated corpus, no quality gate)
in a private USINE_HOME, creates an API key, starts ``usine serve`` (profile staging: keys
checked, every prediction, feedback and extraction recorded) on 127.0.0.1 and drives it with
locust (headless, in its own venv built from benchmarks/requirements-locust.txt), mixing four
predictions, one feedback and one claim file (a generated one-page text-PDF invoice of a layout
the model never saw):

1. **steps**: N users at one request per second each, for each N of ``--rates``; a step is
   sustained when no request fails, the achieved rate is at least 90 % of the offered one, and
   each endpoint's p99 stays under its target (``--p99-ms`` for predictions and feedback,
   ``--claims-p99-ms`` for claim extraction). The sustainable rate is the highest sustained step.
2. **soak**: 80 % of that rate for ``--soak-s`` seconds, the server's RSS sampled every 5 s:
   errors, p99 and RSS growth are reported.

Figures are printed for all requests and per endpoint. Bounded: every step and the soak have a
fixed duration; nothing leaves 127.0.0.1.

    .venv/bin/python benchmarks/load.py                          # about 7 minutes
    .venv/bin/python benchmarks/load.py --rates 5,10 --step-s 15 --soak-s 15  # a quick look
    .venv/bin/python benchmarks/load.py --home DIR ...  # DIR holds both champions: no training
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from serving import ensure_peer, free_port, run

from usine.claims_corpus import HELD_OUT_LAYOUTS, generate_documents
from usine.datasets import dataset_path
from usine.pipelines.credit import NUMERIC_FEATURES, TARGET

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
console = Console()
ENDPOINTS = ("predict", "feedback", "extract_claim")
SMALL_CLAIMS_CORPUS = {
    "USINE_CLAIMS_TRAIN_DOCUMENTS": "24",
    "USINE_CLAIMS_TRAIN_SCANS": "0",
    "USINE_CLAIMS_EVAL_DOCUMENTS": "4",
    "USINE_CLAIMS_MIN_F1": "0",
}
"""A claims model trained in seconds: the load needs a champion that reads files as any does
(the reading, not the model, is the cost); its quality is measured by ``usine evaluate claims``."""


@dataclass(frozen=True)
class Figures:
    """Requests, failures and latency of one endpoint (or all) over a run."""

    rate: float
    requests: int
    failures: int
    p50_ms: float
    p99_ms: float

    @classmethod
    def from_row(cls, row: dict[str, str]) -> Figures:
        """The figures of one row of locust's ``_stats.csv``."""
        return cls(
            rate=float(row["Requests/s"]),
            requests=int(row["Request Count"]),
            failures=int(row["Failure Count"]),
            p50_ms=float(row["50%"] or "nan"),
            p99_ms=float(row["99%"] or "nan"),
        )


@dataclass(frozen=True)
class Step:
    """What one fixed-rate run measured: all requests, and each endpoint's."""

    offered: float
    total: Figures
    endpoints: dict[str, Figures] = field(default_factory=dict)


def ensure_locust() -> Path:
    """The locust venv, created from the pinned requirements when missing."""
    return ensure_peer("locust", "locust")


def applicants(count: int = 50) -> list[dict[str, object]]:
    """The first applicants of the vendored data, typed as a client sends them."""
    with dataset_path("german_credit.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))[:count]
    return [
        {key: int(value) if key in NUMERIC_FEATURES else value for key, value in row.items() if key != TARGET}
        for row in rows
    ]


def claim_files(folder: Path, count: int = 6) -> Path:
    """``count`` generated text-PDF invoices of held-out layouts, written to ``folder``."""
    folder.mkdir(exist_ok=True)
    for number, document in enumerate(generate_documents(count, 2026, HELD_OUT_LAYOUTS, error_rate=0.0)):
        (folder / f"claim-{number}.pdf").write_bytes(document.content)
    return folder


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def server(home: Path, database_url: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``usine serve`` (staging) until ready; stopped with SIGTERM."""
    port = free_port()
    env = {
        **os.environ,
        "USINE_HOME": str(home),
        "USINE_DATABASE_URL": database_url,
        "USINE_PROFILE": "staging",
    }
    with (home / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [str(BIN / "usine"), "serve", "--port", str(port)], env=env, stdout=log, stderr=log
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                if process.poll() is not None:
                    raise SystemExit(f"server exited:\n{(home / 'server.log').read_text()}")
                try:
                    if httpx.get(f"{base}/1.0.0/readiness", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.5)
            yield base, process
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=120)


def locust_step(locust: Path, base: str, env: dict[str, str], users: int, seconds: int, folder: Path) -> Step:
    """One fixed-rate run of ``users`` users (one request per second each) for ``seconds``."""
    prefix = folder / f"step-{users}"
    subprocess.run(
        [
            str(locust),
            "-f",
            str(HERE / "locust_scenario.py"),
            "--headless",
            "--host",
            base,
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            f"{seconds}s",
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "ERROR",
        ],
        env=env,
        capture_output=True,
        check=False,
        timeout=seconds + 120,
    )
    with Path(f"{prefix}_stats.csv").open(newline="") as handle:
        rows = {row["Name"]: Figures.from_row(row) for row in csv.DictReader(handle)}
    total = rows.pop("Aggregated")
    return Step(offered=float(users), total=total, endpoints=rows)


def sustained(step: Step, targets: dict[str, float]) -> bool:
    """Whether a step kept its promise: no failure, the offered rate served, and each
    endpoint's p99 under its target."""
    return (
        step.total.failures == 0
        and step.total.rate >= 0.9 * step.offered
        and all(figures.p99_ms <= targets[name] for name, figures in step.endpoints.items())
    )


def endpoint_table(runs: list[tuple[str, Step]], targets: dict[str, float]) -> Table:
    """Per-endpoint figures of each run."""
    table = Table(title="per endpoint")
    for column in ("run", "endpoint", "req/s", "requests", "failed", "p50 ms", "p99 ms", "p99 target ms"):
        table.add_column(column, justify="right")
    for label, step in runs:
        for name in ENDPOINTS:
            figures = step.endpoints.get(name)
            if figures is None:
                continue
            counts = (f"{figures.rate:.1f}", str(figures.requests), str(figures.failures))
            latency = (f"{figures.p50_ms:.0f}", f"{figures.p99_ms:.0f}", f"{targets[name]:.0f}")
            table.add_row(label, name, *counts, *latency)
    return table


def main() -> None:
    """Step the rate, soak at 80 % of the sustainable one, print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="10,20,40,60,80,120", help="Requests per second to try.")
    parser.add_argument(
        "--p99-ms",
        type=float,
        default=250.0,
        help="p99 target of predictions and feedback in a sustained step.",
    )
    parser.add_argument(
        "--claims-p99-ms",
        type=float,
        default=2000.0,
        help="p99 target of claim extraction in a sustained step.",
    )
    parser.add_argument("--step-s", type=int, default=30, help="Duration of one step.")
    parser.add_argument("--soak-s", type=int, default=120, help="Duration of the soak.")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL; SQLite under the home if empty.")
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help="A USINE_HOME whose registry already holds credit and claims champions: training is "
        "skipped (a temporary home, trained here, by default).",
    )
    args = parser.parse_args()
    targets = {"predict": args.p99_ms, "feedback": args.p99_ms, "extract_claim": args.claims_p99_ms}
    locust = ensure_locust()
    with tempfile.TemporaryDirectory(prefix="usine-load-") as folder:
        home = args.home or Path(folder)
        database_url = args.database_url or f"sqlite:///{home / 'usine.db'}"
        env = {**os.environ, "USINE_HOME": str(home), "USINE_DATABASE_URL": database_url}
        if args.home is None:
            console.print("training the credit and claims models")
            run([str(BIN / "usine"), "train", "credit"], env)
            run([str(BIN / "usine"), "train", "claims"], {**env, **SMALL_CLAIMS_CORPUS})
        scopes = ["--scope", "predict", "--scope", "feedback", "--scope", "claims"]
        key = run([str(BIN / "usine"), "keys", "create", "--name", "locust", *scopes], env)
        load_env = {
            **os.environ,
            "USINE_LOAD_KEY": key.strip().splitlines()[-1],
            "USINE_LOAD_RECORDS": json.dumps(applicants()),
            "USINE_LOAD_CLAIM_FILES": str(claim_files(home / "claim-files")),
        }
        with server(home, database_url) as (base, process):
            steps: list[Step] = []
            for rate in (int(r) for r in args.rates.split(",")):
                step = locust_step(locust, base, load_env, rate, args.step_s, home)
                steps.append(step)
                console.print(
                    f"{rate} req/s offered: {step.total.rate:.1f} served, "
                    f"p99 {step.total.p99_ms:.0f} ms, {step.total.failures} failed"
                )
                if not sustained(step, targets):
                    break
            best = max((s.offered for s in steps if sustained(s, targets)), default=0.0)
            soak_rate = max(1, round(best * 0.8))
            samples: list[float] = [rss_mb(process.pid)]
            done = threading.Event()

            def sample() -> None:
                while not done.wait(5):
                    samples.append(rss_mb(process.pid))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            soak = locust_step(locust, base, load_env, soak_rate, args.soak_s, home)
            done.set()
            sampler.join()
            samples.append(rss_mb(process.pid))
    table = Table(title="steps (4 predictions : 1 feedback : 1 claim file; staging, keys on)")
    for column in ("offered req/s", "served req/s", "requests", "failed", "p50 ms", "p99 ms", "sustained"):
        table.add_column(column, justify="right")
    for step in steps:
        total = step.total
        counts = (f"{step.offered:.0f}", f"{total.rate:.1f}", str(total.requests), str(total.failures))
        verdict = "yes" if sustained(step, targets) else "no"
        table.add_row(*counts, f"{total.p50_ms:.0f}", f"{total.p99_ms:.0f}", verdict)
    console.print(table)
    console.print(f"sustainable rate: {best:.0f} req/s")
    soak_table = Table(title=f"soak at {soak_rate} req/s (80 %) for {args.soak_s} s")
    for column in (
        "requests",
        "failed",
        "p50 ms",
        "p99 ms",
        "RSS start MB",
        "RSS end MB",
        "RSS max MB",
        "growth MB",
    ):
        soak_table.add_column(column, justify="right")
    timing = (
        str(soak.total.requests),
        str(soak.total.failures),
        f"{soak.total.p50_ms:.0f}",
        f"{soak.total.p99_ms:.0f}",
    )
    memory = (
        f"{samples[0]:.0f}",
        f"{samples[-1]:.0f}",
        f"{max(samples):.0f}",
        f"{samples[-1] - samples[0]:+.0f}",
    )
    soak_table.add_row(*timing, *memory)
    console.print(soak_table)
    runs = [(f"{step.offered:.0f} req/s", step) for step in steps] + [(f"soak {soak_rate} req/s", soak)]
    console.print(endpoint_table(runs, targets))


if __name__ == "__main__":
    main()
