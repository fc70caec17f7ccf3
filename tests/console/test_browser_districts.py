"""The districts and safety-check pages in a real browser (Debian's Chromium through Playwright,
against a live server): the charts and caseloads shown under the strict CSP, a safety check
started from the page whose progress moves without a reload when a contact is recorded through
the API, then closed; axe-core finds nothing serious or critical on either page, and both reflow
at 640 pixels. Screenshots go to var/screenshots/."""

from __future__ import annotations

import httpx
import pytest

from console import safety_checks_page
from tests.console.browser import SCREENSHOTS, open_browser, serious_accessibility_problems, sign_in
from tests.console.test_districts import reached_last_week
from tests.factories import PASSWORD
from tests.live_server import serving

FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"


async def _record_contact(base: str, resident_id: str) -> None:
    """What a phone or the office does: a contact note through the API."""
    async with httpx.AsyncClient(base_url=base) as api:
        signed_in = await api.post(
            "/api/v1/auth/login",
            json={"login": "coord", "password": PASSWORD, "device": {"id": "office-pc", "platform": "web"}},
        )
        token = signed_in.json()["access_token"]
        note = await api.post(
            f"/api/v1/residents/{resident_id}/contact-notes",
            json={"method": "phone", "outcome": "met_well"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert note.status_code == 201, note.text


@pytest.mark.parametrize("backend", ["sqlite"])  # the browser's part does not depend on the database
async def test_districts_page_charts_and_a_safety_check_followed_live(
    async_playwright, app, world, db, monkeypatch
):
    await reached_last_week(db, world)  # 北地区: its one resident reached on 20 Nov
    monkeypatch.setattr(safety_checks_page, "POLL_SECONDS", 1)
    with serving(app) as base:
        async with async_playwright() as pw:
            browser, page = await open_browser(pw)
            await sign_in(page, base)

            # Districts, from the menu.
            await page.get_by_role("link", name="地区", exact=True).click()
            await page.get_by_role("heading", name="地区", exact=True).wait_for()
            charts = page.locator("figure.chart svg[role='img']")
            assert await charts.count() == 3  # coverage, and the trend of each of the two districts
            assert await charts.first.get_attribute("aria-labelledby") == "coverage-title coverage-desc"
            await page.locator("svg text", has_text="1人中0人（0.0%）").first.wait_for()
            await page.locator("svg text", has_text="1人中1人（100.0%）").wait_for()
            await page.get_by_role("rowheader", name="奉仕 次郎").wait_for()  # the volunteer's caseload
            assert await page.locator("#without-commissioner").get_by_text("北地区").count() == 1
            assert await serious_accessibility_problems(page) == []
            await page.screenshot(path=str(SCREENSHOTS / "console-districts-ja.png"), full_page=True)
            await page.set_viewport_size({"width": 640, "height": 900})
            assert await page.evaluate(FITS)
            assert await serious_accessibility_problems(page) == []
            await page.set_viewport_size({"width": 1280, "height": 900})

            # Safety checks, from the menu: start one for 中央地区.
            await page.get_by_role("link", name="安否確認", exact=True).click()
            await page.get_by_role("heading", name="安否確認", exact=True).wait_for()
            assert await serious_accessibility_problems(page) == []
            await page.get_by_label("件名").fill("11月の地震")
            await page.get_by_label("中央地区").check()
            await page.get_by_role("button", name="安否確認を始める").click()
            await page.get_by_text("安否確認を始めました。").wait_for()
            await page.get_by_text("実施中の安否確認（1件）").wait_for()
            done = page.locator("td[data-figure='done']")
            remaining = page.locator("td[data-figure='remaining']")
            assert await done.inner_text() == "0人" and await remaining.inner_text() == "1人"

            # A contact is recorded elsewhere: the progress moves, the page is not reloaded.
            await page.evaluate("() => { window.notReloaded = true; }")
            await _record_contact(base, world.resident.id)
            await page.wait_for_function(
                "() => document.querySelector(\"td[data-figure='done']\").textContent === '1人'",
                timeout=15_000,
            )
            assert await remaining.inner_text() == "0人"
            assert await page.evaluate("() => window.notReloaded === true")
            assert await serious_accessibility_problems(page) == []
            await page.screenshot(path=str(SCREENSHOTS / "console-safety-checks-ja.png"), full_page=True)
            await page.set_viewport_size({"width": 640, "height": 900})
            assert await page.evaluate(FITS)
            await page.set_viewport_size({"width": 1280, "height": 900})

            # Close it, with the keyboard.
            await page.get_by_role("button", name="締め切る").focus()
            await page.keyboard.press("Enter")
            await page.get_by_text("安否確認を締め切りました。").wait_for()
            await page.get_by_text("最終集計：無事 1人、要支援 0人、連絡つかず 0人、未確認 0人").wait_for()
            assert await page.get_by_text("実施中の安否確認はありません。").count() == 1
            assert await serious_accessibility_problems(page) == []
            await browser.close()
            assert page.problems == []  # no script error, nothing the CSP refused
