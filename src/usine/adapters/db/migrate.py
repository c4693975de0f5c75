"""Schema migrations of the prediction log, run with Alembic from inside the package."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from usine.adapters.db.engine import make_engine

SCRIPT_LOCATION = "usine.adapters.db:migrations"
# The PostgreSQL advisory lock that one upgrading process holds at a time ("usine" in ASCII).
MIGRATION_LOCK_KEY = 0x7573696E65


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration bound to ``engine`` (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to ``revision`` (the latest by default).

    Processes that upgrade the same database at once (pods or servers starting together with
    ``USINE_AUTO_MIGRATE``) take turns: the first migrates, the others then find the schema
    current. Without that, two of them created the same tables and one failed to start.
    """
    with _one_upgrade_at_a_time(engine):
        command.upgrade(alembic_config(engine), revision)


@contextmanager
def _one_upgrade_at_a_time(engine: Engine) -> Iterator[None]:
    """Hold the database's migration lock while the block runs.

    On PostgreSQL a session advisory lock on a connection of its own; on an SQLite file an
    exclusive ``flock`` of a file beside it (``NAME.migrate-lock``). Either is released if the
    process dies.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with Path(f"{database}.migrate-lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` before the first migration."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_database(url: str, timeout_s: float = 30.0, revision: str = "head") -> str | None:
    """Bring the database at ``url`` to ``revision`` with an engine of its own; the revision reached."""
    engine = make_engine(url, timeout_s)
    try:
        upgrade(engine, revision)
        return current_revision(engine)
    finally:
        engine.dispose()
