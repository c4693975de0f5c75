"""Batch scoring on Apache Spark: the same job as :func:`usine.services.batch.score_table`.

For tables that outgrow one machine. The input file (CSV or Parquet, on a path both fsspec —
for the run id — and Spark read) is numbered row by row in file order; each partition is
checked and scored by the same function the local engine applies to its chunks
(:func:`score_chunk`, through ``mapInArrow``: Arrow batches in and out, the pandas conversion
done by usine so that it matches the local engine's); the scores and the rejects are written
as Spark datasets (a folder of part files), each under a temporary name renamed when complete.
Same model version, same rows, same numbers, same run id: the output equals the local
engine's, row for row.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

from usine.adapters.registry import ModelRegistry
from usine.adapters.spark import spark_session
from usine.adapters.tables import TableReader, table_format
from usine.domain.errors import BatchSourceError
from usine.domain.frame_check import check_frame
from usine.domain.model_spec import Predictor
from usine.services.batch import (
    BatchJob,
    BatchReport,
    FileTable,
    batch_run_id,
    check_output_columns,
    finish_run,
    score_chunk,
)
from usine.services.models import load_version

ROW = "row_number"
_PARTITION_BITS = 33  # monotonically_increasing_id: partition id in the upper bits, row below


def score_table_spark(
    job: BatchJob,
    registry: ModelRegistry,
    experiment: str,
    master: str,
    conf: dict[str, str] | None = None,
) -> BatchReport:
    """Score every row of a table file on Spark with a registered model version.

    Args:
        job: the input and outputs (files only) and the model.
        registry: where the model version is loaded from and the run is logged.
        experiment: the MLflow experiment batch runs are logged to.
        master: the Spark master URL, e.g. ``local[*]``.
        conf: Spark properties for the session (executor memory, partition size…).

    Returns:
        The counts of the run; both output datasets are complete when it returns.

    Raises:
        BatchSourceError: a SQL source or sink, an unreadable input, or Spark failing.
        SchemaMismatch: the input lacks a feature column.
        ModelNotFound: no such model, version or alias.

    """
    started = time.perf_counter()
    if not all(isinstance(part, FileTable) for part in (job.source, job.output, job.rejects)):
        raise BatchSourceError("--engine spark reads and writes files; use --input and --output")
    source = str(job.source)
    fingerprint = TableReader(source, job.chunk_rows).fingerprint()
    loaded = load_version(registry, job.model, job.version, job.alias)
    run_id = batch_run_id(job.model, loaded.version, job.source, fingerprint)
    positive_index = Predictor(loaded.model, loaded.spec).positive_index
    with spark_session(master, f"usine-batch-{job.model}-{run_id}", conf) as spark:
        frame = _read(spark, source)
        check_output_columns(frame.columns)
        check_frame(loaded.spec.features, pd.DataFrame(columns=frame.columns))
        numbered, rows_in = _numbered(frame)
        inputs = list(frame.columns)
        scored_columns = [ROW, *inputs, "score", "model_name", "model_version", "batch_run_id"]
        rejected_columns = [ROW, "reasons", *inputs, "batch_run_id"]
        schema = _results_schema(frame)
        arrow_schema = to_arrow_schema(schema)

        def score_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in batches:
                chunk = batch.to_pandas(types_mapper=pd.ArrowDtype)
                numbers = chunk.pop(ROW).to_numpy(dtype=np.int64)
                scored, rejected = score_chunk(loaded, positive_index, run_id, chunk, numbers)
                both = pd.concat([scored, rejected], ignore_index=True)
                table = pa.Table.from_pandas(
                    both.reindex(columns=arrow_schema.names), arrow_schema, preserve_index=False
                )
                yield from table.to_batches()

        results = numbered.mapInArrow(score_partition, schema).persist()
        try:
            scored = results.where(results.reasons.isNull()).select(*scored_columns)
            rejected = results.where(results.reasons.isNotNull()).select(*rejected_columns)
            rows_scored = _write(scored, str(job.output))
            rows_rejected = _write(rejected, str(job.rejects))
        finally:
            results.unpersist()
    return finish_run(
        job,
        loaded.version,
        run_id,
        (rows_in, rows_scored, rows_rejected),
        started,
        registry,
        experiment,
        engine="spark",
    )


def _results_schema(frame: DataFrame) -> StructType:
    """Scored and rejected rows in one schema: input columns, then what scoring adds."""
    added = [("score", DoubleType()), ("reasons", StringType())] + [
        (name, StringType()) for name in ("model_name", "model_version", "batch_run_id")
    ]
    return StructType(
        [
            StructField(ROW, LongType()),
            *frame.schema.fields,
            *(StructField(name, kind) for name, kind in added),
        ]
    )


def _read(spark: SparkSession, url: str) -> DataFrame:
    """The input as a Spark DataFrame: CSV columns as text (as the local engine reads them)."""
    try:
        if table_format(url) == "csv":
            return spark.read.option("header", "true").option("encoding", "UTF-8").csv(url)
        return spark.read.parquet(url)
    except PySparkException as exc:
        raise BatchSourceError(f"{url}: Spark cannot read it ({_first_line(exc)})") from exc


def _numbered(frame: DataFrame) -> tuple[DataFrame, int]:
    """Number the rows 0…n-1 in file order, without moving them between partitions.

    Returns:
        The frame with a ``row_number`` column, and the number of rows.

    """
    tagged = frame.withColumn("_pid", F.spark_partition_id()).withColumn(
        "_mid", F.monotonically_increasing_id()
    )
    counts: dict[int, int] = {int(pid): int(n) for pid, n in tagged.groupBy("_pid").count().collect()}
    offsets: list[int] = []
    total = 0
    for partition in range(max(counts, default=-1) + 1):
        offsets.append(total)
        total += counts.get(partition, 0)
    offset = F.element_at(F.array(*[F.lit(value) for value in offsets or [0]]), F.col("_pid") + 1)
    local_index = F.col("_mid") - F.shiftleft(F.col("_pid").cast("long"), _PARTITION_BITS)
    numbered = tagged.select(
        (offset + local_index).cast("long").alias(ROW), *[F.col(name) for name in frame.columns]
    )
    return numbered, total


def _write(frame: DataFrame, url: str) -> int:
    """Write a dataset under a temporary name, then rename it over ``url``; the rows written."""
    partial = f"{url}.partial-{uuid.uuid4().hex}"
    rows = frame.count()
    try:
        writer = frame.write.mode("errorifexists")
        if table_format(url) == "csv":
            writer.option("header", "true").csv(partial)
        else:
            writer.parquet(partial)
    except PySparkException as exc:
        raise BatchSourceError(f"{url}: Spark cannot write it ({_first_line(exc)})") from exc
    fs, path = fsspec.core.url_to_fs(url)
    _, partial_path = fsspec.core.url_to_fs(partial)
    if fs.exists(path):
        fs.rm(path, recursive=True)
    fs.mv(partial_path, path, recursive=True)
    return int(rows)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
