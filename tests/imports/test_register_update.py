"""Re-importing the monthly register (名簿) in update mode, matched on 宛名番号: a dry run reports
new, changed and no longer listed residents; the apply is all or nothing."""

from __future__ import annotations

from sqlalchemy import select

from domain.enums import Role
from domain.models import AuditEvent, District, Organisation, Resident
from tests.factories import login, make_district, make_org, make_resident, make_user

URL = "/api/v1/residents/import"
HEADER = "宛名番号,氏名,住所,地区,リスク"
FIRST = [
    "1001,山田 花子,テスト市中央1-1,中央地区,高",
    "1002,鈴木 一郎,テスト市中央2-2,中央地区,中",
    "1003,高橋 幸子,テスト市北町1-1,北地区,低",
]
# A month later: 1002 moved and is riskier, 1003 left the register, 1004 is new.
SECOND = [
    "1001,山田 花子,テスト市中央1-1,中央地区,高",
    "1002,鈴木 一郎,テスト市北町9-9,北地区,高",
    "1004,田中 次郎,テスト市中央4-4,中央地区,中",
]


def _csv(rows: list[str]) -> bytes:
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp932")


async def _coordinator(client, db) -> dict[str, str]:
    async with db() as session:
        org = await make_org(session)
        await make_district(session, org, "中央地区")
        await make_district(session, org, "北地区")
        await make_user(session, org, Role.COORDINATOR, "coord")
    return {**(await login(client, "coord")), "Content-Type": "text/csv"}


async def _by_number(db) -> dict[str, Resident]:
    async with db() as session:
        return {r.register_number: r for r in await session.scalars(select(Resident))}


async def test_a_second_import_of_the_register_updates_instead_of_refusing(client, db) -> None:
    headers = await _coordinator(client, db)
    first = await client.post(URL, params={"dry_run": "false"}, content=_csv(FIRST), headers=headers)
    assert first.status_code == 200 and first.json()["imported"] == 3
    # Create mode still refuses to add the same people twice, and says to use the update mode.
    again = await client.post(URL, params={"dry_run": "false"}, content=_csv(SECOND), headers=headers)
    assert again.status_code == 400
    assert {e["code"] for e in again.json()["errors"]} == {"import.already_registered", "import.number_taken"}

    dry = await client.post(URL, params={"mode": "update"}, content=_csv(SECOND), headers=headers)
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert report["mode"] == "update" and report["dry_run"] is True and report["errors"] == []
    assert [(r["register_number"], r["name"]) for r in report["new"]] == [("1004", "田中 次郎")]
    assert [(r["register_number"], r["fields"]) for r in report["changed"]] == [
        ("1002", ["address", "district_id", "risk_level"])
    ]
    assert report["unchanged"] == 1
    assert [(r["register_number"], r["name"]) for r in report["no_longer_listed"]] == [("1003", "高橋 幸子")]
    before = await _by_number(db)
    assert set(before) == {"1001", "1002", "1003"} and before["1002"].address == "テスト市中央2-2"

    applied = await client.post(
        URL, params={"mode": "update", "dry_run": "false"}, content=_csv(SECOND), headers=headers
    )
    assert applied.status_code == 200, applied.text
    assert (applied.json()["imported"], applied.json()["updated"]) == (1, 1)
    after = await _by_number(db)
    assert set(after) == {"1001", "1002", "1003", "1004"}
    assert (after["1002"].address, after["1002"].risk_level) == ("テスト市北町9-9", "high")
    assert after["1002"].feed_seq > before["1002"].feed_seq  # phones receive the change
    assert after["1003"].status == "active"  # leaving the register never ends anybody by itself
    async with db() as session:
        actions = set(await session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "resident")))
    assert "import_update" in actions


async def test_an_update_with_any_bad_row_changes_nothing(client, db) -> None:
    headers = await _coordinator(client, db)
    await client.post(URL, params={"dry_run": "false"}, content=_csv(FIRST), headers=headers)
    rows = [*SECOND, ",番号なし 太郎,テスト市中央5-5,中央地区,中", "1005,南 三郎,テスト市南1-1,どこか地区,中"]
    response = await client.post(
        URL, params={"mode": "update", "dry_run": "false"}, content=_csv(rows), headers=headers
    )
    assert response.status_code == 400
    assert {(e["line"], e["code"]) for e in response.json()["errors"]} == {
        (5, "import.number_required"),
        (6, "import.unknown_district"),
    }
    after = await _by_number(db)
    assert set(after) == {"1001", "1002", "1003"} and after["1002"].address == "テスト市中央2-2"


async def test_residents_registered_without_a_number_are_adopted_by_name_and_address(client, db) -> None:
    headers = await _coordinator(client, db)
    async with db() as session:
        organisation = (await session.scalars(select(Organisation))).one()
        central = await session.scalar(select(District).where(District.name == "中央地区"))
        await make_resident(session, organisation, central, name="山田 花子", address="テスト市中央1-1")
    response = await client.post(URL, params={"mode": "update"}, content=_csv(FIRST[:1]), headers=headers)
    report = response.json()
    assert report["new"] == []
    # The file has no ふりがな column: the kana stays; the number is recorded.
    assert [(r["register_number"], r["fields"]) for r in report["changed"]] == [
        ("1001", ["register_number", "risk_level"])
    ]


CONSENT_HEADER = "宛名番号,氏名,住所,地区,リスク,民生委員への提供同意,ボランティアへの提供同意"


def _consent_csv(rows: list[str]) -> bytes:
    return ("\r\n".join([CONSENT_HEADER, *rows]) + "\r\n").encode("cp932")


async def test_a_withdrawal_in_the_register_withdraws_and_other_consent_changes_are_reported(
    client, db
) -> None:
    """A withdrawal withdraws, through the register too: the commissioner no longer sees the
    resident. Before, the re-import answered "unchanged" and the consent stayed given. Consent the
    register would give or take back otherwise is kept as recorded and listed, never silently."""
    headers = await _coordinator(client, db)
    async with db() as session:
        central = (await session.scalars(select(District).where(District.name == "中央地区"))).one()
        org = await session.get(Organisation, central.org_id)
        await make_user(session, org, Role.COMMISSIONER, "comm", districts=[central])
    first = [
        "1001,山田 花子,テスト市中央1-1,中央地区,高,有,無",
        "1002,鈴木 一郎,テスト市中央2-2,中央地区,中,無,無",
    ]
    assert (
        await client.post(URL, params={"dry_run": "false"}, content=_consent_csv(first), headers=headers)
    ).status_code == 200
    comm = await login(client, "comm", device_id="phone-2")
    hanako = (await _by_number(db))["1001"]
    assert (await client.get(f"/api/v1/residents/{hanako.id}", headers=comm)).status_code == 200

    later = [
        "1001,山田 花子,テスト市中央1-1,中央地区,高,撤回,無",  # withdrawn: applied
        "1002,鈴木 一郎,テスト市中央2-2,中央地区,中,有,無",  # would give: kept as recorded, listed
    ]
    dry = (
        await client.post(URL, params={"mode": "update"}, content=_consent_csv(later), headers=headers)
    ).json()
    assert [(c["register_number"], c["fields"]) for c in dry["changed"]] == [
        ("1001", ["consent_commissioner"])
    ]
    assert [(c["register_number"], c["fields"]) for c in dry["consent_kept"]] == [
        ("1002", ["consent_commissioner"])
    ]
    assert (await client.get(f"/api/v1/residents/{hanako.id}", headers=comm)).status_code == 200  # dry run

    applied = await client.post(
        URL, params={"mode": "update", "dry_run": "false"}, content=_consent_csv(later), headers=headers
    )
    assert applied.status_code == 200 and applied.json()["updated"] == 1, applied.text
    assert (await client.get(f"/api/v1/residents/{hanako.id}", headers=comm)).status_code == 404
    coordinator = {k: v for k, v in headers.items() if k != "Content-Type"}
    consents = (await client.get(f"/api/v1/residents/{hanako.id}/consents", headers=coordinator)).json()
    assert {c["recipient"]: c["status"] for c in consents} == {
        "district_commissioner": "withdrawn",
        "volunteers": "not_given",
    }
    ichiro = (await _by_number(db))["1002"]
    consents = (await client.get(f"/api/v1/residents/{ichiro.id}/consents", headers=coordinator)).json()
    assert {c["recipient"]: c["status"] for c in consents}["district_commissioner"] == "not_given"
    async with db() as session:
        withdrawals = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.entity == "consent", AuditEvent.action == "withdraw")
            )
        ).all()
    assert [(e.detail["resident_id"], e.detail["via"]) for e in withdrawals] == [(hanako.id, "import")]


async def test_a_consent_that_came_with_the_register_has_its_history(client, db) -> None:
    """The console's 同意の変更履歴 is read from consent events: an imported consent had none, so who
    recorded it, and when, was not shown."""
    from api.residents.consent_history import consent_history
    from domain.models import User
    from domain.principals import principal_of

    headers = await _coordinator(client, db)
    rows = ["1001,山田 花子,テスト市中央1-1,中央地区,高,有,無"]
    assert (
        await client.post(URL, params={"dry_run": "false"}, content=_consent_csv(rows), headers=headers)
    ).status_code == 200
    async with db() as session:
        coordinator = (await session.scalars(select(User).where(User.login == "coord"))).one()
        resident = (await session.scalars(select(Resident))).one()
        history = await consent_history(session, await principal_of(session, coordinator), resident.id)
    assert sorted((str(c.recipient), c.action, c.actor_id) for c in history) == [
        ("district_commissioner", "create", coordinator.id),
        ("volunteers", "create", coordinator.id),
    ]
