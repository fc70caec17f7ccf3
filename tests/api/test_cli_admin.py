"""Administration commands run as an administrator would: `mimamori unlock-user`, and the CLI's
behaviour on a database that is not set up yet."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from api import cli as cli_module
from api.auth import service as auth_service
from api.auth import throttle
from api.cli import main
from domain import settings as settings_module
from domain.db import create_db_config, session_scope
from domain.enums import Role
from domain.models import AuditEvent, LoginThrottle, Organisation, User
from domain.settings import Settings, default_data_dir, get_settings
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


@pytest.mark.parametrize("command", [["create-org", "見守り町"], ["list-orgs"], ["list-users", "--org", "x"]])
def test_an_unmigrated_database_gets_one_clear_line_not_a_traceback(
    cli, empty_database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: list[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    get_settings.cache_clear()
    result = cli(*command)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "先に `mimamori migrate` を実行してください" in lines[0]
    assert "Traceback" not in result.output and "sqlalchemy" not in result.output.lower()
    english = cli(*command, "--lang", "en") if command[0] != "list-orgs" else cli("list-orgs", "--lang", "en")
    assert "run `mimamori migrate` first" in english.stderr
    assert "password" not in english.stderr and ":secret@" not in english.stderr
    assert not (elsewhere / "var").exists()  # nothing made in the directory it was run from


def test_the_default_data_dir_does_not_depend_on_the_current_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("MIMAMORI_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    here = default_data_dir()
    assert here.is_absolute() and here == Path(settings_module.__file__).resolve().parent.parent / "var"
    # An installed package (no source checkout around it) keeps its data in the user's data dir.
    monkeypatch.setattr(settings_module, "PROJECT_DIR", tmp_path / "site-packages")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "mimamori"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_data_dir() == Path.home() / ".local" / "share" / "mimamori"


def test_an_organisation_name_is_created_once(cli, settings: Settings) -> None:
    first = cli("create-org", "見守り町")
    assert first.exit_code == 0, first.output
    again = cli("create-org", " 見守り町 ")
    assert again.exit_code == 1
    assert "組織「見守り町」は既にあります" in again.stderr
    count = in_db(settings, lambda s: s.scalar(select(func.count()).select_from(Organisation)))
    assert count == 1


def test_list_orgs_list_users_and_reissue_code_for_scripts(cli, settings: Settings) -> None:
    created = cli("create-org", "見守り町", "--json")
    assert created.exit_code == 0, created.output
    org = json.loads(created.stdout)
    user = cli(
        "create-user", "--org", "見守り町", "--login", "tanaka", "--name", "田中", "--role", "commissioner"
    )
    assert user.exit_code == 0, user.output

    orgs = json.loads(cli("list-orgs", "--json").stdout)
    assert [(o["id"], o["name"], o["users"]) for o in orgs] == [(org["id"], "見守り町", 1)]
    assert "見守り町" in cli("list-orgs").stdout
    users = json.loads(cli("list-users", "--org", org["id"], "--json").stdout)
    assert [(u["login"], u["role"], u["activated"]) for u in users] == [("tanaka", "commissioner", False)]
    assert "利用開始待ち" in cli("list-users", "--org", "見守り町").stdout

    reissued = cli("reissue-code", "--org", "見守り町", "--login", "tanaka")
    assert reissued.exit_code == 0, reissued.output
    code = re.search(r"([A-Z0-9]{4}-[A-Z0-9]{4})", reissued.stdout).group(1)

    async def activate(session: Any) -> bool:
        await auth_service.activate(session, settings, "tanaka", code, "a-good-new-password")
        user = await session.scalar(select(User).where(User.login == "tanaka"))
        return user.password_hash is not None

    assert in_db(settings, activate)
    again = json.loads(cli("list-users", "--org", "見守り町", "--json").stdout)
    assert again[0]["activated"] is True


def test_serve_says_where_the_api_documents_are(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: None)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'serve.sqlite3'}")
    monkeypatch.setenv("MIMAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(cli_module, "_chosen_locale", None)
    for variable in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["serve", "--demo", "--port", "8123"], catch_exceptions=False)
        monkeypatch.setenv("LANG", "en_US.UTF-8")
        english = CliRunner().invoke(main, ["serve", "--demo", "--port", "8123"], catch_exceptions=False)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "Swagger UI: http://127.0.0.1:8123/schema/swagger" in result.stdout
    assert "OpenAPI: http://127.0.0.1:8123/schema/openapi.json" in result.stdout
    assert f"データベース: {tmp_path / 'serve.sqlite3'}" in result.stdout
    # Japanese by default like every other command; English with LANG=en….
    assert "デモデータを読み込みました。" in result.stdout
    assert "コンソール: http://127.0.0.1:8123/console" in result.stdout
    assert "デモアカウント: demo-coordinator" in result.stdout
    assert english.exit_code == 0, english.output
    assert "demo data: database not empty, left as it is" in english.stdout
    assert "console: http://127.0.0.1:8123/console" in english.stdout


def test_serve_on_a_port_in_use_says_so_before_touching_the_database(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second `make run` (or another program on 8000): one line saying what to do, before the
    database is migrated, the demo town loaded or any job started."""
    from domain import migrate

    def no_migration(*_: Any) -> None:
        raise AssertionError("migrated although the server cannot listen")

    monkeypatch.setattr(migrate, "upgrade", no_migration)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = cli("serve", "--demo", "--host", "127.0.0.1", "--port", port)
        monkeypatch.setattr(cli_module, "_chosen_locale", None)
        monkeypatch.setenv("LANG", "en_US.UTF-8")
        english = cli("serve", "--host", "127.0.0.1", "--port", port)
    assert result.exit_code == 1, result.output
    assert f"127.0.0.1:{port} は別のプログラムが使っています。" in result.output
    assert "MIMAMORI_PORT=8001 make run" in result.output
    assert english.exit_code == 1, english.output
    assert f"127.0.0.1:{port} is already in use by another program." in english.output


def test_dispatch_push_reports_in_japanese_by_default(cli, settings: Settings) -> None:
    result = cli("dispatch-push")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "プッシュ通知: 0 件の配信を処理しました"
