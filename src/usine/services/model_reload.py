"""Hot model reload: follow the registry alias, swap versions without stopping."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from usine.adapters.registry import ModelRegistry
from usine.domain.errors import ModelNotFound, ModelNotReady
from usine.services.batching import MicroBatcher
from usine.services.model_holder import ReloadOutcome, VersionHolder

logger = logging.getLogger(__name__)


def holder_of(holders: Sequence[VersionHolder[Any]], name: str) -> VersionHolder[Any]:
    """The holder that serves ``name``.

    Raises:
        ModelNotFound: none of them does.

    """
    for holder in holders:
        if name in holder.names:
            return holder
    raise ModelNotFound(f"this server does not serve a model named {name!r}")


async def reload_model(
    holder: VersionHolder[Any], registry: ModelRegistry, batcher: MicroBatcher, name: str
) -> ReloadOutcome:
    """Serve the versions the aliases of ``name`` point at now (loaded off the event loop).

    The champion follows the serving alias and, in shadow mode, the challenger its own.
    Requests already queued on a version no longer held are scored by it; its batching lane
    (if it has one) stops once they are answered.

    Raises:
        ModelNotFound, ModelNotReady, ModelLoadFailed: see :meth:`VersionHolder.reload`.

    """
    try:
        return await asyncio.to_thread(holder.reload, registry, name)
    finally:
        batcher.retire_all_but(name, holder.versions(name))


async def follow_alias(
    holders: Sequence[VersionHolder[Any]], registry: ModelRegistry, batcher: MicroBatcher, interval_s: float
) -> None:
    """Every ``interval_s``, reload each served model whose aliases moved (runs until cancelled)."""
    while True:
        await asyncio.sleep(interval_s)
        for holder in holders:
            for name in holder.names:
                try:
                    await reload_model(holder, registry, batcher, name)
                except Exception as exc:  # logged and shown by readiness; the next poll tries again
                    # a model never loaded (no claims model trained, say) was reported at start
                    quiet = isinstance(exc, ModelNotReady) and name in holder.failures
                    logger.log(
                        logging.DEBUG if quiet else logging.WARNING, "alias check of %s failed: %s", name, exc
                    )
