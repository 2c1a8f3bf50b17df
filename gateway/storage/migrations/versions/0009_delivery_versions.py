"""Versions of a dataset's month: each accepted delivery, a reinstated earlier delivery, or a
withdrawal (no delivery) is a new version, and the newest version is what releases read.

Backfill: the deliveries already stored become versions 1, 2, ... of their month in the order
they were accepted (the newest was what releases read before, and stays current).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_versions",
        sa.Column("dataset", sa.String(100), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("delivery_id", sa.String(40)),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("audit_index", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("dataset", "period", "version"),
    )
    op.create_index("ix_delivery_versions_delivery", "delivery_versions", ["delivery_id"])
    rows = op.get_bind().execute(
        sa.text(
            "SELECT id, dataset, period, received_at, pushed_by, audit_index FROM deliveries "
            "ORDER BY dataset, period, audit_index"
        )
    )
    versions: dict[tuple[str, str], int] = {}
    backfill = []
    for row in rows:
        key = (row.dataset, row.period)
        versions[key] = versions.get(key, 0) + 1
        backfill.append(
            {
                "dataset": row.dataset,
                "period": row.period,
                "version": versions[key],
                "delivery_id": row.id,
                "action": "delivered",
                "recorded_at": row.received_at,
                "recorded_by": row.pushed_by,
                "audit_index": row.audit_index,
            }
        )
    if backfill:
        table = sa.table(
            "delivery_versions",
            *(sa.column(c) for c in backfill[0]),
        )
        op.bulk_insert(table, backfill)


def downgrade() -> None:
    op.drop_index("ix_delivery_versions_delivery", "delivery_versions")
    op.drop_table("delivery_versions")
