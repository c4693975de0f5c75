"""Small real data and helpers shared by the tests."""

from __future__ import annotations

import csv
import importlib.util
import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest
import typer
from sqlalchemy import Engine

from usine import cli
from usine.adapters.db.engine import make_engine
from usine.adapters.db.migrate import upgrade
from usine.adapters.registry import LoggedRun, ModelRegistry
from usine.cli.schedule import parse_command
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


def applications_csv(path: Path, broken_rows: tuple[int, int, int]) -> pd.DataFrame:
    """Write the vendored applicants (no target) as CSV text with an id column, three rows broken.

    The rows in ``broken_rows`` get an unreadable age, an unknown purpose and a missing duration.
    """
    frame = pd.read_csv(dataset_path("german_credit.csv")).drop(columns=[TARGET]).astype(str)
    frame.insert(0, "application_id", [f"app-{i:04d}" for i in range(len(frame))])
    for row, (column, value) in zip(
        broken_rows,
        (("age_in_years", "unknown"), ("purpose", "yacht"), ("duration_in_month", "")),
        strict=True,
    ):
        frame.loc[row, column] = value
    frame.to_csv(path, index=False)
    return frame


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def parse_usine_command(args: list[str]) -> dict[str, Any]:
    """Parse ``usine ARGS`` as the real command would, without running it (as ``usine schedule`` does)."""
    return parse_command(typer.main.get_command(cli.app), args)


@contextmanager
def http_receiver(record: Callable[[str, str, bytes], Any]) -> Iterator[tuple[str, list[Any]]]:
    """A local HTTP server answering 200 to every POST and PUT; yields its base URL and the list
    of ``record(method, path, body)`` of each request received."""
    received: list[Any] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append(record(self.command, self.path, body))
            self.send_response(200)
            self.end_headers()

        do_PUT = do_POST

        def log_message(self, *_: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", received
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local webhook: its URL and the JSON bodies POSTed to it."""
    with http_receiver(lambda _method, _path, body: json.loads(body)) as (base, received):
        yield f"{base}/hook", received


def wait_until(
    condition: Callable[[], bool], what: str, deadline_s: float = 240, explain: Callable[[], str] = str
) -> None:
    """Poll ``condition`` until it holds; fail the test once ``deadline_s`` has passed.

    The deadline bounds a wait on a loaded, shared machine; it is not a speed target.

    ``explain`` gives what the failure message should show (a server's output, say).
    """
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"{what}: not reached within {deadline_s} s\n{explain()}")


def register_copy_of_version_1(registry: ModelRegistry) -> str:
    """A new version of credit made of version 1's artefacts (as a retraining would add)."""
    first = registry.client.get_model_version("credit", "1")
    return registry.register("credit", LoggedRun(run_id=first.run_id, model_uri=first.source), {})


@contextmanager
def migrated(url: str) -> Iterator[Engine]:
    """An engine on the database at ``url`` with the schema migrated, disposed afterwards."""
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()


BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def benchmark_module(name: str) -> ModuleType:
    """The script ``benchmarks/NAME.py`` imported as the module ``NAME`` (its siblings importable)."""
    sys.path.insert(0, str(BENCHMARKS))  # logging_cost.py imports its sibling serving.py
    try:
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module
