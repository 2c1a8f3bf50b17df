"""Each delivery's quality report (JSON): rows and persons, completeness per column, coverage
by municipality, events outside the month, repeated rows, date precision, change against the
previous month, and the flags the dataset's thresholds raise. Deliveries accepted before carry
none.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("quality", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("quality")
