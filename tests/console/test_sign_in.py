"""Console sign-in: the same accounts and password check as the phones, a cookie session of its own
with CSRF protection, sign-out and expiry."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from domain.clock import clock
from domain.models import ConsoleSession, LoginThrottle
from tests.console.conftest import csrf_from, sign_in
from tests.factories import PASSWORD, login


async def test_root_leads_to_the_console_and_the_console_to_sign_in(client, world):
    response = await client.get("/", follow_redirects=False)
    assert response.status_code == 302 and response.headers["location"] == "/console"
    response = await client.get("/console", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console/sign-in"


async def test_sign_in_page_is_japanese_by_default_and_english_on_request(client):
    page = await client.get("/console/sign-in")
    assert page.status_code == 200
    assert '<html lang="ja">' in page.text and "ログインID" in page.text
    assert 'for="login"' in page.text and 'for="password"' in page.text  # labelled fields
    english = await client.get("/console/sign-in", headers={"Accept-Language": "en-GB,en;q=0.9,ja;q=0.5"})
    assert '<html lang="en">' in english.text and "Password" in english.text


async def test_sign_in_sets_a_cookie_session_and_shows_today(client, world):
    await sign_in(client, "coord")
    cookie = next(c for c in client.cookies.jar if c.name == "mimamori_console")
    assert cookie.path == "/console"
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite", "").lower() == "lax"
    assert not cookie.secure  # configurable: MIMAMORI_CONSOLE_SECURE_COOKIE (on in production)
    page = await client.get("/console")
    assert page.status_code == 200
    assert "今日の対応" in page.text and "調整 花子" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in page.headers["content-security-policy"]  # own files only


async def test_a_wrong_password_is_refused_and_counts_in_the_phones_throttle(client, world, db):
    token = await csrf_from(client)
    response = await client.post(
        "/console/sign-in", data={"login": "coord", "password": "wrong-password", "_csrf": token}
    )
    assert response.status_code == 401
    assert "ログインIDまたはパスワードが正しくありません" in response.text
    assert "mimamori_console" not in {c.name for c in client.cookies.jar}
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(LoginThrottle)) > 0
        assert await session.scalar(select(func.count()).select_from(ConsoleSession)) == 0


async def test_sign_in_without_the_csrf_token_is_refused(client, world):
    await client.get("/console/sign-in")  # has the CSRF cookie, but posts no token
    response = await client.post("/console/sign-in", data={"login": "coord", "password": "x"})
    assert response.status_code == 403
    assert "別のサイトから送信されました" in response.text


async def test_a_phone_token_does_not_open_the_console(client, world):
    headers = await login(client, "coord")
    response = await client.get("/console", headers=headers, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console/sign-in"


async def test_sign_out_ends_the_session_even_for_a_copied_cookie(client, world):
    await sign_in(client, "coord")
    copied = client.cookies.get("mimamori_console")
    token = await csrf_from(client, "/console")
    response = await client.post("/console/sign-out", data={"_csrf": token}, follow_redirects=False)
    assert response.status_code == 303 and "/console/sign-in" in response.headers["location"]
    client.cookies.set("mimamori_console", copied, path="/console")
    response = await client.get("/console", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console/sign-in"


async def test_an_idle_session_expires_and_htmx_is_sent_to_sign_in(client, world):
    await sign_in(client, "coord")
    clock.advance(timedelta(minutes=121))  # idle limit: 120 minutes
    response = await client.get("/console/alerts", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["hx-redirect"] == "/console/sign-in"


async def test_an_active_session_still_ends_at_its_absolute_limit(client, world):
    await sign_in(client, "coord")
    for _ in range(12):
        clock.advance(timedelta(minutes=59))
        assert (await client.get("/console", follow_redirects=False)).status_code == 200
    clock.advance(timedelta(minutes=13))  # 12 h after sign-in
    assert (await client.get("/console", follow_redirects=False)).status_code == 303


async def test_deactivating_the_person_ends_their_console_session(client, world):
    await sign_in(client, "comm")
    coordinator = await login(client, "coord")
    response = await client.patch(
        f"/api/v1/users/{world.commissioner.id}", json={"active": False}, headers=coordinator
    )
    assert response.status_code == 200, response.text
    assert (await client.get("/console", follow_redirects=False)).status_code == 303


async def test_failures_on_the_phone_api_slow_the_console_sign_in_too(client, world, settings):
    settings.login_max_failures = 1  # the throttle reads the app's settings at each attempt
    response = await client.post(
        "/api/v1/auth/login",
        json={"login": "coord", "password": "wrong-password", "device": {"id": "p", "platform": "android"}},
    )
    assert response.status_code == 401
    token = await csrf_from(client)
    response = await client.post(
        "/console/sign-in",
        data={"login": "coord", "password": PASSWORD, "_csrf": token},
        follow_redirects=False,
    )
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert "ログインの失敗が続いたため、1秒後に再度お試しください。" in response.text


async def test_the_sign_in_page_sends_a_signed_in_person_to_today(client, world):
    await sign_in(client, "coord")
    response = await client.get("/console/sign-in", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console"


async def test_live_refreshes_do_not_keep_an_unattended_screen_signed_in(client, world):
    await sign_in(client, "coord")
    for _ in range(3):  # the open page refreshes its lists by itself when alerts change
        clock.advance(timedelta(minutes=30))
        assert (await client.get("/console/alerts", headers={"HX-Request": "true"})).status_code == 200
    clock.advance(timedelta(minutes=31))  # 121 minutes since the person last did anything
    assert (await client.get("/console/alerts", headers={"HX-Request": "true"})).status_code == 401


async def test_signing_in_again_and_again_keeps_ten_live_sessions_at_most(client, world, db):
    for _ in range(12):
        client.cookies.clear()
        await sign_in(client, "coord")
    async with db() as session:
        rows = (await session.scalars(select(ConsoleSession))).all()
    assert len([r for r in rows if r.ended_at is None]) == 10
    assert (await client.get("/console", follow_redirects=False)).status_code == 200  # the newest works


async def test_a_page_that_does_not_exist_answers_the_consoles_page_not_problem_json(client, world):
    """No console route matched (a mistyped address, a method the page does not take): the
    console's own error page in Japanese, or its #flash message for HTMX — the API's
    problem+json stays the API's."""
    await sign_in(client, "coord")
    missing = await client.get("/console/no-such-page")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "見つかりません" in missing.text
    wrong_method = await client.delete("/console")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"].startswith("text/html")
    assert "このメソッドは使用できません" in wrong_method.text
    assert "GET" in wrong_method.headers["allow"]
    fragment = await client.get("/console/no-such-page", headers={"HX-Request": "true"})
    assert fragment.status_code == 404
    assert fragment.headers["hx-retarget"] == "#flash"
    api = await client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")
