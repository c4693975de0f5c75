"""A child process that stores the prediction writer's batches, outside the serving process's GIL.

The serving process's writer thread shares the GIL with the event loop, so every
microsecond it spends in Python (decoding records, making the ``COPY`` text, driving
psycopg) is taken from request handling: on 1 worker that was 10 % of the throughput. Here
the thread only pipes each batch, as the ``COPY`` text it was queued as, to this process and
waits for the answer with the GIL released; the child stores it with
:meth:`SqlPredictionLog.append_fresh`: on PostgreSQL it hands the text to ``COPY`` as it is,
elsewhere it reads the records back for a bulk ``INSERT``.

Protocol, over the child's standard input and output: the parent first sends the database
URL and timeout, then one frame per batch; the child answers each with an empty frame when
the batch is committed, or with the database's error message. A frame is a 4-byte
big-endian length and that many bytes. The child ends when its input closes: when the
writer is done, or when the serving process dies. It ignores SIGINT and SIGTERM (a Ctrl-C
or a ``kill`` of the process group), so that the serving process can still send it what it
drains at shutdown.
"""

from __future__ import annotations

import logging
import os
import signal
import struct
import subprocess  # nosec B404
import sys
import threading
from contextlib import suppress
from typing import IO

import orjson
from sqlalchemy.engine import make_url

from usine.adapters.db.engine import make_engine
from usine.adapters.db.repository import SqlPredictionLog

logger = logging.getLogger(__name__)

_LENGTH = struct.Struct(">I")
STOP_TIMEOUT_S = 30.0
"""How long :meth:`WriterProcess.close` waits for the child to end before killing it."""


class WriterProcessError(Exception):
    """A batch was not stored: the database refused it, or the child process is gone."""


class WriterProcess:
    """Stores batches of predictions through a child process, started when first needed.

    Args:
        database_url: the prediction log's database (a file or a server: the child opens it).
        timeout_s: connect timeout (PostgreSQL) or lock wait (SQLite) in the child.

    Raises:
        ValueError: the database is SQLite in memory, which another process cannot open.

    """

    def __init__(self, database_url: str, timeout_s: float) -> None:
        parsed = make_url(database_url)
        if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
            raise ValueError("the prediction log cannot be an in-memory SQLite database: give it a file")
        self._config = orjson.dumps({"url": database_url, "timeout_s": timeout_s})
        self._child: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the child now (it takes about half a second to import), not at the first batch."""
        with self._lock:
            self._started()

    def store(self, lines: bytes) -> None:
        """Store the predictions ``lines`` holds (``COPY`` text), all or none.

        Raises:
            WriterProcessError: the database refused the batch (its message), or the child
                died; a new child is started for the next batch.

        """
        with self._lock:
            child = self._started()
            try:
                requests, answers = _streams(child)
                _send(requests, lines)
                answer = _receive(answers)
            except (OSError, EOFError) as exc:
                self._forget(child)
                raise WriterProcessError(f"the writer process ended: {exc or type(exc).__name__}") from exc
        if answer:
            raise WriterProcessError(answer.decode(errors="replace"))

    def close(self) -> None:
        """Let the child finish and end (killed after :data:`STOP_TIMEOUT_S`)."""
        with self._lock:
            if self._child is not None:
                self._stop(self._child)
                self._child = None

    @property
    def pid(self) -> int | None:
        """The child's process id, while one runs."""
        return None if self._child is None else self._child.pid

    def _started(self) -> subprocess.Popen[bytes]:
        if self._child is not None and self._child.poll() is None:
            return self._child
        if self._child is not None:
            logger.warning(
                "the prediction writer process ended (%s): starting another", self._child.returncode
            )
            self._forget(self._child)
        # A fixed command, no shell: this interpreter running this module.
        child = subprocess.Popen(  # nosec B603
            [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        _send(_streams(child)[0], self._config)
        self._child = child
        return child

    def _forget(self, child: subprocess.Popen[bytes]) -> None:
        child.kill()
        self._stop(child)
        self._child = None

    @staticmethod
    def _stop(child: subprocess.Popen[bytes]) -> None:
        requests, answers = _streams(child)
        with suppress(OSError):  # the child is gone and the last write broke the pipe
            requests.close()
        try:
            child.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        answers.close()


def _streams(child: subprocess.Popen[bytes]) -> tuple[IO[bytes], IO[bytes]]:
    """The child's input and output (both piped by :meth:`WriterProcess._started`)."""
    if child.stdin is None or child.stdout is None:
        raise WriterProcessError("the writer process was started without its pipes")
    return child.stdin, child.stdout


def _send(stream: IO[bytes], payload: bytes) -> None:
    stream.write(_LENGTH.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def _receive(stream: IO[bytes]) -> bytes:
    """One frame; ``EOFError`` when the stream ends before it is whole."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError("no answer")
    (length,) = _LENGTH.unpack(head)
    payload = stream.read(length)
    if len(payload) < length:
        raise EOFError("a truncated answer")
    return payload


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """The child's loop: store each batch read from ``requests`` and answer it, until the input ends."""
    config = orjson.loads(_receive(requests))
    engine = make_engine(config["url"], config["timeout_s"])
    log = SqlPredictionLog(engine)
    try:
        while True:
            try:
                lines = _receive(requests)
            except EOFError:
                return
            try:
                log.append_fresh(lines)
                _send(answers, b"")
            except Exception as exc:  # any refusal: the parent spools the batch and says why
                _send(answers, (str(exc).strip() or type(exc).__name__).encode())
    finally:
        log.close_bulk()
        engine.dispose()


def main() -> None:
    """``python -m usine.adapters.db.writer_process``: the child's entry point."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # The protocol owns the standard output: anything else printed goes to standard error.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
