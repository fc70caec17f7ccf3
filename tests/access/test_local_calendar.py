"""Consent expiry is judged in the organisation's own calendar, through every path that hands out a
resident: the list, the detail, "my visits" and sync pulls (first and incremental).

Tokyo is 9 hours ahead of UTC: between 00:00 and 09:00 there, UTC's date is still yesterday, so a
consent that expired yesterday (locally) would still share if "today" were UTC's. Honolulu is 10
hours behind: from 14:00 there UTC's date is already tomorrow, so a consent valid today (locally)
would already be hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.clock import clock
from domain.enums import ConsentRecipient, Role
from domain.models import Organisation, Resident, User, Visit
from tests.factories import assign, give_consent, login, make_district, make_resident, make_user
from tests.sync.device import Device

LAST_DAY = date(2026, 6, 10)  # the consent's last day (expires_on), in the organisation's calendar


@dataclass
class Setting:
    org: Organisation
    viewer: User
    resident: Resident
    zone: ZoneInfo


async def _town(db: Any, zone_name: str, role: Role) -> Setting:
    zone = ZoneInfo(zone_name)
    clock.set(datetime.combine(LAST_DAY - timedelta(days=5), time(12), tzinfo=zone))
    async with db() as s:
        org = Organisation(name="暦の町", timezone=zone_name)
        s.add(org)
        await s.flush()
        district = await make_district(s, org)
        districts = [district] if role == Role.COMMISSIONER else []
        viewer = await make_user(s, org, role, "viewer", districts=districts)
        resident = await make_resident(s, org, district, name="暦 花子")
        recipient = (
            ConsentRecipient.VOLUNTEERS if role == Role.VOLUNTEER else ConsentRecipient.DISTRICT_COMMISSIONER
        )
        await give_consent(s, resident, recipient, expires_on=LAST_DAY)
        await assign(s, resident, viewer)
        # A visit on the day after the last day, 10:00-12:00 local, assigned to the viewer.
        start = datetime.combine(LAST_DAY + timedelta(days=1), time(10), tzinfo=zone)
        s.add(
            Visit(
                org_id=org.id,
                occurrence_key="k1",
                resident_id=resident.id,
                assignee_id=viewer.id,
                due_start=start,
                due_end=start + timedelta(hours=2),
            )
        )
    return Setting(org, viewer, resident, zone)


async def _what_viewer_gets(client: Any, setting: Setting, device: Device) -> dict[str, Any]:
    """Everything that names the resident, through each path, at the clock's current moment."""
    headers = await login(client, "viewer", device_id="phone-1")
    device.headers = headers
    listed = (await client.get("/api/v1/residents", headers=headers)).json()
    detail = await client.get(f"/api/v1/residents/{setting.resident.id}", headers=headers)
    visits = (await client.get("/api/v1/me/visits", headers=headers)).json()
    await device.pull()
    fresh = Device(client, await login(client, "viewer", device_id="fresh-phone"))
    await fresh.pull()
    return {
        "list": [i["id"] for i in listed["items"]],
        "detail": detail.status_code,
        "my_visits": sorted({v["resident"]["id"] for v in visits}),
        "incremental_pull": sorted(device.ids("residents")),
        "first_pull": sorted(fresh.ids("residents")),
        "first_pull_visits": len(fresh.ids("visits")),
    }


def _shared(setting: Setting) -> dict[str, Any]:
    rid = setting.resident.id
    return {
        "list": [rid],
        "detail": 200,
        "my_visits": [rid],
        "incremental_pull": [rid],
        "first_pull": [rid],
        "first_pull_visits": 1,
    }


HIDDEN = {
    "list": [],
    "detail": 404,
    "my_visits": [],
    "incremental_pull": [],
    "first_pull": [],
    "first_pull_visits": 0,
}


@pytest.mark.parametrize("local_time", [time(0, 0), time(0, 30), time(8, 59)])
async def test_consent_that_expired_yesterday_in_tokyo_is_hidden_before_nine(
    client: Any, db: Any, local_time: time
) -> None:
    setting = await _town(db, "Asia/Tokyo", Role.VOLUNTEER)
    device = Device(client, {})
    # The last day, late evening in Tokyo: still shared (the phone holds it).
    clock.set(datetime.combine(LAST_DAY, time(23, 30), tzinfo=setting.zone))
    assert await _what_viewer_gets(client, setting, device) == _shared(setting)
    # The next day in Tokyo, while UTC's date is still the last day: hidden everywhere.
    moment = datetime.combine(LAST_DAY + timedelta(days=1), local_time, tzinfo=setting.zone)
    assert moment.astimezone(ZoneInfo("UTC")).date() == LAST_DAY
    clock.set(moment)
    assert await _what_viewer_gets(client, setting, device) == HIDDEN


async def test_consent_valid_today_in_honolulu_is_still_shared_late_in_the_evening(
    client: Any, db: Any
) -> None:
    setting = await _town(db, "Pacific/Honolulu", Role.COMMISSIONER)
    device = Device(client, {})
    clock.set(datetime.combine(LAST_DAY, time(9), tzinfo=setting.zone))
    assert await _what_viewer_gets(client, setting, device) == _shared(setting)
    # 22:30 on the last day in Honolulu is already the next day in UTC: still shared.
    moment = datetime.combine(LAST_DAY, time(22, 30), tzinfo=setting.zone)
    assert moment.astimezone(ZoneInfo("UTC")).date() == LAST_DAY + timedelta(days=1)
    clock.set(moment)
    assert await _what_viewer_gets(client, setting, device) == _shared(setting)
    # Just after local midnight the consent has expired.
    clock.set(datetime.combine(LAST_DAY + timedelta(days=1), time(0, 5), tzinfo=setting.zone))
    assert await _what_viewer_gets(client, setting, device) == HIDDEN


async def test_consent_given_without_a_date_is_dated_in_the_local_calendar(client: Any, db: Any) -> None:
    setting = await _town(db, "Asia/Tokyo", Role.VOLUNTEER)
    async with db() as s:
        await make_user(s, setting.org, Role.COORDINATOR, "coord")
    moment = datetime.combine(LAST_DAY, time(7, 0), tzinfo=setting.zone)  # UTC: the day before
    clock.set(moment)
    coord = await login(client, "coord")
    given = await client.put(
        f"/api/v1/residents/{setting.resident.id}/consents/council_staff",
        json={"status": "given"},
        headers=coord,
    )
    assert given.status_code == 200, given.text
    assert given.json()["given_on"] == LAST_DAY.isoformat()
