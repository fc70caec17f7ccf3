"""The authorisation matrix: every endpoint of districts, users, residents, consent, assignments and
audit × every role × own and other organisation × assigned/unassigned resident × with/without
consent → the expected status code.

The world is built once per backend; the loops run inside one test so that the matrix stays fast.
Another organisation's ids always answer 404 (or an "unknown id" 400 in a body), never 403: a 403
would tell the caller that the resident exists.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from domain.access import VOLUNTEER_RESIDENT_FIELDS
from domain.enums import AssignmentRole, ConsentRecipient, Role
from domain.models import Device
from tests.factories import assign, give_consent, login, make_district, make_org, make_resident, make_user

ROLES = ("coordinator", "commissioner", "volunteer")
ORGS = ("own", "other")
# Residents of the own organisation, all outside the commissioner's district except "district".
SITUATIONS = (
    "assigned_consent",
    "assigned_no_consent",
    "unassigned_consent",
    "unassigned_no_consent",
    "district",
)

# Who sees which resident of the own organisation (the "other" organisation sees none of them).
VISIBLE: dict[tuple[str, str], set[str]] = {
    ("coordinator", "own"): set(SITUATIONS),
    ("commissioner", "own"): {"assigned_consent", "district"},
    ("volunteer", "own"): {"assigned_consent"},
    ("coordinator", "other"): set(),
    ("commissioner", "other"): set(),
    ("volunteer", "other"): set(),
}


@dataclass
class World:
    headers: dict[tuple[str, str], dict[str, str]]
    residents: dict[str, str]
    extra_assignment: dict[str, str]
    district_a: str
    user_a: str
    device_a: str
    spare_from: str
    spare_to: str


async def _build(db: Any, client: Any) -> World:
    async with db() as s:
        org_a, org_b = await make_org(s, "みまもり市"), await make_org(s, "となり町")
        home = await make_district(s, org_a, "東地区")
        away = await make_district(s, org_a, "西地区")
        other_district = await make_district(s, org_b, "北地区")
        users = {
            ("coordinator", "own"): await make_user(s, org_a, Role.COORDINATOR, "coord-a", districts=[home]),
            ("commissioner", "own"): await make_user(s, org_a, Role.COMMISSIONER, "comm-a", districts=[home]),
            ("volunteer", "own"): await make_user(s, org_a, Role.VOLUNTEER, "vol-a"),
            ("coordinator", "other"): await make_user(s, org_b, Role.COORDINATOR, "coord-b"),
            ("commissioner", "other"): await make_user(
                s, org_b, Role.COMMISSIONER, "comm-b", districts=[other_district]
            ),
            ("volunteer", "other"): await make_user(s, org_b, Role.VOLUNTEER, "vol-b"),
        }
        spare = await make_user(s, org_a, Role.VOLUNTEER, "spare-a")
        spare_from = await make_user(s, org_a, Role.COMMISSIONER, "spare-from")
        spare_to = await make_user(s, org_a, Role.COMMISSIONER, "spare-to")
        target = await make_user(s, org_a, Role.VOLUNTEER, "target-a")
        device = Device(org_id=org_a.id, user_id=target.id, client_id="lost-phone", platform="android")
        s.add(device)
        residents: dict[str, str] = {}
        extra: dict[str, str] = {}
        for situation in SITUATIONS:
            r = await make_resident(
                s, org_a, home if situation == "district" else away, name=f"対象 {situation}"
            )
            residents[situation] = r.id
            if situation.startswith("assigned"):
                await assign(s, r, users[("volunteer", "own")])
                await assign(s, r, users[("commissioner", "own")], AssignmentRole.BACKUP)
            if "no_consent" not in situation:
                await give_consent(s, r, ConsentRecipient.VOLUNTEERS)
                await give_consent(s, r, ConsentRecipient.DISTRICT_COMMISSIONER)
            await give_consent(s, r, ConsentRecipient.PARTNER_NPO)
            extra[situation] = (await assign(s, r, spare, AssignmentRole.BACKUP)).id
        # Org B's own resident, visible to org B's volunteer: proves the other side works too.
        rb = await make_resident(s, org_b, other_district, name="別組織 太郎")
        await assign(s, rb, users[("volunteer", "other")])
        await give_consent(s, rb, ConsentRecipient.VOLUNTEERS)
        await s.flush()
        ids = {k: u.login for k, u in users.items()}
        world = World({}, residents, extra, away.id, target.id, device.id, spare_from.id, spare_to.id)
    for key, login_name in ids.items():
        world.headers[key] = await login(client, login_name, device_id=f"dev-{login_name}")
    return world


async def test_resident_endpoints_matrix(client, db) -> None:
    """Lists hold exactly the visible residents; the volunteer cannot see what is not theirs, in the
    list or in detail, and gets only the fields a volunteer needs. Then every resident endpoint."""
    w = await _build(db, client)
    by_id = {rid: situation for situation, rid in w.residents.items()}
    for (role, org), headers in w.headers.items():
        response = await client.get("/api/v1/residents", headers=headers)
        assert response.status_code == 200, response.text
        seen = {by_id[item["id"]] for item in response.json()["items"] if item["id"] in by_id}
        assert seen == VISIBLE[(role, org)], (role, org)
        if org == "other":
            # The other organisation's own people see their own resident and nothing of ours.
            assert response.json()["total"] == (1 if role != "commissioner" else 0)

    volunteer = w.headers[("volunteer", "own")]
    for situation in ("assigned_no_consent", "unassigned_consent", "unassigned_no_consent", "district"):
        detail = await client.get(f"/api/v1/residents/{w.residents[situation]}", headers=volunteer)
        assert detail.status_code == 404, situation
    listed = (await client.get("/api/v1/residents", headers=volunteer)).json()["items"]
    assert [i["id"] for i in listed] == [w.residents["assigned_consent"]]
    assert set(listed[0]) <= VOLUNTEER_RESIDENT_FIELDS
    detail = (
        await client.get(f"/api/v1/residents/{w.residents['assigned_consent']}", headers=volunteer)
    ).json()
    assert set(detail) <= VOLUNTEER_RESIDENT_FIELDS
    assert "birth_year" not in detail and "emergency_contacts" not in detail and detail["name"]

    staff = (
        await client.get(
            f"/api/v1/residents/{w.residents['district']}", headers=w.headers[("commissioner", "own")]
        )
    ).json()
    assert "emergency_contacts" in staff and "birth_year" in staff

    # (name, kind, method, path, body, success status). kind: read = anybody who sees the resident;
    # staff = coordinators and commissioners who see it; manage = coordinators who see it.
    endpoints: list[tuple[str, str, str, str, Any, int]] = [
        ("getResident", "read", "GET", "/api/v1/residents/{rid}", None, 200),
        ("listConsents", "staff", "GET", "/api/v1/residents/{rid}/consents", None, 200),
        ("listAssignments", "staff", "GET", "/api/v1/residents/{rid}/assignments", None, 200),
        (
            "updateResident",
            "manage",
            "PATCH",
            "/api/v1/residents/{rid}",
            {"support_needs": "配食サービス利用"},
            200,
        ),
        (
            "changeResidentStatus",
            "manage",
            "POST",
            "/api/v1/residents/{rid}/status",
            {"status": "active"},
            200,
        ),
        (
            "setConsent",
            "manage",
            "PUT",
            "/api/v1/residents/{rid}/consents/partner_npo",
            {"status": "given", "purpose": "配食"},
            200,
        ),
        (
            "withdrawConsent",
            "manage",
            "POST",
            "/api/v1/residents/{rid}/consents/partner_npo/withdraw",
            {},
            200,
        ),
        (
            "createAssignment",
            "manage",
            "POST",
            "/api/v1/residents/{rid}/assignments",
            {"user_id": w.spare_to, "role": "backup"},
            201,
        ),
        ("endAssignment", "manage", "POST", "/api/v1/assignments/{aid}/end", {"reason": "交代"}, 200),
    ]
    failures: list[str] = []
    checked = 0
    for name, kind, method, template, body, ok in endpoints:
        for role in ROLES:
            for org in ORGS:
                for situation in SITUATIONS:
                    visible = situation in VISIBLE[(role, org)]
                    if kind == "read":
                        expected = ok if visible else 404
                    elif kind == "staff":
                        expected = 403 if role == "volunteer" else ok if visible else 404
                    else:
                        expected = 403 if role != "coordinator" else ok if visible else 404
                    path = template.format(rid=w.residents[situation], aid=w.extra_assignment[situation])
                    response = await client.request(method, path, json=body, headers=w.headers[(role, org)])
                    checked += 1
                    if response.status_code != expected:
                        failures.append(
                            f"{name} {role}/{org}/{situation}: {response.status_code} != {expected}"
                        )
                    elif response.status_code >= 400:
                        assert response.headers["content-type"].startswith("application/problem+json")
    assert not failures, "\n".join(failures)
    assert checked == len(endpoints) * len(ROLES) * len(ORGS) * len(SITUATIONS)


async def test_organisation_endpoints_matrix(client, db) -> None:
    """Districts, users, devices, resident creation, hand-over and audit × role × organisation."""
    w = await _build(db, client)

    def unique(prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    # (name, method, path, body factory, status for: coordinator own, coordinator other, others)
    endpoints: list[tuple[str, str, str, Any, tuple[int, int, int]]] = [
        ("listDistricts", "GET", "/api/v1/districts", None, (200, 200, 200)),
        ("createDistrict", "POST", "/api/v1/districts", lambda: {"name": unique("南地区")}, (201, 201, 403)),
        (
            "updateDistrict",
            "PATCH",
            f"/api/v1/districts/{w.district_a}",
            lambda: {"code": "W1"},
            (200, 404, 403),
        ),
        ("listUsers", "GET", "/api/v1/users", None, (200, 200, 403)),
        (
            "createUser",
            "POST",
            "/api/v1/users",
            lambda: {"login": unique("new"), "display_name": "新人", "role": "volunteer"},
            (201, 201, 403),
        ),
        ("getUser", "GET", f"/api/v1/users/{w.user_a}", None, (200, 404, 403)),
        (
            "updateUser",
            "PATCH",
            f"/api/v1/users/{w.user_a}",
            lambda: {"display_name": "改名"},
            (200, 404, 403),
        ),
        ("reissueActivationCode", "POST", f"/api/v1/users/{w.user_a}/activation-code", None, (201, 404, 403)),
        ("listUserDevices", "GET", f"/api/v1/users/{w.user_a}/devices", None, (200, 404, 403)),
        (
            "revokeDevice",
            "POST",
            f"/api/v1/users/{w.user_a}/devices/{w.device_a}/revoke",
            None,
            (200, 404, 403),
        ),
        ("listResidents", "GET", "/api/v1/residents", None, (200, 200, 200)),
        # Another organisation's district or users are unknown ids in the body: 400 naming the field.
        (
            "createResident",
            "POST",
            "/api/v1/residents",
            lambda: {"name": "新規 登録", "district_id": w.district_a},
            (201, 400, 403),
        ),
        (
            "handOverAssignments",
            "POST",
            "/api/v1/assignments/hand-over",
            lambda: {"from_user_id": w.spare_from, "to_user_id": w.spare_to, "reason": "任期満了"},
            (200, 400, 403),
        ),
        ("listAuditEvents", "GET", "/api/v1/audit", None, (200, 200, 403)),
    ]
    failures: list[str] = []
    for name, method, path, body, (own_coord, other_coord, others) in endpoints:
        for role in ROLES:
            for org in ORGS:
                expected = others if role != "coordinator" else own_coord if org == "own" else other_coord
                response = await client.request(
                    method, path, json=body() if body else None, headers=w.headers[(role, org)]
                )
                if response.status_code != expected:
                    failures.append(
                        f"{name} {role}/{org}: {response.status_code} != {expected} {response.text[:200]}"
                    )
                if (
                    name in ("listUsers", "listAuditEvents", "listDistricts")
                    and org == "other"
                    and expected == 200
                ):
                    text = response.text
                    assert w.user_a not in text and w.district_a not in text, name
    assert not failures, "\n".join(failures)

    # Without a token, nothing answers but 401.
    for _, method, path, body, _ in endpoints:
        response = await client.request(method, path, json=body() if body else None)
        assert response.status_code == 401, (method, path)
