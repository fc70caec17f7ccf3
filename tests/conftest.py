"""Test fixtures. Every database test runs twice: on SQLite and on PostgreSQL.

PostgreSQL tests skip when no server answers at 127.0.0.1:5432, except under CI (CI=true), where a
missing PostgreSQL fails the run. Each run gets its own PostgreSQL database; each test starts empty
(SQLite: a fresh copy of a template file; PostgreSQL: TRUNCATE after the test).

Building the app costs about half a second (Litestar registers some 250 handlers), which was half
the suite's time. The database and the data directory therefore keep one place per test process
(emptied for every test), so that the `settings` fixture is one object per backend and the `app`
fixture can hand every test the app already built for it: each test still gets a fresh
`app.state`, a fresh engine and its own lifespan (see `app`). A test that changes the settings
gets them back as they were, and a test that asks for other settings builds its own app.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from domain.clock import clock
from domain.db import create_db_config, session_scope
from domain.models import Base
from domain.settings import Settings

PG_HOST = os.environ.get("MIMAMORI_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("MIMAMORI_TEST_PG_PORT", "5432"))
PG_ADMIN_URL = f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/postgres"
T = TypeVar("T")
UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even when an event loop is already running
    (session fixtures can be first requested from inside an async test)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _pg_url(database: str) -> str:
    return f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{database}"


async def _pg_admin(statement: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def _create_schema(url: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
    finally:
        await engine.dispose()


def _pg_available() -> str | None:
    try:
        _run(asyncio.wait_for(_pg_admin("SELECT 1"), timeout=5))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    problem = _pg_available()
    if problem:
        message = f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT} ({problem})"
        if UNDER_CI:
            pytest.fail(message + " — under CI the PostgreSQL tests must run", pytrace=False)
        pytest.skip(message)
    name = f"mimamori_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    _run(_pg_admin(f'CREATE DATABASE "{name}"'))
    _run(_create_schema(_pg_url(name)))
    yield name
    _run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    _run(_create_schema(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL-only tests are not collected for SQLite at all, and long runs only when asked
    for, so that a skip in the report only ever means a missing PostgreSQL."""
    long_runs_wanted = "long_run" in (config.getoption("markexpr") or "")
    kept, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if item.get_closest_marker("postgres_only") and params.get("backend") == "sqlite":
            dropped.append(item)
        elif item.get_closest_marker("long_run") and not long_runs_wanted:
            dropped.append(item)  # long fault and property runs: `pytest -m long_run`
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def process_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This test process's place for the test database (SQLite) and the data directory."""
    return tmp_path_factory.mktemp("process")


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, process_dir: Path) -> Iterator[str]:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = process_dir / "test.sqlite3"
        for leftover in (path, *(path.with_name(path.name + end) for end in ("-wal", "-shm", "-journal"))):
            leftover.unlink(missing_ok=True)
        shutil.copy(template, path)
        path.chmod(0o600)  # as the app's own start creates it (domain.db._private_sqlite_file)
        yield f"sqlite+aiosqlite:///{path}"
        return
    name: str = request.getfixturevalue("postgres_database")
    url = _pg_url(name)
    yield url
    _run(_truncate(url))


async def _truncate(url: str) -> None:
    """Empty every table. DELETE rather than TRUNCATE: a TRUNCATE of all tables gives each a new
    file and cost 0.5-3 s per test; a DELETE of a test's few rows costs milliseconds. As a replica
    would, the session skips triggers and foreign key checks (the feed's guards refuse a DELETE),
    so that the tables empty in any order, as TRUNCATE ... CASCADE emptied them."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            for table in reversed(Base.metadata.sorted_tables):
                await conn.execute(table.delete())
    finally:
        await engine.dispose()


@pytest.fixture
def data_dir(process_dir: Path) -> Path:
    """The data directory, empty at the start of every test (owner only, as the app makes it)."""
    path = process_dir / "data"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o700)
    return path


def _test_settings(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        db_pool_disabled=True,
        data_dir=data_dir,
        secret_key="test-secret-key-that-is-long-enough-for-hs256",
        run_scheduler=False,
        push_transport="recording",
        log_level="WARNING",
        password_hash_profile="fast",
    )


# Per backend, in this test process: the settings object every test gets, a pristine copy of it,
# and the app built for them with its state and database config as `create_app` left them.
_SHARED: dict[str, tuple[Settings, Settings, tuple[Litestar, dict[str, Any], dict[str, Any]] | None]] = {}


@pytest.fixture
def settings(backend: str, database_url: str, data_dir: Path) -> Iterator[Settings]:
    shared = _SHARED.get(backend)
    if shared is None or shared[0].database_url != database_url or shared[0].data_dir != data_dir:
        made = _test_settings(database_url, data_dir)
        shared = _SHARED[backend] = (made, made.model_copy(deep=True), None)
    yield shared[0]
    if shared[0] != shared[1]:  # the test changed a setting: the next test gets new settings and a new app
        _SHARED.pop(backend, None)


@pytest.fixture(autouse=True)
def _forget_db_config_keys() -> Iterator[None]:
    """advanced-alchemy gives every config a key unique in the process by appending a counter,
    found recursively: after about a thousand apps in one test run that recursion overflows. Each
    test's apps are gone when it ends, so their keys may be reused."""
    yield
    for registry in (
        "_SESSION_SCOPE_KEY_REGISTRY",
        "_ENGINE_APP_STATE_KEY_REGISTRY",
        "_SESSIONMAKER_APP_STATE_KEY_REGISTRY",
    ):
        getattr(SQLAlchemyAsyncConfig, registry).clear()


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    clock.reset()
    yield
    clock.reset()


@pytest.fixture
def app(settings: Settings, backend: str) -> Litestar:
    """The app for these settings. With the shared settings, the app built by an earlier test of
    this process is handed out again, reset to how `create_app` left it: the state it had then
    (the test's own keys, such as stream slots or the scheduler, are gone), no engine yet (the
    lifespan creates a fresh one, without an earlier test's event listeners, and a session maker
    bound to it), and the process-wide
    settings applied again (an earlier test may have built an app with other settings)."""
    from api.app import configure_process, create_app

    shared = _SHARED.get(backend)
    if shared is None or shared[0] is not settings:
        return create_app(settings)  # a test's own settings
    if shared[2] is None:
        built = create_app(settings)
        _SHARED[backend] = (
            shared[0],
            shared[1],
            (built, dict(built.state), dict(vars(built.state.db_config))),
        )
        return built
    built, state, db_config = shared[2]
    built.state.clear()
    built.state.update(state)
    # advanced-alchemy keeps the engine and the session maker bound to it on the config
    vars(built.state.db_config).clear()
    vars(built.state.db_config).update(db_config)
    configure_process(settings)
    return built


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture
def db(settings: Settings) -> Callable[[], AbstractAsyncContextManager[AsyncSession]]:
    """`async with db() as session:` — a committed unit of work, like a job or CLI command."""
    config = create_db_config(settings)
    return lambda: session_scope(config)


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database with no schema at all (for migration and start-up tests)."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    request.getfixturevalue("postgres_database")  # skips (or fails under CI) without PostgreSQL
    name = f"mimamori_empty_{uuid.uuid4().hex[:8]}"
    _run(_pg_admin(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    _run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
