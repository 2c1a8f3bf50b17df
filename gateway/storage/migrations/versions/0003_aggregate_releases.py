"""Aggregate releases: kind, review status and the disclosure checker's report.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _columns() -> tuple[sa.Column[object], ...]:
    return (
        sa.Column("kind", sa.String(20), nullable=False, server_default="microdata"),
        sa.Column("status", sa.String(30), nullable=False, server_default="released"),
        sa.Column("sdc_status", sa.String(10)),
        sa.Column("report_blob_key", sa.String(300)),
        sa.Column("report_sha256", sa.String(64)),
        sa.Column("reviewed_by", sa.String(200)),
        sa.Column("reviewed_at", sa.String(40)),
        sa.Column("review_note", sa.Text),
    )


def upgrade() -> None:
    with op.batch_alter_table("releases") as batch:
        for column in _columns():
            batch.add_column(column)
    op.create_index("ix_releases_status", "releases", ["status"])


def downgrade() -> None:
    op.drop_index("ix_releases_status", table_name="releases")
    with op.batch_alter_table("releases") as batch:
        for column in reversed(_columns()):
            batch.drop_column(column.name)
