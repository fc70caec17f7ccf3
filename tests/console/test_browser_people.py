"""People and phones, quarantine review and the audit log in a real browser (Debian's Chromium via
Playwright): add a person and read the activation code, unlock a slowed sign-in, cut off a phone,
apply a corrected held note, filter the audit log; a volunteer cannot open these pages. Each page:
no serious or critical axe finding, reflow at 640 px. Screenshots go to var/screenshots/."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from api.auth import throttle
from domain.models import ContactNote, Device, QuarantinedRecord
from domain.settings import get_settings
from tests.console.browser import (
    SCREENSHOTS,
    open_browser,
    serious_accessibility_problems,
    sign_in,
    tab_to,
)
from tests.console.test_quarantine_page import _note
from tests.live_server import serving

HELD_ID = "0192f0a0-0000-7000-8000-00000000b001"


async def _reflows(page) -> bool:
    await page.set_viewport_size({"width": 640, "height": 900})
    fits = await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    await page.set_viewport_size({"width": 1280, "height": 900})
    return fits


@pytest.mark.parametrize("backend", ["sqlite"])  # the browser's part does not depend on the database
async def test_people_quarantine_and_audit_in_the_browser(async_playwright, app, world, db):
    settings = get_settings()
    async with db() as session:
        for _ in range(settings.login_max_failures + 1):
            await throttle.record_failure(session, settings, throttle.keys_for("comm", "192.0.2.9"))
        device = (await session.scalars(select(Device).where(Device.user_id == world.volunteer.id))).one()
        held = _note(world.org.id, world.volunteer.id, device.id, world.resident.id, HELD_ID)
        session.add(held)
        await session.flush()
        held_id = held.id

    with serving(app) as base:
        async with async_playwright() as pw:
            browser, page = await open_browser(pw)
            await sign_in(page, base)

            # People and phones, from the menu with the keyboard.
            await tab_to(page, "nav a[href='/console/people']")
            await page.keyboard.press("Enter")
            await page.get_by_role("heading", name="利用者・端末", level=1).wait_for()
            assert await serious_accessibility_problems(page) == []

            # Add a person: the one-time code is shown.
            await page.get_by_text("利用者を追加").first.click()
            await page.get_by_label("氏名", exact=True).fill("新人 三郎")
            await page.get_by_label("ログインID", exact=True).fill("newbie")
            await page.get_by_label("役割").select_option("volunteer")
            await page.locator("fieldset").get_by_label("中央地区").check()
            await page.get_by_role("button", name="追加して利用開始コードを発行").click()
            await page.get_by_text("新人 三郎 さんを追加しました。利用開始コード:").wait_for()
            code = (await page.locator("#activation-code").inner_text()).strip()
            assert len(code) >= 6
            assert await serious_accessibility_problems(page) == []
            await page.screenshot(path=str(SCREENSHOTS / "console-people-ja.png"), full_page=True)
            assert await _reflows(page)

            # Unlock the slowed commissioner.
            await page.locator(f"#unlock-{world.commissioner.id}").click()
            await page.get_by_text("comm さんのログイン制限を解除しました。").wait_for()
            assert await page.get_by_text("ログイン失敗が続いたため制限中").count() == 0

            # Cut off the volunteer's phone (a disclosure, then the confirming button).
            card = page.locator(f"#person-{world.volunteer.id}")
            await card.get_by_text("端末を停止").first.click()
            await page.locator(f"#revoke-{device.id}").click()
            await page.get_by_text("奉仕 次郎 さんの端末を停止しました。").wait_for()
            await card.get_by_text("に停止済み").wait_for()

            # Quarantine: correct the outcome and apply; the record is gone from the list.
            await page.get_by_role("link", name="保留データ").click()
            await page.get_by_role("heading", name="保留データ", level=1).wait_for()
            await page.get_by_text("保留データ（1件）").wait_for()
            await page.get_by_text("修正して反映").click()
            await page.get_by_label("連絡の結果").select_option("met_well")
            assert await serious_accessibility_problems(page) == []
            await page.screenshot(path=str(SCREENSHOTS / "console-quarantine-ja.png"), full_page=True)
            assert await _reflows(page)
            await page.get_by_role("button", name="修正した内容で反映").click()
            await page.get_by_text("保留データを反映しました。").wait_for()
            await page.get_by_text("保留データ（0件）").wait_for()

            # Audit log: filter by entity and action.
            await page.get_by_role("link", name="監査ログ").click()
            await page.get_by_role("heading", name="監査ログ", level=1).wait_for()
            await page.get_by_label("対象の種類").select_option("user")
            await page.get_by_label("操作", exact=True).select_option("unlock")
            await page.get_by_role("button", name="絞り込む").click()
            await page.get_by_text("監査ログ（1件）").wait_for()
            assert await page.get_by_role("cell", name="unlock").count() == 1
            assert await serious_accessibility_problems(page) == []
            await page.screenshot(path=str(SCREENSHOTS / "console-audit-ja.png"), full_page=True)
            assert await _reflows(page)

            # A volunteer cannot open these pages.
            await page.get_by_role("button", name="ログアウト").click()
            await page.get_by_text("ログアウトしました。").wait_for()
            await sign_in(page, base, login="vol")
            for path in ("/console/people", "/console/quarantine", "/console/audit"):
                await page.goto(f"{base}{path}")
                await page.get_by_role("heading", name="スマートフォンのアプリをお使いください").wait_for()
                assert page.url.endswith("/console"), path
                assert await page.get_by_text("奉仕 次郎 さんの端末").count() == 0
            await browser.close()
            assert page.problems == []

    async with db() as session:
        assert (await session.get_one(QuarantinedRecord, held_id)).status == "applied"
        assert (await session.get_one(ContactNote, HELD_ID)).outcome == "met_well"
        assert (await session.get_one(Device, device.id)).revoked_at is not None
