"""The JSON Lines of the spool."""

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from usine.adapters.prediction_lines import decode, encode, id_marker
from usine.adapters.spool import Spool
from usine.domain.predictions import PredictionRecord


def record(number: int, **changes: object) -> PredictionRecord:
    fields: dict[str, object] = {
        "id": f"0190a000-0000-7000-8000-{number:012d}",
        "request_id": "req-1",
        "model_name": "credit",
        "model_version": "3",
        "inputs": {"age_in_years": 30 + number, "purpose": "car (new)", "note": 'a "quoted"\ttab'},
        "score": 0.125 * number,
        "latency_ms": 1.5,
        "created_at": datetime(2026, 12, 6, 9, 30, 1, 123456, tzinfo=UTC),
        "caller": "anonymous",
    }
    fields.update(changes)
    return PredictionRecord(**fields)  # type: ignore[arg-type]


def test_records_come_back_equal_one_line_each() -> None:
    records = [
        record(1),
        record(2, caller="équipe crédit", inputs={"ville": "Zürich\n"}),
        record(3, created_at=datetime(2026, 12, 6, 10, 0, tzinfo=timezone(timedelta(hours=1)))),
    ]
    lines = encode(records)
    assert lines.count(b"\n") == 3
    assert decode(lines) == records
    assert decode(lines)[2].created_at.utcoffset() == timedelta(hours=1)


def test_the_id_marker_finds_the_line_of_a_prediction_and_no_other() -> None:
    lines = encode([record(1), record(2)]).splitlines()
    marker = id_marker("id", record(2).id)
    assert [marker in line for line in lines] == [False, True]


def test_a_spool_file_written_by_the_previous_encoder_is_still_replayed(tmp_path: Path) -> None:
    """Spool files outlive a release: the line the previous encoder wrote decodes to the same record."""
    folder = tmp_path / "spool"
    folder.mkdir()
    (folder / "spool-1-abcd.jsonl").write_bytes(
        b'{"id":"0190a000-0000-7000-8000-000000000001","request_id":"req-1","model_name":"credit",'
        b'"model_version":"3","inputs":{"age_in_years":31,"purpose":"car (new)",'
        b'"note":"a \\"quoted\\"\\ttab"},"score":0.125,"latency_ms":1.5,'
        b'"created_at":"2026-12-06T09:30:01.123456+00:00","caller":"anonymous"}\n'
    )
    spool = Spool(folder)
    (path,) = spool.pending_files()
    with spool.claim(path) as entries:
        assert entries is not None
        assert entries.predictions == [record(1)]
