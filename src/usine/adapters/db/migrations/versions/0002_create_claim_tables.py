"""Create the claim tables: extractions of uploaded files, saved claims, their sources and corrections.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CONTRACT = ("uom_code", "customer_id", "contract_id")


def _contract_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column(name, sa.String(64), nullable=False) for name in CONTRACT]


def upgrade() -> None:
    """Create ``claim_extractions``, ``claims``, ``claim_sources`` and ``claim_corrections``."""
    op.create_table(
        "claim_extractions",
        sa.Column("id", sa.String(36), primary_key=True),
        *_contract_columns(),
        sa.Column("file_key", sa.String(64), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("media_type", sa.String(128), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("extractor_version", sa.String(32), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_claim_extractions_contract", "claim_extractions", list(CONTRACT))
    op.create_index("ix_claim_extractions_file_key", "claim_extractions", ["file_key"])
    op.create_table(
        "claims",
        sa.Column("id", sa.String(36), primary_key=True),
        *_contract_columns(),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_claims_contract", "claims", list(CONTRACT))
    op.create_table(
        "claim_sources",
        sa.Column(
            "claim_id", sa.String(36), sa.ForeignKey("claims.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "extraction_id",
            sa.String(36),
            sa.ForeignKey("claim_extractions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.UniqueConstraint("extraction_id", name="uq_claim_sources_extraction"),
    )
    op.create_table(
        "claim_corrections",
        sa.Column(
            "claim_id", sa.String(36), sa.ForeignKey("claims.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("field", sa.String(255), primary_key=True),
        sa.Column("extraction_id", sa.String(36), nullable=True),
        sa.Column("extracted", sa.Text(), nullable=True),
        sa.Column("saved", sa.Text(), nullable=True),
        sa.Column("changed", sa.Boolean(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
    )


def downgrade() -> None:
    """Drop the claim tables."""
    op.drop_table("claim_corrections")
    op.drop_table("claim_sources")
    op.drop_index("ix_claims_contract", table_name="claims")
    op.drop_table("claims")
    op.drop_index("ix_claim_extractions_file_key", table_name="claim_extractions")
    op.drop_index("ix_claim_extractions_contract", table_name="claim_extractions")
    op.drop_table("claim_extractions")
