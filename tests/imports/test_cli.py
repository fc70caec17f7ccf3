"""`mimamori create-org`, `create-user` and `import-residents`, run as an administrator would."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from api.auth import service as auth_service
from api.auth.passwords import verify_secret
from api.cli import main
from domain.clock import utcnow
from domain.db import create_db_config, session_scope
from domain.models import District, Organisation, Resident, User, UserDistrict
from domain.settings import Settings, get_settings
from tests.imports.csv_samples import BAD_ROWS, GOOD_ROWS, csv_bytes

T = TypeVar("T")


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Result]]:
    """Invoke `mimamori …` against the test database, in a Japanese environment by default."""
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


def _org_id(result: Result) -> str:
    match = re.search(r"組織ID: (\w+)", result.stdout)
    assert match, result.output
    return match.group(1)


def _new_org_with_districts(cli, settings: Settings) -> str:
    result = cli("create-org", "テスト町", "--district", "中央地区", "--district", "北地区")
    assert result.exit_code == 0, result.output
    org_id = _org_id(result)

    async def districts(session: Any) -> list[str]:
        return sorted(await session.scalars(select(District.name).where(District.org_id == org_id)))

    assert in_db(settings, districts) == ["中央地区", "北地区"]
    return org_id


def _count_residents(settings: Settings) -> int:
    async def count(session: Any) -> int:
        return int(await session.scalar(select(func.count()).select_from(Resident)))

    return in_db(settings, count)


def test_create_org_stores_timezone_and_locale(cli, settings) -> None:
    result = cli("create-org", "見守り町", "--timezone", "Asia/Tokyo", "--locale", "en")
    assert result.exit_code == 0, result.output
    assert "組織を作成しました: 見守り町" in result.stdout
    org = in_db(settings, lambda session: session.get(Organisation, _org_id(result)))
    assert (org.name, org.timezone, org.locale) == ("見守り町", "Asia/Tokyo", "en")


def test_create_org_refuses_an_unknown_timezone(cli, settings) -> None:
    result = cli("create-org", "見守り町", "--timezone", "Asia/Nowhere", "--lang", "en")
    assert result.exit_code == 1
    assert "Unknown timezone “Asia/Nowhere”" in result.stderr
    assert in_db(settings, lambda s: s.scalar(select(func.count()).select_from(Organisation))) == 0


def test_create_user_prints_an_activation_code_that_works_once(cli, settings) -> None:
    org_id = _new_org_with_districts(cli, settings)
    result = cli(
        "create-user",
        "--org",
        org_id,
        "--login",
        "tanaka",
        "--name",
        "田中 民生",
        "--role",
        "commissioner",
        "--district",
        "中央地区",
        "--district",
        "北地区",
    )
    assert result.exit_code == 0, result.output
    code = re.search(r"利用開始コード: ([A-Z0-9]{4}-[A-Z0-9]{4})", result.stdout).group(1)

    async def check(session: Any) -> None:
        user = await session.scalar(select(User).where(User.login == "tanaka"))
        assert user.role == "commissioner" and user.password_hash is None
        assert verify_secret(user.activation_code_hash, code)
        assert timedelta(hours=71) < user.activation_expires_at - utcnow() <= timedelta(hours=72)
        held = await session.scalars(select(UserDistrict.district_id).where(UserDistrict.user_id == user.id))
        assert len(list(held)) == 2
        await auth_service.activate(session, settings, "tanaka", code.lower(), "a-good-new-password")
        assert verify_secret(user.password_hash, "a-good-new-password")
        assert user.activation_code_hash is None  # single use

    in_db(settings, check)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--org", "no-such-org"], "組織「no-such-org」が見つかりません。"),
        (["--login", "x y"], "ログインIDは英数字と"),
        (["--district", "南地区"], "地区「南地区」がこの組織にありません。"),
        (["--role", "volunteer", "--district", "中央地区"], "ボランティアは地区を担当できません"),
    ],
)
def test_create_user_refuses_bad_input_in_japanese(cli, settings, args: list[str], message: str) -> None:
    org_id = _new_org_with_districts(cli, settings)
    options = {"--org": org_id, "--login": "sato", "--name": "佐藤", "--role": "commissioner"}
    extra = []
    for index in range(0, len(args), 2):
        if args[index] in options and args[index] != "--district":
            options[args[index]] = args[index + 1]
        else:
            extra += args[index : index + 2]
    result = cli("create-user", *[x for pair in options.items() for x in pair], *extra)
    assert result.exit_code == 1
    assert message in result.stderr
    assert in_db(settings, lambda s: s.scalar(select(func.count()).select_from(User))) == 0


def test_create_user_refuses_a_taken_login(cli, settings) -> None:
    org_id = _new_org_with_districts(cli, settings)
    args = ("create-user", "--org", org_id, "--login", "sato", "--name", "佐藤", "--role", "coordinator")
    assert cli(*args).exit_code == 0
    again = cli(*args, "--lang", "en")
    assert again.exit_code == 1
    assert "The login “sato” cannot be used (taken or reserved)." in again.stderr


def test_import_residents_reports_every_bad_line_and_imports_nothing(cli, settings, tmp_path: Path) -> None:
    org_id = _new_org_with_districts(cli, settings)
    path = tmp_path / "名簿.csv"
    path.write_bytes(csv_bytes(BAD_ROWS, encoding="cp932"))
    result = cli("import-residents", path, "--org", org_id)
    assert result.exit_code == 1
    for expected in ("3行目 [地区]", "4行目 [生年]", "4行目 [リスク]", "5行目 [氏名]", "6行目 [経度]"):
        assert expected in result.stderr
    assert "5行中4行に誤りがあるため、何も登録していません" in result.stderr
    assert _count_residents(settings) == 0
    english = cli("import-residents", path, "--org", org_id, "--dry-run", "--lang", "en")
    assert english.exit_code == 1
    assert "line 3 [地区] No district named “南地区”" in english.stderr


def test_import_residents_dry_run_then_import(cli, settings, tmp_path: Path) -> None:
    org_id = _new_org_with_districts(cli, settings)
    path = tmp_path / "名簿.csv"
    path.write_bytes(csv_bytes(GOOD_ROWS, bom=True))
    dry = cli("import-residents", path, "--org", org_id, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "確認のみ（登録していません）: 3行すべて取り込めます。" in dry.stdout
    assert _count_residents(settings) == 0
    real = cli("import-residents", path, "--org", org_id)
    assert real.exit_code == 0, real.output
    assert "3人を登録しました。" in real.stdout
    assert _count_residents(settings) == 3


def test_english_environment_gets_english_messages(cli, settings, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    path = tmp_path / "a.csv"
    path.write_bytes(csv_bytes(GOOD_ROWS))
    result = cli("import-residents", path, "--org", "missing")
    assert result.exit_code == 1
    assert "No organisation “missing”." in result.stderr


def test_import_residents_update_reports_then_applies(cli, settings, tmp_path: Path) -> None:
    org_id = _new_org_with_districts(cli, settings)
    first, second = tmp_path / "4月.csv", tmp_path / "5月.csv"
    header = "宛名番号,氏名,住所,地区,リスク\r\n"
    first.write_bytes(
        (
            header
            + "1001,山田 花子,テスト町中央1-1,中央地区,高\r\n1002,鈴木 一郎,テスト町北1-1,北地区,中\r\n"
        ).encode("cp932")
    )
    second.write_bytes(
        (
            header
            + "1001,山田 花子,テスト町中央7-7,中央地区,高\r\n1003,田中 次郎,テスト町中央3-3,中央地区,低\r\n"
        ).encode("cp932")
    )
    assert cli("import-residents", first, "--org", org_id).exit_code == 0
    dry = cli("import-residents", second, "--org", org_id, "--update", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "新規 3行目 宛名番号 1003 田中 次郎" in dry.stdout
    assert "変更 2行目 宛名番号 1001 山田 花子: 住所" in dry.stdout
    assert "名簿になし 宛名番号 1002 鈴木 一郎" in dry.stdout
    assert "新規1人、変更1人、変更なし0人、名簿になし1人。" in dry.stdout
    assert _count_residents(settings) == 2
    report = json.loads(
        cli("import-residents", second, "--org", org_id, "--update", "--dry-run", "--json").stdout
    )
    assert [r["register_number"] for r in report["new"]] == ["1003"]
    assert [r["fields"] for r in report["changed"]] == [["address"]]
    applied = cli("import-residents", second, "--org", org_id, "--update")
    assert applied.exit_code == 0, applied.output
    assert "1人を登録し、1人を更新しました。" in applied.stdout
    assert _count_residents(settings) == 3


def test_import_residents_update_withdraws_and_lists_consent_differences(
    cli, settings, tmp_path: Path
) -> None:
    org_id = _new_org_with_districts(cli, settings)
    first, second = tmp_path / "4月.csv", tmp_path / "5月.csv"
    header = "宛名番号,氏名,住所,地区,リスク,民生委員への提供同意\r\n"
    first.write_bytes(
        (
            header
            + "1001,山田 花子,テスト町中央1-1,中央地区,高,有\r\n1002,鈴木 一郎,テスト町北1-1,北地区,中,無\r\n"
        ).encode("cp932")
    )
    second.write_bytes(
        (
            header
            + "1001,山田 花子,テスト町中央1-1,中央地区,高,撤回\r\n1002,鈴木 一郎,テスト町北1-1,北地区,中,有\r\n"
        ).encode("cp932")
    )
    assert cli("import-residents", first, "--org", org_id).exit_code == 0
    dry = cli("import-residents", second, "--org", org_id, "--update", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "変更 2行目 宛名番号 1001 山田 花子: 民生委員への提供同意（撤回）" in dry.stdout
    assert "同意の違い 3行目 宛名番号 1002 鈴木 一郎: 民生委員への提供同意（記録どおりのまま" in dry.stdout

    async def statuses(session: Any) -> set[str]:
        return set(await session.scalars(select(Resident.status)))

    assert in_db(settings, statuses) == {"active"}  # not the consent columns' values
