"""legal basis records: a legal basis is its own record, never a column that keeps a withdrawn
consent sharing

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Every `consents.legal_basis` becomes a `legal_bases` row (same resident, recipient, recorder; the
consent's last change as `recorded_at`). A basis that cannot cover the recipient under the fixed
list (`domain.legal_bases`, frozen below) is moved as an *ended* record, so that the history says
what was there and the sharing it allowed stops. Then the column goes.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import uuid4

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

from domain.feed import FEED_SEQUENCE, guard_ddl

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What each basis may cover at this revision (frozen here, not read from domain code).
COVERS = {
    "council_confidentiality": {
        "district_commissioner",
        "council_staff",
        "partner_npo",
        "community_support_centre",
    },
    "evacuation_support_list": {"district_commissioner", "council_staff", "community_support_centre"},
}
NOT_COVERED_REASON = "migration 0003: this legal basis cannot cover this recipient"


def _next_position(bind: sa.engine.Connection) -> int:
    """A change-feed position (see domain.feed), so that phones notice the moved rows."""
    if bind.dialect.name == "postgresql":
        return int(bind.execute(sa.text(f"SELECT nextval('{FEED_SEQUENCE}')")).scalar_one())
    position = bind.execute(
        sa.text("UPDATE change_feed_counter SET position = position + 1 WHERE id = 1 RETURNING position")
    ).scalar_one_or_none()
    if position is None:
        bind.execute(sa.text("INSERT INTO change_feed_counter (id, position) VALUES (1, 1)"))
        position = 1
    return int(position)


def upgrade() -> None:
    op.create_table(
        "legal_bases",
        sa.Column("resident_id", sa.String(length=64), nullable=False),
        sa.Column("basis", sa.String(length=40), nullable=False),
        sa.Column("recipient", sa.String(length=40), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=True),
        sa.Column("recorded_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("ended_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=64), nullable=True),
        sa.Column("end_reason", sa.String(length=200), nullable=True),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("feed_seq", sa.BigInteger(), nullable=False),
        sa.Column("deleted_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["ended_by"], ["users.id"], name=op.f("fk_legal_bases_ended_by_users")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_legal_bases_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"], name=op.f("fk_legal_bases_recorded_by_users")),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_legal_bases_resident_id_residents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_bases")),
    )
    with op.batch_alter_table("legal_bases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_legal_bases_org_id"), ["org_id"], unique=False)
        batch_op.create_index("ix_legal_bases_org_feed", ["org_id", "feed_seq"], unique=False)
        batch_op.create_index("ix_legal_bases_resident_active", ["resident_id", "ended_at"], unique=False)

    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT org_id, resident_id, recipient, legal_basis, recorded_by, updated_at FROM consents "
            "WHERE legal_basis IS NOT NULL AND deleted_at IS NULL ORDER BY org_id, resident_id, recipient"
        )
    ).all()
    legal_bases = sa.table(
        "legal_bases",
        *(
            sa.column(name)
            for name in (
                "id",
                "org_id",
                "resident_id",
                "basis",
                "recipient",
                "note",
                "recorded_by",
                "recorded_at",
                "ended_at",
                "end_reason",
                "created_at",
                "updated_at",
                "feed_seq",
            )
        ),
    )
    now = datetime.now(UTC)
    for org_id, resident_id, recipient, basis, recorded_by, updated_at in rows:
        covered = recipient in COVERS.get(basis, set())
        bind.execute(
            legal_bases.insert().values(
                id=uuid4().hex,
                org_id=org_id,
                resident_id=resident_id,
                basis=basis,
                recipient=recipient,
                note="",
                recorded_by=recorded_by,
                recorded_at=updated_at or now,
                ended_at=None if covered else now,
                end_reason=None if covered else NOT_COVERED_REASON,
                created_at=now,
                updated_at=now,
                feed_seq=_next_position(bind),
            )
        )

    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_column("legal_basis")

    # SQLite's batch mode rebuilds `consents`, dropping its triggers: put the feed guards back, and
    # guard the new feed table.
    for table in ("consents", "legal_bases"):
        for statement in guard_ddl(bind.dialect.name, table):
            op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("legal_basis", sa.String(length=40), nullable=True))
    # Back into the column: the active basis of each (resident, recipient) whose consent row exists.
    # A column write must still advance the consent's feed position (the guards demand it).
    active = bind.execute(
        sa.text(
            "SELECT resident_id, recipient, min(basis) FROM legal_bases "
            "WHERE ended_at IS NULL AND deleted_at IS NULL GROUP BY resident_id, recipient"
        )
    ).all()
    for table in ("consents",):
        for statement in guard_ddl(bind.dialect.name, table):
            op.execute(statement)
    for resident_id, recipient, basis in active:
        bind.execute(
            sa.text(
                "UPDATE consents SET legal_basis = :basis, feed_seq = :seq "
                "WHERE resident_id = :resident AND recipient = :recipient"
            ),
            {"basis": basis, "seq": _next_position(bind), "resident": resident_id, "recipient": recipient},
        )
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS legal_bases_feed_guard ON legal_bases")
        op.execute("DROP FUNCTION IF EXISTS legal_bases_feed_guard()")
    with op.batch_alter_table("legal_bases", schema=None) as batch_op:
        batch_op.drop_index("ix_legal_bases_resident_active")
        batch_op.drop_index("ix_legal_bases_org_feed")
        batch_op.drop_index(batch_op.f("ix_legal_bases_org_id"))
    op.drop_table("legal_bases")
