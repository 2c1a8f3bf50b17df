"""The schema as of the first release: records, the audit log and its append-only triggers.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.storage.dialects import install_append_only_triggers

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

AUDIT_TABLES = ("audit_entries", "audit_nodes", "audit_checkpoints", "audit_subjects")


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("dataset", sa.String(100), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("blob_key", sa.String(300), nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("pushed_by", sa.String(200), nullable=False),
        sa.Column("audit_index", sa.BigInteger, nullable=False),
        sa.Column("vault_blob_key", sa.String(300), nullable=False),
        sa.UniqueConstraint("dataset", "period", "sha256", name="uq_delivery_content"),
    )
    op.create_index("ix_deliveries_dataset_period", "deliveries", ["dataset", "period"])
    op.create_table(
        "extracts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("audit_index", sa.BigInteger, nullable=False),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("decided_at", sa.String(40)),
        sa.Column("decision_note", sa.Text),
    )
    op.create_index("ix_extracts_recipient", "extracts", ["recipient"])
    op.create_table(
        "releases",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("extract_id", sa.String(40), nullable=False),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("persons", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("key_version", sa.Integer, nullable=False),
        sa.Column("identifier", sa.String(30), nullable=False),
        sa.Column("blob_key", sa.String(300), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("released_by", sa.String(200), nullable=False),
        sa.Column("audit_index", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_releases_extract_id", "releases", ["extract_id"])
    op.create_table(
        "audit_entries",
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("event_type", sa.String(60), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("dataset", sa.String(100)),
        sa.Column("recipient", sa.String(100)),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("leaf_hash", sa.String(64), nullable=False),
    )
    for column in ("recorded_at", "event_type", "actor", "dataset", "recipient"):
        op.create_index(f"ix_audit_entries_{column}", "audit_entries", [column])
    op.create_table(
        "audit_nodes",
        sa.Column("level", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_table(
        "audit_subjects",
        sa.Column("entry_index", sa.BigInteger, nullable=False),
        sa.Column("subject", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_audit_subjects_subject", "audit_subjects", ["subject"])
    op.create_index("ix_audit_subjects_entry", "audit_subjects", ["entry_index"])
    install_append_only_triggers(op.get_bind(), AUDIT_TABLES)


def downgrade() -> None:
    raise NotImplementedError("the audit log is append-only: there is no way back")
