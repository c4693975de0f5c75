"""PostgreSQL stopped for 30 s under load, then restarted: predictions keep being served and no
prediction and no feedback is lost, counted exactly.

The test runs its own PostgreSQL (initdb + pg_ctl in a temporary folder, on a free port) so that
stopping it touches nobody else; PostgreSQL refuses to run as root, so as root it runs as the
``postgres`` user.
"""

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from e2e.test_cli_and_server import run, serving
from support import credit_rows, free_port, wait_until
from usine.adapters.spool import Spool
from usine.services.training import TrainingResult
from usine.settings import Settings

# A long fault run: make test-nightly (and CI's nightly profile) runs it, not make test.
pytestmark = pytest.mark.nightly

OUTAGE_S = float(os.environ.get("OUTAGE_S", "30"))
REQUESTS_PER_S = 4
BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)
PREDICT = "/1.0.0/models/credit/predictions"


@dataclass
class Postgres:
    """A PostgreSQL server of this test's own."""

    data: Path
    port: int
    as_postgres: list[str]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str) -> None:
        done = subprocess.run(
            [*self.as_postgres, str(BIN / "pg_ctl"), "-D", str(self.data), "-w", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data.parent} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.pg_ctl("-o", options, "-l", str(self.data.parent / "postgresql.log"), "start")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "stop")


@contextmanager
def own_postgres() -> Iterator[Postgres]:
    if BIN is None or (shutil.which("runuser") is None and os.geteuid() == 0):
        pytest.skip("PostgreSQL NOT TESTED: no /usr/lib/postgresql/*/bin or no runuser")
    folder = Path(tempfile.mkdtemp(prefix="reliability-pg-"))
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(folder, "postgres", "postgres")
    server = Postgres(folder / "data", free_port(), as_postgres)
    made = subprocess.run(
        [*as_postgres, str(BIN / "initdb"), "-D", str(server.data), "-A", "trust", "-U", "postgres"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    server.start()
    try:
        yield server
    finally:
        subprocess.run(
            [*as_postgres, str(BIN / "pg_ctl"), "-D", str(server.data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=120,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)


def counts(url: str) -> tuple[set[str], dict[str, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            ids = {row[0] for row in connection.execute(text("SELECT id FROM predictions"))}
            labels = dict(connection.execute(text("SELECT prediction_id, label FROM feedback")).all())
    finally:
        engine.dispose()
    return ids, labels


def stored_exactly(url: str, ids: set[str], labels: dict[str, str]) -> bool:
    try:
        return counts(url) == (ids, labels)
    except Exception:  # the server is still starting
        return False


def test_an_outage_under_load_loses_no_prediction_and_no_feedback(
    trained_home: tuple[Path, TrainingResult], tmp_path: Path
) -> None:
    home = tmp_path / "home"  # a private spool; the registry is a copy of the trained one
    home.mkdir()
    shutil.copy(trained_home[0] / "mlflow.db", home / "mlflow.db")
    records: list[dict[str, Any]] = credit_rows(50)
    with own_postgres() as postgres:
        scopes = ["--scope", "predict", "--scope", "feedback"]
        created = run(
            home,
            "keys",
            "create",
            "--name",
            "loadgen",
            *scopes,
            extra_env={"USINE_DATABASE_URL": postgres.url},
        )
        assert created.returncode == 0, created.stderr
        key = {"X-API-Key": created.stdout.strip().splitlines()[-1]}
        env = {
            "USINE_PROFILE": "staging",
            "USINE_LOG_RETRY_INTERVAL_S": "1",
            "USINE_DATABASE_TIMEOUT_S": "2",
            "USINE_API_KEY_CACHE_TTL_S": "2",
            "USINE_RELOAD_INTERVAL_S": "0",
        }
        sent: set[str] = set()
        labels: dict[str, str] = {}
        statuses: dict[str, list[int]] = {"predict": [], "feedback": []}
        with (
            serving(home, postgres.url, extra_env=env) as server,
            httpx.Client(base_url=server.base, timeout=60) as api,
        ):

            def predict_and_label(index: int) -> None:
                scored = api.post(PREDICT, json=records[index % len(records)], headers=key)
                statuses["predict"].append(scored.status_code)
                if scored.status_code != 200:
                    return
                prediction = scored.json()["predictions"][0]["id"]
                sent.add(prediction)
                if index % 3 == 0:
                    label = "bad" if index % 2 else "good"
                    answer = api.put(
                        f"/1.0.0/predictions/{prediction}/feedback", json={"label": label}, headers=key
                    )
                    statuses["feedback"].append(answer.status_code)
                    if answer.status_code in (200, 202):
                        labels[prediction] = label

            for index in range(20):
                predict_and_label(index)
            wait_until(lambda: stored_exactly(postgres.url, sent, labels), "stored before the outage")
            before = set(sent)
            postgres.stop()
            outage_started = time.monotonic()
            index = 20
            while time.monotonic() - outage_started < OUTAGE_S and index < 20 + OUTAGE_S * REQUESTS_PER_S:
                predict_and_label(index)
                index += 1
                time.sleep(1 / REQUESTS_PER_S)
            relabelled = sorted(before)[0]
            late = api.put(f"/1.0.0/predictions/{relabelled}/feedback", json={"label": "bad"}, headers=key)
            assert late.status_code == 202, late.text
            labels[relabelled] = "bad"
            assert api.get("/1.0.0/readiness").status_code == 503
            during = len(sent) - len(before)
            assert Spool(Settings(home=home).spool_dir).count() > 0
            postgres.start()
            wait_until(
                lambda: stored_exactly(postgres.url, sent, labels),
                "every prediction and feedback stored after the outage",
                explain=lambda: (
                    f"{counts(postgres.url)[0].__len__()} of {len(sent)} predictions\n{server.output()}"
                ),
            )
            assert api.get("/1.0.0/readiness").status_code == 200
    assert set(statuses["predict"]) == {200}, statuses
    assert set(statuses["feedback"]) <= {200, 202}
    assert 202 in statuses["feedback"]  # feedback during the outage was kept, not refused
    assert during >= OUTAGE_S * REQUESTS_PER_S / 4  # load really ran through the outage
