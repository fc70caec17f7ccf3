"""Cells a spreadsheet can hold that the register must not take: a cell that grows past its column
when normalised (㌀ → アパート, ⒇ → (20)), control characters in a UTF-16 file. Each is a row error
naming the line and column, and nothing of the file is stored — as the dry run said."""

from __future__ import annotations

from sqlalchemy import select

from domain.enums import Role
from domain.models import Resident
from tests.factories import login, make_district, make_org, make_user

URL = "/api/v1/residents/import"
HEADER = "氏名,ふりがな,住所,電話,地区,リスク,緊急連絡先氏名,緊急連絡先電話"


async def _coordinator(client, db) -> dict[str, str]:
    async with db() as session:
        org = await make_org(session)
        await make_district(session, org, "中央地区")
        await make_user(session, org, Role.COORDINATOR, "coord")
    return {**await login(client, "coord"), "Content-Type": "text/csv"}


async def _import(client, headers: dict[str, str], data: bytes, *, dry_run: bool):
    return await client.post(URL, params={"dry_run": str(dry_run).lower()}, content=data, headers=headers)


async def test_a_cell_longer_than_its_column_once_normalised_is_a_row_error(client, db) -> None:
    headers = await _coordinator(client, db)
    kana = "㌀" * 100  # 100 characters in the file, 400 katakana once normalised
    phone = "0" + "⒇" * 39  # 40 characters in the file, 157 digits and brackets once normalised
    rows = [
        f"山田 花子,{kana},テスト市1-1,,中央地区,高,,",
        f"山田 一郎,,テスト市1-2,,中央地区,高,山田 次郎,{phone}",
    ]
    data = ("\r\n".join([HEADER, *rows]) + "\r\n").encode()
    for dry_run in (True, False):  # the check says what the import then does
        response = await _import(client, headers, data, dry_run=dry_run)
        assert response.status_code == (200 if dry_run else 400), response.text
        errors = [(e["line"], e["field"], e["code"]) for e in response.json()["errors"]]
        assert errors == [
            (2, "ふりがな", "field.too_long"),
            (3, "緊急連絡先電話", "field.too_long"),
        ], errors
    async with db() as session:
        assert (await session.scalars(select(Resident))).all() == []


async def test_control_characters_in_a_utf16_file_are_refused_as_in_utf8(client, db) -> None:
    headers = await _coordinator(client, db)
    # NUL and a terminal escape in a name: stored by SQLite, refused by PostgreSQL with no line,
    # and printed by the CLI's report — a UTF-8 file with them was already refused.
    text = "氏名,住所,地区,リスク\r\n山田\x00\x1b]0;x\x07花子,テスト市1-1,中央地区,高\r\n"
    for encoded in (text.encode(), text.encode("utf-16")):
        response = await _import(client, headers, encoded, dry_run=False)
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["code"] == "import.encoding"
    async with db() as session:
        assert (await session.scalars(select(Resident))).all() == []
