"""Random interleavings of offline edits, syncs, lost responses, assignment and consent changes on
several phones. Afterwards every phone holds exactly its scope and every note written anywhere is
on the server exactly once (or held in quarantine, if it was written for a resident who left the
writer's scope before it reached the server)."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from domain.clock import utcnow
from domain.enums import ConsentRecipient, ConsentStatus, Role
from domain.models import Assignment, Consent, ContactNote, QuarantinedRecord
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user
from tests.sync.conftest import ms
from tests.sync.device import Device, LostResponse, SyncConflict

RESIDENTS = 3
VOLUNTEERS = 2
_run = itertools.count()

operation = st.one_of(
    st.tuples(st.just("note"), st.integers(0, VOLUNTEERS), st.integers(0, RESIDENTS - 1)),
    st.tuples(st.just("edit"), st.integers(0, VOLUNTEERS), st.integers(0, 5)),
    st.tuples(st.just("sync"), st.integers(0, VOLUNTEERS), st.just(0)),
    st.tuples(st.just("lost_push"), st.integers(0, VOLUNTEERS), st.just(0)),
    st.tuples(st.just("lost_pull"), st.integers(0, VOLUNTEERS), st.just(0)),
    st.tuples(st.just("assign"), st.integers(0, VOLUNTEERS - 1), st.integers(0, RESIDENTS - 1)),
    st.tuples(st.just("consent"), st.just(0), st.integers(0, RESIDENTS - 1)),
)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=1, max_size=14))
async def test_phones_converge_to_their_scope(client, db, ops: list[tuple[str, int, int]]) -> None:
    run = next(_run)
    async with db() as s:
        org = await make_org(s, f"町{run}")
        district = await make_district(s, org)
        commissioner = await make_user(s, org, Role.COMMISSIONER, f"c{run}", districts=[district])
        volunteers = [await make_user(s, org, Role.VOLUNTEER, f"v{run}-{i}") for i in range(VOLUNTEERS)]
        residents = [await make_resident(s, org, district, name=f"住民{i}") for i in range(RESIDENTS)]
        for resident in residents:
            await give_consent(s, resident, ConsentRecipient.DISTRICT_COMMISSIONER)
    users = [*volunteers, commissioner]  # index VOLUNTEERS is the commissioner
    devices = [Device(client, await login(client, u.login, device_id=f"p{run}")) for u in users]
    assigned: set[tuple[int, int]] = set()  # (volunteer, resident)
    consent: set[int] = set()
    written: dict[str, int] = {}  # note id → device index

    async def set_assignment(v: int, r: int) -> None:
        async with db() as s:
            if (v, r) in assigned:
                row = await s.scalar(
                    select(Assignment).where(
                        Assignment.user_id == volunteers[v].id,
                        Assignment.resident_id == residents[r].id,
                        Assignment.ended_at.is_(None),
                    )
                )
                row.ended_at = utcnow()
                assigned.discard((v, r))
            else:
                await assign(s, residents[r], volunteers[v])
                assigned.add((v, r))

    async def set_consent(r: int) -> None:
        async with db() as s:
            row = await s.scalar(
                select(Consent).where(
                    Consent.resident_id == residents[r].id, Consent.recipient == ConsentRecipient.VOLUNTEERS
                )
            )
            if row is None:
                await give_consent(s, residents[r], ConsentRecipient.VOLUNTEERS)
            else:
                row.status = ConsentStatus.WITHDRAWN if r in consent else ConsentStatus.GIVEN
        consent.symmetric_difference_update({r})

    for name, a, b in ops:
        device = devices[a] if name not in ("assign", "consent") else None
        if name == "note":
            held = sorted(device.ids("residents"))
            if held:
                written[
                    device.create_note(held[b % len(held)], ms(utcnow()), body=f"note {len(written)}")
                ] = a
        elif name == "edit":
            own = sorted(i for i in device.ids("contact_notes") if written.get(i) == a)
            if own:
                device.update("contact_notes", own[b % len(own)], body=f"edited {b}")
        elif name == "sync":
            await device.sync()
        elif name == "lost_push":
            try:
                await device.pull()
                await device.push(lose_response=True)
            except (LostResponse, SyncConflict):
                pass
        elif name == "lost_pull":
            try:
                await device.pull(lose_response=True)
            except LostResponse:
                pass
        elif name == "assign":
            await set_assignment(a, b)
        else:
            await set_consent(b)

    for _ in range(2):  # everybody syncs until nothing is left to exchange
        for device in devices:
            await device.sync()

    async with db() as s:
        notes = (
            await s.execute(
                select(ContactNote.id, ContactNote.resident_id).where(ContactNote.org_id == org.id)
            )
        ).all()
        held = set(
            (
                await s.scalars(select(QuarantinedRecord.record_id).where(QuarantinedRecord.org_id == org.id))
            ).all()
        )
    on_server = {note_id: resident_id for note_id, resident_id in notes}
    for note_id in written:  # nothing lost (a primary key makes "exactly once" on the server)
        assert note_id in on_server or note_id in held, (note_id, ops)
    resident_ids = [r.id for r in residents]
    for index, device in enumerate(devices):
        if index == VOLUNTEERS:
            scope = set(resident_ids)
        else:
            scope = {resident_ids[r] for r in range(RESIDENTS) if (index, r) in assigned and r in consent}
        assert device.ids("residents") == scope, (index, ops)
        expected_notes = {n for n, r in on_server.items() if r in scope}
        assert device.ids("contact_notes") == expected_notes, (index, ops)
        assert not device.has_local_changes()
