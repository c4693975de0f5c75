"""API keys (hashed tokens with scopes), the caller of each prediction, and rejected requests.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``api_keys`` and ``rejections``; add ``predictions.caller``."""
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("scopes", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("predictions") as predictions:
        predictions.add_column(
            sa.Column("caller", sa.String(128), nullable=False, server_default="anonymous")
        )
    op.create_table(
        "rejections",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("caller", sa.String(128), nullable=False),
        sa.Column("model_name", sa.String(128), nullable=True),
    )
    op.create_index("ix_rejections_model_created", "rejections", ["model_name", "created_at"])


def downgrade() -> None:
    """Drop what ``upgrade`` made."""
    op.drop_index("ix_rejections_model_created", table_name="rejections")
    op.drop_table("rejections")
    with op.batch_alter_table("predictions") as predictions:
        predictions.drop_column("caller")
    op.drop_table("api_keys")
