"""Logged inputs as arrays of values, their names once per model version in ``input_layouts``.

A prediction's ``inputs`` were an object (791 bytes for a credit record, two thirds of it
feature names repeated on every row). New rows hold the values alone, in the order of their
version's ``input_layouts`` row, which halves what the log costs per logged request, in the
serving process and in PostgreSQL together (docs/serving.md, session 15). Rows logged before
keep their objects; readers take both. The view ``prediction_inputs`` gives every row with its
inputs as an object, for SQL readers (``inputs->>'age_in_years'`` on PostgreSQL).

Downgrading writes the objects back into the rows stored as arrays, then drops both.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

NAMED_INPUTS = {
    "postgresql": """
        CASE WHEN json_typeof(p.inputs) = 'array' THEN (
            SELECT json_object_agg(f.name, p.inputs -> (f.position - 1)::int ORDER BY f.position)
            FROM json_array_elements_text(l.features) WITH ORDINALITY AS f(name, position)
        ) ELSE p.inputs END""",
    "sqlite": """
        CASE WHEN json_type(p.inputs) = 'array' THEN (
            SELECT json_group_object(f.value, v.value)
            FROM json_each(l.features) AS f JOIN json_each(p.inputs) AS v ON v.key = f.key
        ) ELSE json(p.inputs) END""",
}
"""Each row's inputs as an object, by dialect (``p``: the prediction, ``l``: its layout)."""

NOT_NAMED = {"postgresql": "json_typeof(inputs) = 'array'", "sqlite": "json_type(inputs) = 'array'"}


def upgrade() -> None:
    """Create ``input_layouts`` and the view ``prediction_inputs``."""
    op.create_table(
        "input_layouts",
        sa.Column("model_name", sa.String(128), primary_key=True),
        sa.Column("model_version", sa.String(32), primary_key=True),
        sa.Column("features", sa.JSON(), nullable=False),
    )
    # Only this module's constants are spliced into the statements.
    op.execute(f"""
        CREATE VIEW prediction_inputs AS
        SELECT p.id, p.request_id, p.model_name, p.model_version,
               {NAMED_INPUTS[op.get_bind().dialect.name]} AS inputs,
               p.score, p.latency_ms, p.created_at, p.caller
        FROM predictions AS p
        LEFT JOIN input_layouts AS l
          ON l.model_name = p.model_name AND l.model_version = p.model_version
    """)  # noqa: S608  # nosec B608


def downgrade() -> None:
    """Write the named inputs back into the rows stored as arrays, then drop the view and table."""
    op.execute(f"""
        UPDATE predictions
        SET inputs = (SELECT v.inputs FROM prediction_inputs AS v WHERE v.id = predictions.id)
        WHERE {NOT_NAMED[op.get_bind().dialect.name]}
    """)  # noqa: S608  # nosec B608
    op.execute("DROP VIEW prediction_inputs")
    op.drop_table("input_layouts")
