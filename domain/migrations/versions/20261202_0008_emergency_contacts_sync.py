"""emergency contacts sync: an (org_id, feed_seq) index, as every phone table has

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

Emergency contacts become a phone table in sync schema version 3; every pull reads the newest feed
position of each phone table (`max(feed_seq)` per organisation), one index entry with this index.
A plain CREATE INDEX (no batch rebuild), so SQLite keeps the table's feed guard triggers.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_emergency_contacts_org_feed", "emergency_contacts", ["org_id", "feed_seq"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_emergency_contacts_org_feed", table_name="emergency_contacts")
