"""The Spark engine scores exactly like the local engine: same rows, numbers, scores and rejects."""

from pathlib import Path

import pandas as pd
import pytest

from support import applications_csv
from usine.domain.errors import BatchSourceError
from usine.services.batch import BatchJob, FileTable, SqlTable, rejects_for, score_table
from usine.services.batch_spark import score_table_spark
from usine.services.models import open_registry
from usine.services.training import TrainingResult
from usine.settings import Settings

EXPERIMENT = "usine-batch"
# Small splits so a 1,000-row file spans several partitions: numbering must cross them.
SEVERAL_PARTITIONS = {"spark.sql.files.maxPartitionBytes": "32k", "spark.default.parallelism": "2"}


@pytest.fixture
def settings(trained_home: tuple[Path, TrainingResult]) -> Settings:
    return Settings(home=trained_home[0])


@pytest.fixture
def applications(tmp_path: Path) -> Path:
    """The vendored applicants as CSV text, with three broken rows far apart (in other partitions)."""
    path = tmp_path / "applications.csv"
    applications_csv(path, (10, 520, 990))
    return path


def spark_job(source: Path, output: Path) -> BatchJob:
    out = FileTable(str(output))
    return BatchJob(model="credit", source=FileTable(str(source)), output=out, rejects=rejects_for(out))


def read_dataset(path: Path) -> pd.DataFrame:
    """A Spark output folder (CSV part files, in order) as one frame."""
    parts = sorted(path.glob("part-*.csv"))
    return pd.concat([pd.read_csv(part, dtype=str) for part in parts], ignore_index=True)


def test_spark_scores_every_row_like_the_local_engine_and_a_rerun_replaces_its_output(
    settings: Settings, applications: Path, tmp_path: Path
) -> None:
    registry = open_registry(settings)
    local = score_table(spark_job(applications, tmp_path / "local.csv"), registry, EXPERIMENT)
    job = spark_job(applications, tmp_path / "spark.csv")
    first = score_table_spark(job, registry, EXPERIMENT, "local[2]", SEVERAL_PARTITIONS)
    again = score_table_spark(job, registry, EXPERIMENT, "local[2]", SEVERAL_PARTITIONS)

    assert (first.rows_in, first.rows_scored, first.rows_rejected) == (1000, 997, 3)
    assert first.batch_run_id == local.batch_run_id == again.batch_run_id
    expected = pd.read_csv(tmp_path / "local.csv", dtype=str)
    for produced in (read_dataset(tmp_path / "spark.csv"),):
        assert list(produced.columns) == list(expected.columns)
        assert produced["row_number"].tolist() == expected["row_number"].tolist()
        assert produced["application_id"].tolist() == expected["application_id"].tolist()
        difference = (produced["score"].astype(float) - expected["score"].astype(float)).abs().max()
        assert difference == 0.0
    rejects = read_dataset(tmp_path / "spark.rejects.csv")
    local_rejects = pd.read_csv(tmp_path / "local.rejects.csv", dtype=str)
    assert rejects["row_number"].tolist() == ["10", "520", "990"]
    assert rejects["reasons"].tolist() == local_rejects["reasons"].tolist()
    assert not list(tmp_path.glob("*.partial-*")), "no temporary dataset is left behind"


def test_spark_refuses_database_sinks_and_missing_inputs_before_starting(
    settings: Settings, applications: Path, tmp_path: Path
) -> None:
    registry = open_registry(settings)
    to_table = BatchJob(
        model="credit",
        source=FileTable(str(applications)),
        output=SqlTable("sqlite://", "scores"),
        rejects=SqlTable("sqlite://", "scores_rejects"),
    )
    with pytest.raises(BatchSourceError, match="reads and writes files"):
        score_table_spark(to_table, registry, EXPERIMENT, "local[1]")
    with pytest.raises(BatchSourceError, match="no such file"):
        score_table_spark(
            spark_job(tmp_path / "absent.csv", tmp_path / "s.csv"), registry, EXPERIMENT, "local[1]"
        )
    assert not (tmp_path / "s.csv").exists()
