"""Exceptions raised by usine's domain and services.

The HTTP layer maps each to an RFC 9457 problem (``usine.api.errors``); the CLI maps each
to one line and an exit code. Each class says which HTTP status it stands for.
"""

from __future__ import annotations

from dataclasses import dataclass


class UsineError(Exception):
    """Base of every error usine raises on purpose."""

    status: int = 500
    title: str = "Internal error"


class ConfigurationError(UsineError):
    """A setting is missing, invalid, or refused by the profile."""

    title = "Invalid configuration"


class ModelNotFound(UsineError):
    """No served or registered model answers to this name (or version)."""

    status = 404
    title = "Model not found"


class PredictionNotFound(UsineError):
    """No logged prediction has this id (never existed, or erased)."""

    status = 404
    title = "Prediction not found"


class Unauthenticated(UsineError):
    """No API key, an unknown one, or a revoked one."""

    status = 401
    title = "Unauthorized"


class Forbidden(UsineError):
    """The API key is valid but lacks the scope this operation needs."""

    status = 403
    title = "Forbidden"


class ApiKeyNotFound(UsineError):
    """No API key has this id."""

    status = 404
    title = "API key not found"


class PayloadTooLarge(UsineError):
    """A request carries more bytes or records than the server accepts."""

    status = 413
    title = "Payload too large"


class MalformedRequest(UsineError):
    """The body is not parseable (not JSON, wrong top-level shape)."""

    status = 400
    title = "Malformed request"


@dataclass(frozen=True)
class FieldError:
    """One invalid value: which record, which field, and why."""

    index: int | None
    field: str
    message: str

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-ready form, used in problem documents and CLI output."""
        return {"index": self.index, "field": self.field, "message": self.message}


class InvalidInput(UsineError):
    """Input records break the model's schema; every broken field is listed."""

    status = 422
    title = "Invalid input"

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        first = errors[0]
        where = f"record {first.index}, " if first.index is not None else ""
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{where}field {first.field!r}: {first.message}{more}")


class StartupCheckFailed(UsineError):
    """A server cannot start: a part it needs is unreachable or has nothing to serve."""

    status = 503
    title = "Cannot start"


class ModelNotReady(UsineError):
    """The model exists but cannot serve yet (no champion, failed load)."""

    status = 503
    title = "Model not ready"


class StorageUnavailable(UsineError):
    """The prediction log cannot be reached right now; new predictions wait in the spool."""

    status = 503
    title = "Storage unavailable"


class ModelLoadFailed(UsineError):
    """A model version could not be loaded; the version served before keeps serving."""

    status = 503
    title = "Model load failed"


class QualityGateFailed(UsineError):
    """A trained version did not reach the quality gate; it was not promoted."""

    status = 409
    title = "Quality gate failed"


class TrainingDataError(UsineError):
    """The training data cannot be used (missing columns, one class, empty)."""

    status = 422
    title = "Unusable training data"


class SchemaMismatch(UsineError):
    """A table to score lacks columns the model needs: no row of it can be scored."""

    status = 422
    title = "Schema mismatch"


class BatchSourceError(UsineError):
    """A batch input or output cannot be used: missing, unreadable, not what it claims to be."""

    status = 422
    title = "Unusable batch source"


class TooManyRejections(UsineError):
    """A batch run finished, but rejected more rows than its threshold allows."""

    status = 422
    title = "Too many rejected rows"


class InvalidWindow(UsineError):
    """A monitoring window cannot be read (bad ``since``/``until``, or ``until`` before ``since``)."""

    status = 422
    title = "Invalid window"


class CannotMonitor(UsineError):
    """The window exists but cannot be compared with the model's reference."""

    status = 409
    title = "Cannot monitor"


class EmptyWindow(CannotMonitor):
    """No prediction of the model was logged in the window."""

    status = 404
    title = "Empty window"


class NoReferenceStatistics(CannotMonitor):
    """The model version carries no reference statistics for its inputs or scores."""


class FeatureMissingFromLog(CannotMonitor):
    """A feature of the model is absent from every logged prediction of the window."""


class ModelNotRegistrable(UsineError):
    """A model logged in an MLflow run cannot be brought into usine's registry, and why."""

    status = 422
    title = "Model not registrable"


class ProjectNotCreated(UsineError):
    """A model project cannot be scaffolded: a bad name, or a folder that already holds files."""

    status = 422
    title = "Project not created"


class InvalidShift(UsineError):
    """A simulated drift cannot be read: ``f*factor``, ``f+offset`` or ``f=category@share``."""

    status = 422
    title = "Invalid shift"


class InvalidSchedule(UsineError):
    """A schedule cannot be used: a malformed cron expression or a command usine does not have."""

    status = 422
    title = "Invalid schedule"


class StoredFileNotFound(UsineError):
    """No raw file is stored under this key (never stored, or erased)."""

    status = 404
    title = "Stored file not found"


class ExtractionNotFound(UsineError):
    """No extraction has this id under this entity, customer and contract."""

    status = 404
    title = "Extraction not found"


class ClaimNotFound(UsineError):
    """No saved claim has this id under this entity, customer and contract."""

    status = 404
    title = "Claim not found"


class ClaimConflict(UsineError):
    """The extractions named by a save already belong to different saved claims."""

    status = 409
    title = "Claim conflict"


class UnsupportedMediaType(UsineError):
    """The request body is not of the media type the endpoint reads."""

    status = 415
    title = "Unsupported media type"


class NoFileExtracted(UsineError):
    """Every file of a claim upload was refused; each one's problem is listed.

    Its status is the files' common status (415 when none is a document, 503 when storage is
    down for all), else 422.
    """

    status = 422
    title = "No file extracted"

    def __init__(self, files: list[dict[str, object]]) -> None:
        self.files = files
        statuses = {file["status"] for file in files}
        if len(statuses) == 1:
            (only,) = statuses
            self.status = only if isinstance(only, int) and only >= 400 else 422
        names = ", ".join(repr(file["file"]) for file in files[:3])
        more = f" and {len(files) - 3} more" if len(files) > 3 else ""
        super().__init__(f"no file could be extracted: {names}{more}; see files for each one's reason")


class UnsupportedDocument(UsineError):
    """A claim file is not a PDF, PNG, JPEG or TIFF (judged by its bytes, not its name)."""

    status = 415
    title = "Unsupported document"


class UnreadableDocument(UsineError):
    """A claim file has a supported type but cannot be read: corrupt, empty, or encrypted."""

    status = 422
    title = "Unreadable document"


class DocumentTooLarge(UsineError):
    """A claim file has too many pages or pixels to read safely (e.g. a decompression bomb)."""

    status = 413
    title = "Document too large"
