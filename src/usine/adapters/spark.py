"""A Spark session for batch scoring: local mode on one machine, or a cluster by master URL.

pyspark is the optional ``spark`` extra (``pip install 'usine-ml[spark]'``) and needs a Java
17+ runtime; import this module only when Spark is asked for. In local mode (``local[*]``)
the driver and its executors are this process and its children; nothing listens beyond
127.0.0.1 and the web UI is off.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from pyspark.sql import SparkSession

from usine.domain.errors import BatchSourceError


@contextmanager
def spark_session(master: str, app_name: str, conf: dict[str, str] | None = None) -> Iterator[SparkSession]:
    """Start (or join) a Spark session and stop it on exit.

    Args:
        master: ``local[*]``, ``local[N]``, ``spark://host:port``, ``yarn``, ``k8s://…``.
        app_name: the name the cluster shows for the job.
        conf: Spark properties set on the session (as ``spark-submit --conf`` would).

    Raises:
        BatchSourceError: Java cannot start.

    """
    # Executors run the pandas UDF with the same interpreter (and so the same usine and model).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    # pyspark 4.3 warns on pandas 3; usine hands it Arrow batches only (mapInArrow), and the
    # tests check the Spark output equals the local engine's, so the warning is noise here.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    builder = SparkSession.builder.master(master).appName(app_name)
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = builder.config("spark.driver.host", "127.0.0.1").config(
            "spark.driver.bindAddress", "127.0.0.1"
        )
    builder = (
        builder.config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
    )
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # Java missing or refusing to start surfaces as a generic error
        raise BatchSourceError(f"Spark cannot start on {master}: {exc}") from exc
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
