"""The audit log page (/console/audit): `api.audit.service.list_events` under the cookie session —
coordinators only, their organisation only, the API's entity vocabulary, days in the organisation's
zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.models import AuditEvent
from tests.console.conftest import sign_in

PAGE = "/console/audit"


@pytest.fixture
async def events(world, db):
    async with db() as session:

        def event(at, actor, action, entity, org=world.org.id):
            return AuditEvent(
                org_id=org,
                at=at,
                actor_id=actor,
                action=action,
                entity=entity,
                entity_id=None,
                detail={"fields": ["name"]},
            )

        session.add_all(
            [
                # 27 Nov, 00:30 in Tokyo (still the 26th in UTC)
                event(datetime(2026, 11, 26, 15, 30, tzinfo=UTC), world.coordinator.id, "read", "resident"),
                # 26 Nov, 23:30 in Tokyo
                event(datetime(2026, 11, 26, 14, 30, tzinfo=UTC), world.volunteer.id, "update", "resident"),
                event(datetime(2026, 11, 27, 0, 30, tzinfo=UTC), world.coordinator.id, "unlock", "user"),
                event(
                    datetime(2026, 11, 27, 0, 30, tzinfo=UTC),
                    None,
                    "read",
                    "resident",
                    org=world.foreign.org_id,
                ),
            ]
        )


async def test_filters_by_entity_actor_action_and_days_in_the_organisations_zone(client, world, events):
    await sign_in(client, "coord")
    everything = (await client.get(PAGE)).text
    assert "監査ログ（3件）" in everything  # never another organisation's
    assert "奉仕 次郎" in everything and "調整 花子" in everything
    assert 'href="/console/audit" aria-current="page"' in everything

    day = (await client.get(PAGE, params={"from_date": "2026-11-27", "to_date": "2026-11-27"})).text
    assert (
        "監査ログ（2件）" in day and "2026/11/27 00:30" in day and "奉仕 次郎" not in day.split("<tbody>")[1]
    )
    resident = (await client.get(PAGE, params={"entity": "resident"})).text
    assert "監査ログ（2件）" in resident
    by_actor = (await client.get(PAGE, params={"actor_id": world.volunteer.id})).text
    assert "監査ログ（1件）" in by_actor and "<td>update</td>" in by_actor
    by_action = (await client.get(PAGE, params={"action": "unlock", "entity": "user"})).text
    assert "監査ログ（1件）" in by_action and "<td>unlock</td>" in by_action


async def test_bad_filters_are_named_not_ignored(client, world, events):
    await sign_in(client, "coord")
    unknown = await client.get(PAGE, params={"entity": "nonsense"})
    assert unknown.status_code == 400 and "visit_plan" in unknown.text
    backwards = await client.get(PAGE, params={"from_date": "2026-11-27", "to_date": "2026-11-01"})
    assert backwards.status_code == 400
    assert (await client.get(PAGE, params={"from_date": "27/11/2026"})).status_code == 400


async def test_only_coordinators_read_the_log(client, world, events):
    await sign_in(client, "comm")
    refused = await client.get(PAGE)
    assert refused.status_code == 403 and "調整 花子" not in refused.text
