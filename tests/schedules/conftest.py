"""Fixtures of the schedules tests: a job-side database config and note recording the way sync
does it (insert the ContactNote, then `await contact_recorded`)."""

from __future__ import annotations


import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

from domain.db import create_db_config
from domain.settings import Settings


@pytest.fixture
def db_config(settings: Settings) -> SQLAlchemyAsyncConfig:
    return create_db_config(settings)


