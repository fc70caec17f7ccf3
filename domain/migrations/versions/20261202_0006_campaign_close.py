"""safety-check campaigns can be closed: who closed it and the final tally

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import Text

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("safety_check_campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_by", sa.String(length=64), nullable=True))
        # The tally as it stood when the campaign closed (counts only; see schedules.campaign_close).
        batch_op.add_column(
            sa.Column(
                "final_tally",
                sa.JSON()
                .with_variant(postgresql.JSONB(astext_type=Text()), "cockroachdb")
                .with_variant(advanced_alchemy.types.json.ORA_JSONB(), "oracle")
                .with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("safety_check_campaigns", schema=None) as batch_op:
        batch_op.drop_column("final_tally")
        batch_op.drop_column("closed_by")
