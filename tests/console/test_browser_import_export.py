"""The import and export page in a real browser (Debian's Chromium through Playwright): upload a
resident CSV with a bad line, read the dry run's line number and reason, upload the fixed file,
import it; the page passes axe's serious/critical checks, reflows at 640 px and is usable from the
keyboard. Screenshot: var/screenshots/console-import-export-ja.png."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from domain.models import Resident
from tests.console.browser import (
    SCREENSHOTS,
    open_browser,
    serious_accessibility_problems,
    sign_in,
    tab_to,
)
from tests.live_server import serving

HEADER = "氏名,ふりがな,住所,地区,リスク\n"
BAD = HEADER + "取込 一郎,トリコミ イチロウ,中央町1-1,中央地区,高\n取込 二郎,,中央町1-2,南地区,低\n"
FIXED = BAD.replace("南地区", "中央地区")


async def _residents(db) -> int:
    async with db() as session:
        return await session.scalar(select(func.count()).select_from(Resident)) or 0


@pytest.mark.parametrize("backend", ["sqlite"])  # the browser's part does not depend on the database
async def test_upload_see_the_bad_line_fix_it_and_import(async_playwright, app, world, db, tmp_path):
    bad_file, fixed_file = tmp_path / "名簿.csv", tmp_path / "名簿（修正）.csv"
    bad_file.write_text(BAD, encoding="cp932")  # as Excel saves "CSV (comma delimited)" in Japan
    fixed_file.write_text(FIXED, encoding="cp932")
    before = await _residents(db)
    with serving(app) as base:
        async with async_playwright() as pw:
            browser, page = await open_browser(pw)
            await sign_in(page, base, "coord")
            await page.get_by_role("link", name="取込・出力").click()
            await page.get_by_role("heading", name="取込・出力", level=1).wait_for()
            assert await serious_accessibility_problems(page) == []

            await page.get_by_label("CSVファイル").set_input_files(str(bad_file))
            await tab_to(page, "form[action$='/check'] button")
            await page.keyboard.press("Enter")  # keyboard only
            await page.get_by_role("alert").wait_for()
            row = page.locator("#import-report tbody tr")
            assert await row.count() == 1
            assert await row.locator("th").inner_text() == "3"
            assert "南地区" in await row.locator("td").nth(1).inner_text()
            assert await _residents(db) == before  # the dry run wrote nothing
            await page.screenshot(path=str(SCREENSHOTS / "console-import-export-ja.png"), full_page=True)
            assert await serious_accessibility_problems(page) == []

            await page.get_by_label("CSVファイル").set_input_files(str(fixed_file))
            await page.get_by_role("button", name="確認する").click()
            await page.get_by_text("問題はありません。2人を登録します。").wait_for()
            await page.set_viewport_size({"width": 640, "height": 900})
            wide = await page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth")
            assert not wide  # reflows: no sideways scrolling at 640 px
            await page.screenshot(
                path=str(SCREENSHOTS / "console-import-export-ready-ja.png"), full_page=True
            )
            assert await serious_accessibility_problems(page) == []

            await page.get_by_role("button", name="取り込む").click()
            await page.get_by_text("2人を登録しました。").wait_for()
            assert await _residents(db) == before + 2
            link = page.get_by_role("link", name="住民一覧をExcel（XLSX）で出力")
            assert await link.get_attribute("href") == "/console/exports/residents?format=xlsx"
            assert page.problems == []  # type: ignore[attr-defined]
            await browser.close()
