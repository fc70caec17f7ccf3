"""Declarative base and the column mixins every table shares."""

from __future__ import annotations

import uuid
from datetime import datetime

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, ForeignKey, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from domain.clock import utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID_LENGTH = 64  # ids made on phones are the phone's: WatermelonDB uses 16 characters


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTimeUTC(timezone=True)}


class IdMixin:
    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)


class OrgMixin:
    """Every row belongs to exactly one organisation (tenant); no query crosses organisations."""

    @declared_attr
    def org_id(cls) -> Mapped[str]:
        return mapped_column(String(ID_LENGTH), ForeignKey("organisations.id"), index=True)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class FeedMixin:
    """A row that phones sync, or that decides what phones may hold.

    `feed_seq` is the row's position in the organisation's change feed, stamped by `domain.feed`
    at every flush that touches the row; rows are never deleted, only tombstoned with `deleted_at`,
    so that the next pull can tell phones to purge them.
    """

    feed_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
