"""Tables in a SQL database for batch jobs: a query read in chunks, a table written idempotently.

The query streams (a server-side cursor on PostgreSQL), so memory is bounded by the chunk
size. The output table is written in one transaction that first deletes the rows of the same
batch run: a rerun replaces its rows, a failed run leaves the table as it was.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

import pandas as pd
from sqlalchemy import Column, Connection, Engine, MetaData, String, Table, delete, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from usine.domain.errors import BatchSourceError

IDENTIFIER = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,62}$")


class QueryReader:
    """The rows of a SQL query, ``chunk_rows`` at a time.

    Args:
        engine: the database to query.
        query: a SELECT statement.
        chunk_rows: most rows per chunk.

    """

    def __init__(self, engine: Engine, query: str, chunk_rows: int) -> None:
        self.engine = engine
        self.query = query
        self.chunk_rows = chunk_rows

    def fingerprint(self) -> str:
        """The identity of the job's input: the query text itself."""
        return hashlib.sha256(self.query.encode()).hexdigest()

    def total_rows(self) -> int | None:
        """Unknown in advance for a query."""
        return None

    def chunks(self) -> Iterator[pd.DataFrame]:
        """The query's rows in chunks, streamed from the database.

        Raises:
            BatchSourceError: the database refuses the query.

        """
        try:
            with self.engine.connect() as connection:
                streaming = connection.execution_options(stream_results=True)
                yield from pd.read_sql_query(text(self.query), streaming, chunksize=self.chunk_rows)
        except (SQLAlchemyError, pd.errors.DatabaseError) as exc:
            cause = exc.__cause__ if isinstance(exc, pd.errors.DatabaseError) else exc
            raise BatchSourceError(f"the query failed: {getattr(cause, 'orig', cause)}") from exc


class SqlTableWriter:
    """Rows of one batch run appended to a table, replacing any earlier rows of the same run.

    The caller owns the transaction (one connection can carry several tables, which SQLite
    needs: it has one writer at a time): entering deletes the run's earlier rows, writes
    append, and the caller's commit or rollback makes the whole run visible or not at all.

    Args:
        connection: a connection inside the transaction of the run.
        table: ``name`` or ``schema.name``; created on first use.
        batch_run_id: the run whose earlier rows are replaced.

    Raises:
        BatchSourceError: the table name is not a plain SQL identifier.

    """

    def __init__(self, connection: Connection, table: str, batch_run_id: str) -> None:
        if not IDENTIFIER.match(table):
            raise BatchSourceError(f"{table!r} is not a table name (letters, digits, _; optionally schema.)")
        self.name = table
        schema, _, self.table = table.rpartition(".")
        self.schema = schema or None
        self.connection = connection
        self.batch_run_id = batch_run_id
        self.rows = 0

    def __enter__(self) -> SqlTableWriter:
        if inspect(self.connection).has_table(self.table, schema=self.schema):
            target = Table(self.table, MetaData(), Column("batch_run_id", String), schema=self.schema)
            with self._reported():
                self.connection.execute(delete(target).where(target.c.batch_run_id == self.batch_run_id))
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """Append rows inside the run's transaction."""
        with self._reported():
            frame.to_sql(self.table, self.connection, schema=self.schema, if_exists="append", index=False)
        self.rows += len(frame)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        """Nothing to release: the caller's transaction decides."""

    @contextmanager
    def _reported(self) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as exc:
            raise BatchSourceError(f"table {self.name}: {getattr(exc, 'orig', exc)}") from exc
