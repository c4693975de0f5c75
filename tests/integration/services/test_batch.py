"""Batch scoring against a real MLflow registry and real files."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from support import applications_csv
from usine.adapters.db.engine import make_engine
from usine.datasets import dataset_path
from usine.domain.errors import BatchSourceError, ModelNotFound, SchemaMismatch
from usine.pipelines.credit import TARGET
from usine.services.batch import BatchJob, FileTable, SqlQuery, SqlTable, rejects_for, score_table
from usine.services.models import open_registry
from usine.services.training import TrainingResult
from usine.settings import Settings

EXPERIMENT = "usine-batch"


@pytest.fixture
def settings(trained_home: tuple[Path, TrainingResult]) -> Settings:
    return Settings(home=trained_home[0])


@pytest.fixture
def applications(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """The vendored applicants (without the target) as a CSV, three of them broken on purpose."""
    path = tmp_path / "applications.csv"
    return path, applications_csv(path, (10, 20, 30))


def job(input_path: Path, output: Path, **overrides: object) -> BatchJob:
    fields: dict[str, object] = {
        "model": "credit",
        "source": FileTable(str(input_path)),
        "output": FileTable(str(output)),
        "rejects": rejects_for(FileTable(str(output))),
        "chunk_rows": 128,
        **overrides,
    }
    return BatchJob(**fields)  # type: ignore[arg-type]


def test_every_row_is_scored_like_the_model_or_rejected_with_its_reason(
    settings: Settings, applications: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    path, _ = applications
    registry = open_registry(settings)
    report = score_table(job(path, tmp_path / "scores.parquet"), registry, EXPERIMENT)
    assert (report.rows_in, report.rows_scored, report.rows_rejected) == (1000, 997, 3)
    assert report.version == "1"
    scores = pd.read_parquet(tmp_path / "scores.parquet")
    rejects = pd.read_parquet(tmp_path / "scores.rejects.parquet")
    assert rejects["row_number"].tolist() == [10, 20, 30]
    assert rejects["application_id"].tolist() == ["app-0010", "app-0020", "app-0030"]
    assert rejects["reasons"].tolist() == [
        "age_in_years: not a number",
        "purpose: unknown category",
        "duration_in_month: missing",
    ]
    assert sorted([*scores["row_number"], *rejects["row_number"]]) == list(range(1000))
    loaded = registry.load("credit", "1")
    expected_frame = pd.read_csv(dataset_path("german_credit.csv")).drop(columns=[TARGET])
    expected_frame = expected_frame.drop(index=[10, 20, 30])
    positive = list(loaded.model.classes_).index("bad")
    expected = loaded.model.predict_proba(expected_frame)[:, positive]
    np.testing.assert_allclose(scores["score"].to_numpy(), expected, rtol=0, atol=1e-12)
    assert set(scores["model_version"]) == {"1"}
    assert set(scores["batch_run_id"]) == {report.batch_run_id}
    assert scores["application_id"].tolist() == expected_frame.index.map(lambda i: f"app-{i:04d}").tolist()


def test_rerunning_the_same_job_rewrites_the_same_rows(
    settings: Settings, applications: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    path, _ = applications
    registry = open_registry(settings)
    first = score_table(job(path, tmp_path / "scores.csv"), registry, EXPERIMENT)
    first_output = (tmp_path / "scores.csv").read_bytes()
    second = score_table(job(path, tmp_path / "scores.csv"), registry, EXPERIMENT)
    assert second.batch_run_id == first.batch_run_id
    assert (tmp_path / "scores.csv").read_bytes() == first_output
    assert len(pd.read_csv(tmp_path / "scores.csv")) == 997


def test_the_run_is_logged_to_mlflow_with_its_counts(
    settings: Settings, applications: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    path, _ = applications
    report = score_table(job(path, tmp_path / "scores.parquet"), open_registry(settings), EXPERIMENT)
    run = MlflowClient(tracking_uri=settings.mlflow_tracking_uri).get_run(report.mlflow_run_id)
    assert run.data.metrics["rows_in"] == 1000
    assert run.data.metrics["rows_rejected"] == 3
    assert run.data.params["batch_run_id"] == report.batch_run_id
    assert run.data.params["version"] == "1"


def test_a_missing_feature_column_fails_before_any_output_is_left(
    settings: Settings, applications: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    _, frame = applications
    broken = tmp_path / "broken.parquet"
    frame.drop(columns=["purpose"]).to_parquet(broken)
    with pytest.raises(SchemaMismatch, match="'purpose'"):
        score_table(job(broken, tmp_path / "out" / "scores.parquet"), open_registry(settings), EXPERIMENT)
    assert list((tmp_path / "out").iterdir()) == []


def test_an_unknown_version_or_alias_is_refused(
    settings: Settings, applications: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    path, _ = applications
    registry = open_registry(settings)
    with pytest.raises(ModelNotFound):
        score_table(job(path, tmp_path / "a.csv", version="99"), registry, EXPERIMENT)
    with pytest.raises(ModelNotFound, match="challenger"):
        score_table(job(path, tmp_path / "b.csv", alias="challenger"), registry, EXPERIMENT)


def test_a_query_is_scored_into_a_table_and_a_rerun_replaces_its_rows(
    settings: Settings, database_url: str
) -> None:
    """SQL in, SQL out, on SQLite and PostgreSQL: idempotent by batch run."""
    applicants = pd.read_csv(dataset_path("german_credit.csv")).drop(columns=[TARGET]).head(40)
    applicants.loc[3, "housing"] = "tent"
    engine = make_engine(database_url)
    applicants.to_sql("applications", engine, index=False)
    query = "SELECT * FROM applications"
    sql_job = BatchJob(
        model="credit",
        source=SqlQuery(database_url, query),
        output=SqlTable(database_url, "credit_scores"),
        rejects=rejects_for(SqlTable(database_url, "credit_scores")),
        chunk_rows=16,
    )
    registry = open_registry(settings)
    first = score_table(sql_job, registry, EXPERIMENT)
    second = score_table(sql_job, registry, EXPERIMENT)
    assert second.batch_run_id == first.batch_run_id
    with engine.connect() as connection:
        scores = pd.read_sql_query("SELECT * FROM credit_scores ORDER BY row_number", connection)
        rejects = pd.read_sql_query("SELECT * FROM credit_scores_rejects", connection)
    engine.dispose()
    assert len(scores) == 39
    assert scores["row_number"].tolist() == [n for n in range(40) if n != 3]
    assert rejects[["row_number", "reasons"]].to_dict("records") == [
        {"row_number": 3, "reasons": "housing: unknown category"}
    ]
    loaded = registry.load("credit", "1")
    expected = loaded.model.predict_proba(applicants.drop(index=[3]))[
        :, list(loaded.model.classes_).index("bad")
    ]
    np.testing.assert_allclose(scores["score"].to_numpy(), expected, rtol=0, atol=1e-12)


def test_a_broken_query_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    broken = BatchJob(
        model="credit",
        source=SqlQuery(url, "SELECT * FROM nowhere"),
        output=FileTable(str(tmp_path / "s.csv")),
        rejects=FileTable(str(tmp_path / "r.csv")),
    )
    with pytest.raises(BatchSourceError, match=r"the query failed: .*nowhere"):
        score_table(broken, open_registry(settings), EXPERIMENT)
    assert not (tmp_path / "s.csv").exists()
