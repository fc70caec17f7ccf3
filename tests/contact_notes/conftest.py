"""The sync tests' small town (two districts, coordinator, commissioners, a volunteer, residents
with and without consent), reused: notes over REST must behave as notes over sync."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

from domain.db import create_db_config
from domain.settings import Settings
from tests.sync.conftest import now, town

__all__ = ["now", "town"]


@pytest.fixture
async def db_config(settings: Settings) -> AsyncIterator[SQLAlchemyAsyncConfig]:
    """The jobs' database config (the missed-visit sweep runs on the test's own event loop)."""
    config = create_db_config(settings.model_copy(update={"db_pool_disabled": False}))
    yield config
    await config.get_engine().dispose()
