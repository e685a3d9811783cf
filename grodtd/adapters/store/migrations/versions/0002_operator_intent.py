"""The operator's intent (pause) survives restarts.

Revision ID: 0002_operator_intent
Revises: 0001_initial
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_operator_intent"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operator_intent",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("since", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_operator_intent"),
        sa.CheckConstraint("id = 1", name=op.f("ck_operator_intent_single_row")),
    )


def downgrade() -> None:
    op.drop_table("operator_intent")
