"""Registry use cases: open the registry, list versions, promote a version, package one as a wheel."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from usine.adapters.registry import LoadedVersion, ModelRegistry, RegisteredVersion
from usine.domain.errors import ModelNotFound
from usine.model_wheel.build import build_model_wheel
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


CHALLENGER = "challenger"


def promote(registry: ModelRegistry, name: str, version: str | None, alias: str) -> Promotion:
    """Point ``alias`` of ``name`` at ``version`` (the challenger's when ``None``).

    Promoting the challenger clears the ``challenger`` alias: it is now what ``alias`` names.

    Raises:
        ModelNotFound: no such version, or no challenger when no version is named.

    """
    challenger = registry.version_for_alias(name, CHALLENGER)
    chosen = version or challenger
    if chosen is None:
        raise ModelNotFound(f"{name!r} has no challenger: name a version with --version")
    previous = registry.version_for_alias(name, alias)
    registry.set_alias(name, alias, chosen)
    if alias != CHALLENGER and chosen == challenger:
        registry.remove_alias(name, CHALLENGER)
    return Promotion(name=name, alias=alias, previous=previous, current=chosen)


def model_card(registry: ModelRegistry, name: str, version: str, html: bool) -> str:
    """The model card of a registered version, as HTML or Markdown.

    Raises:
        ModelNotFound: no such version, or it was registered without a card.

    """
    registered = registry.get_version(name, version)
    suffix = "html" if html else "md"
    return registry.read_text(registered.run_id, f"evaluation/model_card.{suffix}")


def load_version(registry: ModelRegistry, name: str, version: str | None, alias: str) -> LoadedVersion:
    """Load ``version`` of ``name``, or the version ``alias`` points at when none is given.

    Raises:
        ModelNotFound: no such model or version, or no version has the alias.

    """
    chosen = version or registry.version_for_alias(name, alias)
    if chosen is None:
        raise ModelNotFound(
            f"no version of {name!r} has the alias {alias!r}: train, promote or name a version"
        )
    return registry.load(name, chosen)


def package(registry: ModelRegistry, name: str, version: str | None, alias: str, folder: Path) -> Path:
    """Write a registered version (``alias``'s by default) as its own wheel in ``folder``.

    Raises:
        ModelNotFound: no such model, version or alias.

    """
    loaded = load_version(registry, name, version, alias)
    return build_model_wheel(loaded.spec, loaded.version, loaded.model, folder)


def rollback(registry: ModelRegistry, name: str, alias: str) -> Promotion:
    """Point ``alias`` back at the version it left last time (a second rollback undoes the first).

    Raises:
        ModelNotFound: the alias never moved, so there is nothing to roll back to.

    """
    previous = registry.previous_version(name, alias)
    if previous is None:
        raise ModelNotFound(
            f"the alias {alias!r} of {name!r} never moved: there is no version to roll back to"
        )
    return promote(registry, name, previous, alias)
