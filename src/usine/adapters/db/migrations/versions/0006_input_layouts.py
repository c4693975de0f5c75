"""Logged inputs as arrays of values, their names once per model version in ``input_layouts``.

A prediction's ``inputs`` were an object (791 bytes for a credit record, two thirds of it
feature names repeated on every row). New rows hold the values alone, in the order of their
version's ``input_layouts`` row: a credit row is 445 bytes instead of 935, and PostgreSQL
spends about a third less CPU on it (docs/serving.md, session 15). Rows logged before
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
"""The rows whose inputs are stored as arrays, by dialect."""

PREDICTIONS = sa.table("predictions", sa.column("id"), sa.column("inputs"))
LAYOUTS = sa.table("input_layouts", sa.column("model_name"), sa.column("model_version"))
VIEW = sa.table("prediction_inputs", sa.column("id"), sa.column("inputs"))


def named_inputs(bind: sa.Connection) -> sa.Select[tuple[object, ...]]:
    """Every prediction, its inputs as an object (the body of the view ``prediction_inputs``).

    The columns are the database's own (reflected), so this revision does not follow later
    changes of the code's tables.
    """
    p = sa.Table("predictions", sa.MetaData(), autoload_with=bind).alias("p")
    layout = LAYOUTS.alias("l")
    named = sa.literal_column(NAMED_INPUTS[bind.dialect.name], sa.JSON).label("inputs")
    return sa.select(*(named if column.name == "inputs" else column for column in p.c)).select_from(
        p.outerjoin(
            layout,
            sa.and_(layout.c.model_name == p.c.model_name, layout.c.model_version == p.c.model_version),
        )
    )


def upgrade() -> None:
    """Create ``input_layouts`` and the view ``prediction_inputs``."""
    op.create_table(
        "input_layouts",
        sa.Column("model_name", sa.String(128), primary_key=True),
        sa.Column("model_version", sa.String(32), primary_key=True),
        sa.Column("features", sa.JSON(), nullable=False),
    )
    bind = op.get_bind()
    body = named_inputs(bind).compile(bind, compile_kwargs={"literal_binds": True})
    op.execute(f"CREATE VIEW prediction_inputs AS {body}")


def downgrade() -> None:
    """Write the named inputs back into the rows stored as arrays, then drop the view and table."""
    named = sa.select(VIEW.c.inputs).where(VIEW.c.id == PREDICTIONS.c.id).scalar_subquery()
    op.execute(
        PREDICTIONS.update().values(inputs=named).where(sa.text(NOT_NAMED[op.get_bind().dialect.name]))
    )
    op.execute("DROP VIEW prediction_inputs")
    op.drop_table("input_layouts")
