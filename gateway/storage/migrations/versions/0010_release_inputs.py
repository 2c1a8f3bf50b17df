"""Releases name the deliveries they read, and which version of each month: a JSON list.
Releases made before carry none (what they read was the newest delivery at the time).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("releases", sa.Column("inputs", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("releases") as batch:
        batch.drop_column("inputs")
