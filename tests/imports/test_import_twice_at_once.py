"""The same file imported twice at the same moment (a double click, a retried request, two API
processes) registers nobody twice: on PostgreSQL the second import waits for the first's
transaction, then finds every row already registered and changes nothing."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from api.residents.csv_import import import_residents
from domain.models import Resident
from tests.factories import make_district, make_org

FILE = "氏名,住所,地区,リスク\r\n" + "".join(f"同時 {i},中央町{i},中央地区,高\r\n" for i in range(30))


@pytest.mark.postgres_only
async def test_two_imports_of_one_file_at_once_register_each_resident_once(db) -> None:
    async with db() as s:
        org = await make_org(s)
        await make_district(s, org, "中央地区")
        org_id = org.id

    async def one_import():
        async with db() as s:
            report = await import_residents(s, org_id, FILE.encode(), dry_run=False)
            await asyncio.sleep(0.2)  # still in the transaction: the other import must wait for it
            return report

    reports = await asyncio.gather(one_import(), one_import())
    assert sorted(r.imported for r in reports) == [0, 30]
    refused = next(r for r in reports if not r.imported)
    assert {e.code for e in refused.errors} == {"import.already_registered"}
    async with db() as s:
        assert await s.scalar(select(func.count()).select_from(Resident)) == 30
