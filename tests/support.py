"""Small real data and helpers shared by the tests."""

from __future__ import annotations

import csv
import socket
from typing import Any

from usine.datasets import dataset_path
from usine.pipelines.credit import NUMERIC_FEATURES, TARGET


def credit_rows(count: int) -> list[dict[str, Any]]:
    """The first ``count`` applicants of the vendored data, typed as a client sends them."""
    with dataset_path("german_credit.csv").open(newline="") as handle:
        rows = [row for _, row in zip(range(count), csv.DictReader(handle), strict=False)]
    return [
        {key: int(value) if key in NUMERIC_FEATURES else value for key, value in row.items() if key != TARGET}
        for row in rows
    ]


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
