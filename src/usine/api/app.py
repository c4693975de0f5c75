"""The FastAPI application factory: wiring of settings, storage, registry and routes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from fastapi_offline import FastAPIOffline
from threadpoolctl import threadpool_limits

from usine import __version__, log_privacy
from usine.adapters.db.api_keys import SqlApiKeyStore
from usine.adapters.db.copy_log import CopyLog
from usine.adapters.db.engine import make_engine
from usine.adapters.db.migrate import upgrade
from usine.adapters.db.repository import SqlPredictionLog
from usine.adapters.registry import ModelRegistry
from usine.adapters.spool import Spool
from usine.api.auth import AUTH_RESPONSES
from usine.api.direct_route import DirectRoute
from usine.api.errors import install_error_handlers
from usine.api.openapi_problems import with_problem_responses
from usine.api.request_metrics import RequestMetrics
from usine.api.routes import claims, claims_monitoring, health, metrics, models, monitoring, predictions, ui
from usine.domain.claims_api import ClaimIn
from usine.services.access import Authenticator, check_keys_defined
from usine.services.batching import MicroBatcher
from usine.services.claims import open_claims
from usine.services.metrics import forget_this_process
from usine.services.model_holder import ModelHolder
from usine.services.model_reload import follow_alias
from usine.services.prediction_writer import PredictionWriter, WriterPolicy
from usine.services.predictions import PredictionService
from usine.services.shadow import ShadowScorer
from usine.settings import Settings, load_settings

logger = logging.getLogger(__name__)

API_PREFIX = "/1.0.0"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API for ``settings`` (read from the environment when omitted).

    Models are loaded and the schema migrated when the app starts (its lifespan), so that
    creating the app is cheap and a failure to load is reported by readiness.
    """
    settings = settings or load_settings()
    log_privacy.install()  # after uvicorn configured its loggers: the access log is masked too
    # Swagger UI and ReDoc assets are served by the app itself, never from a CDN.
    app = FastAPIOffline(
        title="usine",
        version=__version__,
        summary="Real-time scoring with every prediction logged.",
        lifespan=_lifespan,
        telemetry={
            "tracing": settings.opentelemetry,
            "metrics": settings.opentelemetry,
            "logs": settings.opentelemetry,
        },
    )
    app.state.settings = settings
    install_error_handlers(app)
    # The predictions router first: routes are matched in order, and each route tried costs
    # the hot route a few microseconds (~8 % of the app's time per request with it last).
    app.include_router(predictions.router, prefix=API_PREFIX, responses=AUTH_RESPONSES)
    app.include_router(health.router, prefix=API_PREFIX)
    for router in (
        models.router,
        claims_monitoring.router,
        monitoring.router,
        claims.router,
    ):
        app.include_router(router, prefix=API_PREFIX, responses=AUTH_RESPONSES)
    app.include_router(metrics.router)
    app.include_router(ui.router)
    app.mount(ui.STATIC, ui.static_files(), name="ui-static")
    if not settings.opentelemetry:  # spans name their route only when the router picks it
        app.add_middleware(DirectRoute, route=predictions.scoring_route(), prefix=API_PREFIX)
    app.add_middleware(RequestMetrics)
    app.openapi = lambda: _openapi_with_model_schemas(app)  # type: ignore[method-assign]
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` and worker processes: settings from ``USINE_*``."""
    return create_app()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    # One OpenMP/BLAS thread per worker: several workers with the default thread count
    # oversubscribe the cores and collapse under load.
    limits = threadpool_limits(limits=1)
    engine = make_engine(settings.database_url, settings.database_timeout_s)
    if settings.auto_migrate:
        await run_in_threadpool(upgrade, engine)
    keys = SqlApiKeyStore(engine)
    await run_in_threadpool(check_keys_defined, settings, keys)
    app.state.authenticator = Authenticator(keys, settings.api_key_cache_ttl_s)
    holder = ModelHolder(
        settings.served_models, settings.serving_alias, settings.shadow_alias if settings.shadow else None
    )
    registry = ModelRegistry(
        settings.mlflow_tracking_uri,
        settings.mlflow_artifact_root,
        settings.experiment_name,
    )
    await run_in_threadpool(holder.load_from, registry)
    log = SqlPredictionLog(engine)
    copier = CopyLog.of(engine, settings.database_timeout_s, log.layouts)
    writer = PredictionWriter(log, Spool(settings.spool_dir), _writer_policy(settings), copier)
    writer.start()
    batcher = MicroBatcher(settings.max_batch_records, settings.max_batch_wait_ms / 1000.0)
    app.state.claims = await run_in_threadpool(open_claims, settings, engine)
    app.state.holder = holder
    app.state.registry = registry
    shadow = ShadowScorer(batcher, writer, settings.log_predictions, settings.shadow_max_pending_records)
    app.state.predictions = PredictionService(
        holder,
        log,
        writer,
        batcher,
        settings.max_records,
        settings.log_predictions,
        settings.reason_codes,
        shadow,
    )
    for model in holder.served():
        logger.info("serving %s version %s (%s)", model.name, model.version, model.alias)
        if (challenger := holder.challenger(model.name)) is not None:
            logger.info(
                "scoring %s version %s in shadow (%s)", model.name, challenger.version, challenger.alias
            )
    _freeze_startup_objects()
    follower = (
        asyncio.create_task(
            follow_alias([holder, app.state.claims.models], registry, batcher, settings.reload_interval_s)
        )
        if settings.reload_interval_s > 0
        else None
    )
    try:
        yield
    finally:
        if follower is not None:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
        await shadow.close()
        await batcher.close()
        await writer.aclose()
        engine.dispose()
        forget_this_process(settings.prometheus_multiproc_dir)
        limits.restore_original_limits()
        gc.unfreeze()  # a process that runs the app again (tests, a notebook) collects it all again


def _freeze_startup_objects() -> None:
    """Keep what start-up loaded (libraries, models) out of every later garbage collection.

    A full collection walks every tracked object: with scikit-learn, MLflow and the models
    loaded, that is millions of them, and the event loop stood still for tens of milliseconds
    each time, on a request-rate-driven schedule (p99 latency). Objects made later are
    collected as usual, and frozen ones are still freed when nothing refers to them (a model
    a reload replaced, say); only reference cycles among them are not collected until the app
    stops (its shutdown unfreezes them).
    """
    gc.collect()
    gc.freeze()


def _writer_policy(settings: Settings) -> WriterPolicy:
    return WriterPolicy(
        capacity=settings.log_queue_capacity,
        batch_records=settings.log_batch_records,
        flush_interval_s=settings.log_flush_interval_ms / 1000.0,
        retry_interval_s=settings.log_retry_interval_s,
    )


def _openapi_with_model_schemas(app: FastAPI) -> dict[str, Any]:
    """OpenAPI document naming the bodies that are read with a size limit, every error as problem+json.

    The prediction body names the served models' record schemas; save_extract's is the claim.
    """
    document = with_problem_responses(
        get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
    )
    claim_in = ClaimIn.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(claim_in.pop("$defs", {}))
    schemas["ClaimIn"] = claim_in
    holder: ModelHolder | None = getattr(app.state, "holder", None)
    if holder is None or not holder.served():
        return document
    references = []
    for model in holder.served():
        record = model.schema.json_schema()
        title = record.get("title", f"{model.name}Record")
        schemas[title] = record
        references.append({"$ref": f"#/components/schemas/{title}"})
    one_record = references[0] if len(references) == 1 else {"anyOf": references}
    operation = document["paths"][f"{API_PREFIX}/models/{{name}}/predictions"]["post"]
    operation["requestBody"]["content"]["application/json"]["schema"] = {
        "oneOf": [
            one_record,
            {
                "type": "array",
                "items": one_record,
                "minItems": 1,
                "maxItems": app.state.settings.max_records,
            },
        ]
    }
    return document
