"""The `mimamori` command. Every command calls the same services as the HTTP API."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from domain.db import create_db_config, session_scope
from domain.settings import get_settings

T = TypeVar("T")


def run_in_session(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(session)` in one committed unit of work on the configured database."""
    settings = get_settings()
    config = create_db_config(settings)

    async def _main() -> T:
        try:
            async with session_scope(config) as session:
                return await work(session)
        finally:
            await config.get_engine().dispose()

    return asyncio.run(_main())


@click.group()
def main() -> None:
    """見守り (Mimamori) — service and administration commands."""


@main.command()
def migrate() -> None:
    """Upgrade the database schema to the newest migration."""
    from domain import migrate as migrations

    settings = get_settings()
    migrations.upgrade(create_db_config(settings))
    click.echo("migrations: at head")


@main.command()
@click.option("--demo/--no-demo", default=False, help="Load the demo town when the database is empty.")
@click.option("--host", default=None, help="Default: MIMAMORI_HOST or 127.0.0.1")
@click.option("--port", default=None, type=int, help="Default: MIMAMORI_PORT or 8000")
def serve(demo: bool, host: str | None, port: int | None) -> None:
    """Migrate, optionally load demo data, and serve the API (with the scheduler unless disabled)."""
    import uvicorn

    from api.app import create_app
    from domain import migrate as migrations

    settings = get_settings()
    migrations.upgrade(create_db_config(settings))
    if demo:
        from api.demo import load_demo_if_empty

        loaded = run_in_session(lambda session: load_demo_if_empty(session, settings))
        click.echo("demo data: loaded" if loaded else "demo data: database not empty, left as it is")
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,  # access logs carry query strings; our own logs carry no personal data
    )


@main.command()
def demo() -> None:
    """Load the demo town (3 districts, 300 residents) into an empty database."""
    from api.demo import load_demo_if_empty

    settings = get_settings()
    loaded = run_in_session(lambda session: load_demo_if_empty(session, settings))
    click.echo("demo data: loaded" if loaded else "demo data: database not empty, nothing loaded")
    if not loaded:
        sys.exit(1)


@main.command()
@click.option("--once", is_flag=True, help="Run every job once and exit (cron, operators).")
def worker(once: bool) -> None:
    """Run the scheduled jobs (plan expansion, reminders, missed-contact detection, escalation,
    contact gaps, push dispatch) in this process. Safe to run several at once."""
    from schedules import runner

    settings = get_settings()
    config = create_db_config(settings)

    async def _main() -> None:
        try:
            if once:
                results = await runner.run_once(config)
                for job_id, result in results.items():
                    click.echo(f"{job_id}: {result}")
            else:
                click.echo("worker: running (Ctrl-C to stop)")
                await runner.run_forever(config, settings.default_timezone)
        finally:
            await config.get_engine().dispose()

    try:
        asyncio.run(_main())
    except KeyboardInterrupt:  # pragma: no cover
        click.echo("worker: stopped")


if __name__ == "__main__":  # pragma: no cover
    main()
