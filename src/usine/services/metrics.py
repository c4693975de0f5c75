"""Prometheus metrics of the serving path, and their exposition.

Every metric is defined here once. Under ``usine serve --workers N`` (N > 1) each worker
writes its samples to memory-mapped files in a folder under ``USINE_HOME`` (prometheus
multiprocess mode, the folder emptied when the server starts), and ``GET /metrics`` on any
worker aggregates all of them. With one worker, the samples live in the process.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
SCORE_BUCKETS = tuple(round(0.05 * step, 2) for step in range(1, 21))
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)

HTTP_REQUESTS = Counter(
    "usine_http_requests_total",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "usine_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and status.",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
PREDICTIONS = Counter(
    "usine_predictions_total", "Records scored, by model and version.", ["model", "version"]
)
SCORES = Histogram(
    "usine_prediction_score",
    "Scores returned, by model and version.",
    ["model", "version"],
    buckets=SCORE_BUCKETS,
)
SHADOW_PREDICTIONS = Counter(
    "usine_shadow_predictions_total",
    "Records scored in shadow by a challenger (logged, never returned), by model and challenger version.",
    ["model", "version"],
)
SHADOW_ERRORS = Counter(
    "usine_shadow_errors_total",
    "Records a challenger failed to score in shadow (the champion's answer is unaffected).",
    ["model", "version"],
)
SHADOW_SKIPPED = Counter(
    "usine_shadow_skipped_total",
    "Records not scored or not logged in shadow: busy (too many waiting for the challenger) "
    "or dropped (more held for the log than the writer keeps).",
    ["model", "reason"],
)
BATCH_SIZE = Histogram(
    "usine_batch_size_records",
    "Records per model call after micro-batching, by model and version.",
    ["model", "version"],
    buckets=BATCH_BUCKETS,
)
LOG_QUEUE_DEPTH = Gauge(
    "usine_log_queue_depth", "Predictions waiting for the background writer.", multiprocess_mode="livesum"
)
LOG_WRITER_LAG = Gauge(
    "usine_log_writer_lag_seconds",
    "Age of the oldest record of the last batch the writer stored.",
    multiprocess_mode="livemax",
)
LOG_RECORDS = Counter(
    "usine_log_records_total",
    "Predictions handled by the writer: written, spooled (database unreachable or queue full), replayed.",
    ["outcome"],
)
FEEDBACK_RECORDS = Counter(
    "usine_feedback_spool_total",
    "Feedback kept while the database was down: spooled, replayed, dropped (no such prediction).",
    ["outcome"],
)
REJECTIONS_DROPPED = Counter(
    "usine_rejections_dropped_total",
    "Refused requests not logged for monitoring: more were waiting than the writer holds.",
)
MODEL_LOAD_SECONDS = Gauge(
    "usine_model_load_seconds",
    "Time taken to load and compile a model version.",
    ["model", "version"],
    multiprocess_mode="max",
)
MODEL_RELOADS = Counter(
    "usine_model_reloads_total", "Reload attempts, by model and outcome.", ["model", "outcome"]
)


Labelled = TypeVar("Labelled", Counter, Histogram)
_CHILDREN: dict[tuple[Any, tuple[str, ...]], Any] = {}


def labelled(metric: Labelled, *values: str) -> Labelled:
    """The child of ``metric`` for label ``values``, looked up once per process.

    ``labels()`` checks its arguments and takes a lock on every call, a few microseconds the
    serving path would pay several times per request. The library keeps every child for the
    life of the process anyway (label values are bounded: route templates, statuses, model
    versions), so keeping a reference here holds nothing more.
    """
    key = (metric, values)
    child = _CHILDREN.get(key)
    if child is None:
        child = _CHILDREN[key] = metric.labels(*values)
    return child


def prepare_multiprocess_folder(folder: Path) -> dict[str, str]:
    """Empty ``folder`` for a new multi-worker server and name it to the workers.

    Args:
        folder: where workers write their samples; erased and recreated.

    Returns:
        The environment variable the workers' metrics library reads, to pass to them.

    """
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return {MULTIPROCESS_VARIABLE: str(folder)}


def render_metrics(folder: Path | None) -> tuple[bytes, str]:
    """The Prometheus exposition of this server, and its media type.

    Args:
        folder: the multi-worker folder (``Settings.prometheus_multiproc_dir``), whose
            samples of every worker are aggregated; ``None`` for this process's own.

    """
    if folder is None:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST


def forget_this_process(folder: Path | None) -> None:
    """Drop this worker's live gauges from the multi-worker ``folder`` when it stops."""
    if folder is not None:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
