"""published statistics: a month's suppressed statistics, published once and frozen

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03

`published_statistics`: per organisation and calendar month, the one suppressed table (every
district's counts and the hidden cells) as first published, with the k used, when and by whom.
Later suppressed files, charts and trends of the month are read from it (docs/reports.md,
"Publication"). Unique (org_id, month): concurrent first requests store one.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    # advanced-alchemy's JsonB: JSONB on PostgreSQL, JSON elsewhere.
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _utc() -> sa.types.TypeEngine:
    return advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    op.create_table(
        "published_statistics",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("published_at", _utc(), nullable=False),
        sa.Column("published_by", sa.String(length=64), nullable=False),
        sa.Column("table", _json(), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_published_statistics_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["published_by"], ["users.id"], name=op.f("fk_published_statistics_published_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_published_statistics")),
        sa.UniqueConstraint("org_id", "month", name=op.f("uq_published_statistics_org_id_month")),
    )
    op.create_index(op.f("ix_published_statistics_org_id"), "published_statistics", ["org_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_published_statistics_org_id"), table_name="published_statistics")
    op.drop_table("published_statistics")
