"""liaison counterpart: with whom a commissioner's liaison (連絡調整) was made

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03

`commissioner_activities.counterpart` (行政, 社協, 学校, 警察, 医療・介護, その他), sent by phones on
sync schema v5. Nullable: existing rows and older phones' liaisons count as その他. A plain ALTER
(no batch rebuild), so SQLite keeps the table's feed guard triggers.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("commissioner_activities", sa.Column("counterpart", sa.String(length=30), nullable=True))


def downgrade() -> None:
    op.drop_column("commissioner_activities", "counterpart")
