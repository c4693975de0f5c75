"""The product as a user runs it: the ``usine`` command and a real uvicorn server."""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from support import benchmark_module, free_port, wait_until
from usine.datasets import dataset_path

USINE = [sys.executable, "-m", "usine"]
STARTED = "Application startup complete"


def run(home: Path, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "USINE_HOME": str(home), **(extra_env or {})}
    return subprocess.run([*USINE, *args], env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A USINE_HOME where ``usine train credit`` ran once, as a user would."""
    home = tmp_path_factory.mktemp("e2e-home")
    trained = run(home, "train", "credit")
    assert trained.returncode == 0, trained.stderr
    assert "quality gate passed" in trained.stdout
    return home


@dataclass
class Server:
    """A running ``usine serve``: its base URL, its process and everything it printed so far."""

    base: str
    process: subprocess.Popen[str]
    output_file: IO[str]

    def output(self) -> str:
        self.output_file.seek(0)
        return self.output_file.read()


@contextmanager
def serving(
    home: Path, database_url: str, *args: str, extra_env: dict[str, str] | None = None
) -> Iterator[Server]:
    """``usine serve`` on a free loopback port until ready; stopped with SIGTERM on exit.

    The output goes to a file, never to a pipe nobody reads: a full pipe would block the server.
    """
    port = free_port()
    env = {**os.environ, "USINE_HOME": str(home), "USINE_DATABASE_URL": database_url, **(extra_env or {})}
    with tempfile.TemporaryFile(mode="w+") as output_file:
        process = subprocess.Popen(
            [*USINE, "serve", "--port", str(port), *args],
            env=env,
            stdout=output_file,
            stderr=subprocess.STDOUT,
            text=True,
        )
        server = Server(f"http://127.0.0.1:{port}", process, output_file)
        try:
            wait_until(lambda: ready(server), "server ready")
            yield server
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=120)
        output = server.output()
    # uvicorn drains, runs the app's shutdown, then re-raises SIGTERM as its exit status.
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output


def ready(server: Server) -> bool:
    if server.process.poll() is not None:
        pytest.fail(f"server exited early:\n{server.output()}")
    try:
        return httpx.get(f"{server.base}/1.0.0/readiness", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def server(home: Path, database_url: str) -> Iterator[tuple[str, str]]:
    """A served credit model; yields the base URL and the database it logs to."""
    with serving(home, database_url) as running:
        yield running.base, database_url


def test_predict_feedback_read_and_erase_through_a_real_server(
    server: tuple[str, str], credit_records: list[dict[str, Any]]
) -> None:
    base, database_url = server
    with httpx.Client(base_url=f"{base}/1.0.0", timeout=60) as api:
        scored = api.post("/models/credit/predictions", json=credit_records[:3])
        assert scored.status_code == 200
        ids = [p["id"] for p in scored.json()["predictions"]]
        assert scored.json()["version"] == "1"
        assert api.put(f"/predictions/{ids[0]}/feedback", json={"label": "bad"}).status_code == 200
        logged = api.get(f"/predictions/{ids[0]}").json()
        assert logged["feedback"]["label"] == "bad"
        assert logged["inputs"] == credit_records[0]
        assert api.delete(f"/predictions/{ids[1]}").status_code == 204
        assert api.get(f"/predictions/{ids[1]}").status_code == 404
        bad = api.post(
            "/models/credit/predictions", content=b"[1,", headers={"content-type": "application/json"}
        )
        assert bad.status_code == 400
        assert bad.headers["content-type"] == "application/problem+json"
    rows = logged_rows(database_url)
    assert {row[0]: (row[1], row[2]) for row in rows} == {ids[0]: ("1", "bad"), ids[2]: ("1", None)}


def logged_rows(database_url: str) -> list[tuple[str, str, str | None]]:
    """(id, model version, feedback label) of every logged prediction, read straight from the database."""
    query = (
        "SELECT p.id, p.model_version, f.label"
        " FROM predictions p LEFT JOIN feedback f ON f.prediction_id = p.id"
    )
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            return [tuple(row) for row in connection.execute(query)]
    import psycopg

    with psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql")) as connection:
        return [tuple(row) for row in connection.execute(query)]


def test_models_list_shows_the_champion(home: Path) -> None:
    listed = run(home, "models", "list")
    assert listed.returncode == 0
    assert "champion" in listed.stdout


def test_promoting_a_missing_version_is_one_clear_line(home: Path) -> None:
    failed = run(home, "promote", "credit", "--version", "9")
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines() == ["error: model 'credit' has no version 9"]


def test_prod_refuses_to_serve_on_embedded_storage(home: Path) -> None:
    refused = run(home, "serve", extra_env={"USINE_PROFILE": "prod"})
    assert refused.returncode == 2
    assert "USINE_DATABASE_URL" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_unusable_training_data_stops_before_anything_is_registered(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "one-class.csv"
    data.write_text(dataset_path("german_credit.csv").read_text().replace(",bad\n", ",good\n"))
    failed = run(home, "train", "credit", "--data", str(data))
    assert failed.returncode == 1
    assert "must hold both" in failed.stderr
    assert run(home, "models", "list").stdout.count("credit") == 1


def test_db_upgrade_reports_the_revision(tmp_path: Path) -> None:
    upgraded = run(tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0
    assert "revision 0006" in upgraded.stdout


def test_an_unknown_profile_stops_with_one_line_naming_the_variable(home: Path) -> None:
    refused = run(home, "serve", extra_env={"USINE_PROFILE": "qa"})
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "error: invalid setting: USINE_PROFILE='qa': Input should be 'dev', 'staging' or 'prod'"
    ]


def test_prod_refuses_to_start_without_a_reachable_database(home: Path) -> None:
    refused = run(
        home,
        "serve",
        extra_env={
            "USINE_PROFILE": "prod",
            "USINE_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
            "USINE_MLFLOW_TRACKING_URI": "http://127.0.0.1:1",
        },
    )
    assert refused.returncode == 4
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("error: database unreachable (postgresql+psycopg://nobody@127.0.0.1:1/none)")


def test_a_command_usine_does_not_have_is_a_usage_error_not_a_traceback(home: Path) -> None:
    refused = run(home, "score-everything", "credit")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1] == "Error: No such command 'score-everything'."
    assert "Traceback" not in refused.stderr


def test_staging_refuses_to_start_without_a_reachable_database(home: Path) -> None:
    refused = run(
        home,
        "serve",
        extra_env={"USINE_PROFILE": "staging", "USINE_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"},
    )
    assert refused.returncode == 4
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("error: database unreachable (postgresql+psycopg://nobody@127.0.0.1:1/none)")


def test_staging_refuses_to_start_with_no_model_to_serve(home: Path, tmp_path: Path) -> None:
    refused = run(
        home,
        "serve",
        extra_env={"USINE_PROFILE": "staging", "USINE_SERVING_ALIAS": "prod-champion"},
    )
    assert refused.returncode == 4
    assert (
        refused.stderr.strip()
        == "error: no version to serve: credit has no 'prod-champion' alias in the registry"
    )


# On busy shared cores a worker loading its model may answer the supervisor late: where no worker
# is killed, it must not be replaced for that, so the supervisor waits longer.
PATIENT_SUPERVISOR = {"USINE_WORKER_HEALTHCHECK_S": "300"}
# Where a worker is killed, the supervisor notices it only when a ping times out: a minute
# both tolerates a slow start on loaded cores and replaces the killed worker within the wait.
MINUTE_SUPERVISOR = {"USINE_WORKER_HEALTHCHECK_S": "60"}


def workers(pid: int) -> set[int]:
    """Worker processes of a uvicorn supervisor (its multiprocessing children, not the tracker)."""
    found = set()
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:  # exited between the two reads
            continue
        if b"spawn_main" in command:
            found.add(int(child))
    return found


def test_a_worker_that_dies_is_replaced_and_service_goes_on(
    home: Path, tmp_path: Path, credit_record: dict[str, Any]
) -> None:
    # The supervisor learns of a killed worker only when a ping to it times out (it holds both
    # ends of the pipe): a patient one would replace it late, the default 30 s killed workers
    # still loading their models on cores busy with the rest of the suite, again and again.
    with serving(
        home, f"sqlite:///{tmp_path / 'log.db'}", "--workers", "2", extra_env=MINUTE_SUPERVISOR
    ) as server:
        pid = server.process.pid
        wait_until(lambda: len(workers(pid)) >= 2, "two workers")
        wait_until(lambda: server.output().count(STARTED) >= 2, "both workers started")
        victim = min(workers(pid))
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: victim not in workers(pid) and len(workers(pid)) >= 2, "worker replaced")
        # The replacement has loaded its models once it reports its start-up complete.
        wait_until(lambda: server.output().count(STARTED) >= 3, "the replacement worker started")
        with httpx.Client(base_url=server.base, timeout=60) as api:
            statuses = {
                api.post("/1.0.0/models/credit/predictions", json=credit_record).status_code
                for _ in range(20)
            }
        assert statuses == {200}


def test_a_burst_of_connections_is_spread_across_the_workers(home: Path, tmp_path: Path) -> None:
    # A client pool opening its keep-alive connections at once: with one shared socket the
    # first worker to wake could accept most or all of them and serve alone.
    with serving(
        home, f"sqlite:///{tmp_path / 'log.db'}", "--workers", "2", extra_env=PATIENT_SUPERVISOR
    ) as server:
        wait_until(lambda: len(workers(server.process.pid)) >= 2, "two workers")
        wait_until(lambda: server.output().count(STARTED) >= 2, "both workers started")
        assert "a socket per worker" in server.output()
        pids = workers(server.process.pid)
        port = httpx.URL(server.base).port or 80
        connections_held = benchmark_module("serving").connections_held
        with ExitStack() as clients:
            for _ in range(32):
                clients.enter_context(socket.create_connection(("127.0.0.1", port)))
            wait_until(lambda: sum(connections_held(port).values()) == 32, "every connection accepted")
            held = connections_held(port)
    assert set(held) == pids
    # Linux picks each connection's worker by a hash of its ports: fewer than 4 of 32 on one
    # worker has a chance of about 3 in a million.
    assert min(held.values()) >= 4, held


def metric_total(base: str, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` with ``labels`` in the server's /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{base}/metrics", timeout=60).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def test_metrics_of_a_real_server_count_its_predictions(
    server: tuple[str, str], credit_records: list[dict[str, Any]]
) -> None:
    base, _ = server
    with httpx.Client(base_url=base, timeout=60) as api:
        for _ in range(4):
            assert api.post("/1.0.0/models/credit/predictions", json=credit_records).status_code == 200
    assert metric_total(base, "usine_predictions_total", model="credit", version="1") == 20
    assert metric_total(base, "usine_batch_size_records_sum", model="credit") == 20
    route = "/1.0.0/models/{name}/predictions"
    assert metric_total(base, "usine_http_requests_total", route=route, status="200") == 4


def predictions_per_worker(folder: Path) -> list[float]:
    """Predictions counted in each worker's own metrics file."""
    from prometheus_client.multiprocess import MultiProcessCollector

    counts = []
    for path in folder.glob("counter_*.db"):
        metrics = MultiProcessCollector.merge([str(path)], accumulate=True)
        counts.append(
            sum(
                sample.value
                for metric in metrics
                for sample in metric.samples
                if sample.name == "usine_predictions_total"
            )
        )
    return counts


def test_metrics_add_up_every_worker(home: Path, tmp_path: Path, credit_record: dict[str, Any]) -> None:
    folder = home / "prometheus"
    folder.mkdir(exist_ok=True)
    stale = folder / "counter_99999.db"
    stale.write_bytes(b"left by an earlier server")
    # Workers sharing one socket, as uvicorn's own supervisor runs them (the other tests of
    # several workers run them on a socket each, the default).
    shared_socket = {**PATIENT_SUPERVISOR, "USINE_REUSE_PORT": "false"}
    with serving(
        home, f"sqlite:///{tmp_path / 'log.db'}", "--workers", "2", extra_env=shared_socket
    ) as server:
        base = server.base
        assert not stale.exists()
        wait_until(lambda: len(workers(server.process.pid)) >= 2, "two workers")
        assert "a socket per worker" not in server.output()
        sent = 0

        def both_workers_scored() -> bool:
            nonlocal sent
            # A new connection each time, so that the kernel hands requests to either worker.
            assert (
                httpx.post(
                    f"{base}/1.0.0/models/credit/predictions", json=credit_record, timeout=60
                ).status_code
                == 200
            )
            sent += 1
            return sum(count > 0 for count in predictions_per_worker(folder)) >= 2

        wait_until(both_workers_scored, "predictions served by both workers")
        # Every scrape, whichever worker answers it, reports the predictions of both.
        totals = {metric_total(base, "usine_predictions_total", model="credit") for _ in range(6)}
    assert totals == {float(sent)}
