"""Registry use cases: open the registry, list versions, promote a version."""

from __future__ import annotations

from dataclasses import dataclass

from usine.adapters.registry import ModelRegistry, RegisteredVersion
from usine.settings import Settings


def open_registry(settings: Settings) -> ModelRegistry:
    """The MLflow registry the settings name."""
    return ModelRegistry(
        settings.mlflow_tracking_uri, settings.mlflow_artifact_root, settings.experiment_name
    )


def list_models(registry: ModelRegistry, name: str | None = None) -> list[RegisteredVersion]:
    """Registered versions of one model or of all, newest first."""
    return registry.list_versions(name)


@dataclass(frozen=True)
class Promotion:
    """An alias move: which version it left and which it points at now."""

    name: str
    alias: str
    previous: str | None
    current: str


def promote(registry: ModelRegistry, name: str, version: str, alias: str) -> Promotion:
    """Point ``alias`` of ``name`` at ``version``; raises ``ModelNotFound`` if absent."""
    previous = registry.version_for_alias(name, alias)
    registry.set_alias(name, alias, version)
    return Promotion(name=name, alias=alias, previous=previous, current=version)
