"""The prediction log's fast path on PostgreSQL: ``COPY`` from the serving process's event loop.

The writer's batches are sent as binary ``COPY`` rows (:func:`copy_rows`) on a
connection held between batches, in autocommit (a ``COPY`` is its own all-or-nothing
transaction), with psycopg's asynchronous driver, by a task on the event loop that serves
the requests. A thread doing the same shares the GIL with the event loop: each batch handed
the GIL back and forth between the cores (the network waits release it), and the records,
made on the event loop's core, were freed on the writer's. Measured side by side against that
thread (``benchmarks/serving.py``; docs/serving.md, session 13) it cost the serving process
and the machine more CPU per logged request than the same work done on the loop.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress

import psycopg
from sqlalchemy import Engine

from usine.adapters.db.copy_binary import COLUMNS, TYPES, Row, copy_rows
from usine.adapters.db.input_layouts import InputLayouts
from usine.adapters.db.tables import PredictionRow
from usine.domain.predictions import PredictionRecord

STATEMENT = f"COPY {PredictionRow.__tablename__} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"


class CopyLog:
    """Appends predictions to PostgreSQL's ``predictions`` with ``COPY``, without blocking the loop.

    Args:
        conninfo: a libpq connection string or URL.
        timeout_s: the longest a connection attempt may take.
        layouts: the layouts the inputs are packed by (a new version's is stored first).

    """

    def __init__(self, conninfo: str, timeout_s: float, layouts: InputLayouts) -> None:
        self.conninfo = conninfo
        self.timeout_s = timeout_s
        self.layouts = layouts
        self._connection: psycopg.AsyncConnection | None = None

    @classmethod
    def of(cls, engine: Engine, timeout_s: float, layouts: InputLayouts) -> CopyLog | None:
        """The fast path to the database ``engine`` names; ``None`` unless it is PostgreSQL."""
        if engine.dialect.name != "postgresql":
            return None
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return cls(url, timeout_s, layouts)

    async def append(self, records: list[PredictionRecord]) -> None:
        """Store new records (ids not stored yet), all or none.

        A record stored already fails the whole ``COPY``: the writer then spools the batch,
        and the spool's replay (an insert that skips stored ids) stores each record once. If
        the held connection was dropped by the server (a restart, an idle timeout), the batch
        is sent once more on a new one.
        """
        if not records:
            return
        if self.layouts.unknown(records):  # once per new version: its layout, in a worker thread
            await asyncio.to_thread(self.layouts.learn, records)
        rows = copy_rows(records, self.layouts.known)
        reused = self._connection is not None
        try:
            await self._copy(rows)
        except psycopg.OperationalError:  # _copy dropped the connection
            if not reused:
                raise
            await self._copy(rows)

    async def _copy(self, rows: list[Row]) -> None:
        """One ``COPY ... FROM STDIN`` on the held connection; it is dropped on failure."""
        if self._connection is None:
            self._connection = await psycopg.AsyncConnection.connect(
                self.conninfo, autocommit=True, connect_timeout=max(1, round(self.timeout_s))
            )
        try:
            async with self._connection.cursor() as cursor, cursor.copy(STATEMENT) as copy:
                copy.set_types(TYPES)
                for row in rows:
                    await copy.write_row(row)
        except Exception:
            await self.close()
            raise

    async def close(self) -> None:
        """Close the held connection, if any (at shutdown, or once broken)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with suppress(Exception):  # a broken connection may fail to say goodbye
                await connection.close()
