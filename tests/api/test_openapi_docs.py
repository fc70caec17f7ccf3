"""Every operation of the residents and organisation API is documented in OpenAPI."""

from __future__ import annotations

MINE = ("/api/v1/districts", "/api/v1/users", "/api/v1/residents", "/api/v1/assignments", "/api/v1/audit")


async def test_every_operation_has_an_id_and_a_description(client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operations = [
        (method, path, op)
        for path, item in schema["paths"].items()
        if path.startswith(MINE)
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(operations) == 23
    ids = [op.get("operationId") for _, _, op in operations]
    assert all(ids) and len(set(ids)) == len(ids)
    undocumented = [f"{m} {p}" for m, p, op in operations if len(op.get("description", "")) < 20]
    assert not undocumented
