"""The prediction log off the hot path: a bounded queue drained by a background writer.

A response never waits for the database. Scored records are queued in memory and a task on
the event loop stores them in bulk: one transaction of up to ``batch_records``, when a full
batch is queued or at the latest ``flush_interval`` after the previous write. On PostgreSQL
the task sends them with ``COPY`` itself (:class:`CopyLog`, which says why not from a thread);
on SQLite a worker thread runs the multi-row insert. A housekeeping thread replays the spool
and stores the statistics below.

* **Queue full** (the database is slower than the traffic): the records of that request
  are appended to the durable spool at once, by the request itself; nothing is dropped.
* **Database unreachable**: the writer appends its batches to the spool, tries the
  database again every ``retry_interval``, and when it answers replays the spool into it.
  Spool files left by a stopped process are replayed by the next one.
* **Shutdown**: the queue is drained into the database (or the spool) before the process
  exits.
* **Read-your-writes**: a record still queued is found by :meth:`pending`; feedback and
  erasure of such a record call :meth:`flush` first so that it is stored.
* **Rejections** (refused or failed requests, for monitoring) are statistics, not records a
  user sent: they wait in a bounded in-memory queue (kept while the database is down) and the
  oldest are dropped, and counted, beyond ``REJECTIONS_HELD``. They never go to the spool, so
  a flood of bad requests cannot fill the disk.
* **Shadow scores** (the challenger's, in shadow mode) are statistics too, held and dropped
  the same way, in their own bounded queue: nothing the caller got back depends on them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, NamedTuple, TypeVar

from usine.adapters.db.copy_log import CopyLog
from usine.adapters.db.repository import SqlPredictionLog
from usine.adapters.spool import Spool
from usine.domain.predictions import PredictionRecord, Rejection, ShadowScore, SpooledFeedback
from usine.services.metrics import (
    FEEDBACK_RECORDS,
    LOG_QUEUE_DEPTH,
    LOG_RECORDS,
    LOG_WRITER_LAG,
    REJECTIONS_DROPPED,
    SHADOW_SKIPPED,
)

logger = logging.getLogger(__name__)

REJECTIONS_HELD = 10_000
SHADOW_HELD = 10_000
Held = TypeVar("Held")


class HeldStatistics(Generic[Held]):
    """Records kept for monitoring only: held in memory up to ``bound``, oldest dropped beyond.

    Args:
        bound: most records held.
        dropped: called with each record dropped (to count it).

    """

    def __init__(self, bound: int, dropped: Callable[[Held], None]) -> None:
        self.bound = bound
        self.dropped = dropped
        self._items: deque[Held] = deque()
        self._lock = threading.Lock()

    def add(self, items: Iterable[Held]) -> None:
        """Hold ``items`` after the others, dropping the oldest beyond the bound."""
        with self._lock:
            self._items.extend(items)
            self._trim()

    def take(self) -> list[Held]:
        """Everything held, oldest first; the queue is emptied."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
            return items

    def put_back(self, items: list[Held]) -> None:
        """Hold again, before the others, what could not be stored."""
        with self._lock:
            self._items.extendleft(reversed(items))
            self._trim()

    def discard(self, keep: Callable[[Held], bool]) -> None:
        """Forget the held records ``keep`` refuses."""
        with self._lock:
            self._items = deque(item for item in self._items if keep(item))

    def _trim(self) -> None:
        while len(self._items) > self.bound:
            self.dropped(self._items.popleft())


class Queued(NamedTuple):
    """Records waiting for the writer: one request's, or a batch (a tuple: the cheapest to make)."""

    stamp: float
    """When they (the oldest of a batch) were queued (``time.monotonic``)."""
    records: list[PredictionRecord]


@dataclass(frozen=True)
class WriterPolicy:
    """How the writer batches and retries (from ``Settings``)."""

    capacity: int
    batch_records: int
    flush_interval_s: float
    retry_interval_s: float


class PredictionWriter:
    """Stores queued predictions in the background; see the module for the policy.

    Args:
        log: the database prediction log.
        spool: the local spool used while the database is unreachable or the queue is full.
        policy: queue capacity, batch size and intervals.
        copier: PostgreSQL's ``COPY`` from the event loop; ``None``: the predictions are
            stored with ``log``'s insert, in a worker thread.

    """

    def __init__(
        self, log: SqlPredictionLog, spool: Spool, policy: WriterPolicy, copier: CopyLog | None = None
    ) -> None:
        self.log = log
        self.spool = spool
        self.policy = policy
        self.copier = copier
        # The request path only appends a request's list of records under a plain lock: no
        # record-by-record work, no index, no metric. The writer takes whole lists.
        self._queue: deque[Queued] = deque()
        self._queue_lock = threading.Lock()
        self._queued = 0  # records ever queued (under _queue_lock)
        self._taken = 0  # records ever taken by the writer (under _queue_lock)
        self._in_flight: list[PredictionRecord] = []  # taken, not stored yet (under _queue_lock)
        self._loop: asyncio.AbstractEventLoop | None = None  # where the predictions are stored
        self._wake = asyncio.Event()  # the storing task's (set from any thread by _wake_loop)
        self._storing: asyncio.Task[None] | None = None
        self._housekeeping_due = threading.Event()
        self._rejections = HeldStatistics[Rejection](REJECTIONS_HELD, lambda _: REJECTIONS_DROPPED.inc())
        self._shadow = HeldStatistics[ShadowScore](
            SHADOW_HELD, lambda score: SHADOW_SKIPPED.labels(score.model_name, "dropped").inc()
        )
        self._settled_changed = threading.Condition()
        self._settled = 0  # records stored or spooled by the writer (under _settled_changed)
        self._flush_target = 0
        self._last_batch = time.monotonic()
        self._stopping = False
        self._database_down = False
        self._next_retry = 0.0
        self._replaying = threading.Lock()
        self._thread = threading.Thread(target=self._housekeep, name="usine-log-housekeeping", daemon=True)

    def start(self) -> None:
        """Start the writer on the event loop that serves the requests; :meth:`aclose` stops it.

        Spool files left by earlier processes are replayed first.
        """
        self.spool.recover_claims()
        self._loop = asyncio.get_running_loop()
        self._storing = self._loop.create_task(self._store_batches(), name="usine-log-writer")
        self._storing.add_done_callback(_report_stop)
        self._thread.start()

    def submit(self, records: list[PredictionRecord]) -> None:
        """Queue ``records`` for storage without waiting (spooled at once if the queue is full).

        The list is kept as it is, so the caller must not change it afterwards.
        """
        stamp = time.monotonic()
        with self._queue_lock:
            depth = self._queued - self._taken + len(records)
            if depth <= self.policy.capacity:
                self._queue.append(Queued(stamp, records))
                self._queued += len(records)
        if depth > self.policy.capacity:
            self.spool.append(records)
            LOG_RECORDS.labels("spooled").inc(len(records))
            logger.warning("prediction queue full: %d records spooled", len(records))
        elif depth >= self.policy.batch_records:
            # The writer is woken only for a full batch; otherwise it comes by itself every
            # flush interval. Waking it per request costs hand-overs on the hot path and
            # makes one transaction per request.
            self._wake_loop()

    def reject(self, rejection: Rejection) -> None:
        """Queue a refused or failed request for the log (the oldest is dropped beyond the bound)."""
        self._rejections.add([rejection])

    def submit_shadow(self, scores: list[ShadowScore]) -> None:
        """Queue challenger scores for the log (the oldest are dropped, and counted, beyond the bound)."""
        self._shadow.add(scores)

    def forget_shadow(self, prediction_id: str) -> None:
        """Drop the challenger score of an erased prediction if it is not stored yet."""
        self._shadow.discard(lambda score: score.prediction_id != prediction_id)

    def pending(self, prediction_id: str) -> PredictionRecord | None:
        """A record queued but not stored yet, if ``prediction_id`` names one.

        The queue is searched (a rare read, against a queue that holds a flush interval of
        traffic), so that queuing costs the request path no index.
        """
        with self._queue_lock:
            waiting = [queued.records for queued in self._queue]
            waiting.append(self._in_flight)
        return next((r for records in waiting for r in records if r.id == prediction_id), None)

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until every record queued so far is stored (or spooled); ``False`` on timeout."""
        with self._queue_lock:
            target = self._queued
        with self._settled_changed:
            self._flush_target = max(self._flush_target, target)
        self._wake_loop()
        with self._settled_changed:
            return self._settled_changed.wait_for(lambda: self._settled >= target, timeout=timeout_s)

    async def aclose(self, timeout_s: float = 30.0) -> None:
        """Store what is queued, then stop the writer; on the event loop :meth:`start` ran on."""
        self._stopping = True
        self._wake.set()
        self._housekeeping_due.set()
        if self._storing is not None:
            await asyncio.wait([self._storing], timeout=timeout_s)
        await asyncio.to_thread(self._thread.join, timeout_s)

    def erase_spooled(self, prediction_id: str) -> int:
        """Remove a prediction from the spool, never while this process replays it; returns how many."""
        with self._replaying:
            return self.spool.erase(prediction_id)

    @property
    def database_down(self) -> bool:
        """Whether the last attempt to reach the database failed."""
        return self._database_down

    def _wake_loop(self) -> None:
        """Have the storing task look at the queue now (from any thread)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def _housekeep(self) -> None:
        """The thread: replay the spool when due and store the statistics, until the writer stops."""
        while not self._paused_until_stopping():
            self._replay_when_due()
            self._store_statistics()
        self._store_statistics()

    def _paused_until_stopping(self) -> bool:
        """Wait a flush interval, or until woken; whether the writer is stopping."""
        self._housekeeping_due.clear()
        if not self._stopping:
            self._housekeeping_due.wait(timeout=self.policy.flush_interval_s)
        return self._stopping

    async def _store_batches(self) -> None:
        """The storing task: every batch, stored or spooled, until the writer stops and is drained."""
        while (batch := await self._next_batch()) is not None:
            if batch.records:
                await self._store(batch)
        if self.copier is not None:
            await self.copier.close()

    async def _next_batch(self) -> Queued | None:
        """The next batch: its oldest time and its records (``None`` once stopped and drained).

        It is taken when a full one is queued, a flush or the shutdown asks, or a flush interval
        after the previous one. Batches are spaced by the flush interval even when records keep
        coming: a transaction has a fixed cost for the writer, so one per handful of records
        would take that from the serving process hundreds of times a second.
        """
        due = self._last_batch + self.policy.flush_interval_s
        while True:
            self._wake.clear()
            stopping = self._stopping  # read before the queue: what was queued before stopping is taken
            if stopping or self._depth() >= self.policy.batch_records or self._flush_wanted():
                break
            remaining = due - time.monotonic()
            if remaining <= 0:
                break
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), remaining)
        self._last_batch = time.monotonic()
        batch = self._take(self.policy.batch_records)
        return None if stopping and not batch.records else batch

    def _depth(self) -> int:
        with self._queue_lock:
            return self._queued - self._taken

    def _flush_wanted(self) -> bool:
        with self._settled_changed:
            return self._settled < self._flush_target

    def _take(self, most: int) -> Queued:
        """Queued requests, oldest first, until they hold ``most`` records or more, as one batch.

        A request's records are never split, so a batch may hold up to one request's records
        beyond ``most``. They stay readable (:meth:`pending`) until they are settled (stored or spooled).
        """
        stamp = time.monotonic()
        with self._queue_lock:
            if self._queue:
                stamp = self._queue[0].stamp
            while self._queue and len(self._in_flight) < most:
                self._in_flight.extend(self._queue.popleft().records)
            self._taken += len(self._in_flight)
            depth = self._queued - self._taken
            batch = Queued(stamp, self._in_flight)
        LOG_QUEUE_DEPTH.set(depth)
        return batch

    async def _store(self, batch: Queued) -> None:
        """Store a batch (``COPY``, or the insert in a worker thread), or spool it (in a worker thread)."""
        if not self._database_down:
            try:
                if self.copier is not None:
                    await self.copier.append(batch.records)
                else:
                    await asyncio.to_thread(self.log.add_new, batch.records)
                self._written(batch)
            except Exception as exc:  # any driver error, or a stored id: spooled, then replayed
                self._went_down(exc)
        if self._database_down:
            await asyncio.to_thread(self._spool, batch.records)
        self._settle(batch.records)

    @staticmethod
    def _written(batch: Queued) -> None:
        LOG_RECORDS.labels("written").inc(len(batch.records))
        LOG_WRITER_LAG.set(time.monotonic() - batch.stamp)

    def _spool(self, records: list[PredictionRecord]) -> None:
        self.spool.append(records)
        LOG_RECORDS.labels("spooled").inc(len(records))

    def _settle(self, records: list[PredictionRecord]) -> None:
        """The batch is stored or spooled: no longer pending, and counted for :meth:`flush`."""
        with self._queue_lock:
            self._in_flight = []
        with self._settled_changed:
            self._settled += len(records)
            self._settled_changed.notify_all()

    def _store_statistics(self) -> None:
        """Store held rejections and shadow scores (kept, bounded, while the database is down)."""
        self._store_held(self._rejections, self.log.add_rejections)
        self._store_held(self._shadow, self.log.add_shadow)

    def _store_held(self, queue: HeldStatistics[Held], store: Callable[[list[Held]], None]) -> None:
        if self._database_down:
            return
        items = queue.take()
        try:
            store(items)
        except Exception as exc:  # unreachable: keep them (bounded) for the next attempt
            queue.put_back(items)
            self._went_down(exc)

    def _went_down(self, exc: Exception) -> None:
        self._database_down = True
        self._next_retry = time.monotonic() + self.policy.retry_interval_s
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        logger.error("prediction log unreachable, spooling to %s: %s", self.spool.folder, first_line)

    def _replay(self, files: list[Path]) -> None:
        """Store every spooled prediction, then every spooled feedback (which may name them)."""
        with ExitStack() as claims:
            entries = [claims.enter_context(self.spool.claim(path)) for path in files]
            claimed = [entry for entry in entries if entry is not None]
            records = [record for entry in claimed for record in entry.predictions]
            for start in range(0, len(records), self.policy.batch_records):
                self.log.add_new(records[start : start + self.policy.batch_records])
            feedback = [item for entry in claimed for item in entry.feedback]
            applied = self.log.apply_feedback(feedback)
            LOG_RECORDS.labels("replayed").inc(len(records))
            FEEDBACK_RECORDS.labels("replayed").inc(applied)
            FEEDBACK_RECORDS.labels("dropped").inc(len(feedback) - applied)
            if records or feedback:
                logger.info(
                    "replayed %d spooled predictions and %d feedback (%d for no stored prediction, dropped)",
                    len(records),
                    applied,
                    len(feedback) - applied,
                )

    def spool_feedback(self, feedback: SpooledFeedback) -> None:
        """Keep feedback that cannot be stored now (database down) for the next replay."""
        self.spool.append_feedback([feedback])
        FEEDBACK_RECORDS.labels("spooled").inc()
        self._database_down = True

    def _replay_when_due(self) -> None:
        if time.monotonic() < self._next_retry:
            return
        files = self.spool.pending_files()
        if not files and not self._database_down:
            self._next_retry = time.monotonic() + self.policy.retry_interval_s
            return
        try:
            with self._replaying:
                self.log.ping()
                self._replay(files)
        except Exception as exc:  # still unreachable: try again later
            self._went_down(exc)
            return
        if self._database_down:
            logger.info("prediction log reachable again")
        self._database_down = False
        self._next_retry = time.monotonic() + self.policy.retry_interval_s


def _report_stop(task: asyncio.Task[None]) -> None:
    """Log why the storing task stopped, if it was not asked to (then the queue fills and spills)."""
    if not task.cancelled() and (error := task.exception()) is not None:
        logger.error("prediction log writer stopped: %r", error, exc_info=error)
