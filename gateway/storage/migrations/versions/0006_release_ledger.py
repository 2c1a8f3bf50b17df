"""The release ledger: every published aggregate cell a recipient was shown (its source, key,
label hashes, months and true person count), for the differencing check of later tables.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "release_ledger",
        sa.Column("release_id", sa.String(40), nullable=False),
        sa.Column("cell", sa.BigInteger, nullable=False),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("key", sa.BigInteger, nullable=False),
        sa.Column("label0", sa.BigInteger, nullable=False),
        sa.Column("label1", sa.BigInteger, nullable=False),
        sa.Column("label2", sa.BigInteger, nullable=False),
        sa.Column("label3", sa.BigInteger, nullable=False),
        sa.Column("first_month", sa.Integer, nullable=False),
        sa.Column("last_month", sa.Integer, nullable=False),
        sa.Column("persons", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("release_id", "source", "cell"),
    )
    op.create_index("ix_release_ledger_lookup", "release_ledger", ["recipient", "source"])


def downgrade() -> None:
    op.drop_index("ix_release_ledger_lookup", table_name="release_ledger")
    op.drop_table("release_ledger")
