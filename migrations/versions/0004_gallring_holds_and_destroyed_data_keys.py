"""gallring holds and destroyed data keys

A supervisor's hold on a case's gallring (reason code, sealed note), and the moment a data key
was destroyed at gallring (crypto-shredding happens before the case's rows are deleted).

Revision ID: 0004
Revises: 0005
Create Date: 2026-11-24 05:17:51.527335
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import riskassess.core.db

revision: str = "0004"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "retention_hold",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("note", sa.LargeBinary(), nullable=True),
        sa.Column("placed_by_id", sa.Uuid(), nullable=False),
        sa.Column("placed_dt", riskassess.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], name=op.f("fk_retention_hold_case_id_case_file")
        ),
        sa.ForeignKeyConstraint(
            ["placed_by_id"],
            ["user_account.id"],
            name=op.f("fk_retention_hold_placed_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_retention_hold")),
    )
    with op.batch_alter_table("data_key", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("destroyed_dt", riskassess.core.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("data_key", schema=None) as batch_op:
        batch_op.drop_column("destroyed_dt")

    op.drop_table("retention_hold")
