"""The models a server holds in memory, and why any of them is missing."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from usine.adapters.registry import ModelRegistry
from usine.domain.compiled_predictor import (
    SELF_CHECK_TOLERANCE,
    CompiledPredictor,
    compile_predictor,
    probe_records,
)
from usine.domain.errors import ModelLoadFailed, ModelNotFound, ModelNotReady
from usine.domain.explanations import RecordExplainer, compile_explainer
from usine.domain.features import InputSchema, Record
from usine.domain.model_spec import ModelSpec, Predictor, ProbabilityModel
from usine.services.metrics import MODEL_LOAD_SECONDS, MODEL_RELOADS

logger = logging.getLogger(__name__)

# Loaded versions kept in memory by a process after it stops serving them, most recent last.
RECENT_VERSIONS_KEPT = 4
_RECENT: OrderedDict[tuple[str, str, str, str], Any] = OrderedDict()
_RECENT_LOCK = threading.Lock()

# Lists longer than this are validated on a worker thread, not on the event loop.
VALIDATE_INLINE_RECORDS = 32


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
    scores_inline: bool = False
    explainer: RecordExplainer | None = None

    async def validate(self, payload: object) -> tuple[list[Record], bool]:
        """The records of ``payload`` as this version reads them, and whether it held one record.

        Long lists are validated on a worker thread, off the event loop.

        Raises:
            MalformedRequest, InvalidInput: the payload breaks the schema.

        """
        if isinstance(payload, list) and len(payload) > VALIDATE_INLINE_RECORDS:
            return await asyncio.to_thread(self.schema.validate, payload)
        return self.schema.validate(payload)


@dataclass(frozen=True)
class ReloadOutcome:
    """What a reload did: the version served before and after, whether it changed, the challenger."""

    name: str
    previous: str | None
    current: str
    challenger: str | None = None

    @property
    def changed(self) -> bool:
        """Whether a new version is served now."""
        return self.previous != self.current


class Versioned(Protocol):
    """What a holder serves: a named version of a registered model."""

    @property
    def name(self) -> str:
        """The registered model's name."""
        ...

    @property
    def version(self) -> str:
        """The registry version it was loaded from."""
        ...


M = TypeVar("M", bound=Versioned)


class VersionHolder(ABC, Generic[M]):
    """Holds the served version of each configured model and follows the registry alias.

    Swapping a version is one dictionary assignment: a request holds the loaded version it
    started with until it is answered, so in-flight requests finish on their version while
    new ones get the new version. Subclasses say how a version is loaded.

    Args:
        names: the models this server is expected to serve.
        alias: the registry alias whose version is served (``champion``).

    """

    def __init__(self, names: list[str], alias: str) -> None:
        self.names = list(names)
        self.alias = alias
        self._models: dict[str, M] = {}
        self.failures: dict[str, str] = {}
        self.reload_failures: dict[str, str] = {}
        self._reloading = threading.Lock()

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
            self._loaded(registry, name)

    def _loaded(self, registry: ModelRegistry, name: str) -> None:
        """Called once ``name`` was loaded (or failed to) at start; nothing more to load here."""

    def reload(self, registry: ModelRegistry, name: str) -> ReloadOutcome:
        """Serve the version the alias points at now, if it is not the one served.

        The new version is loaded beside the served one, then swapped in. When it fails to
        load, the served version keeps serving and the failure is kept in
        :attr:`reload_failures` (shown by readiness).

        Raises:
            ModelNotFound: this server is not configured to serve ``name``.
            ModelNotReady: no version has the alias.
            ModelLoadFailed: the aliased version could not be loaded.

        """
        if name not in self.names:
            raise ModelNotFound(f"this server does not serve a model named {name!r}")
        with self._reloading:
            return self._reload_held(registry, name)

    def _reload_held(self, registry: ModelRegistry, name: str) -> ReloadOutcome:
        """Reload what is held of ``name`` (under the reload lock): here, the served version."""
        return self._reload_served(registry, name)

    def _reload_served(self, registry: ModelRegistry, name: str) -> ReloadOutcome:
        served = self._models.get(name)
        previous = served.version if served else None
        version = self._aliased_version(registry, name)
        if version == previous:
            self.reload_failures.pop(name, None)
            return ReloadOutcome(name=name, previous=previous, current=version)
        try:
            self.put(self._served_at(registry, name, version))
        except Exception as exc:  # keep serving what works, report why the new one does not
            MODEL_RELOADS.labels(name, "failed").inc()
            reason = f"version {version} failed to load: {exc}"
            if served is None:
                self.failures[name] = reason
            else:
                self.reload_failures[name] = f"{reason}; still serving version {previous}"
            logger.error("model %s %s", name, reason)
            raise ModelLoadFailed(f"model {name!r} {reason}") from exc
        MODEL_RELOADS.labels(name, "swapped").inc()
        logger.info("model %s now served at version %s (was %s)", name, version, previous)
        return ReloadOutcome(name=name, previous=previous, current=version)

    def _served_at(self, registry: ModelRegistry, name: str, version: str) -> M:
        """``version`` of ``name`` loaded to be served."""
        return self._timed_load(registry, name, version)

    def _aliased_version(self, registry: ModelRegistry, name: str) -> str:
        version = registry.version_for_alias(name, self.alias)
        if version is None:
            raise ModelNotReady(
                f"no version of {name!r} has the alias {self.alias!r}: train or promote one "
                f"(`usine train {name}`)"
            )
        return version

    def _load_one(self, registry: ModelRegistry, name: str) -> M:
        return self._timed_load(registry, name, self._aliased_version(registry, name))

    def _timed_load(self, registry: ModelRegistry, name: str, version: str) -> M:
        """``version`` of ``name`` as this holder serves it, loaded once per process.

        A registered version never changes, so a version this process loaded recently (the
        previous champion, on a rollback) is served again without loading or compiling it.
        """
        key = (type(self).__name__, registry.tracking_uri, name, version)
        with _RECENT_LOCK:
            loaded = _RECENT.get(key)
            if loaded is not None:
                _RECENT.move_to_end(key)
        if loaded is None:
            started = time.perf_counter()
            loaded = self._load_version(registry, name, version)
            MODEL_LOAD_SECONDS.labels(name, version).set(time.perf_counter() - started)
            with _RECENT_LOCK:
                _RECENT[key] = loaded
                while len(_RECENT) > RECENT_VERSIONS_KEPT:
                    _RECENT.popitem(last=False)
        return self._as_held(loaded)

    def _as_held(self, loaded: M) -> M:
        """A loaded version with this holder's own settings (none here)."""
        return loaded

    @abstractmethod
    def _load_version(self, registry: ModelRegistry, name: str, version: str) -> M:
        """Load version ``version`` of ``name`` for serving."""

    def put(self, model: M) -> None:
        """Serve ``model`` in place of any version of the same name."""
        self._models[model.name] = model
        self.failures.pop(model.name, None)
        self.reload_failures.pop(model.name, None)

    def get(self, name: str) -> M:
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

    def versions(self, name: str) -> set[str]:
        """The versions of ``name`` held now."""
        served = self._models.get(name)
        return set() if served is None else {served.version}

    def served(self) -> list[M]:
        """The loaded models, by name."""
        return [self._models[name] for name in sorted(self._models)]

    @property
    def ready(self) -> bool:
        """Whether every configured model is loaded."""
        return all(name in self._models for name in self.names)


class ModelHolder(VersionHolder[ServedModel]):
    """The prediction models a server serves, each compiled for scoring when it is loaded.

    In shadow mode it also holds each model's challenger, which follows its own alias.

    Args:
        names: the models this server is expected to serve.
        alias: the registry alias whose version is served (``champion``).
        shadow_alias: in shadow mode, the alias whose version is also loaded and scored in
            shadow (``challenger``); ``None`` when shadow mode is off.

    """

    def __init__(self, names: list[str], alias: str, shadow_alias: str | None = None) -> None:
        super().__init__(names, alias)
        self.shadow_alias = shadow_alias
        self._challengers: dict[str, ServedModel] = {}
        self.shadow_failures: dict[str, str] = {}

    def _loaded(self, registry: ModelRegistry, name: str) -> None:
        self._follow_challenger(registry, name)

    def _as_held(self, loaded: ServedModel) -> ServedModel:
        """The loaded version under this holder's serving alias."""
        return replace(loaded, alias=self.alias)

    def _reload_held(self, registry: ModelRegistry, name: str) -> ReloadOutcome:
        """The champion follows its alias, then the challenger its own, whatever happened."""
        try:
            outcome = self._reload_served(registry, name)
        finally:
            self._follow_challenger(registry, name)
        return replace(outcome, challenger=self.challenger_version(name))

    def _served_at(self, registry: ModelRegistry, name: str, version: str) -> ServedModel:
        """``version`` as champion: the loaded challenger when it is that version (a promotion)."""
        challenger = self._challengers.get(name)
        if challenger is not None and challenger.version == version:
            return replace(challenger, alias=self.alias)
        return self._timed_load(registry, name, version)

    def _follow_challenger(self, registry: ModelRegistry, name: str) -> None:
        """Load, swap or drop the challenger of ``name`` as its alias says; never raises.

        There is none to score when shadow mode is off, the alias is unset, the champion is
        not loaded, or the alias names the champion's version. A challenger that fails to
        load is dropped and the failure kept in :attr:`shadow_failures`; while the registry
        cannot be read, the challenger loaded (if any) stays.
        """
        if self.shadow_alias is None:
            return
        try:
            version = registry.version_for_alias(name, self.shadow_alias)
        except Exception as exc:  # the registry is away: keep what is loaded, try at the next poll
            logger.warning("model %s: %s alias not read: %s", name, self.shadow_alias, exc)
            return
        champion = self._models.get(name)
        current = self._challengers.get(name)
        if version is None or champion is None or version == champion.version:
            if self._challengers.pop(name, None) is not None:
                logger.info("model %s: no %s to score in shadow any more", name, self.shadow_alias)
            self.shadow_failures.pop(name, None)
            return
        if current is not None and current.version == version:
            return
        try:
            self._challengers[name] = replace(
                self._timed_load(registry, name, version), alias=self.shadow_alias
            )
        except Exception as exc:  # shadow scoring stops; the champion is unaffected
            self._challengers.pop(name, None)
            self.shadow_failures[name] = f"{self.shadow_alias} version {version} failed to load: {exc}"
            logger.error("model %s %s", name, self.shadow_failures[name])
            return
        self.shadow_failures.pop(name, None)
        logger.info("model %s: version %s (%s) scored in shadow", name, version, self.shadow_alias)

    def _load_version(self, registry: ModelRegistry, name: str, version: str) -> ServedModel:
        """The version loaded, compiled when its scores match, with its input validator."""
        loaded = registry.load(name, version)
        predictor = fastest_scorer(loaded.model, loaded.spec)
        return ServedModel(
            name=name,
            version=version,
            alias=self.alias,
            run_id=loaded.run_id,
            spec=loaded.spec,
            schema=loaded.spec.input_schema(),
            predictor=predictor,
            scores_inline=isinstance(predictor, CompiledPredictor),
            explainer=compile_explainer(loaded.model, loaded.spec)
            if isinstance(predictor, CompiledPredictor)
            else None,
        )

    def challenger(self, name: str) -> ServedModel | None:
        """The version of ``name`` scored in shadow, if any."""
        return self._challengers.get(name)

    def challenger_version(self, name: str) -> str | None:
        """The version of ``name`` scored in shadow, if any."""
        challenger = self._challengers.get(name)
        return None if challenger is None else challenger.version

    def versions(self, name: str) -> set[str]:
        """The versions of ``name`` held now: the champion's and the challenger's."""
        return super().versions(name) | ({c.version} if (c := self._challengers.get(name)) else set())
