"""The prediction service across a version swap (in-flight requests keep their version); shadow scoring."""

import asyncio
import dataclasses
from pathlib import Path

import numpy as np
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from support import credit_rows
from usine.adapters.db.engine import make_engine
from usine.adapters.db.migrate import upgrade
from usine.adapters.db.repository import SqlPredictionLog
from usine.adapters.db.tables import ShadowPredictionRow
from usine.adapters.spool import Spool
from usine.domain.features import Record
from usine.services.batching import MicroBatcher
from usine.services.model_holder import ModelHolder
from usine.services.models import open_registry
from usine.services.prediction_writer import PredictionWriter, WriterPolicy
from usine.services.predictions import PredictionService, ScoredBatch
from usine.services.shadow import ShadowScorer
from usine.services.training import TrainingResult
from usine.settings import Settings


def test_a_request_in_flight_during_a_swap_finishes_on_its_version(
    trained_home: tuple[Path, TrainingResult], tmp_path: Path
) -> None:
    holder = ModelHolder(["credit"], "champion")
    holder.load_from(open_registry(Settings(home=trained_home[0])))
    engine = make_engine(f"sqlite:///{tmp_path / 'log.db'}")
    upgrade(engine)
    log = SqlPredictionLog(engine)
    writer = PredictionWriter(log, Spool(tmp_path / "spool"), WriterPolicy(100, 100, 0.05, 1.0))

    async def scenario() -> tuple[ScoredBatch, ScoredBatch]:
        writer.start()
        batcher = MicroBatcher(max_records=64, max_wait_s=0.01)
        service = PredictionService(holder, log, writer, batcher, max_records=10)
        in_flight = asyncio.create_task(service.predict("credit", credit_rows(1)[0]))
        await asyncio.sleep(0)  # the request has taken its model and waits for its score
        holder.put(dataclasses.replace(holder.get("credit"), version="2"))
        started_after = await service.predict("credit", credit_rows(1)[0])
        finished = await in_flight
        await batcher.close()
        await writer.aclose()
        return finished, started_after

    finished, started_after = asyncio.run(scenario())
    assert (finished.model_version, started_after.model_version) == ("1", "2")
    assert log.get(finished.records[0].id).record.model_version == "1"
    assert log.get(started_after.records[0].id).record.model_version == "2"
    engine.dispose()


class BrokenModel:
    """A challenger whose every call fails."""

    def predict_scores(self, records: list[Record]) -> np.ndarray:
        raise RuntimeError("the challenger broke")


def test_a_failing_or_overloaded_challenger_never_touches_the_champion_answer(
    trained_home: tuple[Path, TrainingResult], tmp_path: Path
) -> None:
    holder = ModelHolder(["credit"], "champion")
    holder.load_from(open_registry(Settings(home=trained_home[0])))
    champion = holder.get("credit")
    broken = dataclasses.replace(champion, version="9", alias="challenger", predictor=BrokenModel())
    engine = make_engine(f"sqlite:///{tmp_path / 'log.db'}")
    upgrade(engine)
    log = SqlPredictionLog(engine)
    writer = PredictionWriter(log, Spool(tmp_path / "spool"), WriterPolicy(100, 100, 0.05, 1.0))
    errors = REGISTRY.get_sample_value("usine_shadow_errors_total", {"model": "credit", "version": "9"}) or 0
    busy = REGISTRY.get_sample_value("usine_shadow_skipped_total", {"model": "credit", "reason": "busy"}) or 0

    async def scenario() -> ScoredBatch:
        writer.start()
        batcher = MicroBatcher(max_records=64, max_wait_s=0.01)
        service = PredictionService(holder, log, writer, batcher, max_records=10)
        answer = await service.predict("credit", credit_rows(3))
        shadow = ShadowScorer(batcher, writer, log_scores=True, max_pending=3)
        shadow.submit(champion, broken, credit_rows(3), answer.records)
        shadow.submit(champion, broken, credit_rows(3), answer.records)  # 3 records already wait: skipped
        await shadow.close()
        await batcher.close()
        await writer.aclose()
        return answer

    answer = asyncio.run(scenario())
    assert [r.model_version for r in answer.records] == ["1", "1", "1"]
    assert (
        REGISTRY.get_sample_value("usine_shadow_errors_total", {"model": "credit", "version": "9"})
        == errors + 3
    )
    assert (
        REGISTRY.get_sample_value("usine_shadow_skipped_total", {"model": "credit", "reason": "busy"})
        == busy + 3
    )
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(ShadowPredictionRow)).scalar_one() == 0
    engine.dispose()
