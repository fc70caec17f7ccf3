"""resident register number: the municipality's own number, for re-importing the register

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # 宛名番号 / 住民番号 as the municipality's register has it; NULL for residents registered
    # without one (several NULLs never clash in a unique index). Plain ALTERs, not batch mode: on
    # SQLite a batch would copy the table, which other tables' foreign keys point at.
    op.add_column("residents", sa.Column("register_number", sa.String(length=40), nullable=True))
    op.create_index(
        "ux_residents_org_register_number", "residents", ["org_id", "register_number"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ux_residents_org_register_number", table_name="residents")
    op.drop_column("residents", "register_number")
