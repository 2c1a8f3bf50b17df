"""Reviewers' votes on aggregates held for review: one row per reviewer and release, kept apart
from the release so that no reviewer sees another's vote before all have voted.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "release_votes",
        sa.Column("release_id", sa.String(40), nullable=False),
        sa.Column("voter", sa.String(200), nullable=False),
        sa.Column("vote", sa.String(20), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("release_id", "voter"),
    )


def downgrade() -> None:
    op.drop_table("release_votes")
