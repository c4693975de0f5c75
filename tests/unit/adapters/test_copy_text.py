"""The COPY text the writer sends PostgreSQL, line by line (the database itself: integration tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from usine.adapters.db.copy_text import COLUMNS, copy_text
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


def lines(records: list[PredictionRecord]) -> list[list[str]]:
    return [line.split("\t") for line in copy_text(records, LAYOUTS).decode().splitlines()]


def test_each_record_is_one_line_of_every_column_in_order() -> None:
    (line,) = lines([record(1)])
    assert dict(zip(COLUMNS, line, strict=True)) == {
        "id": "0190-1",
        "request_id": "req-1",
        "model_name": "credit",
        "model_version": "3",
        "inputs": '[31,"car (new)"]',
        "score": "0.25",
        "latency_ms": "1.5",
        "created_at": "2026-12-06T01:02:03.456789+00:00",
        "caller": "web",
    }


def test_records_of_different_requests_keep_their_own_shared_fields() -> None:
    later = NOW + timedelta(seconds=1)
    first, second, third = lines(
        [
            record(1),
            record(2, score=0.5),
            record(3, "req-2", created_at=later, latency_ms=2.0, caller="batch"),
        ]
    )
    assert first[1:4] == second[1:4] == ["req-1", "credit", "3"]
    assert second[5:] == ["0.5", "1.5", "2026-12-06T01:02:03.456789+00:00", "web"]
    assert third[1] == "req-2"
    assert third[6:] == ["2.0", "2026-12-06T01:02:04.456789+00:00", "batch"]


def test_one_field_to_escape_escapes_it_and_leaves_the_batch_plain() -> None:
    odd = record(2, "req\t2", caller="a\\b\r\n", inputs={"note": "tab\there \\N"})
    plain, escaped = copy_text([record(1), odd], LAYOUTS).decode().splitlines()
    assert plain.split("\t")[1] == "req-1"
    assert escaped.split("\t")[1] == "req\\t2"  # the tab in the request id, as backslash and t
    assert escaped.startswith("0190-2\treq\\t2\tcredit\t3\t")
    assert escaped.endswith("\ta\\\\b\\r\\n")
    assert '{"note":"tab\\\\there \\\\\\\\N"}' in escaped  # orjson's \t and \\, each backslash doubled


def test_a_time_without_a_zone_is_refused_and_other_zones_are_kept_as_offsets() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        copy_text([record(1, created_at=NOW.replace(tzinfo=None))], LAYOUTS)
    paris = NOW.astimezone(timezone(timedelta(hours=1)))
    (line,) = lines([record(1, created_at=paris)])
    assert line[7] == "2026-12-06T02:02:03.456789+01:00"


def test_a_score_that_is_not_finite_is_written_as_null_which_postgresql_refuses() -> None:
    (line,) = lines([record(1, score=float("nan"))])
    assert line[5] == "null"


def test_inputs_are_values_in_their_versions_layout_or_the_object_when_they_do_not_follow_it() -> None:
    reordered = {"purpose": "car (new)", "age_in_years": 31}
    packed, unordered, other_version, unknown_field = lines(
        [
            record(1),
            record(2, "req-2", inputs=reordered),
            record(3, "req-3", model_version="4"),
            record(4, "req-4", inputs={"age_in_years": 31, "purpose": "car (new)", "extra": 1}),
        ]
    )
    assert packed[4] == '[31,"car (new)"]'
    assert unordered[4] == '{"purpose":"car (new)","age_in_years":31}'
    assert other_version[4] == '{"age_in_years":31,"purpose":"car (new)"}'  # no layout known for it
    assert unknown_field[4] == '{"age_in_years":31,"purpose":"car (new)","extra":1}'
