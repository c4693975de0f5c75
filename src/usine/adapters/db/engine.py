"""Engines for the prediction log: SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Insert, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url


def make_engine(url: str, timeout_s: float = 30.0) -> Engine:
    """Create an engine tuned for the backend the URL names.

    SQLite files get their folder created, write-ahead logging (readers never wait for the
    writer), foreign keys enforced and a busy timeout; PostgreSQL gets a checked pool.

    Args:
        url: a SQLAlchemy database URL.
        timeout_s: how long to wait for a PostgreSQL connection or a SQLite lock.

    Returns:
        The engine; no connection is opened yet.

    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
            connect_args={"connect_timeout": max(1, round(timeout_s))},
        )
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": timeout_s})
    event.listen(engine, "connect", _configure_sqlite)
    return engine


def insert_ignoring_existing(engine: Engine, table: Any, keys: list[str]) -> Insert:
    """A multi-row ``INSERT`` into ``table`` that skips rows whose ``keys`` are stored already."""
    if engine.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=keys)
    if engine.dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)
    raise NotImplementedError(f"no bulk insert for {engine.dialect.name}")


def _configure_sqlite(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
