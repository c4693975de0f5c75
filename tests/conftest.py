"""Fixtures shared by every test layer: real data, real databases, a trained model."""

from __future__ import annotations

import fcntl
import getpass
import os
import pickle
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from support import credit_rows, free_port
from usine.services.claims_extraction import limits_from
from usine.services.claims_training import ClaimsTrainingResult, train_claims
from usine.services.models import open_registry
from usine.services.training import TrainingResult, train_credit
from usine.settings import Settings

T = TypeVar("T")
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session", autouse=True)
def _hermetic_environment() -> Iterator[None]:
    """Tests build their own settings: no USINE_* variable of the caller leaks in."""
    saved = {key: value for key, value in os.environ.items() if key.startswith("USINE_")}
    for key in saved:
        if key != "USINE_TEST_DATABASE_URL":
            del os.environ[key]
    yield
    os.environ.update(saved)


@pytest.fixture
def credit_record() -> dict[str, Any]:
    """One valid credit application."""
    return credit_rows(1)[0]


@pytest.fixture
def credit_records() -> list[dict[str, Any]]:
    """Five valid credit applications."""
    return credit_rows(5)


# --- PostgreSQL: the server named by USINE_TEST_DATABASE_URL, else a throwaway one ----------


def _skip_or_fail(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"PostgreSQL tests cannot run under CI=true: {reason}")
    pytest.skip(f"PostgreSQL NOT TESTED: {reason}")


def _throwaway_server(workdir: Path) -> Iterator[str]:
    from pytest_postgresql.executors.proc import PostgreSQLExecutor

    pg_ctl = shutil.which("pg_ctl") or next(
        iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))), None
    )
    if pg_ctl is None:
        _skip_or_fail("USINE_TEST_DATABASE_URL is unset and no pg_ctl was found to start a server")
    if getpass.getuser() == "root":
        _skip_or_fail("USINE_TEST_DATABASE_URL is unset and PostgreSQL refuses to run as root")
    port = free_port()
    executor = PostgreSQLExecutor(
        executable=str(pg_ctl),
        host="127.0.0.1",
        port=port,
        datadir=str(workdir / "data"),
        unixsocketdir=str(workdir),
        logfile=str(workdir / "postgresql.log"),
        startparams="-w",
        dbname="test",
        user=getpass.getuser(),
    )
    with executor:
        executor.wait_for_postgres()
        yield f"postgresql+psycopg://{getpass.getuser()}@127.0.0.1:{port}/postgres"


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a PostgreSQL server on which the tests may create databases."""
    configured = os.environ.get("USINE_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    yield from _throwaway_server(tmp_path_factory.mktemp("postgres"))


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database on the test server, dropped after the test."""
    server = make_url(postgres_server)
    name = f"usine_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        _skip_or_fail(f"cannot create a database on {server.render_as_string()}: {exc}")
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'usine.db'}"
    return str(request.getfixturevalue("postgres_url"))


# --- Trained models in private MLflow stores, shared by the session -------------------------


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], T]
) -> tuple[Path, T]:
    """A directory ``name`` filled by ``build`` once per test run, and what ``build`` returned.

    Under pytest-xdist every worker has its own session: the first worker to ask builds under
    a file lock in the run's shared temporary directory, the others wait and reuse its work.
    """
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    home, outcome = root / name, root / f"{name}.pickle"
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not outcome.exists():  # a worker that failed to build leaves no outcome: build afresh
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir()
            outcome.write_bytes(pickle.dumps(build(home)))
        return home, pickle.loads(outcome.read_bytes())


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TrainingResult]:
    """A USINE_HOME whose MLflow registry holds credit version 1 as champion."""
    return built_once(tmp_path_factory, "usine-home", _train_credit_into)


def _train_credit_into(home: Path) -> TrainingResult:
    settings = Settings(home=home)
    return train_credit(open_registry(settings), min_auc=settings.min_auc)


@pytest.fixture(scope="session")
def claims_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ClaimsTrainingResult]:
    """A USINE_HOME whose registry holds both reference models as champions (claims on a small corpus).

    Both, so that a server started on it reaches every operation of the API.
    """
    return built_once(tmp_path_factory, "usine-claims-home", _train_both_into)


def _train_both_into(home: Path) -> ClaimsTrainingResult:
    settings = Settings(home=home)
    _train_credit_into(home)
    return train_claims(
        open_registry(settings), limits_from(settings), min_f1=0.8, train_documents=48, eval_documents=8
    )
