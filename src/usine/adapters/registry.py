"""The MLflow tracking server and model registry, behind the few calls usine needs.

The embedded default is a SQLite store under ``USINE_HOME``; production points the same
code at an MLflow tracking server (PostgreSQL + S3 artefacts) by URI only.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import Model, ModelSignature
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode
from mlflow.tracking import MlflowClient
from mlflow.types import ColSpec, Schema

from usine.adapters.run_models import load_run_model
from usine.domain.errors import ModelNotFound
from usine.domain.features import FeatureKind, FeatureSpec
from usine.domain.model_spec import ModelSpec, ProbabilityModel

PREVIOUS_TAG = "usine.previous"
SPEC_TAG = "usine.spec_artifact"
SPEC_METADATA_KEY = "usine_spec"
DOCUMENT_METADATA_KEY = "usine_document_features"
MLFLOW_TYPES = {
    FeatureKind.INTEGER: "long",
    FeatureKind.NUMBER: "double",
    FeatureKind.CATEGORY: "string",
}
SIGNATURE_KINDS = {
    "long": FeatureKind.INTEGER,
    "integer": FeatureKind.INTEGER,
    "double": FeatureKind.NUMBER,
    "float": FeatureKind.NUMBER,
    "string": FeatureKind.CATEGORY,
}
MODEL_REQUIREMENTS = ("scikit-learn", "pandas", "numpy", "skops")


@dataclass(frozen=True)
class TrainingRun:
    """What a training run leaves in the tracking store."""

    run_name: str
    params: dict[str, Any]
    metrics: dict[str, float]
    tags: dict[str, str]
    training_frame: pd.DataFrame
    data_source: str
    spec: ModelSpec
    model: Any
    trusted_types: list[str] = field(default_factory=list)
    artifacts: dict[str, Any] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None


@dataclass(frozen=True)
class DocumentModelRun:
    """A training run of a model over document features (no tabular contract, no data frame).

    ``feature_names`` become the model's MLflow signature (one double column each).
    """

    run_name: str
    params: dict[str, Any]
    metrics: dict[str, float]
    tags: dict[str, str]
    feature_names: tuple[str, ...]
    model: Any
    trusted_types: list[str] = field(default_factory=list)
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class LoggedRun:
    """Where a logged run and its model live."""

    run_id: str
    model_uri: str


@dataclass(frozen=True)
class RegisteredVersion:
    """One version of a registered model as the registry lists it."""

    name: str
    version: str
    aliases: tuple[str, ...]
    run_id: str
    created_ms: int
    metrics: dict[str, float]
    spec_artifact: str = ""


@dataclass(frozen=True)
class LoadedVersion:
    """A model version ready to score."""

    name: str
    version: str
    run_id: str
    model: ProbabilityModel
    spec: ModelSpec


def signature_for(features: list[FeatureSpec]) -> ModelSignature:
    """The MLflow signature of a model taking ``features`` and returning one probability."""
    inputs = Schema([ColSpec(MLFLOW_TYPES[f.kind], f.name) for f in features])
    return ModelSignature(inputs=inputs, outputs=Schema([ColSpec("double", "score")]))


def features_from_signature(signature: ModelSignature) -> list[FeatureSpec]:
    """Derive the input contract of a model that only has an MLflow signature.

    Raises:
        ModelNotFound: when the signature has no named columns or an unsupported type.

    """
    inputs = signature.inputs
    if inputs is None or not inputs.has_input_names():
        raise ModelNotFound("the model's signature names no input columns")
    features = []
    for column in inputs.inputs:
        kind = SIGNATURE_KINDS.get(column.type.name)
        if kind is None:
            raise ModelNotFound(f"input {column.name!r} has unsupported type {column.type}")
        features.append(FeatureSpec(name=str(column.name), kind=kind))
    return features


class ModelRegistry:
    """Tracking and registry operations on one MLflow store.

    Args:
        tracking_uri: MLflow tracking (and registry) URI.
        artifact_root: where experiments created by usine keep their artefacts.
        experiment_name: the experiment training runs are logged to.

    """

    def __init__(self, tracking_uri: str, artifact_root: str, experiment_name: str = "usine") -> None:
        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root
        self.experiment_name = experiment_name
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)

    def _experiment_id(self, name: str | None = None) -> str:
        name = name or self.experiment_name
        experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            return str(experiment.experiment_id)
        location = f"{self.artifact_root.rstrip('/')}/{name}"
        return str(self.client.create_experiment(name, artifact_location=location))

    def log_training(self, run: TrainingRun) -> LoggedRun:
        """Log a training run: parameters, metrics, tags, data set, model and its contract.

        Returns:
            The run id and the URI of the logged model.

        """
        mlflow.set_tracking_uri(self.tracking_uri)
        started = (
            mlflow.start_run(run_id=run.run_id)
            if run.run_id
            else mlflow.start_run(experiment_id=self._experiment_id(), run_name=run.run_name)
        )
        with started as active:
            mlflow.log_params(run.params)
            mlflow.log_metrics(run.metrics)
            mlflow.set_tags(run.tags)
            with warnings.catch_warnings():
                # MLflow's schema inference warns about integer columns and ambiguous local
                # sources; the model's contract is declared, not inferred, so neither applies.
                warnings.simplefilter("ignore", UserWarning)
                dataset = mlflow.data.from_pandas(  # type: ignore[attr-defined]
                    run.training_frame,
                    source=run.data_source,
                    name=run.spec.name,
                    digest=run.spec.data_sha256[:16],
                )
                mlflow.log_input(dataset, context="training")
            for artifact_file, content in run.artifacts.items():
                mlflow.log_dict(content, artifact_file)
            for artifact_file, text in run.texts.items():
                mlflow.log_text(text, artifact_file)
            model_uri = _log_sklearn_model(
                run.model,
                signature_for(run.spec.features),
                {SPEC_METADATA_KEY: run.spec.model_dump(mode="json")},
                run.trusted_types,
            )
            return LoggedRun(run_id=active.info.run_id, model_uri=model_uri)

    def log_document_model(self, run: DocumentModelRun) -> LoggedRun:
        """Log a document model's run: parameters, metrics, tags, artefacts, and the model.

        Returns:
            The run id and the URI of the logged model.

        """
        mlflow.set_tracking_uri(self.tracking_uri)
        with mlflow.start_run(experiment_id=self._experiment_id(), run_name=run.run_name) as active:
            mlflow.log_params(run.params)
            mlflow.log_metrics(run.metrics)
            mlflow.set_tags(run.tags)
            for artifact_file, content in run.artifacts.items():
                mlflow.log_dict(content, artifact_file)
            signature = ModelSignature(
                inputs=Schema([ColSpec("double", name) for name in run.feature_names]),
                outputs=Schema([ColSpec("double", "score")]),
            )
            model_uri = _log_sklearn_model(
                run.model, signature, {DOCUMENT_METADATA_KEY: list(run.feature_names)}, run.trusted_types
            )
            return LoggedRun(run_id=active.info.run_id, model_uri=model_uri)

    def load_document_model(self, name: str, version: str, feature_names: tuple[str, ...]) -> Any:
        """Load a document model logged by :meth:`log_document_model`.

        Raises:
            ModelNotFound: the version does not exist, or was trained on other features.

        """
        self.get_version(name, version)
        uri = f"models:/{name}/{version}"
        metadata = Model.load(uri).metadata or {}
        if tuple(metadata.get(DOCUMENT_METADATA_KEY, ())) != feature_names:
            raise ModelNotFound(
                f"model {name!r} version {version} was trained on other features than this usine computes"
            )
        return mlflow.sklearn.load_model(uri)

    def start_run(self, run_name: str) -> str:
        """Create a training run that later calls (trials, :meth:`log_training`) fill in."""
        created = self.client.create_run(self._experiment_id(), run_name=run_name)
        return str(created.info.run_id)

    def log_folder_run(self, folder: Path, artifact_path: str, run_name: str) -> str:
        """A new, finished run of usine's experiment holding ``folder`` at ``artifact_path``."""
        run_id = self.start_run(run_name)
        try:
            self.client.log_artifacts(run_id, str(folder), artifact_path)
        except Exception:
            self.client.set_terminated(run_id, "FAILED")
            raise
        self.client.set_terminated(run_id)
        return run_id

    def log_trial(
        self, parent_run_id: str, run_name: str, params: dict[str, Any], metrics: dict[str, float]
    ) -> str:
        """Log one hyper-parameter trial as a run nested under ``parent_run_id``."""
        trial = self.client.create_run(
            self._experiment_id(), run_name=run_name, tags={"mlflow.parentRunId": parent_run_id}
        )
        run_id = str(trial.info.run_id)
        for key, value in params.items():
            self.client.log_param(run_id, key, value)
        for key, number in metrics.items():
            self.client.log_metric(run_id, key, number)
        self.client.set_terminated(run_id)
        return run_id

    def delete_version(self, name: str, version: str) -> None:
        """Remove a registered version (used to undo a registration that failed half-way)."""
        self.client.delete_model_version(name, version)

    def remove_alias(self, name: str, alias: str) -> None:
        """Unset ``alias`` of ``name`` if it is set."""
        if self.version_for_alias(name, alias) is not None:
            self.client.delete_registered_model_alias(name, alias)

    def log_texts(self, run_id: str, texts: dict[str, str]) -> None:
        """Add text artefacts (path in the run -> content) to a finished run."""
        for artifact_file, text in texts.items():
            self.client.log_text(run_id, text, artifact_file)

    def read_text(self, run_id: str, artifact_file: str) -> str:
        """A text artefact of a run.

        Raises:
            ModelNotFound: the run holds no such artefact.

        """
        mlflow.set_tracking_uri(self.tracking_uri)
        try:
            return str(mlflow.artifacts.load_text(f"runs:/{run_id}/{artifact_file}"))
        except (MlflowException, OSError) as exc:
            raise ModelNotFound(f"run {run_id} holds no {artifact_file}: {exc}") from exc

    def log_job(
        self, experiment: str, run_name: str, params: dict[str, str], metrics: dict[str, float]
    ) -> str:
        """Log a finished job (e.g. a batch scoring run) as an MLflow run; returns its id."""
        mlflow.set_tracking_uri(self.tracking_uri)
        with mlflow.start_run(experiment_id=self._experiment_id(experiment), run_name=run_name) as active:
            mlflow.log_params(params)
            mlflow.log_metrics(metrics)
            return str(active.info.run_id)

    def register(self, name: str, logged: LoggedRun, metrics: dict[str, float]) -> str:
        """Register a logged model as a new version of ``name``; returns the version."""
        self._ensure_registered_model(name)
        created = self.client.create_model_version(name, logged.model_uri, run_id=logged.run_id)
        for metric, value in metrics.items():
            self.client.set_model_version_tag(name, created.version, f"metric.{metric}", f"{value:.6f}")
        return str(created.version)

    def _ensure_registered_model(self, name: str) -> None:
        try:
            self.client.get_registered_model(name)
        except MlflowException as exc:
            if not _is_missing(exc):
                raise
            self.client.create_registered_model(name)

    def set_alias(self, name: str, alias: str, version: str) -> None:
        """Point ``alias`` of ``name`` at ``version``, remembering the version it left.

        Raises:
            ModelNotFound: the model or the version does not exist.

        """
        self.get_version(name, version)
        previous = self.version_for_alias(name, alias)
        self.client.set_registered_model_alias(name, alias, version)
        if previous is not None and previous != version:
            self.client.set_registered_model_tag(name, f"{PREVIOUS_TAG}.{alias}", previous)

    def previous_version(self, name: str, alias: str) -> str | None:
        """The version ``alias`` pointed at before its last move, if it moved."""
        try:
            tags = self.client.get_registered_model(name).tags or {}
        except MlflowException as exc:
            if _is_missing(exc):
                return None
            raise
        previous = tags.get(f"{PREVIOUS_TAG}.{alias}")
        return None if previous is None else str(previous)

    def get_version(self, name: str, version: str) -> RegisteredVersion:
        """One registered version; raises ``ModelNotFound`` if absent."""
        try:
            found = self.client.get_model_version(name, version)
        except MlflowException as exc:
            if _is_missing(exc):
                raise ModelNotFound(f"model {name!r} has no version {version}") from None
            raise
        return _registered(found, tuple(found.aliases or ()))

    def version_for_alias(self, name: str, alias: str) -> str | None:
        """The version ``alias`` points at, or ``None`` when the alias is not set."""
        try:
            aliases = self.client.get_registered_model(name).aliases
        except MlflowException as exc:
            if _is_missing(exc):
                return None
            raise
        version = aliases.get(alias)
        return None if version is None else str(version)

    def list_versions(self, name: str | None = None) -> list[RegisteredVersion]:
        """Registered versions (of one model, or of all), newest first."""
        query = f"name = '{name}'" if name else ""
        found = self.client.search_model_versions(query)
        aliases: dict[tuple[str, str], list[str]] = {}
        for model_name in {str(v.name) for v in found}:
            for alias, version in self.client.get_registered_model(model_name).aliases.items():
                aliases.setdefault((model_name, str(version)), []).append(alias)
        versions = [
            _registered(v, tuple(sorted(aliases.get((str(v.name), str(v.version)), [])))) for v in found
        ]
        return sorted(versions, key=lambda v: (v.name, -int(v.version)))

    def attach_spec(self, name: str, version: str, spec: ModelSpec) -> None:
        """Keep the contract of a version whose model was logged without one (a brought model).

        The contract is written into the version's run and the version tagged with its path.
        """
        registered = self.get_version(name, version)
        artifact_file = f"usine/{name}/{version}/spec.json"
        self.log_texts(registered.run_id, {artifact_file: spec.model_dump_json(indent=2)})
        self.client.set_model_version_tag(name, version, SPEC_TAG, artifact_file)

    def spec(self, name: str, version: str) -> ModelSpec:
        """The contract and reference statistics of a version, without loading the model.

        Raises:
            ModelNotFound: the version does not exist or carries no usine contract.

        """
        return self._contract(name, version)[2]

    def load(self, name: str, version: str) -> LoadedVersion:
        """Load a registered version with its contract.

        Raises:
            ModelNotFound: the version does not exist or carries no usable contract.

        """
        registered, descriptor, spec = self._contract(name, version)
        if descriptor.signature is None:
            raise ModelNotFound(f"model {name!r} version {version} carries no usine contract (no signature)")
        declared = [(f.name, f.kind) for f in spec.features]
        if declared != [(f.name, f.kind) for f in features_from_signature(descriptor.signature)]:
            raise ModelNotFound(f"model {name!r} version {version}: contract disagrees with its signature")
        model = load_run_model(f"models:/{name}/{version}", tuple(descriptor.flavors), spec.classes)
        return LoadedVersion(name=name, version=version, run_id=registered.run_id, model=model, spec=spec)

    def _contract(self, name: str, version: str) -> tuple[RegisteredVersion, Model, ModelSpec]:
        """A version, its MLflow model descriptor and its contract (model metadata or run artefact)."""
        registered = self.get_version(name, version)
        descriptor = Model.load(f"models:/{name}/{version}")
        metadata = descriptor.metadata or {}
        if SPEC_METADATA_KEY in metadata:
            return registered, descriptor, ModelSpec.model_validate(metadata[SPEC_METADATA_KEY])
        if registered.spec_artifact:
            text = self.read_text(registered.run_id, registered.spec_artifact)
            return registered, descriptor, ModelSpec.model_validate_json(text)
        raise ModelNotFound(f"model {name!r} version {version} carries no usine contract")


def _log_sklearn_model(
    model: Any, signature: ModelSignature, metadata: dict[str, Any], trusted_types: list[str]
) -> str:
    """Log a scikit-learn model (skops format, pinned requirements) in the active run; its URI."""
    info = mlflow.sklearn.log_model(
        model,
        name="model",
        signature=signature,
        metadata=metadata,
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
        skops_trusted_types=trusted_types,
        pip_requirements=[f"{name}=={package_version(name)}" for name in MODEL_REQUIREMENTS],
    )
    return str(info.model_uri)


def _registered(found: ModelVersion, aliases: tuple[str, ...]) -> RegisteredVersion:
    metrics = {
        key.removeprefix("metric."): float(value)
        for key, value in (found.tags or {}).items()
        if key.startswith("metric.")
    }
    return RegisteredVersion(
        name=str(found.name),
        version=str(found.version),
        aliases=aliases,
        run_id=str(found.run_id),
        created_ms=int(found.creation_timestamp or 0),
        metrics=metrics,
        spec_artifact=str((found.tags or {}).get(SPEC_TAG, "")),
    )


def _is_missing(exc: MlflowException) -> bool:
    return bool(exc.error_code == ErrorCode.Name(RESOURCE_DOES_NOT_EXIST))
