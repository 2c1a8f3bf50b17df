"""Subject sets: a large entry's subject keys packed in one value, indexed in the background.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.storage.dialects import install_append_only_triggers

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("audit_subject_sets", "audit_subject_merges")


def upgrade() -> None:
    op.create_table(
        "audit_subject_sets",
        sa.Column("entry_index", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("keys", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "audit_subject_merges",
        sa.Column("entry_index", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("chunk", sa.Integer, primary_key=True, autoincrement=False),
    )
    install_append_only_triggers(op.get_bind(), TABLES)


def downgrade() -> None:
    # Keys of entries not yet indexed exist only here: refuse rather than lose them.
    pending = op.get_bind().execute(sa.text("SELECT count(*) FROM audit_subject_sets")).scalar()
    if pending:
        raise RuntimeError(
            "audit_subject_sets holds subject keys; index them (gateway audit index-subjects) "
            "and keep this revision"
        )
    for table in reversed(TABLES):
        op.drop_table(table)
