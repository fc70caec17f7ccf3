"""Taking a contact back: a note deleted or corrected by its author, a visit's "done" undone on the
phone. Nobody has been, so the visit is chased again and the resident's last contact is what the
remaining notes say."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from domain.clock import clock
from domain.models import Alert, Organisation, Visit
from domain.org_settings import rules_for
from schedules import jobs, ladder
from tests.factories import login
from tests.sync.conftest import NOW, Town, phone


async def _on_the_ladder(db, town: Town) -> None:
    async with db() as s:
        visit = await s.get_one(Visit, town.visit.id)
        org = await s.get_one(Organisation, town.org.id)
        ladder.schedule_first_step(visit, org, rules_for(org), NOW)  # as expansion does


async def _missed_alerts(db, town: Town) -> list[Alert]:
    async with db() as s:
        return list(await s.scalars(select(Alert).where(Alert.visit_id == town.visit.id)))


async def test_a_visit_set_back_to_planned_is_chased_again(client, db, town: Town) -> None:
    await _on_the_ladder(db, town)
    device = await phone(client, "vol")
    await device.pull()
    device.update("visits", town.visit.id, status="done")  # tapped on the wrong visit
    assert (await device.push())["applied"] == 1
    clock.set(NOW + timedelta(hours=7))  # 19:00 JST: the evening reminder's run
    await jobs.sweep(client.app.state.db_config)  # a done visit leaves the ladder
    device.headers = await login(client, "vol", device_id="phone-1")  # the app refreshes its token
    await device.pull()
    device.update("visits", town.visit.id, status="planned")  # undone: nobody has been yet
    assert (await device.push())["applied"] == 1
    async with db() as s:
        visit = await s.get_one(Visit, town.visit.id)
        assert visit.status == "planned"
        due_end = visit.due_end
    # Nobody visits. The window closes and the grace period passes.
    clock.set(due_end + timedelta(hours=25))
    await jobs.sweep(client.app.state.db_config)
    await jobs.sweep(client.app.state.db_config)
    assert [a.kind for a in await _missed_alerts(db, town)] == ["missed_visit"]
