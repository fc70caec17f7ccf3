"""What every browser test of the console shares: Debian's Chromium through Playwright, signing in,
axe-core's accessibility check, keyboard travel and where screenshots go (var/screenshots/).

Tests skip when Chromium (/usr/bin/chromium) or Playwright is missing, except under CI (CI=true),
where they must run: .ci/run installs Chromium. The `async_playwright` fixture lives in conftest.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import UNDER_CI
from tests.factories import PASSWORD

CHROMIUM = Path(os.environ.get("MIMAMORI_TEST_CHROMIUM", "/usr/bin/chromium"))
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"  # npm axe-core, see VENDORED.md
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SCREENSHOTS = Path("var/screenshots")


def _unavailable(reason: str) -> None:
    if UNDER_CI:
        pytest.fail(
            f"{reason} — under CI the browser test must run (.ci/run installs chromium)", pytrace=False
        )
    pytest.skip(reason)


def playwright_or_skip():
    if not CHROMIUM.exists():
        _unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install -e '.[dev]')")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return async_playwright


async def open_browser(pw, locale: str = "ja-JP"):
    """A fresh Chromium page that records script errors and refused loads (the strict CSP)."""
    browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
    page = await browser.new_page(locale=locale)
    page.problems = []  # type: ignore[attr-defined]
    page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: page.problems.append(str(exc)))
    return browser, page


async def sign_in(page, base: str, login: str = "coord", password: str = PASSWORD) -> None:
    """Sign in through the form as a person would; waits until the first page has loaded."""
    await page.goto(f"{base}/console/sign-in")
    await page.get_by_label("ログインID").fill(login)
    await page.get_by_label("パスワード").fill(password)
    await page.get_by_label("パスワード").press("Enter")
    await page.wait_for_url(lambda url: "/console/sign-in" not in url)


async def serious_accessibility_problems(page) -> list[str]:
    """axe-core's WCAG 2.1 A/AA checks on the page as it is now: serious and critical findings."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        # Through the DevTools protocol, not a <script>: the console's CSP allows no inline script.
        await page.evaluate("() => {" + AXE.read_text() + "\n}")
    return await page.evaluate(
        """async (tags) => {
            const result = await window.axe.run(document, {runOnly: {type: "tag", values: tags}});
            return result.violations
                .filter((v) => v.impact === "serious" || v.impact === "critical")
                .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
        }""",
        WCAG_AA,
    )


async def tab_to(page, selector: str, presses: int = 80) -> None:
    """Press Tab until `selector` has the focus (what a keyboard user does)."""
    for _ in range(presses):
        await page.keyboard.press("Tab")
        if await page.evaluate("(sel) => document.activeElement === document.querySelector(sel)", selector):
            return
    pytest.fail(f"{selector} cannot be reached with Tab")
