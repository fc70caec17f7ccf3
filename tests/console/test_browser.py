"""The console in a real browser: Debian's Chromium driven by Playwright against a live server.
Sign in, watch new alerts arrive without reloading (one raised by a sweep, one by a phone pushing an
emergency note through the sync API), acknowledge and resolve one with the keyboard alone; a
request without the right CSRF token is refused and changes nothing.

Skips when Chromium (/usr/bin/chromium) or Playwright is missing, except under CI (CI=true),
where the test must run: .ci/run installs Chromium. Screenshots go to var/screenshots/.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from domain import alerts as lifecycle
from domain.clock import to_millis, utcnow
from domain.enums import AlertSeverity, AlertStatus
from domain.models import Alert
from tests.console.browser import (
    CHROMIUM,
    SCREENSHOTS,
    open_browser,
    serious_accessibility_problems,
    sign_in,
    tab_to,
)
from tests.factories import PASSWORD
from tests.live_server import serving
from tests.sync.device import Device


async def push_emergency_note(base: str, world) -> str:
    """The volunteer's phone, as the app does it: sign in, pull, record an emergency note about the
    resident in their care, push (WatermelonDB's changes body, bearer token). Returns the note's id."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        response = await client.post(
            "/api/v1/auth/login",
            json={
                "login": "vol",
                "password": PASSWORD,
                "device": {"id": "phone-live", "platform": "android"},
            },
        )
        assert response.status_code == 200, response.text
        phone = Device(client, {"Authorization": f"Bearer {response.json()['access_token']}"})
        await phone.pull()
        moment = to_millis(utcnow() - timedelta(minutes=5))
        assert moment is not None
        note_id = phone.create_note(
            world.resident.id, moment, outcome="emergency", body="玄関で倒れていた。救急車を呼んだ"
        )
        assert await phone.push() == {"applied": 1, "quarantined": []}
    return note_id


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

                # The volunteer's phone records an emergency and pushes it through the sync API:
                # the urgent alert appears on the open page without a reload.
                await page.evaluate("() => { window.loadedBeforeThePush = true; }")  # gone if reloaded
                note_id = await push_emergency_note(base, world)
                async with db() as session:
                    raised = await session.scalar(
                        select(Alert).where(Alert.cause_key == f"emergency:{note_id}")
                    )
                assert raised is not None and raised.severity == AlertSeverity.URGENT
                await page.get_by_text("未対応のアラート（4件）").wait_for(timeout=15_000)
                card = page.locator(f"#alert-{raised.id}")
                await card.wait_for()
                assert "山田 花子" in await card.inner_text()
                assert "緊急の記録" in await card.inner_text()
                assert await page.evaluate("() => window.loadedBeforeThePush === true")  # no reload
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
                await page.get_by_text("Open alerts (2)").wait_for()  # the sweep's and the phone's
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


FORGED_POST = """async ([url, token]) => {
    const headers = {"content-type": "application/x-www-form-urlencoded"};
    const body = token === null ? "" : "_csrf=" + encodeURIComponent(token);
    const response = await fetch(url, {method: "POST", headers, body, credentials: "same-origin"});
    return response.status;
}"""


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_post_without_the_right_csrf_token_is_refused_and_changes_nothing(
    async_playwright, app, world, db
):
    with serving(app) as base:
        async with async_playwright() as pw:
            browser, page = await open_browser(pw)
            await sign_in(page, base)
            await page.get_by_role("heading", name="今日の対応").wait_for()
            url = f"/console/alerts/{world.missed.id}/acknowledge"
            # From the signed-in page (its session cookie goes along): no token, a made-up token, and
            # a form forged into the page without the hidden token field.
            assert await page.evaluate(FORGED_POST, [url, None]) == 403
            assert await page.evaluate(FORGED_POST, [url, "0" * 64]) == 403
            forged_form = await page.evaluate(
                """async (url) => {
                    const form = document.createElement("form");
                    form.method = "post";
                    form.action = url;
                    document.body.append(form);
                    const response = await fetch(url, {method: "POST", body: new FormData(form)});
                    return response.status;
                }""",
                url,
            )
            assert forged_form == 403
            async with db() as session:
                alert = await session.get_one(Alert, world.missed.id)
                assert alert.status == AlertStatus.OPEN and alert.acknowledged_by is None

            # The same request with the page's own token is accepted: the token alone made the difference.
            token = await page.locator(f"#alert-{world.missed.id} input[name=_csrf]").first.get_attribute(
                "value"
            )
            assert await page.evaluate(FORGED_POST, [url, token]) == 200
            await browser.close()
    async with db() as session:
        alert = await session.get_one(Alert, world.missed.id)
        assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by == world.coordinator.id
