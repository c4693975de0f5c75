"""Batch scoring: a table in, scores out, every row either scored or rejected with its reasons.

A batch run streams its input in chunks (memory bounded by the chunk size, not the file),
checks each chunk against the model's contract, scores the accepted rows in one call per
chunk, and writes two tables atomically: the scores, and the rejected rows with their reasons.
Inputs are CSV or Parquet files (local or fsspec URLs) or a SQL query; outputs are files or
database tables. The run id is derived from the model version and the input's identity (the
file's, or the query text), so re-running the same job rewrites the same rows instead of
adding new ones.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from usine.adapters.db.engine import make_engine
from usine.adapters.registry import LoadedVersion, ModelRegistry
from usine.adapters.sql_tables import QueryReader, SqlTableWriter
from usine.adapters.tables import TableReader, TableWriter
from usine.domain.errors import BatchSourceError
from usine.domain.frame_check import check_frame
from usine.domain.model_spec import Predictor
from usine.services.models import load_version

OUTPUT_COLUMNS = ("row_number", "score", "model_name", "model_version", "batch_run_id")
REJECT_COLUMNS = ("row_number", "reasons", "batch_run_id")


@dataclass(frozen=True)
class FileTable:
    """A CSV or Parquet file, by path or fsspec URL."""

    url: str

    def __str__(self) -> str:
        return self.url


@dataclass(frozen=True)
class SqlQuery:
    """The rows a SELECT statement returns from a database."""

    database_url: str
    query: str

    def __str__(self) -> str:
        return f"query {self.query!r}"


@dataclass(frozen=True)
class SqlTable:
    """A table in a database, created on first use."""

    database_url: str
    table: str

    def __str__(self) -> str:
        return f"table {self.table}"


Source = FileTable | SqlQuery
Sink = FileTable | SqlTable
Reader = TableReader | QueryReader
Writer = TableWriter | SqlTableWriter


@dataclass(frozen=True)
class BatchJob:
    """What to score, with which model, and where the scores and the rejected rows go."""

    model: str
    source: Source
    output: Sink
    rejects: Sink
    version: str | None = None
    alias: str = "champion"
    chunk_rows: int = 50_000


@dataclass(frozen=True)
class BatchReport:
    """What a finished batch run did."""

    batch_run_id: str
    mlflow_run_id: str
    model: str
    version: str
    rows_in: int
    rows_scored: int
    rows_rejected: int
    duration_s: float
    output: Sink
    rejects: Sink

    @property
    def rejected_share(self) -> float:
        """The share of input rows that were rejected (0 for an empty input)."""
        return self.rows_rejected / self.rows_in if self.rows_in else 0.0


def rejects_for(output: Sink) -> Sink:
    """Default home of rejects: ``s.parquet`` → ``s.rejects.parquet``, table ``t`` → ``t_rejects``."""
    if isinstance(output, SqlTable):
        return SqlTable(output.database_url, f"{output.table}_rejects")
    path = PurePosixPath(output.url)
    return FileTable(str(path.with_name(f"{path.stem}.rejects{path.suffix}")))


def batch_run_id(model: str, version: str, source: Source, fingerprint: str) -> str:
    """A run id that is the same for the same model version and the same input."""
    key = "\x1f".join((model, version, str(source), fingerprint))
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def score_table(
    job: BatchJob,
    registry: ModelRegistry,
    experiment: str,
    *,
    on_total: Callable[[int | None], None] = lambda _: None,
    on_rows: Callable[[int], None] = lambda _: None,
) -> BatchReport:
    """Score every row of a table file with a registered model version.

    Args:
        job: the input, the output, the model and how to read.
        registry: where the model version is loaded from and the run is logged.
        experiment: the MLflow experiment batch runs are logged to.
        on_total: called once with the number of input rows, when the format records it.
        on_rows: called after each chunk with the number of rows it held (for progress).

    Returns:
        The counts of the run; the output and rejects tables are complete when it returns.

    Raises:
        BatchSourceError: the input is missing or unreadable, or the output cannot be written.
        SchemaMismatch: the input lacks a feature column.
        ModelNotFound: no such model, version or alias.

    """
    started = time.perf_counter()
    with ExitStack() as stack:
        reader = _reader(job.source, job.chunk_rows, stack)
        loaded = load_version(registry, job.model, job.version, job.alias)
        run_id = batch_run_id(job.model, loaded.version, job.source, reader.fingerprint())
        on_total(reader.total_rows())
        scorer = _ChunkScorer(loaded, run_id)
        with _writers([job.output, job.rejects], run_id) as (scores, rejects):
            for chunk in reader.chunks():
                scored, rejected = scorer.score(chunk)
                scores.write(scored)
                rejects.write(rejected)
                on_rows(len(chunk))
    return finish_run(
        job,
        loaded.version,
        run_id,
        (scorer.rows_in, scores.rows, rejects.rows),
        started,
        registry,
        experiment,
    )


def finish_run(
    job: BatchJob,
    version: str,
    run_id: str,
    counts: tuple[int, int, int],
    started: float,
    registry: ModelRegistry,
    experiment: str,
    engine: str = "local",
) -> BatchReport:
    """Log a finished run to MLflow and describe it.

    Args:
        job: what was scored.
        version: the model version that scored it.
        run_id: the batch run id.
        counts: rows in, rows scored, rows rejected.
        started: ``time.perf_counter()`` when the run started.
        registry: where the run is logged.
        experiment: the MLflow experiment of batch runs.
        engine: ``local`` or ``spark``.

    """
    rows_in, rows_scored, rows_rejected = counts
    duration = time.perf_counter() - started
    metrics = {
        "rows_in": rows_in,
        "rows_scored": rows_scored,
        "rows_rejected": rows_rejected,
        "duration_s": duration,
        "rows_per_s": rows_in / duration if duration > 0 else 0.0,
    }
    params = {
        "model": job.model,
        "version": version,
        "engine": engine,
        "input": str(job.source)[:500],
        "output": str(job.output),
        "rejects": str(job.rejects),
        "chunk_rows": str(job.chunk_rows),
        "batch_run_id": run_id,
    }
    mlflow_run_id = registry.log_job(experiment, f"batch-{job.model}-{run_id}", params, metrics)
    return BatchReport(
        batch_run_id=run_id,
        mlflow_run_id=mlflow_run_id,
        model=job.model,
        version=version,
        rows_in=rows_in,
        rows_scored=rows_scored,
        rows_rejected=rows_rejected,
        duration_s=duration,
        output=job.output,
        rejects=job.rejects,
    )


def _reader(source: Source, chunk_rows: int, stack: ExitStack) -> Reader:
    if isinstance(source, SqlQuery):
        engine = make_engine(source.database_url)
        stack.callback(engine.dispose)
        return QueryReader(engine, source.query, chunk_rows)
    return TableReader(source.url, chunk_rows)


@contextmanager
def _writers(sinks: list[Sink], run_id: str) -> Iterator[list[Writer]]:
    """Open every sink; tables of one database share one transaction, committed on success."""
    with ExitStack() as stack:
        transactions: dict[str, Connection] = {}
        writers: list[Writer] = []
        for sink in sinks:
            if isinstance(sink, FileTable):
                writers.append(stack.enter_context(TableWriter(sink.url)))
                continue
            if sink.database_url not in transactions:
                engine = make_engine(sink.database_url)
                stack.callback(engine.dispose)
                transactions[sink.database_url] = stack.enter_context(engine.begin())
            writers.append(
                stack.enter_context(SqlTableWriter(transactions[sink.database_url], sink.table, run_id))
            )
        yield writers


class _ChunkScorer:
    """Scores chunks in input order, numbering rows across the whole file."""

    def __init__(self, loaded: LoadedVersion, run_id: str) -> None:
        self.loaded = loaded
        self.run_id = run_id
        self.positive_index = Predictor(loaded.model, loaded.spec).positive_index
        self.rows_in = 0

    def score(self, chunk: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The scored rows and the rejected rows of one chunk, numbered after the previous ones."""
        numbers = np.arange(self.rows_in, self.rows_in + len(chunk), dtype=np.int64)
        self.rows_in += len(chunk)
        return score_chunk(self.loaded, self.positive_index, self.run_id, chunk, numbers)


def check_output_columns(columns: list[str]) -> None:
    """Refuse an input that already has a column the output adds.

    Raises:
        BatchSourceError: naming the clashing columns.

    """
    taken = sorted(name for name in {*OUTPUT_COLUMNS, *REJECT_COLUMNS} if name in columns)
    if taken:
        raise BatchSourceError(f"the input already has the column(s) {taken}, which the output adds")


def score_chunk(
    loaded: LoadedVersion, positive_index: int, run_id: str, chunk: pd.DataFrame, numbers: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score the rows of one chunk that pass the model's contract; describe why the others fail.

    Args:
        loaded: the model version.
        positive_index: the column of ``predict_proba`` that holds the positive class.
        run_id: the batch run id written with every row.
        chunk: the input rows, with any extra columns (kept in the output).
        numbers: each row's number in the whole input.

    Returns:
        The scored rows (``row_number``, input columns, ``score``, model name and version, run
        id) and the rejected rows (``row_number``, ``reasons``, input columns, run id).

    """
    check_output_columns(list(chunk.columns))
    check = check_frame(loaded.spec.features, chunk)
    scores = (
        loaded.model.predict_proba(check.inputs)[:, positive_index]
        if len(check.inputs)
        else np.empty(0, dtype=np.float64)
    )
    scored = chunk[check.accepted].reset_index(drop=True)
    scored.insert(0, "row_number", numbers[check.accepted])
    scored["score"] = scores.astype(np.float64)
    scored["model_name"] = loaded.name
    scored["model_version"] = loaded.version
    scored["batch_run_id"] = run_id
    rejected = chunk[~check.accepted].reset_index(drop=True)
    rejected.insert(0, "row_number", numbers[~check.accepted])
    rejected.insert(1, "reasons", pd.Series(check.reasons, dtype=object))
    rejected["batch_run_id"] = run_id
    return scored, rejected
