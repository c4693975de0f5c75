"""Hot model reload: follow the registry alias, swap versions without stopping."""

from __future__ import annotations

import asyncio
import logging

from usine.adapters.registry import ModelRegistry
from usine.services.batching import MicroBatcher
from usine.services.model_holder import ModelHolder, ReloadOutcome

logger = logging.getLogger(__name__)


async def reload_model(
    holder: ModelHolder, registry: ModelRegistry, batcher: MicroBatcher, name: str
) -> ReloadOutcome:
    """Serve the versions the aliases of ``name`` point at now (loaded off the event loop).

    The champion follows the serving alias and, in shadow mode, the challenger its own.
    Requests already queued on a version no longer held are scored by it; its batching lane
    stops once they are answered.

    Raises:
        ModelNotFound, ModelNotReady, ModelLoadFailed: see :meth:`ModelHolder.reload`.

    """
    try:
        return await asyncio.to_thread(holder.reload, registry, name)
    finally:
        batcher.retire_all_but(name, holder.versions(name))


async def follow_alias(
    holder: ModelHolder, registry: ModelRegistry, batcher: MicroBatcher, interval_s: float
) -> None:
    """Every ``interval_s``, reload each served model whose aliases moved (runs until cancelled)."""
    while True:
        await asyncio.sleep(interval_s)
        for name in holder.names:
            try:
                await reload_model(holder, registry, batcher, name)
            except Exception as exc:  # logged and shown by readiness; the next poll tries again
                logger.warning("alias check of %s failed: %s", name, exc)
