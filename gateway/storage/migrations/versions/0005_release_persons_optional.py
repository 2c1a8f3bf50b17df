"""A release's person count may be absent: an aggregate carries only its published total
(none where that cell is suppressed), and a refused aggregate none at all.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("releases") as batch:
        batch.alter_column("persons", existing_type=sa.BigInteger(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("releases") as batch:
        batch.alter_column("persons", existing_type=sa.BigInteger(), nullable=False)
