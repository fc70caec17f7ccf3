"""activity record: support field and topic on contact notes, commissioners' activities, reviews

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

The commissioners' monthly activity record (民生委員・児童委員活動記録) is prepared from their notes:
a note with a support field is a consultation (相談・支援); activities not about one resident are
`commissioner_activities` rows, synced to the commissioner's phone (sync schema v4) and therefore
under the change feed (guard triggers, `(org_id, feed_seq)` index). A month a commissioner has
reviewed is an `activity_record_reviews` row. Plain ALTERs on contact_notes (no batch rebuild), so
SQLite keeps that table's feed guard triggers.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from domain.feed import guard_ddl

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    # advanced-alchemy's JsonB: JSONB on PostgreSQL, JSON elsewhere.
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _utc() -> sa.types.TypeEngine:
    return advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    op.add_column("contact_notes", sa.Column("support_field", sa.String(length=20), nullable=True))
    op.add_column("contact_notes", sa.Column("support_topic", sa.String(length=30), nullable=True))
    op.create_table(
        "commissioner_activities",
        sa.Column("commissioner_id", sa.String(length=64), nullable=False),
        sa.Column("district_id", sa.String(length=64), nullable=True),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("activity_date", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("feed_seq", sa.BigInteger(), nullable=False),
        sa.Column("deleted_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["commissioner_id"], ["users.id"], name=op.f("fk_commissioner_activities_commissioner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["district_id"], ["districts.id"], name=op.f("fk_commissioner_activities_district_id_districts")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_commissioner_activities_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commissioner_activities")),
    )
    op.create_index(
        "ix_commissioner_activities_org_feed", "commissioner_activities", ["org_id", "feed_seq"], unique=False
    )
    op.create_index(
        "ix_commissioner_activities_commissioner_date",
        "commissioner_activities",
        ["commissioner_id", "activity_date"],
        unique=False,
    )
    op.create_index(
        op.f("ix_commissioner_activities_district_id"),
        "commissioner_activities",
        ["district_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_commissioner_activities_org_id"), "commissioner_activities", ["org_id"], unique=False
    )
    for statement in guard_ddl(op.get_bind().dialect.name, "commissioner_activities"):
        op.execute(statement)

    op.create_table(
        "activity_record_reviews",
        sa.Column("commissioner_id", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("reviewed_at", _utc(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("figures", _json(), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["commissioner_id"], ["users.id"], name=op.f("fk_activity_record_reviews_commissioner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_activity_record_reviews_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"], ["users.id"], name=op.f("fk_activity_record_reviews_reviewed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_record_reviews")),
        sa.UniqueConstraint(
            "commissioner_id", "month", name=op.f("uq_activity_record_reviews_commissioner_id_month")
        ),
    )
    op.create_index(
        op.f("ix_activity_record_reviews_org_id"), "activity_record_reviews", ["org_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_activity_record_reviews_org_id"), table_name="activity_record_reviews")
    op.drop_table("activity_record_reviews")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS commissioner_activities_feed_guard ON commissioner_activities")
        op.execute("DROP FUNCTION IF EXISTS commissioner_activities_feed_guard()")
    op.drop_index(op.f("ix_commissioner_activities_org_id"), table_name="commissioner_activities")
    op.drop_index(op.f("ix_commissioner_activities_district_id"), table_name="commissioner_activities")
    op.drop_index("ix_commissioner_activities_commissioner_date", table_name="commissioner_activities")
    op.drop_index("ix_commissioner_activities_org_feed", table_name="commissioner_activities")
    op.drop_table("commissioner_activities")
    op.drop_column("contact_notes", "support_topic")
    op.drop_column("contact_notes", "support_field")
