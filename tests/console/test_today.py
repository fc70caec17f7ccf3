"""The Today page: open alerts in the signed-in person's scope (the API's rules), urgent first, with
what a coordinator needs to act, and acknowledge / resolve through the API's service."""

from __future__ import annotations

import re

from litestar.testing import AsyncTestClient
from sqlalchemy import select

from domain.enums import AlertStatus
from domain.models import Alert, AlertEvent
from tests.console.conftest import CSRF, csrf_from, sign_in

HTMX = {"HX-Request": "true"}


def position(text: str, needle: str) -> int:
    index = text.find(needle)
    assert index >= 0, f"{needle!r} not on the page"
    return index


async def test_coordinator_sees_the_organisations_open_alerts_urgent_first(client, world):
    await sign_in(client, "coord")
    page = (await client.get("/console")).text
    assert "未対応のアラート（2件）" in page
    assert position(page, "佐藤 一郎") < position(page, "山田 花子")  # urgent before normal
    assert "緊急の記録" in page and "予定の訪問が記録されていません" in page  # causes in words
    # The missed alert's resident: last contact, assignee and the assignee's phone's last sync,
    # all in Tokyo time (the note was 01:00 UTC = 10:00 JST; the sync 22:00 UTC = 07:00 JST).
    assert "2026/11/25 10:00（応答なし）" in page
    assert "奉仕 次郎" in page
    assert "2026/11/27 07:00" in page
    assert world.foreign_name not in page  # another organisation's alert never shows


async def test_commissioner_sees_only_their_district_in_english(client, world):
    await sign_in(client, "comm")  # their locale setting is English
    page = (await client.get("/console")).text
    assert '<html lang="en">' in page and "Open alerts (1)" in page
    assert "山田 花子" in page and "25 Nov 2026 10:00 (no answer)" in page
    assert "佐藤 一郎" not in page and world.foreign_name not in page


async def test_a_volunteer_is_sent_to_the_phone_app_and_sees_no_alerts(client, world):
    await sign_in(client, "vol")
    page = await client.get("/console")
    assert page.status_code == 200
    assert "スマートフォンのアプリをお使いください" in page.text
    # Not even the alert about their own resident, and nobody else's.
    for name in ("山田 花子", "佐藤 一郎", world.foreign_name):
        assert name not in page.text
    lists = await client.get("/console/alerts", headers=HTMX)
    assert lists.status_code == 403
    assert (await client.get("/console/alerts/stream")).status_code == 403
    for name in ("山田 花子", "佐藤 一郎", world.foreign_name):
        assert name not in lists.text
    token = await csrf_from(client, "/console")
    refused = await client.post(
        f"/console/alerts/{world.missed.id}/acknowledge", data={"_csrf": token}, headers=HTMX
    )
    assert refused.status_code == 403


async def test_acknowledge_with_htmx_moves_the_alert_to_being_handled(client, world, db):
    await sign_in(client, "coord")
    token = await csrf_from(client, "/console")
    response = await client.post(
        f"/console/alerts/{world.missed.id}/acknowledge", data={"_csrf": token}, headers=HTMX
    )
    assert response.status_code == 200, response.text
    fragment = response.text
    assert "未対応のアラート（1件）" in fragment and "対応中のアラート（1件）" in fragment
    assert position(fragment, 'id="acknowledged-alerts"') < position(
        fragment, f'id="alert-{world.missed.id}"'
    )
    assert "山田 花子 さんのアラートを対応中にしました。" in fragment  # the status message
    assert "調整 花子 さんが 2026/11/27 10:00 に対応開始" in fragment
    async with db() as session:
        alert = await session.get(Alert, world.missed.id)
        assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by == world.coordinator.id
        actions = (
            await session.scalars(select(AlertEvent.action).where(AlertEvent.alert_id == alert.id))
        ).all()
        assert "acknowledged" in actions


async def test_acknowledge_without_javascript_redirects_back(client, world, db):
    await sign_in(client, "coord")
    token = await csrf_from(client, "/console")
    response = await client.post(
        f"/console/alerts/{world.urgent.id}/acknowledge", data={"_csrf": token}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/console"
    async with db() as session:
        assert (await session.get(Alert, world.urgent.id)).status == AlertStatus.ACKNOWLEDGED


async def test_a_post_without_a_valid_csrf_token_changes_nothing(client, world, db):
    await sign_in(client, "coord")
    for data, headers in (({}, HTMX), ({"_csrf": "0" * 64}, HTMX), ({}, {**HTMX, "X-CSRF-Token": "f" * 64})):
        response = await client.post(
            f"/console/alerts/{world.missed.id}/acknowledge", data=data, headers=headers
        )
        assert response.status_code == 403
        assert "別のサイトから送信されました" in response.text
    # A token is tied to the browser's CSRF cookie: another browser's token does not fit.
    other = re.search(r'"X-CSRF-Token": "([0-9a-f]+)"', (await client.get("/console")).text).group(1)
    client.cookies.set("mimamori_console_csrf", "another-browsers-nonce", path="/console")
    response = await client.post(f"/console/alerts/{world.missed.id}/acknowledge", data={"_csrf": other})
    assert response.status_code == 403
    async with db() as session:
        assert (await session.get(Alert, world.missed.id)).status == AlertStatus.OPEN


async def test_a_nonce_and_token_planted_from_an_anonymous_visit_do_not_fit_a_signed_in_browser(
    app, client, world, db
):
    """Cookie tossing (a sibling subdomain, plain http): an attacker takes a nonce and its token
    from the sign-in page and plants the nonce in a coordinator's browser. The token is bound to
    the session cookie, which the attacker cannot know: refused, nothing changes."""
    async with AsyncTestClient(app=app) as attacker:
        page = await attacker.get("/console/sign-in")
        planted_token = CSRF.search(page.text).group(1)
        planted_nonce = attacker.cookies.get("mimamori_console_csrf")
    await sign_in(client, "coord")
    client.cookies.set("mimamori_console_csrf", planted_nonce, path="/console")
    for data, headers in (({"_csrf": planted_token}, {}), ({}, {**HTMX, "X-CSRF-Token": planted_token})):
        response = await client.post(
            f"/console/alerts/{world.missed.id}/acknowledge",
            data=data,
            headers=headers,
            follow_redirects=False,
        )
        assert response.status_code == 403
        assert "別のサイトから送信されました" in response.text
    async with db() as session:
        assert (await session.get(Alert, world.missed.id)).status == AlertStatus.OPEN
    # The coordinator's own page, rendered with the planted nonce, still works.
    token = await csrf_from(client, "/console")
    response = await client.post(f"/console/alerts/{world.missed.id}/acknowledge", data={"_csrf": token})
    assert response.status_code == 200
    async with db() as session:
        assert (await session.get(Alert, world.missed.id)).status == AlertStatus.ACKNOWLEDGED


async def test_another_organisations_alert_cannot_be_touched(client, world, db):
    await sign_in(client, "coord")
    token = await csrf_from(client, "/console")
    response = await client.post(
        f"/console/alerts/{world.foreign.id}/acknowledge", data={"_csrf": token}, headers=HTMX
    )
    assert response.status_code == 404
    assert response.headers["hx-retarget"] == "#flash"
    assert "アラートが見つかりません" in response.text
    async with db() as session:
        assert (await session.get(Alert, world.foreign.id)).status == AlertStatus.OPEN


async def test_resolve_with_a_resolution_and_a_note(client, world, db):
    await sign_in(client, "coord")
    token = await csrf_from(client, "/console")
    bad = await client.post(
        f"/console/alerts/{world.missed.id}/resolve",
        data={"_csrf": token, "resolution": "recorded_late"},
        headers=HTMX,
    )
    assert bad.status_code == 400 and "入力内容に誤りがあります" in bad.text
    response = await client.post(
        f"/console/alerts/{world.missed.id}/resolve",
        data={"_csrf": token, "resolution": "contact_recorded", "note": "電話で無事を確認"},
        headers=HTMX,
    )
    assert response.status_code == 200, response.text
    assert "山田 花子 さんのアラートを解決にしました。" in response.text
    assert "未対応のアラート（1件）" in response.text and "山田 花子</" not in response.text
    async with db() as session:
        alert = await session.get(Alert, world.missed.id)
        assert alert.status == AlertStatus.RESOLVED
        assert alert.resolution == "contact_recorded" and alert.resolution_note == "電話で無事を確認"
