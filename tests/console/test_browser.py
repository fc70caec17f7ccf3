"""The console in a real browser: Debian's Chromium driven by Playwright against a live server.
Sign in, watch a new alert arrive without reloading, acknowledge and resolve one with the keyboard
alone.

Skips when Chromium (/usr/bin/chromium) or Playwright is missing, except under CI (CI=true),
where the test must run: .ci/run installs Chromium. Screenshots go to var/screenshots/.
"""

from __future__ import annotations

import pytest

from domain import alerts as lifecycle
from domain.enums import AlertSeverity, AlertStatus
from domain.models import Alert
from tests.console.browser import CHROMIUM, SCREENSHOTS, serious_accessibility_problems, tab_to
from tests.factories import PASSWORD
from tests.live_server import serving


@pytest.mark.parametrize("backend", ["sqlite"])  # the browser's part does not depend on the database
async def test_sign_in_see_a_new_alert_live_acknowledge_and_resolve_with_the_keyboard(
    async_playwright, app, world, db, monkeypatch
):
    monkeypatch.setenv("MIMAMORI_PUSH_STREAM_POLL_SECONDS", "0.5")
    from domain.settings import get_settings

    get_settings.cache_clear()
    try:
        with serving(app) as base:
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
                page = await browser.new_page(locale="ja-JP")
                problems: list[str] = []  # script errors and refused loads (the strict CSP)
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda exc: problems.append(str(exc)))
                await page.goto(f"{base}/console")
                assert page.url.endswith("/console/sign-in")
                assert await page.get_attribute("html", "lang") == "ja"

                assert await serious_accessibility_problems(page) == []
                await page.get_by_label("ログインID").fill("coord")
                await page.get_by_label("パスワード").fill(PASSWORD)
                await page.get_by_label("パスワード").press("Enter")
                await page.get_by_role("heading", name="今日の対応").wait_for()
                await page.get_by_text("未対応のアラート（2件）").wait_for()
                # Let the live stream connect before an alert is raised.
                await page.wait_for_function(
                    "() => document.querySelector('[sse-connect]') && window.htmx && true"
                )
                await page.wait_for_timeout(1500)

                # A sweep raises a new alert: it appears without a reload.
                async with db() as session:
                    await lifecycle.open_alert(
                        session,
                        org_id=world.org.id,
                        kind="no_answer_twice",
                        cause_key="no-answer:live",
                        resident_id=world.resident.id,
                        severity=AlertSeverity.HIGH,
                    )
                await page.get_by_text("未対応のアラート（3件）").wait_for(timeout=15_000)
                await page.get_by_text("2回続けて応答なし").wait_for()
                await page.screenshot(path=str(SCREENSHOTS / "console-today-ja.png"), full_page=True)
                assert await serious_accessibility_problems(page) == []

                # Keyboard only: Tab to the missed alert's "対応します" button, press Enter.
                await tab_to(page, f"#ack-{world.missed.id}")
                outline = await page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
                assert outline != "none"  # focus is visible
                await page.keyboard.press("Enter")

                await page.get_by_text("山田 花子 さんのアラートを対応中にしました。").wait_for()
                await page.get_by_text("対応中のアラート（1件）").wait_for()
                # Focus moved to the message that says what happened, not lost to the page.
                await page.wait_for_function("() => document.activeElement.id === 'flash'", timeout=5_000)
                await page.screenshot(
                    path=str(SCREENSHOTS / "console-today-acknowledged-ja.png"), full_page=True
                )

                # Resolve it, keyboard only: open "解決にする", pick the resolution, write a note.
                await tab_to(page, f"#resolve-{world.missed.id}")
                await page.keyboard.press("Enter")
                await page.keyboard.press("Tab")  # the resolution (a native select)
                assert await page.evaluate("() => document.activeElement.name") == "resolution"
                await page.keyboard.press("Tab")
                await page.keyboard.type("電話で無事を確認")
                await page.keyboard.press("Tab")
                await page.keyboard.press("Enter")
                await page.get_by_text("山田 花子 さんのアラートを解決にしました。").wait_for()
                await page.get_by_text("対応中のアラート（0件）").wait_for()

                # 200 % zoom on a 1280-pixel screen is a 640-pixel-wide page: it reflows, no
                # sideways scrolling, and the controls are still there.
                await page.set_viewport_size({"width": 640, "height": 900})
                assert await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
                await page.get_by_role("button", name="ログアウト").wait_for()
                assert await serious_accessibility_problems(page) == []
                await page.screenshot(path=str(SCREENSHOTS / "console-today-640px-ja.png"), full_page=True)

                # Sign out; a commissioner whose language setting is English sees their district.
                await page.set_viewport_size({"width": 1280, "height": 900})
                await page.get_by_role("button", name="ログアウト").click()
                await page.get_by_text("ログアウトしました。").wait_for()
                await page.get_by_label("ログインID").fill("comm")
                await page.get_by_label("パスワード").fill(PASSWORD)
                await page.get_by_role("button", name="ログイン").click()
                await page.get_by_role("heading", name="Today").wait_for()
                assert await page.get_attribute("html", "lang") == "en"
                await page.get_by_text("Open alerts (1)").wait_for()
                assert await page.get_by_text("佐藤 一郎").count() == 0  # another district
                await page.screenshot(path=str(SCREENSHOTS / "console-today-en.png"), full_page=True)
                assert await serious_accessibility_problems(page) == []
                await browser.close()
                assert problems == []
    finally:
        get_settings.cache_clear()

    async with db() as session:
        alert = await session.get(Alert, world.missed.id)
        assert alert.acknowledged_by == world.coordinator.id
        assert alert.status == AlertStatus.RESOLVED and alert.resolved_by == world.coordinator.id
        assert alert.resolution_note == "電話で無事を確認"


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_working_list_and_residents_by_the_menu_with_no_serious_accessibility_finding(
    async_playwright, app, lists
):
    with serving(app) as base:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
            page = await browser.new_page(locale="ja-JP")
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            await page.goto(f"{base}/console/sign-in")
            await page.get_by_label("ログインID").fill("coord")
            await page.get_by_label("パスワード").fill(PASSWORD)
            await page.get_by_label("パスワード").press("Enter")
            await page.get_by_role("heading", name="今日の対応").wait_for()

            # The menu, keyboard only: Tab to "未接触リスト", Enter.
            await tab_to(page, "nav a[href='/console/working-list']")
            await page.keyboard.press("Enter")
            await page.get_by_role("heading", name="未接触リスト").wait_for()
            await page.get_by_text("未接触の対象者（2件）").wait_for()
            assert await page.get_by_role("cell", name="担当者なし").count() == 1
            assert await serious_accessibility_problems(page) == []
            await page.screenshot(path=str(SCREENSHOTS / "console-working-list-ja.png"), full_page=True)
            await page.set_viewport_size({"width": 640, "height": 900})  # 200 % zoom: no sideways page
            assert await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
            await page.set_viewport_size({"width": 1280, "height": 900})

            await page.get_by_role("link", name="対象者", exact=True).click()
            await page.get_by_label("氏名・ふりがな").fill("やまだ")
            await page.get_by_label("氏名・ふりがな").press("Enter")
            await page.get_by_text("対象者（1件）").wait_for()
            assert await serious_accessibility_problems(page) == []
            await page.get_by_role("link", name="山田 花子").click()
            await page.get_by_role("heading", name="山田 花子").wait_for()
            await page.get_by_role("heading", name="緊急連絡先").wait_for()
            assert await serious_accessibility_problems(page) == []
            await page.screenshot(path=str(SCREENSHOTS / "console-resident-ja.png"), full_page=True)
            await browser.close()
            assert problems == []
