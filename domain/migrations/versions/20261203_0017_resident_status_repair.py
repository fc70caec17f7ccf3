"""resident status repair: residents whose status an import overwrote with a consent value

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03

Until this release the resident import reused one variable for the resident's status and the
consent columns: every resident imported from a file with a consent column (民生委員への提供同意,
ボランティアへの提供同意) was stored with the consent's value (`given`, `not_given`, `withdrawn`)
as its status, and every read of that resident failed. The status the file gave is lost; such
residents become `active` (watched: missed contacts raise alerts — the safe side), with a new
change-feed position so that phones receive the repaired row. Coordinators should review the
status of residents imported before this release (CHANGELOG).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from domain.feed import FEED_SEQUENCE

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _next_position(bind: sa.engine.Connection) -> int:
    """A change-feed position (see domain.feed), so that phones notice the repaired rows."""
    if bind.dialect.name == "postgresql":
        return int(bind.execute(sa.text(f"SELECT nextval('{FEED_SEQUENCE}')")).scalar_one())
    position = bind.execute(
        sa.text("UPDATE change_feed_counter SET position = position + 1 WHERE id = 1 RETURNING position")
    ).scalar_one_or_none()
    if position is None:
        bind.execute(sa.text("INSERT INTO change_feed_counter (id, position) VALUES (1, 1)"))
        position = 1
    return int(position)


# ResidentStatus at this revision (frozen here, not read from domain code).
BROKEN = "SELECT count(*) FROM residents WHERE status IS NULL OR status NOT IN ('active', 'paused', 'ended')"
REPAIR = (
    "UPDATE residents SET status = 'active', feed_seq = :seq "
    "WHERE status IS NULL OR status NOT IN ('active', 'paused', 'ended')"
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text(BROKEN)).scalar_one():
        bind.execute(sa.text(REPAIR), {"seq": _next_position(bind)})


def downgrade() -> None:
    """Nothing to undo: the overwritten values were never statuses."""
