"""The one place where usine reads its configuration.

Every configurable value is a typed field of :class:`Settings`, read from ``USINE_*``
environment variables. Defaults work on one machine with nothing installed beside
usine (SQLite files under ``USINE_HOME``); the ``prod`` profile refuses those embedded
defaults where a real part is required.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from usine.domain.errors import ConfigurationError


class Profile(StrEnum):
    """Deployment profile: what the process may take for granted."""

    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


class Settings(BaseSettings):
    """All of usine's configuration, one typed field per setting."""

    model_config = SettingsConfigDict(env_prefix="USINE_", extra="ignore", populate_by_name=True)

    profile: Profile = Profile.DEV
    home: Path = Field(
        default=Path(".usine"),
        description="Folder holding the embedded defaults: databases, MLflow store, artefacts.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL of the prediction log; empty means SQLite under home.",
    )
    mlflow_tracking_uri: str = Field(
        default="",
        description="MLflow tracking and registry store; empty means SQLite under home.",
    )
    mlflow_artifact_root: str = Field(
        default="",
        description="Where new MLflow experiments keep artefacts; empty means home/mlartifacts.",
    )
    experiment_name: str = "usine"
    served_models: list[str] = Field(default_factory=lambda: ["credit"])
    serving_alias: str = "champion"
    min_auc: Annotated[float, Field(ge=0.5, le=1.0)] = Field(
        default=0.70,
        description="Quality gate: a new version becomes champion only above this.",
    )
    gate_beat_champion: bool = Field(
        default=True,
        description="Quality gate: a new version must also reach the champion's AUC on its held-out rows.",
    )
    random_seed: int = 42
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    workers: Annotated[int, Field(ge=1)] = 1
    worker_healthcheck_s: Annotated[int, Field(ge=1)] = Field(
        default=30,
        description="With several workers: how long a worker may take to answer the supervisor "
        "before it is replaced (model loading on busy cores can take more than uvicorn's 5 s).",
    )
    reuse_port: bool = Field(
        default=True,
        description="With several workers on Linux: each listens on a socket of its own (SO_REUSEPORT), "
        "and the kernel spreads new connections across them by a hash of their ports. Off, they share "
        "one socket and the first to wake may accept a whole burst of connections.",
    )
    access_log: bool = Field(
        default=True,
        description="One log line per HTTP request (client address masked). Off, a busy server saves "
        "the logging work of every request; /metrics still counts and times them all.",
    )
    opentelemetry: bool = Field(
        default=False,
        description="FastAPI's own OpenTelemetry spans, metrics and logs for every request, sent to the "
        "providers the process configures (opentelemetry-instrument, an SDK set up by a wrapper). Off, a "
        "request skips FastAPI's three provider look-ups; /metrics (Prometheus) is always on.",
    )
    max_body_bytes: Annotated[int, Field(ge=1024)] = 1_048_576
    max_records: Annotated[int, Field(ge=1)] = 1_000
    batch_database_url: str = Field(
        default="",
        description="Database that batch --query reads and --output-table writes; empty means database_url.",
    )
    retrain_on_alert: bool = Field(
        default=False,
        description="usine monitor trains a new version when it finds drift or an AUC below min_auc.",
    )
    spark_master: str = Field(
        default="local[*]",
        description="Spark master for batch --engine spark: local[*], spark://host:7077, yarn, k8s://…",
    )
    drift_psi_warning: Annotated[float, Field(gt=0)] = Field(
        default=0.1, description="PSI from which a feature is worth watching (warning)."
    )
    drift_psi_alert: Annotated[float, Field(gt=0)] = Field(
        default=0.25, description="PSI from which a feature has drifted."
    )
    drift_distance_alert: Annotated[float, Field(gt=0)] = Field(
        default=0.1,
        description="Normalised Wasserstein (numeric) or Jensen-Shannon (categorical) distance of a drift.",
    )
    drift_significance: Annotated[float, Field(gt=0, lt=1)] = Field(
        default=0.01, description="A drift must also be significant at this level (KS or chi-square)."
    )
    drift_dataset_share: Annotated[float, Field(gt=0, le=1)] = Field(
        default=0.5, description="Share of drifted features from which the whole window has drifted."
    )
    monitoring_chunk_rows: Annotated[int, Field(ge=100)] = Field(
        default=5_000, description="Logged predictions read per round trip when monitoring."
    )
    pushgateway_url: str = Field(
        default="", description="Prometheus Pushgateway that usine monitor pushes its gauges to; empty: none."
    )
    notify_webhook_url: SecretStr = Field(
        default=SecretStr(""),
        description="Webhook (Slack/Teams style JSON) told how batch and training runs end; empty: none.",
    )
    notify_smtp_url: str = Field(default="", description="SMTP relay, smtp://host:port; empty: no e-mail.")
    notify_email_from: str = "usine@localhost"
    notify_email_to: list[str] = Field(default_factory=list)
    prometheus_multiproc_dir: Path | None = Field(
        default=None,
        validation_alias="PROMETHEUS_MULTIPROC_DIR",
        description="Set by `usine serve --workers N` for its workers: where they share metrics.",
    )
    max_batch_records: Annotated[int, Field(ge=1)] = Field(
        default=64, description="Micro-batching: most records scored in one model call."
    )
    max_batch_wait_ms: Annotated[float, Field(ge=0, le=1000)] = Field(
        default=2.0,
        description="Micro-batching: longest a request waits for others to join its model call.",
    )
    log_predictions: bool = Field(
        default=True,
        description="Log every prediction; off only to measure serving without the log.",
    )
    log_queue_capacity: Annotated[int, Field(ge=1)] = Field(
        default=100_000,
        description="Predictions held in memory for the writer; beyond it they go to the spool.",
    )
    log_batch_records: Annotated[int, Field(ge=1)] = Field(
        default=1_000,
        description="Predictions the writer stores in one transaction (a request's records are never split).",
    )
    log_flush_interval_ms: Annotated[float, Field(gt=0)] = Field(
        default=50.0, description="Longest a prediction waits in the queue before the writer stores it."
    )
    log_retry_interval_s: Annotated[float, Field(gt=0)] = Field(
        default=5.0, description="How often an unreachable database is tried again (spool replay)."
    )
    database_timeout_s: Annotated[float, Field(gt=0)] = Field(
        default=30.0, description="Connect timeout (PostgreSQL) or lock wait (SQLite) of the prediction log."
    )
    reload_interval_s: Annotated[float, Field(ge=0)] = Field(
        default=30.0, description="How often the serving alias is checked for a new version; 0 never."
    )
    shadow: bool = Field(
        default=False,
        description="Shadow mode: also load each served model's shadow_alias version, score the same "
        "traffic with it and log its scores, never returned.",
    )
    shadow_alias: str = Field(default="challenger", description="Shadow mode: the alias scored in shadow.")
    shadow_max_pending_records: Annotated[int, Field(ge=1)] = Field(
        default=1_000,
        description="Shadow mode: most records waiting for the challenger; beyond, shadow scoring is "
        "skipped (counted) so that it never holds the champion back.",
    )
    reason_codes: Annotated[int, Field(ge=0, le=50)] = Field(
        default=3,
        description="Reason codes (features that pushed the score up most) in each prediction; 0: none.",
    )
    api_key_cache_ttl_s: Annotated[float, Field(ge=0)] = Field(
        default=10.0,
        description="How long a checked API key is trusted without asking the database: a revoked "
        "key is refused by every worker within this delay; 0 checks every request.",
    )
    auto_migrate: bool = Field(
        default=True, description="Upgrade the database schema when the server starts."
    )
    object_store_url: str = Field(
        default="",
        description="Where raw claim files are kept: a folder or any fsspec URL (s3://bucket/prefix "
        "with the s3 extra); empty means home/objects.",
    )
    claims_max_file_bytes: Annotated[int, Field(ge=1024)] = Field(
        default=20 * 1024 * 1024, description="Largest claim file accepted (bytes); a larger one gets a 413."
    )
    claims_max_files: Annotated[int, Field(ge=1)] = Field(
        default=20, description="Most files in one claim_files_extraction request."
    )
    claims_max_request_bytes: Annotated[int, Field(ge=1024)] = Field(
        default=100 * 1024 * 1024,
        description="Largest claim_files_extraction request body (bytes), counted while it streams in.",
    )
    claims_required: bool = Field(
        default=False,
        description="Readiness fails (503) while no claims extractor is loaded; off: only the claim "
        "routes answer 503 and readiness lists the reason.",
    )
    claims_max_pages: Annotated[int, Field(ge=1)] = Field(
        default=20, description="Claim extraction: most pages (or TIFF frames) read from one file."
    )
    claims_max_pixels: Annotated[int, Field(ge=10_000)] = Field(
        default=40_000_000,
        description="Claim extraction: most pixels of one image or rendered page (decompression bombs).",
    )
    claims_ocr_dpi: Annotated[int, Field(ge=72, le=600)] = Field(
        default=300, description="Claim extraction: resolution at which image-only PDF pages are OCRed."
    )
    claims_min_text_chars: Annotated[int, Field(ge=0)] = Field(
        default=20,
        description="Claim extraction: a PDF page with fewer text-layer characters is OCRed instead.",
    )
    claims_ocr_timeout_s: Annotated[float, Field(gt=0)] = Field(
        default=30.0, description="Claim extraction: longest Tesseract may spend on one page."
    )
    claims_min_f1: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        default=0.95,
        description="Quality gate of the claims model: field-level F1 on text PDFs of held-out layouts.",
    )
    claims_train_documents: Annotated[int, Field(ge=8)] = Field(
        default=240, description="Generated documents the claims model is trained on (training layouts)."
    )
    claims_train_scans: Annotated[int, Field(ge=0)] = Field(
        default=8, description="Generated scans (OCR, ~1-2 s each) added to the claims training corpus."
    )
    claims_eval_documents: Annotated[int, Field(ge=2)] = Field(
        default=60, description="Generated text PDFs of held-out layouts the claims gate is measured on."
    )

    @model_validator(mode="after")
    def _resolve_defaults(self) -> Settings:
        """Fill the embedded defaults under ``home`` and normalise database URLs."""
        home = self.home.expanduser().resolve()
        self.home = home
        if not self.database_url:
            self.database_url = f"sqlite:///{home / 'usine.db'}"
        self.database_url = normalise_database_url(self.database_url)
        self.batch_database_url = normalise_database_url(self.batch_database_url or self.database_url)
        if not self.mlflow_tracking_uri:
            self.mlflow_tracking_uri = f"sqlite:///{home / 'mlflow.db'}"
        if self.prometheus_multiproc_dir is not None:
            self.prometheus_multiproc_dir = self.prometheus_multiproc_dir.resolve()
        if not self.mlflow_artifact_root:
            self.mlflow_artifact_root = (home / "mlartifacts").as_uri()
        if not self.object_store_url:
            self.object_store_url = str(home / "objects")
        return self

    def check_profile(self) -> None:
        """Refuse embedded defaults where the profile requires a real part.

        Raises:
            ConfigurationError: in ``prod``, when the prediction log or the MLflow store
                is a SQLite file.

        """
        if self.profile is not Profile.PROD:
            return
        if self.database_url.startswith("sqlite"):
            raise ConfigurationError(
                "profile prod needs a real database: set USINE_DATABASE_URL to PostgreSQL"
            )
        if self.mlflow_tracking_uri.startswith("sqlite"):
            raise ConfigurationError(
                "profile prod needs an MLflow tracking server: set USINE_MLFLOW_TRACKING_URI"
            )

    @property
    def requires_api_keys(self) -> bool:
        """Whether every request (but health, readiness and metrics) must carry an API key."""
        return self.profile is not Profile.DEV

    @property
    def spool_dir(self) -> Path:
        """Where predictions wait on disk while the database is unreachable."""
        return self.home / "spool"

    @property
    def metrics_dir(self) -> Path:
        """Where the workers of a multi-worker server share their metrics."""
        return self.home / "prometheus"

    @property
    def uses_embedded_storage(self) -> bool:
        """Whether any store lives in a local SQLite file under ``home``."""
        return self.database_url.startswith("sqlite") or self.mlflow_tracking_uri.startswith("sqlite")


def normalise_database_url(url: str) -> str:
    """Point plain PostgreSQL URLs at the psycopg 3 driver that usine ships with.

    Args:
        url: a SQLAlchemy or libpq-style URL.

    Returns:
        The URL with ``postgresql+psycopg`` as its scheme when it named PostgreSQL.

    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def describe_invalid(error: ValidationError) -> str:
    """One line naming each refused variable, its value and why.

    Args:
        error: the validation error raised while reading the settings.

    Returns:
        e.g. ``USINE_PROFILE='qa': Input should be 'dev', 'staging' or 'prod'``.
    """
    problems = []
    for item in error.errors():
        reason = item["msg"].strip()
        if item["loc"]:
            variable = "USINE_" + "_".join(str(part) for part in item["loc"]).upper()
            problems.append(f"{variable}={item['input']!r}: {reason}")
        else:
            problems.append(reason)
    return "; ".join(problems)


def load_settings() -> Settings:
    """Read the settings from the environment and check them against the profile.

    Returns:
        Validated settings.

    Raises:
        ConfigurationError: when a value is invalid or the profile refuses it.

    """
    try:
        settings = Settings()
    except ValidationError as exc:
        raise ConfigurationError(f"invalid setting: {describe_invalid(exc)}") from None
    except ValueError as exc:  # a value pydantic-settings could not even decode (list as JSON)
        raise ConfigurationError(f"invalid setting: {str(exc).splitlines()[0]}") from None
    settings.check_profile()
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
