"""Witnesses' cosignatures on the audit log's checkpoints (C2SP tlog-cosignature lines),
append-only like the log itself.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.storage.dialects import install_append_only_triggers

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_cosignatures",
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("witness", sa.String(200), nullable=False),
        sa.Column("line", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("size", "witness"),
    )
    install_append_only_triggers(op.get_bind(), ("audit_cosignatures",))


def downgrade() -> None:
    op.drop_table("audit_cosignatures")
