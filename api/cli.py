"""The `mimamori` command. Every command calls the same services as the HTTP API."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from sqlalchemy.exc import DBAPIError

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


class _Commands(click.Group):
    """Every command: a database that is not set up or not reachable is one clear line and exit
    status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from api.cli_errors import database_problem

        global _chosen_locale
        _chosen_locale = None
        try:
            return super().invoke(ctx)
        except (DBAPIError, OSError) as exc:
            problem = database_problem(exc, get_settings().database_url)
            if problem is None:
                raise
            code, params = problem
            click.echo(translate(code, _locale(None), **params), err=True)
            ctx.exit(1)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from api.version import build_info

    info = build_info()
    click.echo(f"mimamori {info.version} (commit {info.commit})")
    ctx.exit()


@click.group(cls=_Commands)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Print the version and the git commit, then exit.",
)
def main() -> None:
    """見守り (Mimamori) — service and administration commands.

    Start with `mimamori migrate`; the data directory (SQLite file, generated key) is
    MIMAMORI_DATA_DIR, by default var/ of the source checkout."""


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
@click.option(
    "--workers",
    default=1,
    type=click.IntRange(1, 64),
    show_default=True,
    help="API processes on the one port; the scheduler runs in one of them (api/serving.py).",
)
@click.option(
    "--migrate/--no-migrate",
    default=True,
    show_default=True,
    help="Migrate to the newest schema first; --no-migrate where a one-shot `mimamori migrate` "
    "has done so before the API starts (compose.yaml).",
)
def serve(demo: bool, host: str | None, port: int | None, workers: int, migrate: bool) -> None:
    """Migrate, optionally load demo data, and serve the API (with the scheduler unless disabled)."""
    import uvicorn

    from api.proxy import uvicorn_proxy_options
    from api.serving import worker_environment
    from domain import migrate as migrations

    settings = get_settings()
    if demo:
        _refuse_demo_in_production(settings)
    _refuse_port_in_use(host or settings.host, port or settings.port)
    if migrate:
        migrations.upgrade(create_db_config(settings))
    if demo:
        from api.demo import load_demo_if_empty

        loaded = run_in_session(lambda session: load_demo_if_empty(session, settings))
        click.echo(translate("cli.demo_loaded" if loaded else "cli.demo_left", _locale(None)))
    _print_start_up(settings, host or settings.host, port or settings.port, demo)
    options: dict[str, Any] = {
        "host": host or settings.host,
        "port": port or settings.port,
        "log_level": settings.log_level.lower(),
        "access_log": False,  # access logs carry query strings; our own logs carry no personal data
        **uvicorn_proxy_options(settings),  # X-Forwarded-* only from MIMAMORI_TRUSTED_PROXIES
    }
    if workers == 1:
        from api.app import create_app

        uvicorn.run(create_app(settings), **options)
        return
    # Each process builds its own app from the environment (settings, the stored secret key).
    with worker_environment(settings, workers):
        uvicorn.run("api.app:create_app", factory=True, workers=workers, **options)


def _print_start_up(settings: Any, host: str, port: int, demo: bool) -> None:
    """Where to go next: the API documents and, with demo data, the accounts to sign in with."""
    from api.cli_errors import database_target

    base = f"http://{'127.0.0.1' if host in {'0.0.0.0', '::'} else host}:{port}"  # noqa: S104
    locale = _locale(None)
    click.echo(translate("cli.start_database", locale, target=database_target(settings.database_url)))
    click.echo(f"API: {base}/api/v1  OpenAPI: {base}/schema/openapi.json  Swagger UI: {base}/schema/swagger")
    click.echo(translate("cli.start_console", locale, url=f"{base}/console"))
    if demo:
        from api.demo import DEMO_LOGINS

        logins = ", ".join(DEMO_LOGINS.values())
        click.echo(translate("cli.start_demo_accounts", locale, logins=logins))


def _refuse_port_in_use(host: str, port: int) -> None:
    """Checked before migrating and loading the demo town: uvicorn would only find out after both,
    and after the scheduler had started its jobs, and then say so in English and in passing."""
    try:
        address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError):
        return  # a host that does not resolve: uvicorn's own error names it
    family, kind, proto, _, sockaddr = address
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(sockaddr)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                return
            click.echo(translate("cli.port_in_use", _locale(None), host=host, port=port), err=True)
            sys.exit(1)


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
    click.echo(translate("cli.demo_loaded" if loaded else "cli.demo_not_empty", _locale(None)))
    if not loaded:
        sys.exit(1)


# --- administration: organisations, users, resident lists -------------------------------------
# Messages in Japanese unless --lang en or the environment's locale is English (LANG=en_US…).

register(
    {
        "cli.push_dispatched": {
            "ja": "プッシュ通知: {count} 件の配信を処理しました",
            "en": "push: {count} deliveries handled",
        },
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
        "cli.demo_loaded": {"ja": "デモデータを読み込みました。", "en": "demo data: loaded"},
        "cli.demo_left": {
            "ja": "デモデータ: データベースが空ではないので、そのままにしました。",
            "en": "demo data: database not empty, left as it is",
        },
        "cli.demo_not_empty": {
            "ja": "デモデータ: データベースが空ではないので、読み込みませんでした。",
            "en": "demo data: database not empty, nothing loaded",
        },
        "cli.start_database": {"ja": "データベース: {target}", "en": "database: {target}"},
        "cli.start_console": {"ja": "コンソール: {url}", "en": "console: {url}"},
        "cli.start_demo_accounts": {
            "ja": "デモアカウント: {logins}（パスワード: MIMAMORI_DEMO_PASSWORD、既定は mimamori-demo）",
            "en": "demo accounts: {logins} (password: MIMAMORI_DEMO_PASSWORD, default mimamori-demo)",
        },
        "cli.port_in_use": {
            "ja": "{host}:{port} は別のプログラムが使っています。別のポートを指定してください"
            "（例: MIMAMORI_PORT=8001 make run、または mimamori serve --port 8001）。",
            "en": "{host}:{port} is already in use by another program. Choose another port "
            "(e.g. MIMAMORI_PORT=8001 make run, or mimamori serve --port 8001).",
        },
        "cli.demo_in_production": {
            "ja": "本番環境（MIMAMORI_ENVIRONMENT=production）ではデモデータを読み込めません。デモアカウントのパスワードは公開されています。",
            "en": "Demo data cannot be loaded in production (MIMAMORI_ENVIRONMENT=production): the demo accounts' password is public.",
        },
        "cli.code_reissued": {
            "ja": "{login} の新しい利用開始コード: {activation_code}\n有効期限: {expires}\n"
            "以前のコードとパスワードは使えなくなりました。本人に直接伝えてください。",
            "en": "New activation code for {login}: {activation_code}\nValid until: {expires}\n"
            "Earlier codes and the password no longer work. Hand it to the person directly.",
        },
        "cli.no_orgs": {
            "ja": "組織はまだありません（mimamori create-org で作成します）。",
            "en": "No organisations yet (create one with mimamori create-org).",
        },
        "cli.org_line": {
            "ja": "{id}  {name}  （{timezone}、{org_locale}、利用者{users}人）",
            "en": "{id}  {name}  ({timezone}, {org_locale}, {users} users)",
        },
        "cli.user_line": {
            "ja": "{login}  {role}  {name}  {state}  {id}",
            "en": "{login}  {role}  {name}  {state}  {id}",
        },
        "cli.state.active": {"ja": "利用中", "en": "active"},
        "cli.state.pending": {"ja": "利用開始待ち", "en": "not yet activated"},
        "cli.state.inactive": {"ja": "無効", "en": "inactive"},
        "cli.org_exists": {
            "ja": "組織「{name}」は既にあります（組織ID: {id}）。別の名前にするか、この組織を使ってください。",
            "en": "An organisation “{name}” already exists (id {id}). Choose another name or use it.",
        },
        "cli.org_not_found": {"ja": "組織「{org}」が見つかりません。", "en": "No organisation “{org}”."},
        "cli.login_taken": {
            "ja": "ログインID「{login}」は使えません（使用済みか予約語です）。",
            "en": "The login “{login}” cannot be used (taken or reserved).",
        },
        "cli.user_not_found": {
            "ja": "この組織に利用者「{login}」はいません。",
            "en": "No user “{login}” in this organisation.",
        },
        "cli.user_unlocked": {
            "ja": "{login} のログイン制限を解除しました（{cleared}件の失敗記録を消去）。",
            "en": "Unlocked {login} ({cleared} failure counters cleared).",
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
        "cli.update_new": {
            "ja": "新規 {line}行目 宛名番号 {register_number} {name}",
            "en": "new      line {line} number {register_number} {name}",
        },
        "cli.update_changed": {
            "ja": "変更 {line}行目 宛名番号 {register_number} {name}: {fields}",
            "en": "changed  line {line} number {register_number} {name}: {fields}",
        },
        "cli.update_unlisted": {
            "ja": "名簿になし 宛名番号 {register_number} {name}（終了させる場合はAPIで理由を添えて）",
            "en": "unlisted number {register_number} {name} (end them through the API, with a reason)",
        },
        "cli.consent_column.consent_commissioner": {
            "ja": "民生委員への提供同意",
            "en": "consent_commissioner",
        },
        "cli.consent_column.consent_volunteers": {
            "ja": "ボランティアへの提供同意",
            "en": "consent_volunteers",
        },
        "cli.update_consent_kept": {
            "ja": "同意の違い {line}行目 宛名番号 {register_number} {name}: {fields}"
            "（記録どおりのまま。同意はAPI・コンソールで日付を添えて記録してください）",
            "en": "consent  line {line} number {register_number} {name}: {fields} (kept as recorded; "
            "record consent through the API or the console, with its date)",
        },
        "cli.update_summary": {
            "ja": "新規{new}人、変更{changed}人、変更なし{unchanged}人、名簿になし{unlisted}人。",
            "en": "{new} new, {changed} changed, {unchanged} unchanged, {unlisted} no longer listed.",
        },
        "cli.update_done": {
            "ja": "{imported}人を登録し、{updated}人を更新しました。",
            "en": "Added {imported} and updated {updated} residents.",
        },
        **{
            f"cli.field.{key}": {"ja": ja, "en": key}
            for key, ja in (
                ("name", "氏名"),
                ("kana", "ふりがな"),
                ("birth_year", "生年"),
                ("address", "住所"),
                ("phone", "電話"),
                ("district_id", "地区"),
                ("household", "世帯"),
                ("risk_level", "リスク"),
                ("support_needs", "支援内容"),
                ("latitude", "緯度"),
                ("longitude", "経度"),
                ("register_number", "宛名番号"),
                ("consent_commissioner", "民生委員への提供同意（撤回）"),
                ("consent_volunteers", "ボランティアへの提供同意（撤回）"),
            )
        },
        "cli.import_rejected": {
            "ja": "{rows}行中{bad}行に誤りがあるため、何も登録していません（{count}件）。",
            "en": "Nothing imported: {bad} of {rows} rows have problems ({count} in all).",
        },
    }
)

LOGIN_PATTERN = r"^[A-Za-z0-9._-]{3,100}$"


_chosen_locale: str | None = None  # a command's --lang, for messages printed outside it


def _locale(lang: str | None) -> str:
    global _chosen_locale
    if lang:
        _chosen_locale = lang
        return lang
    if _chosen_locale:
        return _chosen_locale
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


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts)")


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


async def _find_org(session: Any, wanted: str) -> Any:
    """An organisation by id or by its exact name (names are unique)."""
    from sqlalchemy import or_, select

    from domain.models import Organisation

    org = await session.scalar(
        select(Organisation).where(or_(Organisation.id == wanted, Organisation.name == wanted.strip()))
    )
    if org is None:
        raise _Failed("cli.org_not_found", org=wanted)
    return org


def _operator(org: Any) -> Any:
    """The CLI acts as the organisation's coordinator, through the same services as the API."""
    from domain.access import Principal
    from domain.enums import Role

    return Principal(user_id="system:cli", org_id=org.id, role=Role.COORDINATOR, timezone=org.timezone)


@main.command("create-org")
@click.argument("name")
@click.option("--timezone", default=None, help="IANA timezone (default: Asia/Tokyo)")
@click.option("--locale", "org_locale", type=click.Choice(["ja", "en"]), default=None, help="Default: ja")
@click.option("--district", "districts", multiple=True, help="Create this district too (repeatable)")
@lang_option
@json_option
def create_org(
    name: str,
    timezone: str | None,
    org_locale: str | None,
    districts: tuple[str, ...],
    lang: str | None,
    as_json: bool,
) -> None:
    """Create an organisation (a municipality or council), optionally with its districts, and print
    its id."""
    from sqlalchemy import select

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
        existing = await session.scalar(select(Organisation).where(Organisation.name == name))
        if existing is not None:
            raise _Failed("cli.org_exists", name=name, id=existing.id)
        org = Organisation(name=name, timezone=timezone, locale=org_locale or settings.default_locale)
        session.add(org)
        await session.flush()
        session.add_all(District(org_id=org.id, name=d) for d in names)
        audit.record(
            session, None, "create", "organisation", org.id, org_id=org.id, via="cli", districts=len(names)
        )
        return org

    org = _run_admin(locale, work)
    if as_json:
        _print_json({"id": org.id, "name": org.name, "timezone": org.timezone, "locale": org.locale})
        return
    click.echo(translate("cli.org_created", locale, name=org.name, id=org.id))


@main.command("create-user")
@click.option("--org", "org_id", required=True, help="Organisation id or name")
@click.option("--login", "login_name", required=True, help="Sign-in id (letters, digits, . _ -)")
@click.option("--name", "display_name", required=True, help="Display name")
@click.option("--role", type=click.Choice(["coordinator", "commissioner", "volunteer"]), required=True)
@click.option("--district", "districts", multiple=True, help="District name or id (repeatable)")
@click.option("--locale", "user_locale", type=click.Choice(["ja", "en"]), default="ja")
@lang_option
@json_option
def create_user(
    org_id: str,
    login_name: str,
    display_name: str,
    role: str,
    districts: tuple[str, ...],
    user_locale: str,
    lang: str | None,
    as_json: bool,
) -> None:
    """Create a user and print the one-time activation code they set a password with."""
    from pydantic import ValidationError
    from sqlalchemy import or_, select

    from api.organisation import service as users
    from api.organisation.schemas import UserIn
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
        org = await _find_org(session, org_id)
        for wanted in districts:
            district_id = await session.scalar(
                select(District.id).where(
                    District.org_id == org.id, or_(District.id == wanted, District.name == wanted)
                )
            )
            if district_id is None:
                raise _Failed("cli.district_not_found", district=wanted)
            payload.district_ids.append(district_id)
        operator = _operator(org)
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
    if as_json:
        _print_json(
            {
                "id": created.id,
                "login": created.login,
                "role": role,
                "activation_code": created.activation_code,
                "activation_expires_at": expires.isoformat() if expires else None,
            }
        )
        return
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


async def _find_user(session: Any, org: Any, login_name: str) -> str:
    from sqlalchemy import select

    from domain.models import User

    user_id = await session.scalar(
        select(User.id).where(User.org_id == org.id, User.login == login_name.strip())
    )
    if user_id is None:
        raise _Failed("cli.user_not_found", login=login_name)
    return str(user_id)


@main.command("unlock-user")
@click.option("--org", "org_id", required=True, help="Organisation id or name")
@click.option("--login", "login_name", required=True, help="The user's sign-in id")
@lang_option
def unlock_user(org_id: str, login_name: str, lang: str | None) -> None:
    """Let a user who is slowed down after failed sign-ins try again at once (audited)."""
    from api.organisation import service as users

    locale = _locale(lang)

    async def work(session: Any) -> int:
        org = await _find_org(session, org_id)
        user_id = await _find_user(session, org, login_name)
        return (await users.unlock_user(session, _operator(org), user_id)).counters_cleared

    cleared = _run_admin(locale, work)
    click.echo(translate("cli.user_unlocked", locale, login=login_name.strip(), cleared=cleared))


@main.command("reissue-code")
@click.option("--org", "org_id", required=True, help="Organisation id or name")
@click.option("--login", "login_name", required=True, help="The user's sign-in id")
@lang_option
@json_option
def reissue_code(org_id: str, login_name: str, lang: str | None, as_json: bool) -> None:
    """Issue a new one-time activation code (also a password reset: the old password and every
    session end). Earlier codes stop working."""
    from api.organisation import service as users

    settings = get_settings()
    locale = _locale(lang)

    async def work(session: Any) -> tuple[Any, Any]:
        org = await _find_org(session, org_id)
        user_id = await _find_user(session, org, login_name)
        return await users.reissue_activation_code(session, _operator(org), settings, user_id), org

    issued, org = _run_admin(locale, work)
    expires = issued.activation_expires_at.astimezone(ZoneInfo(org.timezone))
    if as_json:
        _print_json(
            {
                "user_id": issued.user_id,
                "login": login_name.strip(),
                "activation_code": issued.activation_code,
                "activation_expires_at": expires.isoformat(),
            }
        )
        return
    click.echo(
        translate(
            "cli.code_reissued",
            locale,
            login=login_name.strip(),
            activation_code=issued.activation_code,
            expires=expires.strftime("%Y-%m-%d %H:%M %Z"),
        )
    )


@main.command("list-orgs")
@lang_option
@json_option
def list_orgs(lang: str | None, as_json: bool) -> None:
    """List the organisations with their ids, time zones and number of users."""
    from sqlalchemy import func, select

    from domain.models import Organisation, User

    locale = _locale(lang)

    async def work(session: Any) -> list[dict[str, Any]]:
        users = select(func.count()).where(User.org_id == Organisation.id).scalar_subquery()
        rows = await session.execute(
            select(
                Organisation.id, Organisation.name, Organisation.timezone, Organisation.locale, users
            ).order_by(Organisation.name, Organisation.id)
        )
        return [
            {"id": r[0], "name": r[1], "timezone": r[2], "locale": r[3], "users": int(r[4] or 0)}
            for r in rows
        ]

    orgs = _run_admin(locale, work)
    if as_json:
        _print_json(orgs)
        return
    if not orgs:
        click.echo(translate("cli.no_orgs", locale))
    for org in orgs:
        click.echo(
            translate(
                "cli.org_line",
                locale,
                id=org["id"],
                name=org["name"],
                timezone=org["timezone"],
                org_locale=org["locale"],
                users=org["users"],
            )
        )


@main.command("list-users")
@click.option("--org", "org_id", required=True, help="Organisation id or name")
@lang_option
@json_option
def list_users(org_id: str, lang: str | None, as_json: bool) -> None:
    """List an organisation's users: login, role, name, whether activated and active."""
    from api.organisation import service as users

    locale = _locale(lang)

    async def work(session: Any) -> list[Any]:
        org = await _find_org(session, org_id)
        items, _ = await users.list_users(
            session, _operator(org), role=None, district_id=None, active=None, q=None, offset=0, limit=100_000
        )
        return items

    items = _run_admin(locale, work)
    if as_json:
        _print_json([item.model_dump(mode="json") for item in items])
        return
    for item in items:
        state = "cli.state.active" if item.active else "cli.state.inactive"
        if item.active and not item.activated:
            state = "cli.state.pending"
        click.echo(
            translate(
                "cli.user_line",
                locale,
                login=item.login,
                role=translate(f"cli.role.{item.role}", locale),
                name=item.display_name,
                state=translate(state, locale),
                id=item.id,
            )
        )


@main.command("import-residents")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_id", required=True, help="Organisation id or name")
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing")
@click.option(
    "--update",
    is_flag=True,
    help="The whole register again, matched on 宛名番号: report new, changed and no longer listed "
    "residents (with --dry-run), then apply all or nothing",
)
@lang_option
@json_option
def import_residents_command(
    file: Path, org_id: str, dry_run: bool, update: bool, lang: str | None, as_json: bool
) -> None:
    """Import residents from a CSV file (UTF-8 or Shift_JIS/CP932; columns: docs/csv_import.md).
    All-or-nothing: any bad row and nothing is imported; every bad row is listed with its line."""
    from api.residents.csv_import import FILE_LINE, import_residents

    locale = _locale(lang)
    data = file.read_bytes()

    async def work(session: Any) -> Any:
        org = await _find_org(session, org_id)
        return await import_residents(session, org.id, data, dry_run=dry_run, update=update)

    report = _run_admin(locale, work)
    if as_json:
        _print_json(report.as_dict(locale))
        sys.exit(0 if report.ok else 1)
    if update:
        _print_register_update(report, locale)
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
    elif report.ok and update:
        click.echo(translate("cli.update_done", locale, imported=report.imported, updated=report.updated))
    elif report.ok:
        click.echo(translate("cli.import_done", locale, imported=report.imported))
    else:
        click.echo(translate("cli.import_rejected", locale, **counts), err=True)
    if not report.ok:
        sys.exit(1)


def _echo_fields_line(code: str, labels: str, row: dict[str, Any], locale: str) -> None:
    """One resident's line of the update report: where in the file, who, and which columns."""
    fields = ", ".join(translate(f"{labels}{name}", locale) for name in row["fields"])
    click.echo(
        translate(
            code,
            locale,
            line=row["line"],
            register_number=row["register_number"],
            name=row["name"],
            fields=fields,
        )
    )


def _print_register_update(report: Any, locale: str) -> None:
    for row in report.new:
        click.echo(translate("cli.update_new", locale, **row))
    for row in report.changed:
        _echo_fields_line("cli.update_changed", "cli.field.", row, locale)
    for row in report.consent_kept:
        _echo_fields_line("cli.update_consent_kept", "cli.consent_column.", row, locale)
    for row in report.no_longer_listed:
        click.echo(translate("cli.update_unlisted", locale, **row))
    click.echo(
        translate(
            "cli.update_summary",
            locale,
            new=len(report.new),
            changed=len(report.changed),
            unchanged=report.unchanged,
            unlisted=len(report.no_longer_listed),
        )
    )


@main.command()
@click.option("--once", is_flag=True, help="Run every job once and exit (cron, operators).")
def worker(once: bool) -> None:
    """Run the scheduled jobs (plan expansion, reminders, missed-contact detection, escalation,
    contact gaps, push dispatch) in this process. Safe to run several at once."""
    from api.logging import configure_logging
    from schedules import recurrence, runner

    settings = get_settings()
    configure_logging(settings)  # the same log format as the server, APScheduler quiet
    recurrence.configure(settings)
    config = create_db_config(settings)

    async def _main() -> None:
        try:
            if once:
                results = await runner.run_once(config)
                for job_id, result in results.items():
                    click.echo(f"{job_id}: {result}")
            else:
                from domain import live
                from notifications.background import dispatcher_wakeup

                click.echo("worker: running (Ctrl-C to stop)")
                # Urgent pushes written by any process wake this worker's dispatcher at once
                # (PostgreSQL NOTIFY); its scheduler's periodic dispatch remains the guarantee.
                async with (
                    live.listening(settings.database_url),
                    dispatcher_wakeup(config),
                ):
                    await runner.run_forever(config, settings.default_timezone)
        finally:
            await config.get_engine().dispose()

    try:
        asyncio.run(_main())
    except KeyboardInterrupt:  # pragma: no cover
        click.echo("worker: stopped")


@main.command()
@click.option(
    "--to",
    "target",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Backup file (default: backups/mimamori-<UTC time>.sqlite3 or .dump in the data directory)",
)
@lang_option
def backup(target: Path | None, lang: str | None) -> None:
    """Back up the database to a file only you can read (0600): SQLite online backup, or pg_dump
    for PostgreSQL. Restoring: README, "Backup and restore"."""
    from api.backup import BackupFailed
    from api.backup import backup as run_backup

    locale = _locale(lang)
    try:
        made = run_backup(get_settings(), target)
    except BackupFailed as failure:
        click.echo(translate(failure.code, locale, **failure.params), err=True)
        sys.exit(1)
    click.echo(translate("cli.backup_done", locale, path=made.path, size=made.size))


@main.command("dispatch-push")
def dispatch_push() -> None:
    """Send the due push deliveries now, once (the scheduler does this periodically)."""
    from notifications.cli import dispatch_now

    handled = asyncio.run(dispatch_now(get_settings()))
    click.echo(translate("cli.push_dispatched", _locale(None), count=handled))


if __name__ == "__main__":  # pragma: no cover
    main()
