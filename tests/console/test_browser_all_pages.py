"""Every console page in a real browser (Debian's Chromium via Playwright): the pages are found from
the menu of the signed-in page itself, so a page added to the menu later is checked without editing
this file. Each page, plus the sign-in page and a resident's page: no serious or critical axe-core
finding, no sideways scrolling at 640 px (200 % zoom) nor on a touch tablet (768×1024, where
touch targets must also pass axe-core's WCAG 2.2 target-size rule), no script or CSP error, and
screenshots var/screenshots/<page>-ja.png and <page>-tablet-ja.png; then every page again in English
(<page>-en.png); a volunteer is turned away from each of them.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from sqlalchemy import update

from domain.models import User
from tests.console.browser import CHROMIUM, SCREENSHOTS, serious_accessibility_problems, sign_in
from tests.factories import PASSWORD
from tests.live_server import serving

TABLET = {"viewport": {"width": 768, "height": 1024}, "has_touch": True, "is_mobile": True}
FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"
OPEN_DISCLOSURES = """() => {
    const closed = [...document.querySelectorAll("details:not([open])")];
    closed.forEach((d) => { d.open = true; });
    return closed.length;
}"""
VOLUNTEER_PAGE = "スマートフォンのアプリをお使いください"


def page_name(path: str) -> str:
    """`/console` → today, `/console/working-list` → working-list, a resident's page → resident."""
    parts = [p for p in path.strip("/").split("/") if p][1:]
    if not parts:
        return "today"
    if parts[0] == "residents" and len(parts) > 1:
        return "resident"
    return "-".join(parts)


async def small_touch_targets(page) -> list[str]:
    """axe-core's WCAG 2.2 target-size rule (24 × 24 px, or spaced apart): fingers, not a mouse."""
    await serious_accessibility_problems(page)  # loads axe-core into the page
    return await page.evaluate(
        """async () => {
            const result = await window.axe.run(document, {runOnly: {type: "rule", values: ["target-size"]}});
            return result.violations.flatMap((v) => v.nodes.map((n) => n.target.join(" ")));
        }"""
    )


async def _new_page(browser, locale: str, **options):
    context = await browser.new_context(locale=locale, **options)
    page = await context.new_page()
    page.problems = []
    page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: page.problems.append(str(exc)))
    return page


async def menu_pages(page, base: str) -> list[str]:
    """The console pages the menu leads to, in menu order; downloads (anything not HTML) left out."""
    hrefs = await page.eval_on_selector_all(
        "nav a[href]", "links => links.map((a) => a.getAttribute('href'))"
    )
    paths: list[str] = []
    for href in hrefs:
        path = urlparse(href).path
        if not path.startswith("/console") or path in paths:
            continue  # the API documentation is not the console
        response = await page.request.get(f"{base}{href}")
        if response.ok and response.headers.get("content-type", "").startswith("text/html"):
            paths.append(href)
    return paths


async def check_page(page, base: str, path: str, locale: str, problems: dict[str, list[str]]) -> None:
    name = f"{page_name(path)}-{locale}"
    response = await page.goto(f"{base}{path}")
    assert response is not None and response.ok, f"{path}: {response and response.status}"
    await page.wait_for_load_state("networkidle")
    assert urlparse(page.url).path == urlparse(path).path, f"{path} led to {page.url}"
    assert await page.get_attribute("html", "lang") == locale, path
    found = [f"axe {finding}" for finding in await serious_accessibility_problems(page)]
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    # What hides behind disclosures (resolve an alert, add a person, correct a held note) too.
    if await page.evaluate(OPEN_DISCLOSURES):
        found += [f"axe (disclosures open) {f}" for f in await serious_accessibility_problems(page)]
    await page.set_viewport_size({"width": 640, "height": 900})
    if not await page.evaluate(FITS):
        found.append("scrolls sideways at 640 px")
    await page.set_viewport_size({"width": 1280, "height": 900})
    found += [f"script/CSP: {p}" for p in page.problems]
    page.problems.clear()
    if found:
        problems[name] = found


@pytest.mark.parametrize("backend", ["sqlite"])  # the browser's part does not depend on the database
async def test_every_console_page_is_accessible_reflows_and_is_photographed(async_playwright, app, lists, db):
    world = lists.world
    resident_page = f"/console/residents/{world.resident.id}"
    problems: dict[str, list[str]] = {}
    with serving(app) as base:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])

            # Japanese, as a coordinator (who may open every page).
            page = await _new_page(browser, "ja-JP")
            await page.goto(f"{base}/console/sign-in")
            await check_page(page, base, "/console/sign-in", "ja", problems)
            await sign_in(page, base)
            pages = await menu_pages(page, base)
            assert {"/console", "/console/working-list", "/console/residents"} <= set(pages), pages
            for path in [*pages, resident_page]:
                await check_page(page, base, path, "ja", problems)

            # A touch tablet held upright: every page fits its width.
            tablet = await _new_page(browser, "ja-JP", **TABLET)
            await sign_in(tablet, base)
            assert await tablet.evaluate("() => window.innerWidth") == TABLET["viewport"]["width"]
            for path in [*pages, resident_page]:
                await tablet.goto(f"{base}{path}")
                await tablet.wait_for_load_state("networkidle")
                found = [] if await tablet.evaluate(FITS) else ["scrolls sideways at 768 px"]
                found += [f"touch target {t}" for t in await small_touch_targets(tablet)]
                found += [f"script/CSP: {p}" for p in tablet.problems]
                tablet.problems.clear()
                if found:
                    problems[f"{page_name(path)}-tablet"] = found
                await tablet.screenshot(
                    path=str(SCREENSHOTS / f"{page_name(path)}-tablet-ja.png"), full_page=True
                )
            await tablet.context.close()

            # English: the same coordinator with English as their language.
            async with db() as session:
                await session.execute(update(User).where(User.id == world.coordinator.id).values(locale="en"))
            page = await _new_page(browser, "en-GB")
            await page.goto(f"{base}/console/sign-in")
            await check_page(page, base, "/console/sign-in", "en", problems)  # the browser's language
            await page.get_by_label("Login").fill("coord")
            await page.get_by_label("Password").fill(PASSWORD)
            await page.get_by_label("Password").press("Enter")
            await page.wait_for_url(lambda url: "/console/sign-in" not in url)
            english = await menu_pages(page, base)
            assert english == pages
            for path in [*english, resident_page]:
                await check_page(page, base, path, "en", problems)
            await page.context.close()

            # A volunteer is sent to the page that points to the phone app, wherever they try to go.
            volunteer = await _new_page(browser, "ja-JP")
            await sign_in(volunteer, base, login="vol")
            assert await volunteer.locator("nav a[href='/console/people']").count() == 0
            for path in [p for p in pages if p != "/console"] + [resident_page]:
                await volunteer.goto(f"{base}{path}")
                await volunteer.get_by_role("heading", name=VOLUNTEER_PAGE).wait_for()
                assert urlparse(volunteer.url).path == "/console", path
            await browser.close()
    assert problems == {}
