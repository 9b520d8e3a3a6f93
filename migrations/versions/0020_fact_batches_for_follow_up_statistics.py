"""fact batches for follow-up statistics

The facts move from one sealed value per assessment into one sealed value per instrument, unit
and month (`fact_batch`). This migration has no keyring, so it cannot move them: it empties
`assessment_fact` and, where there are approvals, clears "facts complete", so that reports say
how many approvals they cannot count until `riskassess reports rebuild-facts` has written them
again from the assessments themselves. A downgrade does the same the other way.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 01:29:20.253078
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOT_COMPLETE = (
    "DELETE FROM installation_setting WHERE key = 'facts_complete' "
    "AND EXISTS (SELECT 1 FROM assessment WHERE state IN ('approved', 'superseded'))"
)


def upgrade() -> None:
    op.create_table(
        "fact_batch",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("instrument_id", sa.String(length=60), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("key_id", sa.Uuid(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"], ["data_key.id"], name=op.f("fk_fact_batch_key_id_data_key")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_fact_batch_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fact_batch")),
        sa.UniqueConstraint(
            "instrument_id", "month", "unit_id", name=op.f("uq_fact_batch_instrument_id")
        ),
    )
    op.execute("DELETE FROM assessment_fact")
    op.execute(_NOT_COMPLETE)
    with op.batch_alter_table("assessment_fact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("batch_id", sa.Uuid(), nullable=False))
        batch_op.drop_constraint(
            batch_op.f("fk_assessment_fact_key_id_data_key"), type_="foreignkey"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_assessment_fact_batch_id_fact_batch"), "fact_batch", ["batch_id"], ["id"]
        )
        batch_op.drop_column("key_id")
        batch_op.drop_column("sealed")


def downgrade() -> None:
    op.execute("DELETE FROM assessment_fact")
    op.execute(_NOT_COMPLETE)
    with op.batch_alter_table("assessment_fact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sealed", sa.LargeBinary(), nullable=False))
        batch_op.add_column(sa.Column("key_id", sa.Uuid(), nullable=False))
        batch_op.drop_constraint(
            batch_op.f("fk_assessment_fact_batch_id_fact_batch"), type_="foreignkey"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_assessment_fact_key_id_data_key"), "data_key", ["key_id"], ["id"]
        )
        batch_op.drop_column("batch_id")
    op.drop_table("fact_batch")
