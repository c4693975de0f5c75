"""The logging-cost benchmark: a small real run, and how it pairs each round with logging off."""

import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from support import BENCHMARKS, benchmark_module
from usine.services.training import TrainingResult


def benchmark() -> ModuleType:
    return benchmark_module("logging_cost")


@pytest.mark.postgres
def test_a_small_run_measures_every_mode_and_postgresql_s_own_cpu(
    postgres_server: str, trained_home: tuple[Path, TrainingResult], tmp_path: Path
) -> None:
    figures = tmp_path / "figures.json"
    home = tmp_path / "home"  # the runs write their databases there: not in the shared store
    shutil.copytree(trained_home[0], home)
    completed = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "logging_cost.py"),
            "--repeat",
            "1",
            "--requests",
            "320",
            "--postgres",
            postgres_server,
            "--json",
            str(figures),
            "--home",
            str(home),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    rows = {row["mode"]: row for row in json.loads(figures.read_text())["summary"]}
    assert list(rows) == ["logging off", "log to SQLite", "log to PostgreSQL"]
    assert all(row["process_us"] > 0 for row in rows.values())
    assert rows["log to SQLite"]["database_us"] is None
    assert rows["log to PostgreSQL"]["database_us"] is not None  # the server's processes were read
    assert "share" in completed.stdout
    assert "registering" not in completed.stdout  # the home's champion served: nothing trained


def test_the_cost_of_logging_is_paired_with_logging_off_in_the_same_round() -> None:
    cost = benchmark()
    samples = [
        cost.Sample(cost.OFF, 0, 100.0, None),
        cost.Sample(cost.POSTGRES, 0, 110.0, 9.0),
        cost.Sample(cost.OFF, 1, 200.0, None),  # a slow round: both runs of it are slow
        cost.Sample(cost.POSTGRES, 1, 212.0, 11.0),
        cost.Sample(cost.OFF, 2, 102.0, None),
        cost.Sample(cost.POSTGRES, 2, 113.0, 10.0),
    ]
    rows = {row["mode"]: row for row in cost.summary(samples)}
    logged = rows[cost.POSTGRES]
    assert logged["added_us"] == 11.0  # the median of 10, 12, 11; not 113 - 102
    assert logged["database_us"] == 10.0
    assert logged["total_added_us"] == 21.0
    assert logged["share"] == pytest.approx(21.0 / 102.0)
    assert rows[cost.OFF]["added_us"] == 0.0
