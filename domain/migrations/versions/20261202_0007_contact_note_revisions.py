"""contact note revisions: what a correction through the API replaced

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    # advanced-alchemy's JsonB: JSONB on PostgreSQL, JSON elsewhere.
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "contact_note_revisions",
        sa.Column("note_id", sa.String(length=64), nullable=False),
        sa.Column("revised_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("revised_by", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("fields", _json(), nullable=False),
        sa.Column("previous", _json(), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["note_id"], ["contact_notes.id"], name=op.f("fk_contact_note_revisions_note_id_contact_notes")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_contact_note_revisions_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["revised_by"], ["users.id"], name=op.f("fk_contact_note_revisions_revised_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_note_revisions")),
    )
    with op.batch_alter_table("contact_note_revisions", schema=None) as batch_op:
        batch_op.create_index("ix_contact_note_revisions_note_at", ["note_id", "revised_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_note_revisions_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contact_note_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_note_revisions_org_id"))
        batch_op.drop_index("ix_contact_note_revisions_note_at")
    op.drop_table("contact_note_revisions")
