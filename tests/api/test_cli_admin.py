"""Administration commands run as an administrator would: `mimamori unlock-user`, and the CLI's
behaviour on a database that is not set up yet."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from api.auth import throttle
from api.cli import main
from domain.db import create_db_config, session_scope
from domain.enums import Role
from domain.models import AuditEvent, LoginThrottle
from domain.settings import Settings, get_settings
from tests.factories import make_org, make_user

T = TypeVar("T")


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Result]]:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MIMAMORI_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MIMAMORI_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("MIMAMORI_DB_POOL_DISABLED", "true")
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    for variable in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(variable, raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
    get_settings.cache_clear()


def in_db(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    async def _main() -> T:
        config = create_db_config(settings)
        try:
            async with session_scope(config) as session:
                return await work(session)
        finally:
            await config.get_engine().dispose()

    return asyncio.run(_main())


def test_unlock_user_forgets_the_failures_of_that_login_only(cli, settings: Settings) -> None:
    async def setup(session: Any) -> str:
        org = await make_org(session)
        await make_user(session, org, Role.COMMISSIONER, "kanda")
        await make_user(session, org, Role.COMMISSIONER, "ueno")
        for login_name in ("kanda", "ueno"):
            for address in ("203.0.113.9", "198.51.100.7"):
                await throttle.record_failure(session, settings, throttle.keys_for(login_name, address))
        return org.id

    org_id = in_db(settings, setup)
    result = cli("unlock-user", "--org", org_id, "--login", "kanda")
    assert result.exit_code == 0, result.output
    assert "kanda のログイン制限を解除しました" in result.stdout

    async def left(session: Any) -> tuple[int, list[str]]:
        count = await session.scalar(select(func.count()).select_from(LoginThrottle))
        actions = (await session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "user"))).all()
        return int(count or 0), list(actions)

    count, actions = in_db(settings, left)
    # ueno's two pairs and account, and the two address keys, stay; kanda's three are gone.
    assert count == 5
    assert "unlock" in actions

    missing = cli("unlock-user", "--org", org_id, "--login", "nobody", "--lang", "en")
    assert missing.exit_code == 1
    assert "No user “nobody” in this organisation." in missing.stderr
