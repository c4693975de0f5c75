"""The models this server serves."""

from __future__ import annotations

from fastapi import APIRouter

from usine.api.deps import ModelHolderDep
from usine.domain.schemas import ModelOut

router = APIRouter(prefix="/models", tags=["models"])


@router.get("")
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
        )
        for model in holder.served()
    ]
