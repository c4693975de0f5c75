"""Predictions as JSON Lines: one object per line, the fields of :class:`PredictionRecord` in order.

The spool's format (``adapters/spool.py``): a request's records are appended when the
writer's queue is full, a batch when the database refuses it or cannot be reached. orjson
writes a record in about a microsecond; the time comes out as ISO 8601 with its offset, and a
number that is not finite as ``null``. The bytes are those the spool wrote before this module
existed, so files left by an earlier version replay the same.
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
