"""The `mimamori` command. Every command calls the same services as the HTTP API."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from domain.db import create_db_config, session_scope
from domain.errors import DomainError
from domain.i18n import register, translate
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


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from api.version import build_info

    info = build_info()
    click.echo(f"mimamori {info.version} (commit {info.commit})")
    ctx.exit()


@click.group()
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Print the version and the git commit, then exit.",
)
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
    from api.proxy import uvicorn_proxy_options
    from domain import migrate as migrations

    settings = get_settings()
    if demo:
        _refuse_demo_in_production(settings)
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
        **uvicorn_proxy_options(settings),  # X-Forwarded-* only from MIMAMORI_TRUSTED_PROXIES
    )


def _refuse_demo_in_production(settings: Any) -> None:
    """Demo accounts share a published password: never in production."""
    if settings.is_production:
        click.echo(translate("cli.demo_in_production", _locale(None)), err=True)
        sys.exit(2)


@main.command()
def demo() -> None:
    """Load the demo town (3 districts, 300 residents) into an empty database."""
    from api.demo import load_demo_if_empty
    from domain import migrate as migrations

    settings = get_settings()
    _refuse_demo_in_production(settings)
    migrations.upgrade(create_db_config(settings))
    loaded = run_in_session(lambda session: load_demo_if_empty(session, settings))
    click.echo("demo data: loaded" if loaded else "demo data: database not empty, nothing loaded")
    if not loaded:
        sys.exit(1)


# --- administration: organisations, users, resident lists -------------------------------------
# Messages in Japanese unless --lang en or the environment's locale is English (LANG=en_US…).

register(
    {
        "cli.org_created": {
            "ja": "組織を作成しました: {name}\n組織ID: {id}",
            "en": "Organisation created: {name}\nOrganisation id: {id}",
        },
        "cli.user_created": {
            "ja": "利用者を作成しました: {login}（{role}）\n利用開始コード: {activation_code}\n有効期限: {expires}\n"
            "このコードは一度だけ表示されます。本人に直接伝えてください。",
            "en": "User created: {login} ({role})\nActivation code: {activation_code}\nValid until: {expires}\n"
            "This code is shown only once. Hand it to the person directly.",
        },
        "cli.bad_timezone": {
            "ja": "タイムゾーン「{value}」は不明です（例: Asia/Tokyo）。",
            "en": "Unknown timezone “{value}” (e.g. Asia/Tokyo).",
        },
        "cli.bad_name": {
            "ja": "名前は1〜{max}文字で入力してください。",
            "en": "The name must be 1 to {max} characters.",
        },
        "cli.bad_login": {
            "ja": "ログインIDは英数字と . _ - で3〜100文字にしてください。",
            "en": "The login must be 3–100 letters, digits, “.”, “_” or “-”.",
        },
        "cli.demo_in_production": {
            "ja": "本番環境（MIMAMORI_ENVIRONMENT=production）ではデモデータを読み込めません。デモアカウントのパスワードは公開されています。",
            "en": "Demo data cannot be loaded in production (MIMAMORI_ENVIRONMENT=production): the demo accounts' password is public.",
        },
        "cli.org_not_found": {"ja": "組織「{org}」が見つかりません。", "en": "No organisation “{org}”."},
        "cli.login_taken": {
            "ja": "ログインID「{login}」は使えません（使用済みか予約語です）。",
            "en": "The login “{login}” cannot be used (taken or reserved).",
        },
        "cli.district_not_found": {
            "ja": "地区「{district}」がこの組織にありません。",
            "en": "No district “{district}” in this organisation.",
        },
        "cli.volunteer_district": {
            "ja": "ボランティアは地区を担当できません（担当は対象者ごとに割り当てます）。",
            "en": "Volunteers do not hold districts (they are assigned residents one by one).",
        },
        "cli.role.coordinator": {"ja": "コーディネーター", "en": "coordinator"},
        "cli.role.commissioner": {"ja": "民生委員", "en": "commissioner"},
        "cli.role.volunteer": {"ja": "ボランティア", "en": "volunteer"},
        "cli.import_line": {"ja": "{line}行目 [{field}] {message}", "en": "line {line} [{field}] {message}"},
        "cli.import_file": {"ja": "ファイル: {message}", "en": "file: {message}"},
        "cli.import_ignored": {"ja": "取り込まない列: {columns}", "en": "Columns not imported: {columns}"},
        "cli.import_dry_ok": {
            "ja": "確認のみ（登録していません）: {rows}行すべて取り込めます。",
            "en": "Dry run (nothing written): all {rows} rows can be imported.",
        },
        "cli.import_dry_bad": {
            "ja": "確認のみ（登録していません）: {rows}行中{bad}行に誤りがあります（{count}件）。",
            "en": "Dry run (nothing written): {bad} of {rows} rows have problems ({count} in all).",
        },
        "cli.import_done": {"ja": "{imported}人を登録しました。", "en": "Imported {imported} residents."},
        "cli.import_rejected": {
            "ja": "{rows}行中{bad}行に誤りがあるため、何も登録していません（{count}件）。",
            "en": "Nothing imported: {bad} of {rows} rows have problems ({count} in all).",
        },
    }
)

LOGIN_PATTERN = r"^[A-Za-z0-9._-]{3,100}$"


def _locale(lang: str | None) -> str:
    if lang:
        return lang
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable)
        if value:
            return "en" if value.lower().startswith("en") else "ja"
    return "ja"


lang_option = click.option(
    "--lang",
    type=click.Choice(["ja", "en"]),
    default=None,
    help="Message language (default: ja, or en by LANG)",
)


class _Failed(Exception):
    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code, self.params = code, params


def _run_admin(locale: str, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run a command's unit of work; a refused request prints its reason and exits with 1."""
    try:
        return run_in_session(work)
    except _Failed as failure:
        click.echo(translate(failure.code, locale, **failure.params), err=True)
    except DomainError as error:
        details = [translate(e.code, locale, **e.params) for e in error.errors]
        click.echo(" ".join([translate(error.code, locale, **error.params), *details]), err=True)
    sys.exit(1)


@main.command("create-org")
@click.argument("name")
@click.option("--timezone", default=None, help="IANA timezone (default: Asia/Tokyo)")
@click.option("--locale", "org_locale", type=click.Choice(["ja", "en"]), default=None, help="Default: ja")
@click.option("--district", "districts", multiple=True, help="Create this district too (repeatable)")
@lang_option
def create_org(
    name: str, timezone: str | None, org_locale: str | None, districts: tuple[str, ...], lang: str | None
) -> None:
    """Create an organisation (a municipality or council), optionally with its districts, and print
    its id."""
    from domain import audit
    from domain.models import District, Organisation

    settings = get_settings()
    locale = _locale(lang)
    timezone = timezone or settings.default_timezone
    name = name.strip()

    async def work(session: Any) -> Organisation:
        if not 1 <= len(name) <= 200:
            raise _Failed("cli.bad_name", max=200)
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Asia" is a directory
            raise _Failed("cli.bad_timezone", value=timezone) from None
        names = list(dict.fromkeys(d.strip() for d in districts))  # once each, in the given order
        if any(not 1 <= len(d) <= 100 for d in names):
            raise _Failed("cli.bad_name", max=100)
        org = Organisation(name=name, timezone=timezone, locale=org_locale or settings.default_locale)
        session.add(org)
        await session.flush()
        session.add_all(District(org_id=org.id, name=d) for d in names)
        audit.record(
            session, None, "create", "organisation", org.id, org_id=org.id, via="cli", districts=len(names)
        )
        return org

    org = _run_admin(locale, work)
    click.echo(translate("cli.org_created", locale, name=org.name, id=org.id))


@main.command("create-user")
@click.option("--org", "org_id", required=True, help="Organisation id")
@click.option("--login", "login_name", required=True, help="Sign-in id (letters, digits, . _ -)")
@click.option("--name", "display_name", required=True, help="Display name")
@click.option("--role", type=click.Choice(["coordinator", "commissioner", "volunteer"]), required=True)
@click.option("--district", "districts", multiple=True, help="District name or id (repeatable)")
@click.option("--locale", "user_locale", type=click.Choice(["ja", "en"]), default="ja")
@lang_option
def create_user(
    org_id: str,
    login_name: str,
    display_name: str,
    role: str,
    districts: tuple[str, ...],
    user_locale: str,
    lang: str | None,
) -> None:
    """Create a user and print the one-time activation code they set a password with."""
    from pydantic import ValidationError
    from sqlalchemy import or_, select

    from api.organisation import service as users
    from api.organisation.schemas import UserIn
    from domain.access import Principal
    from domain.enums import Role
    from domain.errors import DomainError
    from domain.models import District, Organisation

    settings = get_settings()
    locale = _locale(lang)
    try:
        payload = UserIn(
            login=login_name.strip(), display_name=display_name.strip(), role=Role(role), locale=user_locale
        )
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0])
        raise click.ClickException(
            translate("cli.bad_login" if field == "login" else "cli.bad_name", locale, max=100)
        ) from exc
    if districts and role == Role.VOLUNTEER:
        raise click.ClickException(translate("cli.volunteer_district", locale))

    async def work(session: Any) -> tuple[Any, Organisation]:
        org = await session.get(Organisation, org_id)
        if org is None:
            raise _Failed("cli.org_not_found", org=org_id)
        for wanted in districts:
            district_id = await session.scalar(
                select(District.id).where(
                    District.org_id == org.id, or_(District.id == wanted, District.name == wanted)
                )
            )
            if district_id is None:
                raise _Failed("cli.district_not_found", district=wanted)
            payload.district_ids.append(district_id)
        # The CLI acts as the organisation's coordinator, through the same service as the API.
        operator = Principal(
            user_id="system:cli", org_id=org.id, role=Role.COORDINATOR, timezone=org.timezone
        )
        try:
            created = await users.create_user(session, operator, settings, payload)
        except DomainError as exc:
            if exc.code == "error.login_unavailable":
                raise _Failed("cli.login_taken", login=payload.login) from exc
            raise
        return created, org

    created, org = _run_admin(locale, work)
    expires = (
        created.activation_expires_at.astimezone(ZoneInfo(org.timezone))
        if created.activation_expires_at
        else None
    )
    click.echo(
        translate(
            "cli.user_created",
            locale,
            login=created.login,
            role=translate(f"cli.role.{role}", locale),
            activation_code=created.activation_code,
            expires=expires.strftime("%Y-%m-%d %H:%M %Z") if expires else "-",
        )
    )


@main.command("import-residents")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_id", required=True, help="Organisation id")
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing")
@lang_option
def import_residents_command(file: Path, org_id: str, dry_run: bool, lang: str | None) -> None:
    """Import residents from a CSV file (UTF-8 or Shift_JIS/CP932; columns: docs/csv_import.md).
    All-or-nothing: any bad row and nothing is imported; every bad row is listed with its line."""
    from api.residents.csv_import import FILE_LINE, import_residents
    from domain.models import Organisation

    locale = _locale(lang)
    data = file.read_bytes()

    async def work(session: Any) -> Any:
        if await session.get(Organisation, org_id) is None:
            raise _Failed("cli.org_not_found", org=org_id)
        return await import_residents(session, org_id, data, dry_run=dry_run)

    report = _run_admin(locale, work)
    for error in report.errors:
        if error.line == FILE_LINE:
            click.echo(translate("cli.import_file", locale, message=error.message(locale)), err=True)
        else:
            click.echo(
                translate(
                    "cli.import_line",
                    locale,
                    line=error.line,
                    field=error.field or "-",
                    message=error.message(locale),
                ),
                err=True,
            )
    if report.ignored_columns:
        click.echo(translate("cli.import_ignored", locale, columns=", ".join(report.ignored_columns)))
    counts = {"rows": report.rows, "bad": len({e.line for e in report.errors}), "count": len(report.errors)}
    if dry_run:
        click.echo(translate("cli.import_dry_ok" if report.ok else "cli.import_dry_bad", locale, **counts))
    elif report.ok:
        click.echo(translate("cli.import_done", locale, imported=report.imported))
    else:
        click.echo(translate("cli.import_rejected", locale, **counts), err=True)
    if not report.ok:
        sys.exit(1)


@main.command()
@click.option("--once", is_flag=True, help="Run every job once and exit (cron, operators).")
def worker(once: bool) -> None:
    """Run the scheduled jobs (plan expansion, reminders, missed-contact detection, escalation,
    contact gaps, push dispatch) in this process. Safe to run several at once."""
    from schedules import recurrence, runner

    settings = get_settings()
    recurrence.configure(settings)
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


@main.command("dispatch-push")
def dispatch_push() -> None:
    """Send the due push deliveries now, once (the scheduler does this periodically)."""
    from notifications.cli import dispatch_now

    click.echo(f"push: {asyncio.run(dispatch_now(get_settings()))} deliveries handled")
