"""GET /contact-notes?format=csv: the notes the caller may list, as a streamed Excel file in the
reader's language; restricted notes only for those who may read them; volunteers export nothing;
another organisation never appears; audited as an export naming the notes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from api.contact_notes import exports
from domain.enums import Role
from domain.models import AuditEvent, ContactNote
from tests.factories import assign, login, make_district, make_org, make_resident, make_user
from tests.sync.conftest import Town, add_note

URL = "/api/v1/contact-notes?format=csv"


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")
    return [line.split(",") for line in response.content.decode("utf-8-sig").split("\r\n") if line]


async def test_notes_export_follows_who_may_read_each_note(client, db, town: Town, now, monkeypatch) -> None:
    monkeypatch.setattr(exports, "EXPORT_BATCH", 1)  # each note its own batch, read after the handler
    mine = await add_note(
        db, town, town.shared, town.volunteer, now - timedelta(hours=3), body="=cmd", follow_up_needed=True
    )
    secret = await add_note(
        db,
        town,
        town.other,
        town.commissioner_b,
        now - timedelta(hours=2),
        body="秘密",
        visibility="restricted",
    )
    team = await add_note(
        db,
        town,
        town.other,
        town.commissioner_b,
        now - timedelta(hours=1),
        method="phone",
        outcome="no_answer",
        support_field="elderly",
        support_topic="long_term_care",
    )
    async with db() as s:
        await assign(s, town.other, town.commissioner)  # comm sees 田中 (district B) by assignment
        other = await make_org(s, "よその市")
        stranger = await make_resident(s, other, await make_district(s, other, "よそ"), name="よそ 人")
        author = await make_user(s, other, Role.COORDINATOR, "other-coord")
        s.add(
            ContactNote(
                org_id=other.id,
                resident_id=stranger.id,
                author_id=author.id,
                method="phone",
                outcome="met_well",
                occurred_at=now - timedelta(minutes=5),
                received_at=now - timedelta(minutes=5),
                body="よそのメモ",
            )
        )

    coord = await login(client, "coord")
    rows = _rows(await client.get(URL, headers=coord))
    assert rows[0] == [
        "日時",
        "氏名",
        "地区",
        "方法",
        "結果",
        "記録者",
        "要フォロー",
        "公開範囲",
        "気になるサイン",
        "相談・支援の分野",
        "相談・支援の内容",
        "内容",
    ]
    assert [(r[1], r[11]) for r in rows[1:]] == [
        ("田中 次郎", ""),
        ("田中 次郎", "秘密"),
        ("佐藤 一郎", "'=cmd"),
    ]
    assert rows[1][3:5] == ["電話", "応答なし"] and rows[2][7] == "限定"
    # the activity record's field and topic of a consultation; nothing for a plain visit
    assert rows[1][9:11] == ["高齢者に関すること", "介護保険"] and rows[3][9:11] == ["", ""]
    assert rows[3][4:8] == ["面会（元気）", "vol", "○", "チーム"]

    comm = await login(client, "comm", device_id="comm-pc")
    assert [r[11] for r in _rows(await client.get(URL, headers=comm))[1:]] == ["", "'=cmd"]  # not 秘密

    by_district = _rows(await client.get(URL + f"&district_id={town.district_b.id}", headers=coord))
    assert [r[1] for r in by_district[1:]] == ["田中 次郎", "田中 次郎"]
    english = _rows(await client.get(URL, headers={**coord, "Accept-Language": "en"}))
    assert english[0][:3] == ["When", "Resident", "District"] and english[1][4] == "no answer"
    assert english[0][9:11] == ["Support field", "Support topic"]
    assert english[1][9:11] == ["Older people", "Long-term care insurance"]

    vol = await login(client, "vol", device_id="vol-pc")
    assert (await client.get(URL, headers=vol)).status_code == 403
    other_coord = await login(client, "other-coord")
    assert [r[11] for r in _rows(await client.get(URL, headers=other_coord))[1:]] == ["よそのメモ"]

    async with db() as s:
        exported = (
            await s.scalars(
                select(AuditEvent).where(AuditEvent.action == "export", AuditEvent.entity == "contact_note")
            )
        ).all()
    # the coordinator's three exports (all, district B, English), each listing its notes newest first;
    # rows come back in no set order (the clock is frozen, so `at` cannot order them)
    coords = sorted(e.detail["note_ids"] for e in exported if e.actor_id == town.coordinator.id)
    everything, district_b = [team.id, secret.id, mine.id], [team.id, secret.id]
    assert coords == sorted([everything, district_b, everything])
    assert len(exported) == 5  # coord 3, comm 1, other-coord 1; the volunteer none
