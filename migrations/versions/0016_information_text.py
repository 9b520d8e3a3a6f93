"""information text for children and guardians (GDPR art. 13/14), one row per version

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 19:38:42.149567
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import riskassess.core.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "information_text",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("body_sv", sa.Text(), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=False),
        sa.Column("created_dt", riskassess.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_information_text_created_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_information_text")),
    )


def downgrade() -> None:
    op.drop_table("information_text")
