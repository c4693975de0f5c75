"""Micro-batching with the registered credit model: coalescing, routing, failures alone."""

import asyncio
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from support import credit_rows
from usine.services.batching import MicroBatcher
from usine.services.model_holder import ModelHolder, ServedModel
from usine.services.models import open_registry
from usine.services.training import TrainingResult
from usine.settings import Settings


@pytest.fixture(scope="module")
def model(trained_home: tuple[Path, TrainingResult]) -> ServedModel:
    holder = ModelHolder(["credit"], "champion")
    holder.load_from(open_registry(Settings(home=trained_home[0])))
    return holder.get("credit")


@pytest.mark.parametrize("inline", [True, False], ids=["on the event loop", "on the model thread"])
def test_concurrent_requests_share_model_calls_and_get_their_own_scores(
    model: ServedModel, inline: bool
) -> None:
    model = dataclasses.replace(model, scores_inline=inline)
    rows = credit_rows(60)
    requests = [rows[i : i + 3] for i in range(0, 60, 3)]  # 20 requests of 3 different records

    async def scenario() -> tuple[list[np.ndarray], int]:
        batcher = MicroBatcher(max_records=64, max_wait_s=0.05)
        try:
            results = await asyncio.gather(*(batcher.score(model, records) for records in requests))
            return results, batcher.calls
        finally:
            await batcher.close()

    results, calls = asyncio.run(scenario())
    assert calls < len(requests)
    expected = model.predictor.predict_scores(rows)
    for index, scores in enumerate(results):
        np.testing.assert_allclose(scores, expected[3 * index : 3 * index + 3], rtol=0, atol=1e-12)


def test_a_batch_never_exceeds_the_maximum_but_a_large_request_is_scored_whole(model: ServedModel) -> None:
    rows = credit_rows(40)

    async def scenario() -> list[np.ndarray]:
        batcher = MicroBatcher(max_records=8, max_wait_s=0.01)
        try:
            return await asyncio.gather(batcher.score(model, rows[:30]), batcher.score(model, rows[30:]))
        finally:
            await batcher.close()

    large, small = asyncio.run(scenario())
    assert (len(large), len(small)) == (30, 10)


def test_a_request_that_breaks_the_model_fails_alone(model: ServedModel) -> None:
    rows = credit_rows(10)
    broken = [{k: v for k, v in rows[0].items() if k != "purpose"}]  # bypasses validation on purpose

    async def scenario() -> list[np.ndarray | BaseException]:
        batcher = MicroBatcher(max_records=64, max_wait_s=0.05)
        try:
            calls = [batcher.score(model, [row]) for row in rows[1:5]]
            calls.insert(2, batcher.score(model, broken))
            return await asyncio.gather(*calls, return_exceptions=True)
        finally:
            await batcher.close()

    outcomes = asyncio.run(scenario())
    assert isinstance(outcomes[2], KeyError)
    good = [outcome for index, outcome in enumerate(outcomes) if index != 2]
    expected = model.predictor.predict_scores(rows[1:5])
    np.testing.assert_allclose(np.concatenate(good), expected, rtol=0, atol=1e-12)


def test_a_lone_request_is_not_held_back_by_a_long_maximum_wait(model: ServedModel) -> None:
    async def scenario() -> np.ndarray:
        batcher = MicroBatcher(max_records=64, max_wait_s=3600)
        try:
            return await asyncio.wait_for(batcher.score(model, credit_rows(1)), timeout=60)
        finally:
            await batcher.close()

    assert asyncio.run(scenario()).shape == (1,)


def test_batched_scores_equal_the_registered_pipeline(
    model: ServedModel, trained_home: tuple[Path, TrainingResult]
) -> None:
    rows = credit_rows(20)
    loaded = open_registry(Settings(home=trained_home[0])).load("credit", "1")
    expected = loaded.model.predict_proba(pd.DataFrame(rows))[:, 0]

    async def scenario() -> list[np.ndarray]:
        batcher = MicroBatcher(max_records=64, max_wait_s=0.05)
        try:
            return await asyncio.gather(*(batcher.score(model, [row]) for row in rows))
        finally:
            await batcher.close()

    np.testing.assert_allclose(np.concatenate(asyncio.run(scenario())), expected, rtol=0, atol=1e-6)
