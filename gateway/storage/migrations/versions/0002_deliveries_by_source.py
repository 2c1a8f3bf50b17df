"""Index deliveries by source: a source lists its own deliveries.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_deliveries_source", "deliveries", ["source", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_source", table_name="deliveries")
