"""Assessment editors: everyone who saved an assessment's draft, for the printed report

Filled for existing assessments from what is left of the audit log (each successful
`case:assessment:create` and `case:assessment:update` names its actor) and from each
assessment's author, who wrote its first content. Entries already pruned from the log cannot
be recovered; from this version on the table is written at every save.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29 19:36:29.895228
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

import riskassess.core.db

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WRITES = ("case:assessment:create", "case:assessment:update")


def upgrade() -> None:
    editor = op.create_table(
        "assessment_editor",
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("first_edit_dt", riskassess.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_edit_dt", riskassess.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessment.id"],
            name=op.f("fk_assessment_editor_assessment_id_assessment"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_assessment_editor_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("assessment_id", "user_id", name=op.f("pk_assessment_editor")),
    )
    _backfill(op.get_bind(), editor)


def _backfill(bind: sa.Connection, editor: sa.Table) -> None:
    """One row per (assessment, person who wrote it): the author at creation, then every
    saver the audit log still names. Done in Python, as the log keeps object ids as text and
    the databases store UUIDs differently."""
    meta = sa.MetaData()
    assessment = sa.Table(
        "assessment",
        meta,
        sa.Column("id", sa.Uuid()),
        sa.Column("created_by_id", sa.Uuid()),
        sa.Column("created_dt", riskassess.core.db.UTCDateTime(timezone=True)),
    )
    entry = sa.Table(
        "audit_entry",
        meta,
        sa.Column("created_dt", riskassess.core.db.UTCDateTime(timezone=True)),
        sa.Column("actor_id", sa.Uuid()),
        sa.Column("action", sa.String(80)),
        sa.Column("object_type", sa.String(40)),
        sa.Column("object_id", sa.String(64)),
        sa.Column("outcome", sa.String(16)),
    )
    spans: dict[tuple[uuid.UUID, uuid.UUID], tuple[datetime, datetime]] = {}

    def note(assessment_id: uuid.UUID, user_id: uuid.UUID, at: datetime) -> None:
        first, last = spans.get((assessment_id, user_id), (at, at))
        spans[(assessment_id, user_id)] = (min(first, at), max(last, at))

    user = sa.Table("user_account", meta, sa.Column("id", sa.Uuid()))
    users = set(bind.scalars(sa.select(user.c.id)))
    known = {}
    rows = sa.select(assessment.c.id, assessment.c.created_by_id, assessment.c.created_dt)
    for row in bind.execute(rows):
        known[str(row.id)] = row.id
        note(row.id, row.created_by_id, row.created_dt)
    writes = sa.select(entry.c.object_id, entry.c.actor_id, entry.c.created_dt).where(
        entry.c.action.in_(_WRITES),
        entry.c.object_type == "assessment",
        entry.c.outcome == "success",
        entry.c.actor_id.is_not(None),
    )
    for row in bind.execute(writes):
        assessment_id = known.get(row.object_id)
        # An assessment deleted at gallring is not brought back.
        if assessment_id is not None and row.actor_id in users:
            note(assessment_id, row.actor_id, row.created_dt)
    if spans:
        bind.execute(
            editor.insert(),
            [
                {
                    "assessment_id": assessment_id,
                    "user_id": user_id,
                    "first_edit_dt": first,
                    "last_edit_dt": last,
                }
                for (assessment_id, user_id), (first, last) in spans.items()
            ],
        )


def downgrade() -> None:
    op.drop_table("assessment_editor")
