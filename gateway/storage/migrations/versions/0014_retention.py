"""Storage limitation: when deliveries and releases were erased (crypto-shredded), erasures
begun and finished, legal holds, recipients' deletion confirmations, the latest pull of each
release, deliveries discarded while held, and frozen records of processing.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("discarded_at", sa.String(40)))
        batch.add_column(sa.Column("erased_at", sa.String(40)))
    with op.batch_alter_table("releases") as batch:
        batch.add_column(sa.Column("last_pulled_at", sa.String(40)))
        batch.add_column(sa.Column("erased_at", sa.String(40)))
    op.create_table(
        "erasures",
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("object_id", sa.String(40), primary_key=True),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("due", sa.String(10), nullable=False),
        sa.Column("blob_keys", sa.Text, nullable=False),
        sa.Column("started_at", sa.String(40), nullable=False),
        sa.Column("done_at", sa.String(40)),
        sa.Column("audit_index", sa.BigInteger),
    )
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("placed_by", sa.String(300), nullable=False),
        sa.Column("placed_at", sa.String(40), nullable=False),
        sa.Column("dataset", sa.String(100)),
        sa.Column("source", sa.String(100)),
        sa.Column("period_from", sa.String(7)),
        sa.Column("period_to", sa.String(7)),
        sa.Column("release", sa.String(40)),
        sa.Column("lift_requested_by", sa.String(300)),
        sa.Column("lift_requested_at", sa.String(40)),
        sa.Column("lift_reason", sa.Text),
        sa.Column("lifted_by", sa.String(300)),
        sa.Column("lifted_at", sa.String(40)),
    )
    op.create_table(
        "deletion_requests",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("grant_id", sa.String(100), nullable=False),
        sa.Column("releases", sa.Text, nullable=False),
        sa.Column("due", sa.String(10), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("reminded_at", sa.String(40)),
        sa.Column("reminders", sa.Integer, nullable=False, server_default="0"),
        sa.Column("confirmed_by", sa.String(300)),
        sa.Column("confirmed_at", sa.String(40)),
        sa.Column("note", sa.Text),
        sa.UniqueConstraint("recipient", "grant_id", name="uq_deletion_request"),
    )
    op.create_index("ix_deletion_requests_recipient", "deletion_requests", ["recipient"])
    op.create_table(
        "record_snapshots",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("approved_by", sa.String(300), nullable=False),
        sa.Column("policy_hash", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("audit_index", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("record_snapshots")
    op.drop_index("ix_deletion_requests_recipient", table_name="deletion_requests")
    op.drop_table("deletion_requests")
    op.drop_table("legal_holds")
    op.drop_table("erasures")
    with op.batch_alter_table("releases") as batch:
        batch.drop_column("erased_at")
        batch.drop_column("last_pulled_at")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("erased_at")
        batch.drop_column("discarded_at")
