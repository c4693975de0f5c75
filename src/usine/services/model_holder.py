"""The models a server holds in memory, and why any of them is missing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from usine.adapters.registry import ModelRegistry
from usine.domain.compiled_predictor import SELF_CHECK_TOLERANCE, compile_predictor, probe_records
from usine.domain.errors import ModelNotFound, ModelNotReady
from usine.domain.features import InputSchema, Record
from usine.domain.model_spec import ModelSpec, Predictor, ProbabilityModel

logger = logging.getLogger(__name__)


class Scorer(Protocol):
    """What serving needs of a model: scores of validated records, in order."""

    def predict_scores(self, records: list[Record]) -> np.ndarray:
        """Probability of the positive class for each record."""
        ...


def fastest_scorer(model: ProbabilityModel, spec: ModelSpec) -> Scorer:
    """The compiled pipeline when it scores like the native one, else the native pipeline.

    The compiled form is checked at load time on records spanning the model's domain; a
    pipeline it cannot compile, or one whose scores differ, is served natively.
    """
    native = Predictor(model, spec)
    compiled = compile_predictor(model, spec)
    if compiled is None:
        logger.info("model %s served natively: its pipeline shape is not compiled", spec.name)
        return native
    probes = probe_records(spec)
    gap = float(np.max(np.abs(compiled.predict_scores(probes) - native.predict_scores(probes))))
    if gap > SELF_CHECK_TOLERANCE:
        logger.warning("model %s served natively: compiled scores differ by %.3g", spec.name, gap)
        return native
    return compiled


@dataclass(frozen=True)
class ServedModel:
    """One model version loaded for serving, with its compiled input validator."""

    name: str
    version: str
    alias: str
    run_id: str
    spec: ModelSpec
    schema: InputSchema
    predictor: Scorer


class ModelHolder:
    """Holds the served version of each configured model.

    Args:
        names: the models this server is expected to serve.
        alias: the registry alias whose version is served (``champion``).

    """

    def __init__(self, names: list[str], alias: str) -> None:
        self.names = list(names)
        self.alias = alias
        self._models: dict[str, ServedModel] = {}
        self.failures: dict[str, str] = {}

    def load_from(self, registry: ModelRegistry) -> None:
        """Load the aliased version of every configured model.

        A model that cannot be loaded is recorded in :attr:`failures` (shown by readiness
        and logged), and the others are still served.
        """
        for name in self.names:
            try:
                self.put(self._load_one(registry, name))
            except Exception as exc:  # any failure must leave the other models serving
                self.failures[name] = str(exc)
                logger.error("model %s not loaded: %s", name, exc)

    def _load_one(self, registry: ModelRegistry, name: str) -> ServedModel:
        version = registry.version_for_alias(name, self.alias)
        if version is None:
            raise ModelNotReady(f"no version of {name!r} has the alias {self.alias!r}: train or promote one")
        loaded = registry.load(name, version)
        return ServedModel(
            name=name,
            version=version,
            alias=self.alias,
            run_id=loaded.run_id,
            spec=loaded.spec,
            schema=loaded.spec.input_schema(),
            predictor=fastest_scorer(loaded.model, loaded.spec),
        )

    def put(self, model: ServedModel) -> None:
        """Serve ``model`` in place of any version of the same name."""
        self._models[model.name] = model
        self.failures.pop(model.name, None)

    def get(self, name: str) -> ServedModel:
        """The served version of ``name``.

        Raises:
            ModelNotFound: this server does not serve ``name``.
            ModelNotReady: it should, but the model could not be loaded.

        """
        if name in self._models:
            return self._models[name]
        if name in self.failures:
            raise ModelNotReady(f"model {name!r} is not loaded: {self.failures[name]}")
        raise ModelNotFound(f"this server does not serve a model named {name!r}")

    def served(self) -> list[ServedModel]:
        """The loaded models, by name."""
        return [self._models[name] for name in sorted(self._models)]

    @property
    def ready(self) -> bool:
        """Whether every configured model is loaded."""
        return all(name in self._models for name in self.names)
