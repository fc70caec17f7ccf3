"""A resident's page beyond reading: the cadence editor (RRULE for each shape, words, live preview),
saving and ending plans, recording an office contact, the timeline, consent history, scope, CSRF
and double submission — all through the API's services."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
from dateutil.rrule import rrulestr
from sqlalchemy import func, select
from sqlalchemy.exc import DataError, IntegrityError

from api.residents import service as resident_service
from api.residents.schemas import ConsentIn
from console import resident_actions
from console.cadence import CadenceChoice, build_rrule, choice_of, in_words
from domain import alerts as lifecycle
from domain.access import Principal
from domain.enums import (
    AlertResolution,
    AlertStatus,
    ConsentRecipient,
    ConsentStatus,
    ContactMethod,
    ContactOutcome,
    NoteVisibility,
    PlanStatus,
    Role,
    SupportField,
    SupportTopic,
    VisitKind,
    VisitStatus,
)
from domain.errors import InvalidInput
from domain.models import Alert, AuditEvent, ContactNote, Resident, User, Visit, VisitPlan
from schedules.recurrence import validate_rrule
from tests.console.conftest import CSRF, DAYTIME, sign_in
from tests.factories import assign

EDITOR_TUESDAY = {
    "shape": "weekly",
    "weekdays": ["TU"],
    "interval": "1",
    "nth": "1",
    "weekday": "TU",
    "window_start": "10:00",
    "window_end": "12:00",
    "starts_on": "2026-11-27",
    "holiday_rule": "shift",
}
DATES = re.compile(r'data-date="([0-9-]+)" data-rule-date="([0-9-]+)"')


# --- the editor's shapes, as RRULEs and in words (unit) ------------------------------------------


@pytest.mark.parametrize(
    ("choice", "rule", "ja", "en"),
    [
        (CadenceChoice("weekly", ("TU",)), "FREQ=WEEKLY;BYDAY=TU", "毎週火曜", "Every Tuesday"),
        (
            CadenceChoice("weekly", ("FR", "MO"), interval=2),
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR",
            "隔週月・金曜",
            "Every 2 weeks on Monday and Friday",
        ),
        (
            CadenceChoice("weekly", ("WE",), interval=3),
            "FREQ=WEEKLY;INTERVAL=3;BYDAY=WE",
            "3週ごと水曜",
            "Every 3 weeks on Wednesday",
        ),
        (
            CadenceChoice("monthly", nth=2, weekday="TU"),
            "FREQ=MONTHLY;BYDAY=2TU",
            "毎月第2火曜",
            "Monthly on the 2nd Tuesday",
        ),
        (
            CadenceChoice("monthly", nth=-1, weekday="FR"),
            "FREQ=MONTHLY;BYDAY=-1FR",
            "毎月最終金曜",
            "Monthly on the last Friday",
        ),
    ],
)
def test_each_editor_shape_builds_the_rrule_the_api_accepts_and_reads_back(choice, rule, ja, en):
    assert build_rrule(choice) == rule
    assert validate_rrule(rule)  # the plans API's own validation
    assert build_rrule(choice_of(rule)) == rule  # a stored rule opens in the editor as it was
    assert in_words(rule, time(10), time(12), "ja") == f"{ja} 10:00–12:00"
    assert in_words(rule, time(10), time(12), "en") == f"{en} 10:00–12:00"


def test_the_monthly_rule_lands_on_the_nth_weekday():
    rule = rrulestr(build_rrule(CadenceChoice("monthly", nth=2, weekday="TU")), dtstart=datetime(2026, 12, 1))
    assert [d.date() for d in rule[:3]] == [date(2026, 12, 8), date(2027, 1, 12), date(2027, 2, 9)]


def test_an_incomplete_choice_names_the_field_and_an_unknown_rule_is_shown_as_itself():
    with pytest.raises(InvalidInput) as refused:
        build_rrule(CadenceChoice("weekly", ()))
    assert refused.value.errors[0].field == "weekdays"
    with pytest.raises(InvalidInput):
        build_rrule(CadenceChoice("weekly", ("TU",), interval=9))
    with pytest.raises(InvalidInput):
        build_rrule(CadenceChoice("monthly", nth=5, weekday="TU"))
    assert choice_of("FREQ=DAILY;INTERVAL=3") is None
    assert in_words("FREQ=DAILY;INTERVAL=3", time(9), time(18), "ja") == "FREQ=DAILY;INTERVAL=3 09:00–18:00"


# --- through the console ---------------------------------------------------------------------------


async def _page(client, resident_id: str) -> tuple[str, str]:
    response = await client.get(f"/console/residents/{resident_id}")
    assert response.status_code == 200, response.text
    token = CSRF.search(response.text)
    assert token
    return response.text, token.group(1)


def _key(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([0-9a-f]+)"', page)
    assert found, name
    return found.group(1)


async def test_preview_shows_the_rule_in_words_and_the_next_five_tuesdays_in_tokyo(client, world):
    await sign_in(client, "coord")
    _, token = await _page(client, world.resident.id)
    response = await client.post(
        f"/console/residents/{world.resident.id}/plans/preview",
        data={**EDITOR_TUESDAY, "_csrf": token},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200, response.text
    assert "毎週火曜 10:00–12:00" in response.text and "FREQ=WEEKLY;BYDAY=TU" in response.text
    assert "Asia/Tokyo" in response.text
    found = DATES.findall(response.text)
    assert len(found) == 5
    # From Friday 27 Nov 2026: four Tuesdays, and the fifth (29 Dec, the year-end closure) moved to
    # the next working day by the holiday rule, its rule date still a Tuesday.
    assert [d for d, _ in found[:4]] == ["2026-12-01", "2026-12-08", "2026-12-15", "2026-12-22"]
    assert all(date.fromisoformat(rule).weekday() == 1 for _, rule in found)
    assert found[4] == ("2027-01-04", "2026-12-29") and "祝日のため振替" in response.text
    assert "2026/12/01（火）10:00–12:00" in response.text


async def test_preview_names_a_missing_weekday_and_saves_nothing(client, world, db):
    await sign_in(client, "coord")
    _, token = await _page(client, world.resident.id)
    response = await client.post(
        f"/console/residents/{world.resident.id}/plans/preview",
        data={**EDITOR_TUESDAY, "weekdays": [], "_csrf": token},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422 and "曜日を1つ以上選んでください。" in response.text
    async with db() as session:
        assert await session.scalar(select(func.count(VisitPlan.id))) == 0


async def test_save_a_plan_twice_makes_one_plan_then_edit_and_end_it(client, world, db):
    await sign_in(client, "coord")
    page, token = await _page(client, world.resident.id)
    form = {**EDITOR_TUESDAY, "_csrf": token, "plan_key": _key(page, "plan_key")}
    for _ in range(2):  # a double click, a resent form
        response = await client.post(
            f"/console/residents/{world.resident.id}/plans", data=form, follow_redirects=False
        )
        assert response.status_code == 303, response.text
    async with db() as session:
        (plan,) = (await session.scalars(select(VisitPlan))).all()
        assert plan.rrule == "FREQ=WEEKLY;BYDAY=TU" and plan.window_start == time(10)
        visits = (await session.scalars(select(Visit).where(Visit.plan_id == plan.id))).all()
        assert visits and all(v.due_start.astimezone(world_zone()).weekday() in (0, 1) for v in visits)
        saved = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.entity == "visit_plan", AuditEvent.action == "create")
            )
        ).all()
        assert len(saved) == 1
    page = (await client.get(f"/console/residents/{world.resident.id}?done=plan")).text
    assert "訪問計画を保存しました。" in page and "毎週火曜 10:00–12:00" in page

    edited = {**form, "weekdays": ["TU", "FR"], "interval": "2"}
    edited.pop("plan_key")
    response = await client.post(
        f"/console/residents/{world.resident.id}/plans/{plan.id}", data=edited, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    assert "隔週火・金曜 10:00–12:00" in (await client.get(f"/console/residents/{world.resident.id}")).text

    response = await client.post(
        f"/console/residents/{world.resident.id}/plans/{plan.id}/end",
        data={"_csrf": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    async with db() as session:
        ended = await session.get_one(VisitPlan, plan.id)
        assert ended.status == PlanStatus.ENDED and ended.rrule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,FR"


def world_zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Tokyo")


async def test_an_office_contact_fulfils_the_due_visit_and_resolves_its_missed_alert_once(client, world, db):
    async with db() as session:
        visit = Visit(
            org_id=world.org.id,
            resident_id=world.resident.id,
            occurrence_key="office-contact-1",
            kind=VisitKind.PLANNED,
            status=VisitStatus.MISSED,
            due_start=DAYTIME - timedelta(hours=2),  # 08:00–11:00 in Tokyo, now is 10:00
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
    await sign_in(client, "coord")
    page, token = await _page(client, world.resident.id)
    assert 'name="occurred_at" required value="2026-11-27T10:00"' in page  # now, in Tokyo
    form = {
        "_csrf": token,
        "note_key": _key(page, "note_key"),
        "method": "phone",
        "outcome": "met_well",
        "occurred_at": "2026-11-27T10:00",
        "body": "事務所から電話、元気とのこと",
        "visibility": "team",
    }
    for _ in range(2):  # sent twice: one note
        response = await client.post(
            f"/console/residents/{world.resident.id}/contact-notes", data=form, follow_redirects=False
        )
        assert response.status_code == 303, response.text
        assert response.headers["location"].endswith("?done=note#timeline")
    async with db() as session:
        notes = (
            await session.scalars(
                select(ContactNote).where(ContactNote.body == "事務所から電話、元気とのこと")
            )
        ).all()
        assert len(notes) == 1 and notes[0].author_id == world.coordinator.id
        assert notes[0].method == ContactMethod.PHONE and notes[0].visit_id == visit.id
        done = await session.get_one(Visit, visit.id)
        assert done.status == VisitStatus.DONE and done.fulfilled_by_note_id == notes[0].id
        resolved = await session.get_one(Alert, alert.id)
        assert resolved.status == AlertStatus.RESOLVED
        assert resolved.resolution == AlertResolution.RECORDED_LATE
        resident = await session.get_one(Resident, world.resident.id)
        assert resident.last_contact_at is not None
    page = (await client.get(f"/console/residents/{world.resident.id}?done=note")).text
    assert "連絡を記録しました。" in page
    timeline = page[page.index('id="timeline"') :]
    assert "事務所から電話、元気とのこと" in timeline and "2026/11/27 10:00（電話）" in timeline
    assert "実施済み" in timeline  # the visit, now done


async def test_without_the_csrf_token_nothing_changes(client, world, db):
    await sign_in(client, "coord")
    page, _ = await _page(client, world.resident.id)
    note = {"note_key": _key(page, "note_key"), "method": "phone", "outcome": "met_well", "body": "x"}
    refused = await client.post(f"/console/residents/{world.resident.id}/contact-notes", data=note)
    assert refused.status_code == 403
    plan = {**EDITOR_TUESDAY, "plan_key": _key(page, "plan_key")}
    refused = await client.post(f"/console/residents/{world.resident.id}/plans", data=plan)
    assert refused.status_code == 403
    forged = await client.post(
        f"/console/residents/{world.resident.id}/plans", data={**plan, "_csrf": "0" * 64}
    )
    assert forged.status_code == 403
    async with db() as session:
        assert await session.scalar(select(func.count(VisitPlan.id))) == 0
        assert await session.scalar(select(func.count(ContactNote.id)).where(ContactNote.body == "x")) == 0


async def test_a_volunteer_is_refused(client, world, db):
    await sign_in(client, "vol")
    home = await client.get("/console")
    token = CSRF.search(home.text)
    assert token
    for path, data in (
        ("contact-notes", {"note_key": "a1", "method": "phone", "outcome": "met_well"}),
        ("plans", {**EDITOR_TUESDAY, "plan_key": "a2"}),
        ("plans/preview", EDITOR_TUESDAY),
    ):
        response = await client.post(
            f"/console/residents/{world.resident.id}/{path}", data={**data, "_csrf": token.group(1)}
        )
        assert response.status_code == 403, path
    assert (await client.get(f"/console/residents/{world.resident.id}/timeline?page=2")).status_code == 403
    async with db() as session:
        assert await session.scalar(select(func.count(VisitPlan.id))) == 0
        assert await session.scalar(select(func.count(ContactNote.id)).where(ContactNote.id == "a1")) == 0


async def test_another_organisations_resident_is_not_found(client, world):
    await sign_in(client, "coord")
    _, token = await _page(client, world.resident.id)
    foreign = world.foreign.resident_id
    assert (await client.get(f"/console/residents/{foreign}")).status_code == 404
    assert (await client.get(f"/console/residents/{foreign}/timeline?page=2")).status_code == 404
    response = await client.post(
        f"/console/residents/{foreign}/contact-notes",
        data={"_csrf": token, "note_key": "f1", "method": "phone", "outcome": "met_well"},
    )
    assert response.status_code == 404 and world.foreign_name not in response.text


async def test_a_commissioner_outside_the_district_sees_no_editor_and_is_refused(client, world, db):
    async with db() as session:
        # Assigned to the commissioner, but in another district: visible, not theirs to plan.
        await assign(session, await session.get_one(Resident, world.other_resident.id), world.commissioner)
    await sign_in(client, "comm")
    page, token = await _page(client, world.other_resident.id)
    assert 'id="plans"' not in page
    for path, data in (("plans/preview", EDITOR_TUESDAY), ("plans", {**EDITOR_TUESDAY, "plan_key": "c1"})):
        response = await client.post(
            f"/console/residents/{world.other_resident.id}/{path}", data={**data, "_csrf": token}
        )
        assert response.status_code == 403, path
    own, _ = await _page(client, world.resident.id)
    assert 'id="plans"' in own  # their own district: the editor is there
    async with db() as session:
        assert await session.scalar(select(func.count(VisitPlan.id))) == 0


async def test_a_restricted_note_shows_only_to_whoever_may_read_it(client, world, db):
    async with db() as session:
        await assign(session, await session.get_one(Resident, world.other_resident.id), world.commissioner)
        for visibility, body in (
            (NoteVisibility.RESTRICTED, "限定の記録"),
            (NoteVisibility.TEAM, "共有の記録"),
        ):
            session.add(
                ContactNote(
                    org_id=world.org.id,
                    resident_id=world.other_resident.id,
                    author_id=world.coordinator.id,
                    method=ContactMethod.PHONE,
                    outcome=ContactOutcome.MET_CONCERN,
                    visibility=visibility,
                    body=body,
                    occurred_at=DAYTIME - timedelta(days=1),
                    received_at=DAYTIME - timedelta(days=1),
                )
            )
    await sign_in(client, "comm")  # commissioner of another district: the API's rule hides it
    page, _ = await _page(client, world.other_resident.id)
    assert "共有の記録" in page and "限定の記録" not in page
    await client.post("/console/sign-out", data={"_csrf": CSRF.search(page).group(1)})  # type: ignore[union-attr]
    await sign_in(client, "coord")
    page, _ = await _page(client, world.other_resident.id)
    assert "共有の記録" in page and "限定の記録" in page and "限定公開" in page


async def test_the_timeline_merges_newest_first_and_pages_with_more(client, world, db):
    async with db() as session:
        for day in range(1, 25):
            session.add(
                ContactNote(
                    org_id=world.org.id,
                    resident_id=world.resident.id,
                    author_id=world.coordinator.id,
                    method=ContactMethod.PHONE,
                    outcome=ContactOutcome.MET_WELL,
                    body=f"記録{day:02d}",
                    occurred_at=DAYTIME - timedelta(days=day, hours=1),
                    received_at=DAYTIME,
                )
            )
        session.add(
            Visit(
                org_id=world.org.id,
                resident_id=world.resident.id,
                occurrence_key="tl-1",
                kind=VisitKind.PLANNED,
                status=VisitStatus.MISSED,
                due_start=DAYTIME - timedelta(days=3),  # between notes 02 and 03
                due_end=DAYTIME - timedelta(days=3) + timedelta(hours=2),
            )
        )
    await sign_in(client, "coord")
    page, _ = await _page(client, world.resident.id)
    timeline = page[page.index('id="timeline"') :]
    assert timeline.count('class="tl-entry') == 20
    order = [timeline.index(text) for text in ("記録01", "記録02", "未実施", "記録03")]
    assert order == sorted(order)
    assert "記録24" not in timeline and "さらに表示" in timeline
    more = await client.get(
        f"/console/residents/{world.resident.id}/timeline?page=2", headers={"HX-Request": "true"}
    )
    assert more.status_code == 200
    # 24 notes + the alert-free missed visit + the fixture's note: 6 more, no further button.
    assert more.text.count('class="tl-entry') == 6 and "記録24" in more.text and "さらに表示" not in more.text


async def test_a_timeline_note_shows_its_support_field_and_topic_as_the_activity_record_counts(
    client, world, db
):
    async with db() as session:
        for body, support_field, topic in (
            ("学校のことで相談", SupportField.CHILDREN, SupportTopic.CHILD_EDUCATION),
            ("ただの訪問", None, None),
        ):
            session.add(
                ContactNote(
                    org_id=world.org.id,
                    resident_id=world.resident.id,
                    author_id=world.coordinator.id,
                    method=ContactMethod.HOME_VISIT,
                    outcome=ContactOutcome.MET_WELL,
                    body=body,
                    support_field=support_field,
                    support_topic=topic,
                    occurred_at=DAYTIME - timedelta(hours=2 if support_field else 1),
                    received_at=DAYTIME,
                )
            )
    await sign_in(client, "coord")
    page, _ = await _page(client, world.resident.id)
    timeline = page[page.index('id="timeline"') :]
    entries = timeline.split('class="tl-entry')[1:]
    consultation = next(e for e in entries if "学校のことで相談" in e)
    assert "相談・支援: 子どもに関すること — 子どもの教育・学校生活" in consultation
    plain = next(e for e in entries if "ただの訪問" in e)
    assert "相談・支援" not in plain
    async with db() as session:
        (await session.get_one(User, world.coordinator.id)).locale = "en"
    english = (await client.get(f"/console/residents/{world.resident.id}")).text
    assert "Consultation: Children — Children&#39;s education and school life" in english


async def test_consent_history_names_who_changed_what_and_the_view_is_one_audit_event(client, world, db):
    async with db() as session:
        coordinator = await session.get_one(User, world.coordinator.id)
        principal = Principal(coordinator.id, world.org.id, Role.COORDINATOR)
        await resident_service.set_consent(
            session,
            principal,
            world.resident.id,
            ConsentRecipient.PARTNER_NPO,
            ConsentIn(status=ConsentStatus.NOT_GIVEN, purpose="見守り"),
        )
        (await session.scalars(select(AuditEvent))).all()
    await sign_in(client, "coord")
    before = await _count_reads(db)
    page, _ = await _page(client, world.resident.id)
    history = page[page.index('id="consent-history-heading"') :]
    assert "協力NPO" in history and "変更" in history and "調整 花子" in history and "status" in history
    assert await _count_reads(db) == before + 1  # the page view: one event, not one per service


async def _count_reads(db) -> int:
    async with db() as session:
        return int(
            await session.scalar(
                select(func.count(AuditEvent.id)).where(AuditEvent.action.in_(("read", "list")))
            )
            or 0
        )


async def test_one_read_gathers_reads_but_never_changes(db, world):
    from domain import audit

    principal = Principal(world.coordinator.id, world.org.id, Role.COORDINATOR)
    async with db() as session:
        with audit.one_read(session, principal, "resident", world.resident.id, page="test"):
            audit.record(session, principal, "read", "resident", world.resident.id, fields=["name"])
            audit.record(session, principal, "list", "contact_note", None, note_ids=["n1"])
            audit.record(session, principal, "update", "resident", world.resident.id, fields=["phone"])
        audit.record(session, principal, "read", "consent", world.resident.id)  # outside: its own
        await session.flush()
        events = (await session.scalars(select(AuditEvent).order_by(AuditEvent.at, AuditEvent.id))).all()
    assert sorted((e.action, e.entity) for e in events) == [
        ("read", "consent"),
        ("read", "resident"),
        ("update", "resident"),
    ]
    (page,) = [e for e in events if e.detail.get("page") == "test"]
    assert page.detail["fields"] == ["name"]
    assert [p["entity"] for p in page.detail["parts"]] == ["resident", "contact_note"]
    assert page.detail["parts"][1]["note_ids"] == ["n1"]


async def test_a_start_date_past_what_can_be_stored_is_a_console_page_and_saves_nothing(client, world, db):
    """Year 9999 overflows when the visits are laid out: a 400 page in the console's words, not
    the API's problem+json, and no plan."""
    await sign_in(client, "coord")
    page, token = await _page(client, world.resident.id)
    form = {**EDITOR_TUESDAY, "starts_on": "9999-12-31", "_csrf": token, "plan_key": _key(page, "plan_key")}
    response = await client.post(
        f"/console/residents/{world.resident.id}/plans", data=form, follow_redirects=False
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "リクエストが正しくありません" in response.text
    async with db() as session:
        assert (await session.scalars(select(VisitPlan))).all() == []


@pytest.mark.parametrize(
    ("refusal", "status", "words"),
    [
        (IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed")), 409, "他の変更と競合しました"),
        (DataError("INSERT", {}, Exception("invalid byte sequence")), 400, "リクエストが正しくありません"),
    ],
)
async def test_a_database_refusal_the_service_did_not_foresee_is_a_console_page(
    client, world, db, monkeypatch, refusal, status, words
):
    """Whatever the database refuses of what a person typed is answered like the API answers it
    (a clash 409, a bad value 400) but as the console's own page, never problem+json or a 500."""

    async def refuse(*args, **kwargs):
        raise refusal

    monkeypatch.setattr(resident_actions, "create_note", refuse)
    await sign_in(client, "coord")
    page, token = await _page(client, world.resident.id)
    form = {"note_key": _key(page, "note_key"), "method": "phone", "outcome": "met_well", "_csrf": token}
    response = await client.post(
        f"/console/residents/{world.resident.id}/contact-notes", data=form, follow_redirects=False
    )
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert words in response.text
    htmx = await client.post(
        f"/console/residents/{world.resident.id}/contact-notes",
        data=form,
        headers={"HX-Request": "true"},
        follow_redirects=False,
    )
    assert htmx.status_code == status
    assert htmx.headers["hx-retarget"] == "#flash"
    assert words in htmx.text


async def test_a_timeline_note_shows_its_warning_signs_referral_and_wellbeing(client, world, db):
    """What a visitor noticed is what the coordinator needs to see: before, the timeline showed
    only the outcome and the author of such a note."""
    async with db() as session:
        session.add(
            ContactNote(
                org_id=world.org.id,
                resident_id=world.resident.id,
                author_id=world.coordinator.id,
                method=ContactMethod.HOME_VISIT,
                outcome=ContactOutcome.NO_ANSWER,
                warning_signs=["郵便物がたまっている", "<b>昼夜とも電気</b>"],
                referral="地域包括支援センター",
                wellbeing={"scale": "ucla3", "answers": [1, 2, 3], "score": 6},
                occurred_at=DAYTIME - timedelta(hours=1),
                received_at=DAYTIME,
            )
        )
    await sign_in(client, "coord")
    page, _ = await _page(client, world.resident.id)
    note = page[page.index('id="timeline"') :].split('class="tl-entry')[1]
    assert "気になるサイン" in note and "<li>郵便物がたまっている</li>" in note
    assert "<li>&lt;b&gt;昼夜とも電気&lt;/b&gt;</li>" in note  # escaped, never markup
    assert "つなぎ先: 地域包括支援センター" in note
    assert "体調・暮らしの様子:" in note and "scale: ucla3" in note and "answers: 1, 2, 3" in note
    assert "score: 6" in note
