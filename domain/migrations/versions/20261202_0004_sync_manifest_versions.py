"""sync manifest versions: what a phone may hold, per answered pull, merged instead of replaced

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> Any:
    return (
        sa.JSON()
        .with_variant(postgresql.JSONB(astext_type=Text()), "cockroachdb")
        .with_variant(advanced_alchemy.types.json.ORA_JSONB(), "oracle")
        .with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
    )


LEGACY = sa.table(
    "sync_device_state",
    sa.column("device_id", sa.String),
    sa.column("org_id", sa.String),
    sa.column("scope_key", sa.String),
    sa.column("manifest", sa.JSON),
    sa.column("manifest_recheck", sa.JSON),
    sa.column("manifest_from", sa.BigInteger),
    sa.column("manifest_at", sa.BigInteger),
    sa.column("pending", sa.JSON),
    sa.column("pending_recheck", sa.JSON),
    sa.column("pending_at", sa.BigInteger),
    sa.column("pending_scope_key", sa.String),
    sa.column("cursor_floor", sa.BigInteger),
)
VERSIONS = sa.table(
    "sync_manifest_versions",
    sa.column("id", sa.String),
    sa.column("org_id", sa.String),
    sa.column("device_id", sa.String),
    sa.column("base", sa.BigInteger),
    sa.column("lo", sa.BigInteger),
    sa.column("hi", sa.BigInteger),
    sa.column("scope_key", sa.String),
    sa.column("held", sa.JSON),
    sa.column("recheck", sa.JSON),
    sa.column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)),
    sa.column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)),
)


def upgrade() -> None:
    op.create_table(
        "sync_manifest_versions",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("base", sa.BigInteger(), nullable=False),
        sa.Column("lo", sa.BigInteger(), nullable=False),
        sa.Column("hi", sa.BigInteger(), nullable=False),
        sa.Column("scope_key", sa.String(length=200), nullable=False),
        sa.Column("held", _json(), nullable=False),
        sa.Column("recheck", _json(), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_sync_manifest_versions_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_sync_manifest_versions_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_manifest_versions")),
    )
    with op.batch_alter_table("sync_manifest_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_manifest_versions_device_id"), ["device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sync_manifest_versions_org_id"), ["org_id"], unique=False)

    # Carry what phones hold over: the confirmed manifest and the pending one become versions, so
    # that no phone's deletions are lost and its cursor is still recognised.
    bind = op.get_bind()
    now = datetime.now(UTC)
    rows = bind.execute(sa.select(*[c for c in LEGACY.c if c.name != "cursor_floor"])).all()
    for row in rows:
        carried = []
        if row.manifest_from is not None and row.manifest_from >= 0:
            carried.append(
                (
                    row.manifest_from,
                    row.manifest_from,
                    row.manifest_at,
                    row.scope_key or "",
                    row.manifest or {},
                    row.manifest_recheck or {},
                )
            )
        elif row.manifest:  # an unknown cursor: kept for deletions, selected by no cursor
            carried.append((-1, -1, -1, "", row.manifest, {}))
        if row.pending is not None and row.pending_at is not None:
            carried.append(
                (
                    row.manifest_at,
                    row.pending_at,
                    row.pending_at,
                    row.pending_scope_key or "",
                    row.pending,
                    row.pending_recheck or {},
                )
            )
        for base, lo, hi, key, held, recheck in carried:
            bind.execute(
                VERSIONS.insert().values(
                    id=uuid.uuid4().hex,
                    org_id=row.org_id,
                    device_id=row.device_id,
                    base=base,
                    lo=lo,
                    hi=hi,
                    scope_key=key,
                    held=held,
                    recheck=recheck,
                    created_at=now,
                    updated_at=now,
                )
            )

    with op.batch_alter_table("sync_device_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cursor_floor", sa.BigInteger(), nullable=False, server_default="0"))
    with op.batch_alter_table("sync_device_state", schema=None) as batch_op:
        batch_op.alter_column("cursor_floor", server_default=None)
        for name in (
            "scope_key",
            "manifest",
            "manifest_recheck",
            "manifest_from",
            "manifest_at",
            "pending",
            "pending_recheck",
            "pending_at",
            "pending_scope_key",
        ):
            batch_op.drop_column(name)


def downgrade() -> None:
    with op.batch_alter_table("sync_device_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scope_key", sa.String(length=200), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("manifest", _json(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("manifest_recheck", _json(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("manifest_from", sa.BigInteger(), nullable=False, server_default="-1"))
        batch_op.add_column(sa.Column("manifest_at", sa.BigInteger(), nullable=False, server_default="-1"))
        batch_op.add_column(sa.Column("pending", _json(), nullable=True))
        batch_op.add_column(sa.Column("pending_recheck", _json(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("pending_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("pending_scope_key", sa.String(length=200), nullable=True))
    # Everything a phone may hold survives as one manifest that no cursor selects: its next pull
    # is a full resend, but every deletion still reaches it.
    bind = op.get_bind()
    union: dict[str, dict[str, set[str]]] = {}
    for device_id, held in bind.execute(sa.select(VERSIONS.c.device_id, VERSIONS.c.held)).all():
        tables = union.setdefault(device_id, {})
        for table, ids in (held or {}).items():
            tables.setdefault(table, set()).update(ids)
    for device_id, tables in union.items():
        bind.execute(
            LEGACY.update()
            .where(LEGACY.c.device_id == device_id)
            .values(manifest={t: sorted(ids) for t, ids in tables.items()})
        )
    with op.batch_alter_table("sync_device_state", schema=None) as batch_op:
        batch_op.drop_column("cursor_floor")
    with op.batch_alter_table("sync_manifest_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_manifest_versions_org_id"))
        batch_op.drop_index(batch_op.f("ix_sync_manifest_versions_device_id"))
    op.drop_table("sync_manifest_versions")
