"""Property: at any moment, in any time zone, every user receives exactly what the consent rules
allow — through GET /residents, GET /residents/{id}, GET /me/visits, the inbox (GET
/me/notifications), sync pulls (a phone that has been pulling all along and a new phone's first
pull, each at the oldest and the latest schema version: residents, visits, notes, alerts,
notifications; and on the phones pulling all along, emergency contacts, which only the latest
version has and only coordinators and commissioners receive) and the pushes the dispatcher sends to each user's phone.

Hypothesis builds random histories in a small town — consent given, withdrawn or given with an
expiry around "today"; legal bases recorded (also for recipients they cannot cover: refused) and
ended; assignments added and ended; a commissioner's districts changed; weekly visit plans (refused
when their assignee may not see the resident); team and restricted notes; contacts pushed from
phones through sync with outcomes that make the real code write messages (`no_answer`: a revisit
request; `emergency`: an urgent alert) — and moves the clock to random local times, early mornings
in Tokyo included (where UTC's date is still yesterday) and late evenings west of UTC (where UTC's
date is already tomorrow). Each check step runs what the scheduler would (the job that follows
sight, the push dispatcher), then compares what each user received with `Model`, a reference
written here from the rules in docs/privacy.md, independent of domain/access.py. Messages are
checked where they are born too: every message a contact writes names only a resident its
recipient may see at that moment (coordinators always hear of an emergency). No future planned
visit or live plan keeps an assignee who may not see the resident; a visit nobody can take has a
`nobody_can_visit` alert.

The default run is small and derandomized (it is part of `make test`); a long random run:
`pytest -m long_run tests/access/test_consent_property.py` (300 examples; CONSENT_PROPERTY_EXAMPLES=N for
another number).
"""

from __future__ import annotations

import itertools
import os
import time as wallclock
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select

from api.auth.tokens import issue_access_token
from domain import events
from domain.clock import clock
from domain.db import create_db_config
from domain.enums import ConsentRecipient, ConsentStatus, NoteVisibility, PlanStatus, Role, VisitStatus
from domain.models import (
    Alert,
    Assignment,
    Consent,
    ContactNote,
    Device,
    District,
    EmergencyContact,
    Notification,
    Organisation,
    User,
    UserDistrict,
    Visit,
    VisitPlan,
)
from domain.settings import PushSettings
from notifications.dispatcher import dispatch_once
from notifications.transports import RecordingTransport
from schedules import jobs
from sync import schema
from tests.factories import make_district, make_resident, make_user
from tests.sync.device import Device as Phone

ZONES = ("Asia/Tokyo", "America/New_York", "Pacific/Honolulu")
DC, VOL, NPO = (
    ConsentRecipient.DISTRICT_COMMISSIONER,
    ConsentRecipient.VOLUNTEERS,
    ConsentRecipient.PARTNER_NPO,
)
RESIDENT_DISTRICTS = ("A", "A", "B")  # three residents: two in district A, one in B
USERS = ("c", "k1", "k2", "v1", "v2")  # coordinator, commissioners (A; B), volunteers
ROLES = {
    "c": Role.COORDINATOR,
    "k1": Role.COMMISSIONER,
    "k2": Role.COMMISSIONER,
    "v1": Role.VOLUNTEER,
    "v2": Role.VOLUNTEER,
}
VISIT_ASSIGNEES = ("v1", "k1", "v2")  # one visit per resident, five days after the start
WATCHERS = ("k1", "v1", "v2")  # who may be assigned
# What each basis can cover, written out again here (not read from domain code).
BASIS_COVERS = {
    "council_confidentiality": {
        DC,
        ConsentRecipient.COUNCIL_STAFF,
        NPO,
        ConsentRecipient.COMMUNITY_SUPPORT_CENTRE,
    },
    "evacuation_support_list": {
        DC,
        ConsentRecipient.COUNCIL_STAFF,
        ConsentRecipient.COMMUNITY_SUPPORT_CENTRE,
    },
}
PULL_VERSIONS = (schema.VERSIONS[0], schema.LATEST_VERSION)  # the oldest phones still served, the newest
PHONE_TABLES = ("residents", "visits", "contact_notes", "alerts", "notifications")
DEVICE_KINDS = tuple(f"{kind}-v{v}" for kind in ("phone", "fresh") for v in PULL_VERSIONS)
PUSHED = f"phone-v{schema.LATEST_VERSION}"
_run = itertools.count()
FIGURES: dict[str, float] = {"examples": 0, "checks": 0, "messages": 0, "pushes": 0}

# --- the history --------------------------------------------------------------------------------
resident = st.integers(0, len(RESIDENT_DISTRICTS) - 1)
step = st.one_of(
    st.tuples(
        st.just("consent"),
        resident,
        st.sampled_from([DC, VOL]),
        st.sampled_from(["give", "withdraw", "expire:-1", "expire:0", "expire:1"]),
    ),
    st.tuples(
        st.just("basis"), resident, st.sampled_from(sorted(BASIS_COVERS)), st.sampled_from([DC, VOL, NPO])
    ),
    st.tuples(st.just("end_basis"), resident),
    st.tuples(st.just("assign"), st.sampled_from(WATCHERS), resident),
    st.tuples(st.just("districts"), st.sampled_from([(), ("A",), ("B",), ("A", "B")])),
    st.tuples(st.just("note"), resident, st.sampled_from(USERS), st.sampled_from(list(NoteVisibility))),
    # A contact recorded on the author's phone and pushed through sync: the real code reacts (twice
    # as likely as other steps: messages are what it writes).
    *[
        st.tuples(
            st.just("contact"), resident, st.sampled_from(USERS), st.sampled_from(["no_answer", "emergency"])
        )
    ]
    * 2,
    # A weekly visit plan made by the coordinator for a watcher (refused when they may not see).
    st.tuples(st.just("plan"), resident, st.sampled_from(WATCHERS)),
    st.tuples(st.just("wait"), st.integers(1, 40 * 60)),  # minutes
    # The next local hh:mm, biased to the hours where UTC's date differs from the local one.
    st.tuples(
        st.just("at"), st.one_of(st.integers(0, 9), st.integers(14, 23)), st.sampled_from([0, 1, 30, 59])
    ),
    st.tuples(st.just("check")),
)


@dataclass
class Model:
    """The rules, as docs/privacy.md states them, over the history so far."""

    zone: ZoneInfo
    consents: dict[tuple[int, str], tuple[str, date | None]] = field(default_factory=dict)
    bases: list[dict[str, Any]] = field(default_factory=list)  # {id, r, basis, recipient, active}
    assigned: set[tuple[str, int]] = field(default_factory=set)
    districts: dict[str, frozenset[str]] = field(default_factory=dict)
    notes: list[dict[str, Any]] = field(default_factory=list)  # {id, r, author, visibility, at}

    def today(self) -> date:
        return clock.now().astimezone(self.zone).date()

    def midnight(self) -> datetime:
        return datetime.combine(self.today(), time(0), tzinfo=self.zone)

    def shares(self, r: int, recipient: str) -> bool:
        status, expires = self.consents.get((r, recipient), ("none", None))
        if status == "given" and (expires is None or expires >= self.today()):
            return True
        return any(b["r"] == r and b["recipient"] == recipient and b["active"] for b in self.bases)

    def sees(self, user: str, r: int) -> bool:
        role = ROLES[user]
        if role == Role.COORDINATOR:
            return True
        if role == Role.COMMISSIONER:
            reach = RESIDENT_DISTRICTS[r] in self.districts[user] or (user, r) in self.assigned
            return reach and self.shares(r, DC)
        return (user, r) in self.assigned and self.shares(r, VOL)

    def sees_note(self, user: str, note: dict[str, Any]) -> bool:
        if not self.sees(user, note["r"]):
            return False
        role = ROLES[user]
        return (
            role == Role.COORDINATOR
            or note["visibility"] == NoteVisibility.TEAM
            or note["author"] == user
            or (role == Role.COMMISSIONER and RESIDENT_DISTRICTS[note["r"]] in self.districts[user])
        )

    def names_visible(self, user: str, r: int | None) -> bool:
        """A message naming resident `r` (None: nobody) may reach `user` now."""
        return r is None or self.sees(user, r)

    def expected(self, user: str, rows: dict[str, list[dict[str, Any]]], ids: list[str]) -> dict[str, Any]:
        """What `user` must receive now. `rows` are the visits, alerts and messages as stored (who is
        assigned, what was raised and whom a message was written for are data, not rules)."""
        visits = rows["visits"]
        residents = sorted(ids[r] for r in range(len(ids)) if self.sees(user, r))
        start = self.midnight()
        mine = {
            ids[v["r"]]
            for v in visits
            if v["assignee"] == user
            and self.sees(user, v["r"])
            and v["status"] != "cancelled"
            and v["due_start"] < start + timedelta(days=14)
            and v["due_end"] > start
        }
        phone_visits = {
            v["id"]
            for v in visits
            if self.sees(user, v["r"])
            and (ROLES[user] != Role.VOLUNTEER or v["assignee"] == user)
            and start - timedelta(days=30) <= v["due_start"] <= start + timedelta(days=60)
        }
        notes = {
            n["id"] for n in self.notes if self.sees_note(user, n) and n["at"] >= start - timedelta(days=180)
        }
        now = clock.now()
        inbox = {m["id"] for m in rows["messages"] if m["user"] == user and self.names_visible(user, m["r"])}
        phone_inbox = {
            m["id"] for m in rows["messages"] if m["id"] in inbox and m["at"] >= now - timedelta(days=30)
        }
        alerts = {
            a["id"]
            for a in rows["alerts"]
            if ROLES[user] != Role.VOLUNTEER
            and self.sees(user, a["r"])
            and (a["status"] != "resolved" or a["resolved_at"] >= now - timedelta(days=30))
        }
        # Family phone numbers: coordinators and commissioners, for the residents they see (schema
        # version 3 on: an older phone has no such table).
        contacts = sorted(
            c["id"] for c in rows["contacts"] if ROLES[user] != Role.VOLUNTEER and self.sees(user, c["r"])
        )
        held = {
            "residents": residents,
            "visits": sorted(phone_visits),
            "contact_notes": sorted(notes),
            "alerts": sorted(alerts),
            "notifications": sorted(phone_inbox),
        }
        return {
            "list": residents,
            "details": residents,
            "my_visits": sorted(mine),
            "inbox": sorted(inbox),
            **{
                f"pull_v{version}": {
                    **held,
                    "emergency_contacts": contacts if "emergency_contacts" in schema.tables(version) else [],
                }
                for version in PULL_VERSIONS
            },
            "first_pull": held,
        }


class Town:
    """The running service side of one example: ids, tokens minted at the clock's moment, phones."""

    def __init__(self, client: Any, db: Any, settings: Any, zone_name: str) -> None:
        self.client, self.db, self.secret = client, db, settings.secret_key
        self.model = Model(ZoneInfo(zone_name))
        self.zone_name = zone_name
        self.users: dict[str, User] = {}
        self.devices: dict[tuple[str, str], str] = {}
        self.ids: list[str] = []
        self.district_ids: dict[str, str] = {}
        self.phones: dict[tuple[str, int], Phone] = {}  # (user, schema version): pulling all along
        self.db_config = create_db_config(settings)
        self.transport = RecordingTransport()
        self.checks = 0

    async def build(self, run: int, dc_start: list[Any], vol_start: list[Any]) -> None:
        async with self.db() as s:
            org = Organisation(name=f"性質の町{run}", timezone=self.zone_name)
            s.add(org)
            await s.flush()
            self.org_id = org.id
            for name in ("A", "B"):
                self.district_ids[name] = (await make_district(s, org, f"{name}地区")).id
            for user in USERS:
                held = {"k1": ("A",), "k2": ("B",)}.get(user, ())
                row = await make_user(s, org, ROLES[user], f"{user}-{run}")
                for d in held:
                    s.add(UserDistrict(org_id=org.id, user_id=row.id, district_id=self.district_ids[d]))
                self.model.districts[user] = frozenset(held)
                self.users[user] = row
                for kind in DEVICE_KINDS:
                    device = Device(
                        org_id=org.id, user_id=row.id, client_id=f"{kind}-{user}", platform="android"
                    )
                    if kind == PUSHED:  # the phone the user carries: it receives pushes
                        device.push_token, device.push_token_updated_at = f"token-{user}-{run}", clock.now()
                    s.add(device)
                    await s.flush()
                    self.devices[(user, kind)] = device.id
            for r, district in enumerate(RESIDENT_DISTRICTS):
                home = await s.get(District, self.district_ids[district])
                row = await make_resident(s, org, home, name=f"住民{r}")
                self.ids.append(row.id)
                s.add(
                    EmergencyContact(
                        org_id=org.id, resident_id=row.id, name=f"家族{r}", phone=f"090-0000-000{r}"
                    )
                )
                for recipient, start in ((DC, dc_start[r]), (VOL, vol_start[r])):
                    status = ConsentStatus.WITHDRAWN if start == "withdrawn" else ConsentStatus.GIVEN
                    expires = self.model.today() + timedelta(days=start) if isinstance(start, int) else None
                    s.add(
                        Consent(
                            org_id=org.id,
                            resident_id=row.id,
                            recipient=recipient,
                            status=status,
                            given_on=self.model.today() - timedelta(days=100),
                            expires_on=expires,
                        )
                    )
                    self.model.consents[(r, recipient)] = (str(status), expires)
                watcher = ("v1", "k1", "v2")[r]
                s.add(
                    Assignment(
                        org_id=org.id,
                        resident_id=row.id,
                        user_id=self.users[watcher].id,
                        started_at=clock.now(),
                    )
                )
                self.model.assigned.add((watcher, r))
                due = datetime.combine(
                    self.model.today() + timedelta(days=5), time(10), tzinfo=self.model.zone
                )
                s.add(
                    Visit(
                        org_id=org.id,
                        occurrence_key=f"k{r}",
                        resident_id=row.id,
                        assignee_id=self.users[VISIT_ASSIGNEES[r]].id,
                        due_start=due,
                        due_end=due + timedelta(hours=2),
                    )
                )
        for user in USERS:
            for version in PULL_VERSIONS:
                self.phones[(user, version)] = Phone(self.client, {}, version=version)

    def headers(self, user: str, kind: str = PUSHED) -> dict[str, str]:
        token, _ = issue_access_token(
            self.secret,
            user_id=self.users[user].id,
            org_id=self.org_id,
            role=str(ROLES[user]),
            device_id=self.devices[(user, kind)],
            minutes=5,
        )
        return {"Authorization": f"Bearer {token}"}

    # --- changes ------------------------------------------------------------------------------
    async def apply(self, op: tuple[Any, ...]) -> None:
        name, *args = op
        model = self.model
        if name == "consent":
            r, recipient, action = args
            expires = (
                model.today() + timedelta(days=int(action.split(":")[1]))
                if action.startswith("expire")
                else None
            )
            status = ConsentStatus.WITHDRAWN if action == "withdraw" else ConsentStatus.GIVEN
            async with self.db() as s:
                row = await s.scalar(
                    select(Consent).where(Consent.resident_id == self.ids[r], Consent.recipient == recipient)
                )
                if row is None:
                    row = Consent(
                        org_id=self.org_id, resident_id=self.ids[r], recipient=recipient, status=status
                    )
                    s.add(row)
                row.status, row.expires_on = status, expires
                row.given_on = model.today() - timedelta(days=30)
                await events.sight_changed(s, resident_ids=[self.ids[r]])  # as the consent service does
            model.consents[(r, recipient)] = (str(status), expires)
        elif name == "basis":
            r, basis, recipient = args
            response = await self.client.post(
                f"/api/v1/residents/{self.ids[r]}/legal-bases",
                json={"basis": basis, "recipient": recipient},
                headers=self.headers("c"),
            )
            duplicate = any(
                b["r"] == r and b["basis"] == basis and b["recipient"] == recipient and b["active"]
                for b in model.bases
            )
            expected = 422 if recipient not in BASIS_COVERS[basis] else 409 if duplicate else 201
            assert response.status_code == expected, response.text
            if expected == 201:
                model.bases.append(
                    {
                        "id": response.json()["id"],
                        "r": r,
                        "basis": basis,
                        "recipient": recipient,
                        "active": True,
                    }
                )
        elif name == "end_basis":
            (r,) = args
            active = [b for b in model.bases if b["r"] == r and b["active"]]
            if active:
                response = await self.client.post(
                    f"/api/v1/residents/{self.ids[r]}/legal-bases/{active[0]['id']}/end",
                    json={"reason": "終了"},
                    headers=self.headers("c"),
                )
                assert response.status_code == 200, response.text
                active[0]["active"] = False
        elif name == "assign":
            user, r = args
            async with self.db() as s:
                if (user, r) in model.assigned:
                    row = await s.scalar(
                        select(Assignment).where(
                            Assignment.user_id == self.users[user].id,
                            Assignment.resident_id == self.ids[r],
                            Assignment.ended_at.is_(None),
                        )
                    )
                    row.ended_at = clock.now()
                else:
                    s.add(
                        Assignment(
                            org_id=self.org_id,
                            resident_id=self.ids[r],
                            user_id=self.users[user].id,
                            started_at=clock.now(),
                        )
                    )
                await events.sight_changed(s, resident_ids=[self.ids[r]])  # as the assignment service does
            model.assigned ^= {(user, r)}
        elif name == "districts":
            (held,) = args
            async with self.db() as s:
                for row in await s.scalars(
                    select(UserDistrict).where(UserDistrict.user_id == self.users["k1"].id)
                ):
                    await s.delete(row)
                await s.flush()
                for d in held:
                    s.add(
                        UserDistrict(
                            org_id=self.org_id, user_id=self.users["k1"].id, district_id=self.district_ids[d]
                        )
                    )
                await events.sight_changed(s, user_ids=[self.users["k1"].id])  # as the user service does
            model.districts["k1"] = frozenset(held)
        elif name == "note":
            r, author, visibility = args
            at = clock.now() - timedelta(minutes=30)
            async with self.db() as s:
                row = ContactNote(
                    org_id=self.org_id,
                    resident_id=self.ids[r],
                    author_id=self.users[author].id,
                    method="home_visit",
                    outcome="met_well",
                    visibility=visibility,
                    occurred_at=at,
                    received_at=clock.now(),
                )
                s.add(row)
                await s.flush()
                model.notes.append(
                    {"id": row.id, "r": r, "author": author, "visibility": visibility, "at": at}
                )
        elif name == "plan":
            r, assignee = args
            response = await self.client.post(
                "/api/v1/plans",
                json={
                    "resident_id": self.ids[r],
                    "rrule": "FREQ=WEEKLY;BYDAY=TU",
                    "assignee_id": self.users[assignee].id,
                },
                headers=self.headers("c"),
            )
            assert response.status_code == (201 if model.sees(assignee, r) else 422), response.text
        elif name == "contact":
            await self.contact(*args)
        elif name == "wait":
            clock.advance(timedelta(minutes=args[0]))
        elif name == "at":
            hour, minute = args
            local = clock.now().astimezone(model.zone)
            target = datetime.combine(local.date(), time(hour, minute), tzinfo=model.zone)
            while target <= local:
                target = datetime.combine(
                    target.date() + timedelta(days=1), time(hour, minute), tzinfo=model.zone
                )
            clock.set(target)
        elif name == "check":
            await self.check()

    async def contact(self, r: int, author: str, outcome: str) -> None:
        """`author` records a contact on their phone and syncs it; the server's own reaction (revisit
        request, urgent alert, the ladder's audience, the outbox) writes whatever messages follow."""
        if not self.model.sees(author, r):
            return  # the phone does not hold the resident: the app offers nothing to record
        before = clock.now()
        phone = self.phones[(author, schema.LATEST_VERSION)]
        phone.headers = self.headers(author)
        at = before - timedelta(minutes=30)
        note_id = phone.create_note(self.ids[r], int(at.timestamp() * 1000), outcome=outcome)
        await phone.sync()
        self.model.notes.append(
            {"id": note_id, "r": r, "author": author, "visibility": NoteVisibility.TEAM, "at": at}
        )
        async with self.db() as s:
            written = (
                await s.scalars(
                    select(Notification).where(
                        Notification.org_id == self.org_id, Notification.created_at >= before
                    )
                )
            ).all()
        user_of = {row.id: name for name, row in self.users.items()}
        for message in written:
            named = self.ids.index(message.resident_id) if message.resident_id else None
            assert self.model.names_visible(user_of[message.user_id], named), (
                f"{message.kind} written for {user_of[message.user_id]} names a resident they may not see"
            )
        FIGURES["messages"] += len(written)
        if outcome == "emergency":  # the municipality's duty: coordinators always hear of it
            assert any(user_of[m.user_id] == "c" and m.resident_id == self.ids[r] for m in written)

    # --- what each user receives --------------------------------------------------------------
    async def observe(self, user: str) -> dict[str, Any]:
        headers = self.headers(user)
        listed = await self.client.get("/api/v1/residents", params={"page_size": 100}, headers=headers)
        assert listed.status_code == 200, listed.text
        details = []
        for rid in self.ids:
            response = await self.client.get(f"/api/v1/residents/{rid}", headers=headers)
            assert response.status_code in (200, 404), response.text
            if response.status_code == 200:
                details.append(rid)
        visits = await self.client.get("/api/v1/me/visits", headers=headers)
        assert visits.status_code == 200, visits.text
        inbox = await self.client.get("/api/v1/me/notifications", params={"page_size": 100}, headers=headers)
        assert inbox.status_code == 200, inbox.text
        seen = {
            "list": sorted(i["id"] for i in listed.json()["items"]),
            "details": sorted(details),
            "my_visits": sorted({v["resident"]["id"] for v in visits.json()}),
            "inbox": sorted(n["id"] for n in inbox.json()["items"]),
        }
        for version in PULL_VERSIONS:  # phones pulling all along, at each schema version
            phone = self.phones[(user, version)]
            phone.headers = self.headers(user, f"phone-v{version}")
            await phone.pull()
            seen[f"pull_v{version}"] = {
                t: sorted(phone.ids(t)) for t in (*PHONE_TABLES, "emergency_contacts")
            }
        # A new phone's first pull, at the oldest and the latest version in turn (users and checks
        # alternate, so every check sees both and the quick profile stays quick).
        version = PULL_VERSIONS[(self.checks + USERS.index(user)) % len(PULL_VERSIONS)]
        fresh = Phone(self.client, self.headers(user, f"fresh-v{version}"), version=version)
        await fresh.pull()
        seen["first_pull"] = {t: sorted(fresh.ids(t)) for t in PHONE_TABLES}
        return seen

    async def stored(self) -> dict[str, list[dict[str, Any]]]:
        """Visits, alerts and messages as stored now (data the model judges, not rules)."""
        user_of = {row.id: name for name, row in self.users.items()}
        index = {rid: r for r, rid in enumerate(self.ids)}
        async with self.db() as s:
            visits = [
                {
                    "id": v.id,
                    "r": index[v.resident_id],
                    "status": str(v.status),
                    "assignee": user_of.get(v.assignee_id),
                    "due_start": v.due_start,
                    "due_end": v.due_end,
                }
                for v in await s.scalars(
                    select(Visit).where(Visit.org_id == self.org_id, Visit.deleted_at.is_(None))
                )
            ]
            alerts = [
                {
                    "id": a.id,
                    "r": index[a.resident_id],
                    "kind": a.kind,
                    "status": str(a.status),
                    "resolved_at": a.resolved_at,
                }
                for a in await s.scalars(
                    select(Alert).where(Alert.org_id == self.org_id, Alert.deleted_at.is_(None))
                )
            ]
            messages = [
                {
                    "id": m.id,
                    "user": user_of[m.user_id],
                    "at": m.created_at,
                    "r": index[m.resident_id] if m.resident_id else None,
                }
                for m in await s.scalars(
                    select(Notification).where(
                        Notification.org_id == self.org_id, Notification.deleted_at.is_(None)
                    )
                )
            ]
            plans = [
                {"r": index[p.resident_id], "assignee": user_of[p.assignee_id]}
                for p in await s.scalars(
                    select(VisitPlan).where(
                        VisitPlan.org_id == self.org_id,
                        VisitPlan.status != PlanStatus.ENDED,
                        VisitPlan.assignee_id.is_not(None),
                    )
                )
            ]
            contacts = [
                {"id": c.id, "r": index[c.resident_id]}
                for c in await s.scalars(
                    select(EmergencyContact).where(
                        EmergencyContact.org_id == self.org_id, EmergencyContact.deleted_at.is_(None)
                    )
                )
            ]
        return {
            "visits": visits,
            "alerts": alerts,
            "messages": messages,
            "plans": plans,
            "contacts": contacts,
        }

    async def pushes(self) -> None:
        """The dispatcher sends what is due; every push names only a resident its user may see now."""
        async with self.db() as s:  # the app refreshes its token on every start
            for device in await s.scalars(
                select(Device).where(Device.org_id == self.org_id, Device.push_token.is_not(None))
            ):
                device.push_token_updated_at = clock.now()
        self.transport.clear()
        await dispatch_once(self.db_config, transport=self.transport, config=PushSettings(_env_file=None))
        user_of = {self.devices[(user, PUSHED)]: user for user in USERS}
        ours = [
            push for push in self.transport.sent if push.device_id in user_of
        ]  # not earlier examples' towns
        for push in ours:
            user = user_of[push.device_id]
            named = push.data.get("resident_id")
            r = self.ids.index(named) if named else None
            assert self.model.names_visible(user, r), (
                f"push {push.data.get('kind')} to {user} names a hidden resident"
            )
        FIGURES["pushes"] += len(ours)

    async def check(self) -> None:
        # The periodic job that follows what time changes (a consent ending at local midnight), as
        # the scheduler runs it; then what is due is pushed.
        await jobs.follow_sight(self.db_config)
        await self.pushes()
        rows = await self.stored()
        moment = clock.now().astimezone(self.model.zone).isoformat()
        now = clock.now()
        for visit in rows["visits"]:  # no future planned visit keeps an assignee who may not see
            if visit["status"] != VisitStatus.PLANNED or visit["due_end"] <= now:
                continue
            if visit["assignee"] is None:
                assert any(
                    a["r"] == visit["r"] and a["kind"] == "nobody_can_visit" for a in rows["alerts"]
                ), (
                    f"a visit of resident {visit['r']} without assignee and no nobody_can_visit alert at {moment}"
                )
            else:
                assert self.model.sees(visit["assignee"], visit["r"]), (
                    f"{visit['assignee']} still assigned a visit of resident {visit['r']} at {moment}"
                )
        for plan in rows["plans"]:  # nor does a live plan
            assert self.model.sees(plan["assignee"], plan["r"]), (
                f"{plan['assignee']} keeps a plan at {moment}"
            )
        for user in USERS:
            expected = self.model.expected(user, rows, self.ids)
            assert await self.observe(user) == expected, f"{user} at {moment} ({self.zone_name})"
        FIGURES["checks"] += 1
        self.checks += 1


async def _run_history(
    client: Any,
    db: Any,
    settings: Any,
    zone_name: str,
    start_hour: int,
    consents: tuple[list, list],
    bases: list[bool],
    ops: list,
) -> None:
    run = next(_run)
    zone = ZoneInfo(zone_name)
    clock.set(datetime.combine(date(2026, 6, 1) + timedelta(days=run % 7), time(start_hour, 15), tzinfo=zone))
    town = Town(client, db, settings, zone_name)
    await town.build(run, *consents)
    for r, recorded in enumerate(bases):
        if recorded:
            await town.apply(("basis", r, "council_confidentiality", DC))
    for op in ops:
        await town.apply(op)
    await town.check()  # always at least once, at the end
    FIGURES["examples"] += 1


@pytest.fixture(scope="module", autouse=True)
def _report_figures() -> Any:
    """Examples, checks and seconds of this module's runs (shown with `pytest -s`)."""
    yield
    print(
        f"\nconsent property: {FIGURES['examples']:.0f} examples, {FIGURES['checks']:.0f} checks, "
        f"{FIGURES['messages']:.0f} messages written, {FIGURES['pushes']:.0f} pushes sent, "
        f"{FIGURES.get('seconds', 0.0):.1f} s"
    )


HISTORY = {
    "zone_name": st.sampled_from(ZONES),
    "start_hour": st.integers(0, 23),
    # Each resident's consents at the start (district commissioner; volunteers): given with no
    # expiry, or expiring the day before, on or after the local start day, or withdrawn.
    "consents": st.tuples(
        *[st.lists(st.sampled_from([None, -1, 0, 1, "withdrawn"]), min_size=3, max_size=3)] * 2
    ),
    # Whether a council-confidentiality basis for the district commissioner is recorded at the start.
    "bases": st.lists(st.booleans(), min_size=3, max_size=3),
    "ops": st.lists(step, min_size=1, max_size=12),
}
QUICK = hsettings(
    max_examples=4,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


NO_BASES = [False, False, False]
FOREVER = [None, None, None]


@QUICK
@given(**HISTORY)
# Histories that any defect of the kinds already met must fail, tried before the random ones:
# Tokyo at 00:15 with a volunteers' consent that expired yesterday (UTC's date is still yesterday);
@example(
    zone_name="Asia/Tokyo",
    start_hour=0,
    consents=(FOREVER, [None, None, -1]),
    bases=NO_BASES,
    ops=[("check",)],
)
# Honolulu and New York late in the evening with consents whose last day is today (UTC: tomorrow);
@example(
    zone_name="Pacific/Honolulu",
    start_hour=22,
    consents=([0, 0, 0], [0, None, 0]),
    bases=NO_BASES,
    ops=[("check",)],
)
@example(
    zone_name="America/New_York",
    start_hour=21,
    consents=([0, 0, 0], [0, None, 0]),
    bases=NO_BASES,
    ops=[("check",)],
)
# a phone that held a resident in the evening, pulling again after local midnight;
@example(
    zone_name="Asia/Tokyo",
    start_hour=20,
    consents=([0, None, None], [None, None, 0]),
    bases=NO_BASES,
    ops=[("check",), ("at", 0, 30), ("check",)],
)
# an emergency recorded by a volunteer where the district commissioner's consent is withdrawn
# (the commissioner must hear nothing of it; coordinators must);
@example(
    zone_name="Asia/Tokyo",
    start_hour=12,
    consents=(["withdrawn", None, None], FOREVER),
    bases=NO_BASES,
    ops=[("contact", 0, "v1", "emergency"), ("check",)],
)
# a revisit request whose recipient then loses the volunteers' consent: the message leaves the
# inbox and the phones, and the volunteer's visits move on (to nobody: a nobody_can_visit alert);
@example(
    zone_name="America/New_York",
    start_hour=10,
    consents=(FOREVER, FOREVER),
    bases=NO_BASES,
    ops=[("contact", 0, "v1", "no_answer"), ("check",), ("consent", 0, VOL, "withdraw"), ("check",)],
)
# a revisit request written at night (its push waits for the end of the quiet hours), the consent
# withdrawn before morning: the push is never sent; given again, the message comes back whole;
@example(
    zone_name="Asia/Tokyo",
    start_hour=22,
    consents=(FOREVER, FOREVER),
    bases=NO_BASES,
    ops=[
        ("contact", 0, "v1", "no_answer"),
        ("consent", 0, VOL, "withdraw"),
        ("at", 8, 30),
        ("check",),
        ("consent", 0, VOL, "give"),
        ("check",),
    ],
)
# an ended legal basis, where consent was withdrawn.
@example(
    zone_name="Asia/Tokyo",
    start_hour=12,
    consents=(["withdrawn"] * 3, FOREVER),
    bases=[True, True, True],
    ops=[("check",), ("end_basis", 1), ("check",)],
)
async def test_every_user_receives_exactly_what_the_rules_allow(
    client, db, settings, zone_name, start_hour, consents, bases, ops
):
    started = wallclock.perf_counter()
    await _run_history(client, db, settings, zone_name, start_hour, consents, bases, ops)
    FIGURES["seconds"] = FIGURES.get("seconds", 0.0) + wallclock.perf_counter() - started


@pytest.mark.long_run
@hsettings(
    max_examples=int(os.environ.get("CONSENT_PROPERTY_EXAMPLES", "300")),
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(**HISTORY)
async def test_long_random_histories(
    request, client, db, settings, zone_name, start_hour, consents, bases, ops
):
    started = wallclock.perf_counter()
    await _run_history(client, db, settings, zone_name, start_hour, consents, bases, ops)
    FIGURES["seconds"] = FIGURES.get("seconds", 0.0) + wallclock.perf_counter() - started
