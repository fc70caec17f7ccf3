"""Fixtures of the schedules tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

from domain.db import create_db_config
from domain.settings import Settings


@pytest.fixture
async def db_config(settings: Settings) -> AsyncIterator[SQLAlchemyAsyncConfig]:
    """The jobs' database config, pooled like a worker's (jobs run on the test's own event loop)."""
    config = create_db_config(settings.model_copy(update={"db_pool_disabled": False}))
    yield config
    await config.get_engine().dispose()
