"""The models this server serves."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from usine.api.auth import scoped
from usine.api.deps import ModelHolderDep, PredictionServiceDep, RegistryDep
from usine.domain.access import Scope
from usine.domain.schemas import ModelOut, ReloadOut
from usine.services.claims import ClaimsService
from usine.services.model_reload import holder_of, reload_model

router = APIRouter(prefix="/models", tags=["models"])


@router.get("", dependencies=scoped())
def list_models(holder: ModelHolderDep) -> list[ModelOut]:
    """Served models: name, version, alias, metrics and input schema."""
    return [
        ModelOut(
            name=model.name,
            version=model.version,
            alias=model.alias,
            run_id=model.run_id,
            description=model.spec.description,
            positive_class=model.spec.positive_class,
            classes=list(model.spec.classes),
            metrics=model.spec.metrics,
            input_schema=model.schema.json_schema(),
            challenger=holder.challenger_version(model.name),
        )
        for model in holder.served()
    ]


PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


@router.post(
    "/{name}/reload",
    dependencies=scoped(Scope.ADMIN),
    responses={
        404: {"description": "This server does not serve the model", **PROBLEM},
        503: {"description": "No version has the alias, or it failed to load", **PROBLEM},
    },
)
async def reload(
    request: Request,
    name: Annotated[str, Path(max_length=128, pattern=r"^[A-Za-z0-9_-]+$")],
    holder: ModelHolderDep,
    registry: RegistryDep,
    service: PredictionServiceDep,
) -> ReloadOut:
    """Admin: serve the version the serving alias points at now (in this worker).

    In shadow mode the challenger follows its alias too (loaded, swapped or dropped).

    The new version is loaded beside the served one and swapped in; requests in flight
    finish on the version they started with. A version that fails to load is reported
    (503) and the previous one keeps serving. ``claims`` reloads the claim extractor.
    """
    claims: ClaimsService = request.app.state.claims
    outcome = await reload_model(holder_of([holder, claims.models], name), registry, service.batcher, name)
    return ReloadOut(
        name=outcome.name,
        previous=outcome.previous,
        version=outcome.current,
        changed=outcome.changed,
        challenger=outcome.challenger,
    )
