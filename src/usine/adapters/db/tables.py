"""SQLAlchemy tables of the prediction log and of claim data. Alembic migrations follow these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and read back timezone-aware, on every backend.

    SQLite keeps no offset; without this, a timestamp written aware would be read naive.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive timestamps and store aware ones in UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Read timestamps as aware UTC datetimes."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of usine's tables."""


class PredictionRow(Base):
    """One scored record."""

    __tablename__ = "predictions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64))
    model_name: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str] = mapped_column(String(32))
    inputs: Mapped[list[Any] | dict[str, Any]] = mapped_column(JSON)
    """The values in the order of the version's ``input_layouts`` row, or an object (see there)."""
    score: Mapped[float] = mapped_column(Float)
    latency_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    caller: Mapped[str] = mapped_column(String(128), default="anonymous", server_default="anonymous")

    # One index besides the key, as few as the writer can afford (migration 0005): rows arrive
    # in time order, so on PostgreSQL a BRIN on created_at narrows a monitoring window.
    __table_args__ = (
        Index(
            "ix_predictions_created",
            "created_at",
            postgresql_using="brin",
            postgresql_with={"autosummarize": "on"},
        ),
    )


class InputLayoutRow(Base):
    """The names of a model version's logged input values, in their order (migration 0006).

    A prediction's ``inputs`` are stored as an array of values in this order when they follow
    it (``usine.adapters.db.input_layouts``); the view ``prediction_inputs`` names them again.
    """

    __tablename__ = "input_layouts"

    model_name: Mapped[str] = mapped_column(String(128), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(32), primary_key=True)
    features: Mapped[list[str]] = mapped_column(JSON)


class FeedbackRow(Base):
    """Ground truth of one prediction; erased with it."""

    __tablename__ = "feedback"

    prediction_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("predictions.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ShadowPredictionRow(Base):
    """The challenger's score of one logged prediction (shadow mode); never returned to the caller.

    Kept apart from ``predictions`` so that no usage, drift, performance or feedback query can
    count it; erased with its prediction.
    """

    __tablename__ = "shadow_predictions"

    prediction_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    model_name: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


ID_LENGTH = 64
"""Longest entity (uom code), customer or contract id accepted."""


class InContract:
    """Columns naming the contract claim data belongs to: entity, customer, contract."""

    uom_code: Mapped[str] = mapped_column(String(ID_LENGTH))
    customer_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    contract_id: Mapped[str] = mapped_column(String(ID_LENGTH))


class ClaimExtractionRow(InContract, Base):
    """One uploaded claim file: where its bytes are stored and what was extracted from it."""

    __tablename__ = "claim_extractions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    file_key: Mapped[str] = mapped_column(String(64), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(128))
    pages: Mapped[int] = mapped_column(Integer)
    extractor_version: Mapped[str] = mapped_column(String(32))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_claim_extractions_contract", "uom_code", "customer_id", "contract_id"),)


class ClaimRow(InContract, Base):
    """Claim data as a handler saved it."""

    __tablename__ = "claims"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    saved_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_claims_contract", "uom_code", "customer_id", "contract_id"),)


class ClaimSourceRow(Base):
    """Which extraction a claim was saved from; an extraction feeds at most one claim."""

    __tablename__ = "claim_sources"

    claim_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("claims.id", ondelete="CASCADE"), primary_key=True
    )
    extraction_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("claim_extractions.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("extraction_id", name="uq_claim_sources_extraction"),)


class ClaimCorrectionRow(Base):
    """One field of a saved claim beside the value extracted for it: the feedback on extraction."""

    __tablename__ = "claim_corrections"

    claim_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("claims.id", ondelete="CASCADE"), primary_key=True
    )
    field: Mapped[str] = mapped_column(String(255), primary_key=True)
    extraction_id: Mapped[str | None] = mapped_column(String(36))
    extracted: Mapped[str | None] = mapped_column(Text)
    saved: Mapped[str | None] = mapped_column(Text)
    changed: Mapped[bool] = mapped_column(Boolean)
    confidence: Mapped[float | None] = mapped_column(Float)


class ApiKeyRow(Base):
    """An API key: its SHA-256 digest (never the token), a prefix to recognise it, its scopes."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    prefix: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(128), doc="Space-separated scope names.")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class RejectionRow(Base):
    """A refused (4xx) or failed (5xx) request: status, reason, caller, model; never the payload."""

    __tablename__ = "rejections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(64))
    caller: Mapped[str] = mapped_column(String(128))
    model_name: Mapped[str | None] = mapped_column(String(128), nullable=True)

    __table_args__ = (Index("ix_rejections_model_created", "model_name", "created_at"),)
