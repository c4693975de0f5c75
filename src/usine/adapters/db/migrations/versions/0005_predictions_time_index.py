"""The prediction log keeps one index besides its key: ``created_at``, a BRIN on PostgreSQL.

Each logged prediction used to update three B-trees: the key, ``request_id`` (which no query
looks up) and ``(model_name, created_at)``. Rows arrive in time order, so on PostgreSQL a
BRIN index on ``created_at`` (a few kilobytes, a summary per range of pages) narrows the
monitoring windows about as well as the B-tree did. Measured on PostgreSQL 15 with
``COPY`` of 100-row batches: 9.5 -> 7.8 µs of server CPU per row; on a million rows the
indexes besides the 73 MB key went from 103 MB to 24 kB, and a one-day window of one model out of
five took 6.8 -> 7.8 ms. SQLite has no BRIN: there it is a B-tree on ``created_at``.

Creating the index reads the table once and blocks writes meanwhile (seconds for millions of
rows): the writers of servers still running wait, their queues filling (and spilling to the
spool beyond capacity) until it is done.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Replace the ``request_id`` and ``(model_name, created_at)`` B-trees by one on ``created_at``."""
    op.drop_index("ix_predictions_request_id", table_name="predictions")
    op.drop_index("ix_predictions_model_created", table_name="predictions")
    op.create_index(
        "ix_predictions_created",
        "predictions",
        ["created_at"],
        postgresql_using="brin",
        postgresql_with={"autosummarize": "on"},
    )


def downgrade() -> None:
    """Put back the indexes of revision 0004."""
    op.drop_index("ix_predictions_created", table_name="predictions")
    op.create_index("ix_predictions_model_created", "predictions", ["model_name", "created_at"])
    op.create_index("ix_predictions_request_id", "predictions", ["request_id"])
