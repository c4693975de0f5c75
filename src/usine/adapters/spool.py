"""A durable local spool of predictions and feedback: append-only JSON Lines under ``USINE_HOME``.

Predictions go there when the database is unreachable or the writer's queue is full, and
feedback when the database is unreachable; both are replayed into the database later
(every prediction of the claimed files first, then the feedback, which may name them).
Each process appends to its own file, under an exclusive ``flock``. A replay claims a file
by renaming it (atomic: one claimer wins, even across workers), after taking the same lock,
so no append is lost to a claimed file. Replays insert with "ignore existing ids", so a
record replayed twice (a crash between the insert and the removal of the file) is still
stored exactly once.
"""

from __future__ import annotations

import fcntl
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson

from usine.domain.predictions import PredictionRecord, SpooledFeedback

SUFFIX = ".jsonl"
CLAIMED_SUFFIX = ".replaying"
FEEDBACK = "feedback"


def _encode(record: PredictionRecord) -> bytes:
    return orjson.dumps(
        {
            "id": record.id,
            "request_id": record.request_id,
            "model_name": record.model_name,
            "model_version": record.model_version,
            "inputs": record.inputs,
            "score": record.score,
            "latency_ms": record.latency_ms,
            "created_at": record.created_at.isoformat(),
            "caller": record.caller,
        }
    )


def _encode_feedback(feedback: SpooledFeedback) -> bytes:
    return orjson.dumps(
        {
            "kind": FEEDBACK,
            "prediction_id": feedback.prediction_id,
            "label": feedback.label,
            "received_at": feedback.received_at.isoformat(),
        }
    )


@dataclass
class SpoolEntries:
    """What one spool file holds, in the order it was written."""

    predictions: list[PredictionRecord] = field(default_factory=list)
    feedback: list[SpooledFeedback] = field(default_factory=list)


def _decode(lines: list[bytes]) -> SpoolEntries:
    entries = SpoolEntries()
    for line in lines:
        fields: dict[str, Any] = orjson.loads(line)
        if fields.pop("kind", None) == FEEDBACK:
            fields["received_at"] = datetime.fromisoformat(fields["received_at"])
            entries.feedback.append(SpooledFeedback(**fields))
        else:
            fields["created_at"] = datetime.fromisoformat(fields["created_at"])
            entries.predictions.append(PredictionRecord(**fields))
    return entries


class Spool:
    """Append-only files of predictions waiting for the database.

    Args:
        folder: the spool folder (``USINE_HOME/spool``), created when first written.

    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._own = folder / f"spool-{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}"
        self._lock = threading.Lock()

    def append(self, records: list[PredictionRecord]) -> None:
        """Write ``records`` durably (flushed and synced) at the end of this process's file."""
        self._write([_encode(record) for record in records])

    def append_feedback(self, feedback: list[SpooledFeedback]) -> None:
        """Write feedback durably, after the predictions this process spooled before it."""
        self._write([_encode_feedback(item) for item in feedback])

    def _write(self, lines: list[bytes]) -> None:
        if not lines:
            return
        payload = b"".join(line + b"\n" for line in lines)
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            while True:
                with self._own.open("ab") as handle, _locked(handle):
                    if not _still_named(handle, self._own):
                        continue  # claimed by a replay between open and lock: open the new file
                    handle.write(payload)
                    handle.flush()
                    os.fsync(handle.fileno())
                    return

    def pending_files(self) -> list[Path]:
        """Spool files waiting for replay (of every process), oldest first."""
        if not self.folder.exists():
            return []
        return sorted(self.folder.glob(f"*{SUFFIX}"), key=lambda path: path.stat().st_mtime)

    @contextmanager
    def claim(self, path: Path) -> Iterator[SpoolEntries | None]:
        """Take one spool file for replay and yield its entries (``None`` if another took it).

        The file is removed when the block succeeds, and put back for a later replay when it
        raises.
        """
        claimed = path.with_name(f"{path.stem}.{os.getpid()}{CLAIMED_SUFFIX}")
        if not _rename_locked(path, claimed):
            yield None
            return
        records = _decode([line for line in claimed.read_bytes().splitlines() if line.strip()])
        try:
            yield records
        except BaseException:
            claimed.rename(_fresh_name(path))
            raise
        claimed.unlink()

    def recover_claims(self) -> None:
        """Put back files whose replay was interrupted (their claiming process is gone)."""
        if not self.folder.exists():
            return
        for claimed in self.folder.glob(f"*{CLAIMED_SUFFIX}"):
            claimer = claimed.stem.rsplit(".", 1)[-1]
            if claimer.isdigit() and not _alive(int(claimer)):
                claimed.rename(_fresh_name(claimed.with_name(claimed.stem.rsplit(".", 1)[0])))

    def erase(self, prediction_id: str) -> int:
        """Remove every spooled prediction with this id and its feedback (data protection); returns how many.

        Each file is rewritten under the same lock its appenders take.
        """
        # b'"id":"<id>"' and b'"prediction_id":"<id>"', exactly as the encoders write them
        needles = [orjson.dumps({key: prediction_id})[1:-1] for key in ("id", "prediction_id")]
        erased = 0
        for path in self.pending_files():
            try:
                with path.open("r+b") as handle, _locked(handle):
                    lines = handle.read().splitlines(keepends=True)
                    kept = [line for line in lines if not any(needle in line for needle in needles)]
                    if len(kept) == len(lines):
                        continue
                    handle.seek(0)
                    handle.write(b"".join(kept))
                    handle.truncate()
                    handle.flush()
                    os.fsync(handle.fileno())
                    erased += len(lines) - len(kept)
            except FileNotFoundError:  # claimed by a replay meanwhile
                continue
        return erased

    def count(self) -> int:
        """Lines (predictions and feedback) waiting in the spool (reads every file: for tests and reports)."""
        return sum(len(path.read_bytes().splitlines()) for path in self.pending_files())


@contextmanager
def _locked(handle: IO[bytes]) -> Iterator[None]:
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _still_named(handle: IO[bytes], path: Path) -> bool:
    try:
        return path.stat().st_ino == os.fstat(handle.fileno()).st_ino
    except FileNotFoundError:
        return False


def _rename_locked(path: Path, claimed: Path) -> bool:
    try:
        with path.open("rb") as handle, _locked(handle):
            if not _still_named(handle, path):
                return False
            path.rename(claimed)
            return True
    except FileNotFoundError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fresh_name(path: Path) -> Path:
    """A new spool file name beside ``path`` (never one a process may be appending to)."""
    return path.with_name(f"{path.name.removesuffix(SUFFIX)}-{uuid.uuid4().hex[:8]}{SUFFIX}")
