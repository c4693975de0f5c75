"""Shadow mode: a challenger scores the champion's traffic; its scores are logged, never returned.

The champion's answer is built and returned first. Its records are then handed to a
background task that scores them with the challenger through the micro-batcher (the
challenger has its own lane, so concurrent requests share its calls too) and queues the
scores for the log. A challenger reading the champion's inputs scores the records the
champion validated; one reading other inputs validates the payload with its own schema.
Nothing the challenger does reaches the caller: a failure is logged and counted
(``usine_shadow_errors_total``), and when more than ``max_pending`` records already wait
for the challenger, new ones are skipped and counted
(``usine_shadow_skipped_total{reason="busy"}``) so that shadow scoring cannot pile up
behind the champion under load.
"""

from __future__ import annotations

import asyncio
import logging

from usine.domain.predictions import PredictionRecord, ShadowScore
from usine.services.batching import MicroBatcher
from usine.services.metrics import SHADOW_ERRORS, SHADOW_PREDICTIONS, SHADOW_SKIPPED
from usine.services.model_holder import ServedModel
from usine.services.prediction_writer import PredictionWriter

logger = logging.getLogger(__name__)


class ShadowScorer:
    """Scores the champion's requests with a challenger in background tasks.

    Args:
        batcher: the micro-batcher the champion uses too.
        writer: where the challenger's scores are queued for the log.
        log_scores: whether the scores are logged (``Settings.log_predictions``).
        max_pending: most records waiting for the challenger before new ones are skipped.

    """

    def __init__(
        self, batcher: MicroBatcher, writer: PredictionWriter, log_scores: bool, max_pending: int
    ) -> None:
        self.batcher = batcher
        self.writer = writer
        self.log_scores = log_scores
        self.max_pending = max_pending
        self.pending = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._same_inputs: dict[tuple[str, str, str], bool] = {}

    def submit(
        self, model: ServedModel, challenger: ServedModel, payload: object, champion: list[PredictionRecord]
    ) -> None:
        """Score ``payload`` with ``challenger`` in the background, after ``model`` gave ``champion``.

        Returns at once; must be called on the event loop.
        """
        count = len(champion)
        if self.pending + count > self.max_pending:
            SHADOW_SKIPPED.labels(challenger.name, "busy").inc(count)
            return
        self.pending += count
        task = asyncio.get_running_loop().create_task(self._score(model, challenger, payload, champion))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _score(
        self, model: ServedModel, challenger: ServedModel, payload: object, champion: list[PredictionRecord]
    ) -> None:
        try:
            if self._reads_like(model, challenger):
                records = [record.inputs for record in champion]
            else:
                records, _ = await challenger.validate(payload)
            scores = await self.batcher.score(challenger, records)
        except Exception as exc:  # never surfaced: the champion has answered already
            SHADOW_ERRORS.labels(challenger.name, challenger.version).inc(len(champion))
            logger.warning(
                "shadow scoring by %s version %s failed: %s", challenger.name, challenger.version, exc
            )
            return
        finally:
            self.pending -= len(champion)
        SHADOW_PREDICTIONS.labels(challenger.name, challenger.version).inc(len(champion))
        if self.log_scores:
            self.writer.submit_shadow(
                [
                    ShadowScore(
                        prediction_id=record.id,
                        model_name=challenger.name,
                        model_version=challenger.version,
                        score=float(score),
                        created_at=record.created_at,
                    )
                    for record, score in zip(champion, scores, strict=True)
                ]
            )

    def _reads_like(self, champion: ServedModel, challenger: ServedModel) -> bool:
        """Whether the challenger reads the champion's inputs (then the validated records serve both)."""
        key = (challenger.name, champion.version, challenger.version)
        if key not in self._same_inputs:
            self._same_inputs[key] = champion.spec.features == challenger.spec.features
        return self._same_inputs[key]

    async def close(self) -> None:
        """Let the shadow scoring under way finish (before the batcher and the writer stop)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
