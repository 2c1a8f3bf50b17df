"""Releases being built: the engine that took each, Spark's progress through its tasks, and
how the build ended (built, failed, interrupted).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "release_builds",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("extract_id", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("engine", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("started_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("tasks_done", sa.Integer, nullable=False),
        sa.Column("tasks_total", sa.Integer, nullable=False),
        sa.Column("jobs_done", sa.Integer, nullable=False),
        sa.Column("release_id", sa.String(64)),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_index("ix_release_builds_extract", "release_builds", ["extract_id"])
    op.create_index("ix_release_builds_state", "release_builds", ["state"])


def downgrade() -> None:
    op.drop_index("ix_release_builds_state", table_name="release_builds")
    op.drop_index("ix_release_builds_extract", table_name="release_builds")
    op.drop_table("release_builds")
