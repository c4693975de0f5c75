"""Predictions as JSON Lines: one object per line, the fields of :class:`PredictionRecord` in order.

One format serves three places: the writer's queue (a request's records are encoded once,
on the request path, and the objects are freed with the response), the writer process's
input (the bytes are piped to it as they are) and the spool (they are appended to it as
they are, when the queue is full or the database unreachable). orjson writes a record in
well under a microsecond; the time comes out as ISO 8601 with its offset, and a number that
is not finite as ``null``, which the database then refuses (the batch goes to the spool).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from usine.domain.predictions import PredictionRecord


def encode(records: list[PredictionRecord]) -> bytes:
    """``records`` as JSON Lines, each line ending with a line feed."""
    return b"".join([orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE) for record in records])


def decode(lines: bytes) -> list[PredictionRecord]:
    """The records :func:`encode` wrote (blank lines are skipped)."""
    return [record_from(orjson.loads(line)) for line in lines.splitlines() if line.strip()]


def record_from(fields: dict[str, Any]) -> PredictionRecord:
    """The record one decoded line holds."""
    return PredictionRecord(**{**fields, "created_at": datetime.fromisoformat(fields["created_at"])})


def id_marker(key: str, value: str) -> bytes:
    """``"key":"value"`` exactly as the encoders write it: finds the line of an id without decoding."""
    return orjson.dumps({key: value})[1:-1]
