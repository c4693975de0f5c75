"""The rows the writer hands psycopg's binary COPY (the database itself: integration tests)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from usine.adapters.db.copy_binary import COLUMNS, TYPES, copy_rows
from usine.domain.predictions import PredictionRecord

NOW = datetime(2026, 12, 6, 1, 2, 3, 456789, tzinfo=UTC)


def record(number: int, request: str = "req-1", **changes: object) -> PredictionRecord:
    fields: dict[str, object] = {
        "id": f"0190-{number}",
        "request_id": request,
        "model_name": "credit",
        "model_version": "3",
        "inputs": {"age_in_years": 31, "purpose": "car (new)"},
        "score": 0.25,
        "latency_ms": 1.5,
        "created_at": NOW,
        "caller": "web",
    }
    fields.update(changes)
    return PredictionRecord(**fields)  # type: ignore[arg-type]


LAYOUTS = {("credit", "3"): ("age_in_years", "purpose")}


def test_each_record_is_one_row_of_every_column_in_order_with_its_type() -> None:
    (row,) = copy_rows([record(1)], LAYOUTS)
    assert len(TYPES) == len(COLUMNS)
    assert dict(zip(COLUMNS, row, strict=True)) == {
        "id": "0190-1",
        "request_id": "req-1",
        "model_name": "credit",
        "model_version": "3",
        "inputs": '[31,"car (new)"]',
        "score": 0.25,
        "latency_ms": 1.5,
        "created_at": NOW,
        "caller": "web",
    }


def test_text_is_passed_as_it_is_since_the_binary_format_escapes_nothing() -> None:
    odd = record(2, "req\t2", caller="a\\b\r\n", inputs={"note": "tab\there \\N"})
    (row,) = copy_rows([odd], LAYOUTS)
    assert row[1] == "req\t2"
    assert row[8] == "a\\b\r\n"
    assert row[4] == '{"note":"tab\\there \\\\N"}'  # the JSON text, with JSON's own escapes only


def test_a_time_without_a_zone_is_refused_and_a_score_that_is_not_finite_is_kept() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        copy_rows([record(1), record(2, created_at=NOW.replace(tzinfo=None))], LAYOUTS)
    (row,) = copy_rows([record(1, score=float("nan"))], LAYOUTS)
    assert math.isnan(row[5])


def test_inputs_are_values_in_their_versions_layout_or_the_object_when_they_do_not_follow_it() -> None:
    reordered = {"purpose": "car (new)", "age_in_years": 31}
    packed, unordered, other_version, unknown_field = (
        row[4]
        for row in copy_rows(
            [
                record(1),
                record(2, "req-2", inputs=reordered),
                record(3, "req-3", model_version="4"),
                record(4, "req-4", inputs={"age_in_years": 31, "purpose": "car (new)", "extra": 1}),
            ],
            LAYOUTS,
        )
    )
    assert packed == '[31,"car (new)"]'
    assert unordered == '{"purpose":"car (new)","age_in_years":31}'
    assert other_version == '{"age_in_years":31,"purpose":"car (new)"}'  # no layout known for it
    assert unknown_field == '{"age_in_years":31,"purpose":"car (new)","extra":1}'
