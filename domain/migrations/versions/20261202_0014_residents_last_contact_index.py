"""residents by last contact: the working list's page in list order without sorting the town

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The working list reads its page as two index ranges (never reached; reached, oldest or
    # newest first) and stops after the page (api/reports/working_list.py).
    op.create_index("ix_residents_org_last_contact", "residents", ["org_id", "last_contact_at"])


def downgrade() -> None:
    op.drop_index("ix_residents_org_last_contact", table_name="residents")
