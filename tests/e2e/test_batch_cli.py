"""``usine batch`` as a scheduler runs it: exit codes, one-line errors, files left behind."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from support import webhook_receiver
from usine.datasets import dataset_path
from usine.pipelines.credit import TARGET
from usine.services.training import TrainingResult


def usine(home: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "USINE_HOME": str(home), "COLUMNS": "200", **settings}
    return subprocess.run(
        [sys.executable, "-m", "usine", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def applications(tmp_path: Path) -> Path:
    """Ten applicants as a Parquet file, two of them with an unknown housing category."""
    frame = pd.read_csv(dataset_path("german_credit.csv")).drop(columns=[TARGET]).head(10)
    frame.loc[[2, 7], "housing"] = "houseboat"
    path = tmp_path / "applications.parquet"
    frame.to_parquet(path)
    return path


def test_a_run_scores_writes_both_tables_and_exits_zero(
    trained_home: tuple[Path, TrainingResult], applications: Path, tmp_path: Path
) -> None:
    done = usine(
        trained_home[0], "batch", "credit", "--input", str(applications), "--output", str(tmp_path / "s.csv"),
        "--max-rejected-share", "0.5",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "credit version 1" in done.stdout
    assert len(pd.read_csv(tmp_path / "s.csv")) == 8
    assert pd.read_csv(tmp_path / "s.rejects.csv")["row_number"].tolist() == [2, 7]


def test_too_many_rejected_rows_exit_six_after_writing_everything_and_notify(
    trained_home: tuple[Path, TrainingResult], applications: Path, tmp_path: Path
) -> None:
    with webhook_receiver() as (url, received):
        arguments = ["batch", "credit", "--input", str(applications), "--output", str(tmp_path / "s.csv")]
        done = usine(trained_home[0], *arguments, USINE_NOTIFY_WEBHOOK_URL=url)
    assert done.returncode == 6
    assert "2 of 10 rows rejected" in done.stderr
    assert (tmp_path / "s.rejects.csv").exists()
    [notification] = received
    assert notification["usine"]["succeeded"] is False
    assert notification["usine"]["facts"]["rows"] == "10 in, 8 scored, 2 rejected"
    assert "2 of 10 rows rejected" in notification["usine"]["facts"]["error"]


def test_a_missing_input_is_one_line_and_exit_one(
    trained_home: tuple[Path, TrainingResult], tmp_path: Path
) -> None:
    done = usine(
        trained_home[0],
        "batch",
        "credit",
        "--input",
        str(tmp_path / "nope.csv"),
        "--output",
        str(tmp_path / "s.csv"),
    )
    assert done.returncode == 1
    assert "nope.csv: no such file" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "s.csv").exists()


def test_the_spark_engine_writes_what_the_local_engine_writes(
    trained_home: tuple[Path, TrainingResult], applications: Path, tmp_path: Path
) -> None:
    common = ["batch", "credit", "--input", str(applications), "--max-rejected-share", "0.5"]
    local = usine(trained_home[0], *common, "--output", str(tmp_path / "local.parquet"))
    spark = usine(
        trained_home[0], *common, "--output", str(tmp_path / "spark.parquet"),
        "--engine", "spark", "--master", "local[1]", "--conf", "spark.sql.shuffle.partitions=2",
    )  # fmt: skip
    assert local.returncode == 0, local.stderr
    assert spark.returncode == 0, spark.stderr
    assert "credit version 1" in spark.stdout
    expected = pd.read_parquet(tmp_path / "local.parquet")
    produced = pd.read_parquet(tmp_path / "spark.parquet")
    assert produced["row_number"].tolist() == expected["row_number"].tolist()
    assert produced["score"].tolist() == expected["score"].tolist()
    assert pd.read_parquet(tmp_path / "spark.rejects.parquet")["row_number"].tolist() == [2, 7]


@pytest.mark.parametrize(
    "arguments",
    [
        ["--query", "select * from applications", "--output", "s.csv"],
        ["--input", "a.csv", "--output-table", "scores"],
        ["--input", "a.csv", "--output", "s.csv", "--conf", "no-equals-sign"],
    ],
)
def test_spark_usage_errors_exit_two_without_starting_spark(tmp_path: Path, arguments: list[str]) -> None:
    done = usine(tmp_path, "batch", "credit", "--engine", "spark", *arguments)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
