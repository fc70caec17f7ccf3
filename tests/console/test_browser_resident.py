"""A resident's page in a real browser (Debian's Chromium through Playwright, live server): the
timeline, building "every Tuesday 10:00–12:00" with the cadence editor and its live preview,
saving the plan, recording an office contact that resolves the missed-visit alert; axe, 640 px
reflow, screenshots in Japanese and English (var/screenshots/console-resident-page-*.png)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from domain import alerts as lifecycle
from domain.enums import AlertResolution, AlertStatus, VisitKind, VisitStatus
from domain.models import Alert, Visit, VisitPlan
from tests.console.browser import SCREENSHOTS, open_browser, serious_accessibility_problems, sign_in
from tests.console.conftest import DAYTIME
from tests.live_server import serving


async def _reflows(page) -> bool:
    await page.set_viewport_size({"width": 640, "height": 900})  # 200 % zoom: no sideways page
    fits = await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    await page.set_viewport_size({"width": 1280, "height": 900})
    return bool(fits)


@pytest.mark.parametrize("backend", ["sqlite"])  # the browser's part does not depend on the database
async def test_build_a_tuesday_plan_preview_save_and_record_an_office_contact(
    async_playwright, app, world, db
):
    async with db() as session:
        visit = Visit(
            org_id=world.org.id,
            resident_id=world.resident.id,
            occurrence_key="browser-missed-1",
            kind=VisitKind.PLANNED,
            status=VisitStatus.MISSED,
            due_start=DAYTIME - timedelta(hours=2),  # 08:00–11:00 in Tokyo; now is 10:00
            due_end=DAYTIME + timedelta(hours=1),
            assignee_id=world.volunteer.id,
        )
        session.add(visit)
        await session.flush()
        alert = await lifecycle.open_alert(
            session,
            org_id=world.org.id,
            kind="missed_visit",
            cause_key=f"missed_visit:{visit.id}",
            resident_id=world.resident.id,
            visit_id=visit.id,
        )
        assert alert is not None
    with serving(app) as base:
        async with async_playwright() as pw:
            browser, page = await open_browser(pw)
            await sign_in(page, base)
            await page.goto(f"{base}/console/residents/{world.resident.id}")
            await page.get_by_role("heading", name="山田 花子", level=1).wait_for()

            # The timeline: the fixture's note and the missed visit, newest first.
            entries = page.locator("#timeline .tl-entry")
            assert await entries.count() == 2
            assert "未実施" in await entries.nth(0).inner_text()  # today's missed visit
            assert "応答なし" in await entries.nth(1).inner_text()  # the note of 25 Nov
            assert await page.locator("#alerts-heading + ul li").count() == 2

            # The editor: every Tuesday, 10:00–12:00; the preview follows each change.
            editor = page.locator("#plan-new")
            await editor.get_by_label("火曜", exact=True).check()
            await editor.get_by_label("訪問時間（から）").fill("10:00")
            await editor.get_by_label("訪問時間（まで）").fill("12:00")
            # No button pressed: the preview follows the form's changes by itself (HTMX).
            await page.wait_for_function(
                "() => document.querySelector('#plan-new-preview .cadence-words')?.textContent"
                " === '毎週火曜 10:00–12:00'"
            )
            days = await page.locator("#plan-new-preview li").evaluate_all(
                "items => items.map(i => [i.dataset.date, i.dataset.ruleDate, i.textContent])"
            )
            assert len(days) == 5
            # Tuesdays in Asia/Tokyo: every rule date; every visit day but the one the year-end
            # closure (29 Dec) moves to the next working day, as the holiday rule says.
            assert all(date.fromisoformat(rule).weekday() == 1 for _, rule, _ in days)
            moved = [(d, rule) for d, rule, _ in days if d != rule]
            assert moved == [("2027-01-04", "2026-12-29")]
            assert all(date.fromisoformat(d).weekday() == 1 for d, rule, _ in days if d == rule)
            assert days[0][2].startswith("2026/12/01（火）10:00–12:00")
            assert await serious_accessibility_problems(page) == []

            await editor.get_by_role("button", name="計画を保存").click()
            await page.wait_for_url(lambda url: "done=plan" in url)
            await page.get_by_text("訪問計画を保存しました。").wait_for()
            plans = page.locator("#plans .plan")
            assert await plans.count() == 1
            assert "毎週火曜 10:00–12:00" in await plans.first.inner_text()

            # An office contact: by phone, now (the form's default, Tokyo time).
            assert await page.get_by_label("日時").input_value() == "2026-11-27T10:00"
            await page.get_by_label("方法").select_option("phone")
            await page.get_by_label("結果").select_option("met_well")
            await page.get_by_label("内容").fill("事務所から電話、元気とのこと")
            await page.get_by_role("button", name="記録する").click()
            await page.wait_for_url(lambda url: "done=note" in url)
            await page.get_by_text("連絡を記録しました。").wait_for()
            first = page.locator("#timeline .tl-note").first  # after the two Tuesdays ahead
            assert "事務所から電話、元気とのこと" in await first.inner_text()
            # The visit it fulfilled is done; its missed-visit alert resolved (the other stays).
            assert await page.locator("#alerts-heading + ul li").count() == 1
            assert await page.locator("#timeline .tl-visit-done").count() == 1

            assert await serious_accessibility_problems(page) == []
            assert await _reflows(page)
            await page.screenshot(path=str(SCREENSHOTS / "console-resident-page-ja.png"), full_page=True)
            assert page.problems == []  # type: ignore[attr-defined]
            await browser.close()

            # The same page in English: the district's commissioner reads in English.
            browser, page = await open_browser(pw)
            await sign_in(page, base, "comm")
            await page.goto(f"{base}/console/residents/{world.resident.id}")
            await page.get_by_role("heading", name="Timeline (notes and visits)").wait_for()
            assert "Every Tuesday 10:00–12:00" in await page.locator("#plans").inner_text()
            editor = page.locator("#plan-new")
            await page.locator("#plans details", has=editor).locator("summary").click()
            await editor.get_by_label("Friday", exact=True).check()
            await editor.get_by_label("Every how many weeks").fill("2")
            await editor.get_by_role("button", name="Preview the next visits").click()
            await page.wait_for_function(
                "() => document.querySelector('#plan-new-preview .cadence-words')?.textContent"
                " === 'Every 2 weeks on Friday 10:00–12:00'"
            )
            assert await serious_accessibility_problems(page) == []
            assert await _reflows(page)
            await page.screenshot(path=str(SCREENSHOTS / "console-resident-page-en.png"), full_page=True)
            assert page.problems == []  # type: ignore[attr-defined]
            await browser.close()

    async with db() as session:
        assert (await session.get_one(Alert, alert.id)).resolution == AlertResolution.RECORDED_LATE
        assert (await session.get_one(Alert, world.missed.id)).status == AlertStatus.OPEN
        assert len((await session.scalars(select(VisitPlan))).all()) == 1
