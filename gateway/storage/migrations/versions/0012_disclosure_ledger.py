"""The disclosure ledger of everything published: every cell of every released table (hidden
ones too), to any recipient, with the data it was computed from (``basis``), its scope
(``published``, or the recipient a confidential table stays with) and what its publication
tells about its count (``lower``, ``upper``; -1 for no upper bound). Rows recorded before carry
neither: they were published exact (``lower`` = ``upper`` = ``persons``). ``ledger_tables``
holds each table's place and shape, so the LP audit can rebuild its lines.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("release_ledger") as batch:
        batch.add_column(sa.Column("table_name", sa.String(100), nullable=False, server_default=""))
        batch.add_column(sa.Column("basis", sa.String(64), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("scope", sa.String(100), nullable=False, server_default="published")
        )
        batch.add_column(sa.Column("lower", sa.Float))
        batch.add_column(sa.Column("upper", sa.Float))
    op.create_index("ix_release_ledger_source", "release_ledger", ["source", "basis"])
    op.create_table(
        "ledger_tables",
        sa.Column("release_id", sa.String(40), nullable=False),
        sa.Column("table_name", sa.String(100), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("basis", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(100), nullable=False),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("shape", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("release_id", "table_name"),
    )
    op.create_index("ix_ledger_tables_basis", "ledger_tables", ["source", "basis"])


def downgrade() -> None:
    op.drop_index("ix_ledger_tables_basis", table_name="ledger_tables")
    op.drop_table("ledger_tables")
    op.drop_index("ix_release_ledger_source", table_name="release_ledger")
    with op.batch_alter_table("release_ledger") as batch:
        for name in ("upper", "lower", "scope", "basis", "table_name"):
            batch.drop_column(name)
