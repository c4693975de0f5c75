from datetime import UTC, datetime
from pathlib import Path

import pytest

from usine.adapters.spool import Spool
from usine.domain.predictions import PredictionRecord, SpooledFeedback


def record(number: int) -> PredictionRecord:
    return PredictionRecord(
        id=f"00000000-0000-4000-8000-{number:012d}",
        request_id="req",
        model_name="credit",
        model_version="1",
        inputs={"age_in_years": 30, "housing": "own"},
        score=0.25,
        latency_ms=1.5,
        created_at=datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
    )


def test_spooled_records_read_back_exactly_and_the_claimed_file_goes(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.append([record(1), record(2)])
    spool.append([record(3)])
    (path,) = spool.pending_files()
    with spool.claim(path) as records:
        assert records is not None
        assert records.predictions == [record(1), record(2), record(3)]
        spool.append([record(4)])  # arrives during the replay: a new file, not lost
    assert spool.count() == 1
    with spool.claim(path) as later:
        assert later is not None
        assert later.predictions == [record(4)]
    assert spool.pending_files() == []
    with spool.claim(path) as gone:
        assert gone is None


def test_a_failed_replay_puts_the_records_back(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.append([record(1)])
    (path,) = spool.pending_files()
    with pytest.raises(ConnectionError), spool.claim(path):
        raise ConnectionError("database went away")
    assert spool.count() == 1


def test_an_interrupted_replay_of_a_dead_process_is_recovered(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    Spool(folder).append([record(1)])
    (path,) = Spool(folder).pending_files()
    path.rename(path.with_name(f"{path.stem}.999999999.replaying"))
    assert Spool(folder).count() == 0
    Spool(folder).recover_claims()
    assert Spool(folder).count() == 1


def test_feedback_is_spooled_beside_predictions_and_erasure_removes_both(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.append([record(1), record(2)])
    received = datetime(2026, 11, 26, tzinfo=UTC)
    spool.append_feedback(
        [SpooledFeedback(record(1).id, "bad", received), SpooledFeedback(record(2).id, "good", received)]
    )
    assert spool.erase(record(1).id) == 2
    assert spool.erase(record(1).id) == 0
    (path,) = spool.pending_files()
    with spool.claim(path) as entries:
        assert entries is not None
        assert entries.predictions == [record(2)]
        assert entries.feedback == [SpooledFeedback(record(2).id, "good", received)]
