"""The import and export page: the resident import's dry run reports bad lines and writes
nothing, the confirm imports once (a second press changes nothing), CSRF is required, volunteers
are refused; exports in each format through the API's export code, within what the person may
read, and audited."""

from __future__ import annotations

import base64
import re
import zlib

from sqlalchemy import func, select

from domain.models import AuditEvent, Resident
from tests.console.conftest import csrf_from, sign_in

PAGE = "/console/import-export"
HEADER = "氏名,ふりがな,住所,地区,リスク\r\n"
GOOD = HEADER + "取込 一郎,トリコミ イチロウ,中央町1-1,中央地区,高\r\n取込 二郎,,中央町1-2,中央地区,低\r\n"
BAD = HEADER + "取込 一郎,トリコミ イチロウ,中央町1-1,中央地区,高\r\n取込 二郎,,中央町1-2,南地区,低\r\n"


async def _residents(db) -> int:
    async with db() as session:
        return await session.scalar(select(func.count()).select_from(Resident)) or 0


async def _check(client, text: str, token: str):
    return await client.post(
        PAGE + "/check",
        data={"_csrf": token},
        files={"file": ("名簿.csv", text.encode("utf-8"), "text/csv")},
    )


async def test_the_dry_run_reports_each_bad_line_and_writes_nothing(client, world, db):
    await sign_in(client, "coord")
    before = await _residents(db)
    page = await client.get(PAGE)
    assert page.status_code == 200 and 'href="/console/import-export" aria-current="page"' in page.text
    response = await _check(client, BAD, await csrf_from(client, PAGE))
    assert response.status_code == 200
    row = re.search(r"<th scope=\"row\">(\d+)</th>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>", response.text)
    assert row and row.group(1) == "3" and row.group(2) == "地区" and "南地区" in row.group(3)
    assert 'name="checked_file"' not in response.text  # nothing to confirm
    good = await _check(client, GOOD, await csrf_from(client, PAGE))
    assert "問題はありません。2人を登録します。" in good.text
    assert await _residents(db) == before  # a dry run writes nothing


async def test_confirm_imports_once_and_a_second_press_changes_nothing(client, world, db):
    await sign_in(client, "coord")
    before = await _residents(db)
    checked = await _check(client, GOOD, await csrf_from(client, PAGE))
    carried = re.search(r'name="checked_file" value="([^"]+)"', checked.text).group(1)
    assert zlib.decompress(base64.b64decode(carried)).decode() == GOOD  # compressed, as carried
    token = await csrf_from(client, PAGE)
    first = await client.post(
        PAGE + "/import", data={"_csrf": token}, files={"checked_file": (None, carried)}
    )
    assert first.status_code == 200 and "2人を登録しました。" in first.text
    second = await client.post(PAGE + "/import", data={"_csrf": token, "checked_file": carried})
    assert second.status_code == 200 and "取込済み" in second.text
    assert await _residents(db) == before + 2
    async with db() as session:
        imports = (await session.scalars(select(AuditEvent).where(AuditEvent.action == "import"))).all()
    assert len(imports) == 1 and imports[0].actor_id == world.coordinator.id


async def test_without_the_csrf_token_nothing_is_checked_or_imported(client, world, db):
    await sign_in(client, "coord")
    before = await _residents(db)
    carried = base64.b64encode(GOOD.encode()).decode()
    for path, data in (
        ("/import", {"checked_file": carried}),
        ("/import", {"_csrf": "0" * 64, "checked_file": carried}),
    ):
        response = await client.post(PAGE + path, data=data)
        assert response.status_code == 403 and "別のサイトから送信されました" in response.text
    refused = await client.post(
        PAGE + "/check", files={"file": ("名簿.csv", GOOD.encode(), "text/csv")}, data={}
    )
    assert refused.status_code == 403
    assert await _residents(db) == before


async def test_a_volunteer_is_refused_and_a_commissioner_gets_only_their_exports(client, world, db):
    await sign_in(client, "vol")
    response = await client.get(PAGE, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console"
    token = await csrf_from(client, "/console")
    assert (await _check(client, GOOD, token)).status_code == 403
    for fmt in ("csv", "csv-cp932", "xlsx"):
        assert (await client.get(f"/console/exports/residents?format={fmt}")).status_code == 403
    assert "/console/import-export" not in (await client.get("/console")).text  # no such menu

    await sign_in(client, "comm")  # English, district A
    page = (await client.get(PAGE)).text
    assert "Import residents" not in page and "/console/exports/audit-log" not in page
    assert "/console/exports/residents?format=csv-cp932" in page
    assert (await client.get("/console/exports/audit-log?format=csv")).status_code == 403
    assert (await _check(client, GOOD, await csrf_from(client, PAGE))).status_code == 403
    rows = (await client.get("/console/exports/residents?format=csv")).content.decode("utf-8-sig")
    assert "山田 花子" in rows and "佐藤 一郎" not in rows  # their district only, as the API


async def test_each_export_in_each_format_is_the_apis_file_and_audited(client, world, db):
    await sign_in(client, "coord")
    page = (await client.get(PAGE)).text
    links = re.findall(r'href="(/console/exports/[a-z-]+\?format=[a-z0-9-]+)"', page)
    assert len(links) == 15  # residents, notes, visits, alerts, audit log × 3 formats
    for link in links:
        response = await client.get(link)
        assert response.status_code == 200, link
        assert "filename*=UTF-8''" in response.headers["content-disposition"]
    cp932 = await client.get("/console/exports/residents?format=csv-cp932")
    assert "山田 花子" in cp932.content.decode("cp932") and cp932.headers["x-replaced-characters"] == "0"
    xlsx = await client.get("/console/exports/residents?format=xlsx")
    assert xlsx.content.startswith(b"PK")
    bad = await client.get("/console/exports/residents?format=pdf")
    assert bad.status_code == 400
    async with db() as session:
        exported = await session.scalar(
            select(func.count()).where(
                AuditEvent.action == "export", AuditEvent.actor_id == world.coordinator.id
            )
        )
    assert exported == 15 + 2
