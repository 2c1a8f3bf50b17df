"""Console sessions kept by the gateway (the browser holds only a random id: logout, expiry,
a role change and an operator's revoke end them), and the salt of each review vote (the audit
log holds a sealed commitment to a vote until the review is decided).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("principal", sa.String(300)),
        sa.Column("roles", sa.String(200)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("last_seen_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("sealed", sa.Text, nullable=False),
        sa.Column("ended_at", sa.Float),
        sa.Column("end_reason", sa.String(40)),
    )
    op.create_index("ix_console_sessions_principal", "console_sessions", ["principal"])
    with op.batch_alter_table("release_votes") as batch:
        batch.add_column(sa.Column("salt", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("release_votes") as batch:
        batch.drop_column("salt")
    op.drop_index("ix_console_sessions_principal", table_name="console_sessions")
    op.drop_table("console_sessions")
