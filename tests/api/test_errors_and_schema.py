"""One error format everywhere, in the caller's language, and an OpenAPI document that describes
every operation."""

from __future__ import annotations

from domain.enums import Role
from tests.factories import login, make_org, make_user

PROBLEM = "application/problem+json"


async def test_malformed_json_is_a_400_problem(client) -> None:
    response = await client.post(
        "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == 400 and body["type"].startswith("https://")
    # The reader is told what is wrong (the body), not just "the request is not valid".
    assert (body["code"], body["title"]) == ("error.not_json", "リクエスト本文を JSON として読めません。")
    english = await client.post(
        "/api/v1/auth/login",
        content=b'{"login": "a"',
        headers={"content-type": "application/json", "accept-language": "en"},
    )
    assert (english.status_code, english.json()["title"]) == (400, "The request body is not valid JSON.")


async def test_missing_field_names_the_field_in_japanese_and_english(client) -> None:
    payload = {"login": "someone", "device": {"id": "phone-1", "platform": "android"}}
    ja = await client.post("/api/v1/auth/login", json=payload)
    assert ja.status_code == 400
    assert ja.json()["title"] == "入力内容に誤りがあります。"
    assert any(e["field"] == "password" and e["message"] == "必須項目です。" for e in ja.json()["errors"])
    en = await client.post("/api/v1/auth/login", json=payload, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert en.json()["title"] == "Some fields are not valid."
    assert any(
        e["field"] == "password" and e["message"] == "This field is required." for e in en.json()["errors"]
    )


async def test_bad_device_id_and_too_long_values_are_named(client) -> None:
    payload = {"login": "x" * 101, "password": "p", "device": {"id": "bad id!", "platform": "android"}}
    response = await client.post("/api/v1/auth/login", json=payload, headers={"Accept-Language": "en"})
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert "login" in fields and any("device" in f for f in fields)


async def test_control_characters_are_refused_before_the_database(client) -> None:
    for payload in (
        {"login": "a\x00b", "password": "p", "device": {"id": "phone-1", "platform": "android"}},
        {"login": "a", "password": "p\x00", "device": {"id": "phone-1", "platform": "android"}},
    ):
        response = await client.post("/api/v1/auth/login", json=payload)
        assert response.status_code == 400, response.text
    activate = await client.post(
        "/api/v1/auth/activate", json={"login": "a\x00b", "code": "ABCD-EFGH", "password": "long-enough"}
    )
    assert activate.status_code == 400


async def test_oversized_body_is_413(client) -> None:
    response = await client.post(
        "/api/v1/auth/login",
        content=b'{"login": "' + b"x" * (6 * 1024 * 1024) + b'"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_unknown_path_and_method(client) -> None:
    missing = await client.get("/api/v1/nowhere")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(PROBLEM)
    wrong_method = await client.delete("/api/v1/auth/login")
    assert wrong_method.status_code == 405 and wrong_method.headers["content-type"].startswith(PROBLEM)


async def test_garbage_bearer_tokens_are_401_not_500(client) -> None:
    for header in ("Bearer", "Bearer not-a-jwt", "Basic abc", "Bearer a.b.c", "Bearer " + "x" * 5000):
        response = await client.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401, header


async def test_health_and_readiness(client) -> None:
    assert (await client.get("/healthz")).json()["status"] == "ok"
    # Tests build the schema with create_all, so the migration table is absent: not ready.
    ready = await client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["migrations"] == "behind"


async def test_every_operation_is_documented(client, db) -> None:
    async with db() as session:
        org = await make_org(session)
        await make_user(session, org, Role.COORDINATOR, "coord")
    await login(client, "coord")
    schema = (await client.get("/schema/openapi.json")).json()
    assert "BearerToken" in schema["components"]["securitySchemes"]
    undocumented = []
    operation_ids = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            operation_ids.append(operation.get("operationId"))
            if not operation.get("operationId") or not (
                operation.get("description") or operation.get("summary")
            ):
                undocumented.append(f"{method.upper()} {path}")
    assert undocumented == []
    assert len(operation_ids) == len(set(operation_ids)), "operation ids must be unique"


async def test_hostile_paths_queries_and_values_are_4xx_never_500(client, db) -> None:
    async with db() as session:
        org = await make_org(session)
        await make_user(session, org, Role.COORDINATOR, "coord")
    headers = await login(client, "coord")
    requests = [
        ("GET", "/api/v1/alerts/a%00b"),
        ("POST", "/api/v1/alerts/a%00b/acknowledge"),
        ("GET", "/api/v1/plans/a%00b"),
        ("GET", "/api/v1/alerts?kind=%00"),
        ("GET", "/api/v1/plans?resident_id=%00"),
        ("GET", "/api/v1/residents?page=999999999999999999999999999999"),
        ("GET", "/api/v1/alerts?page=999999999999999999999999999999"),
        ("GET", "/api/v1/sync/pull?last_pulled_at=%C2%B2"),
        ("GET", "/api/v1/sync/pull?last_pulled_at=" + "9" * 5000),
        ("GET", "/api/v1/sync/pull?schema_version=%C2%B2"),
        ("GET", "/api/v1/me/visits?from=9999-12-31T00:00:00%2B00:00"),
        ("GET", "/api/v1/me/visits?from=0001-01-01T00:00:00%2B14:00"),
        ("GET", "/api/v1/audit?since=9999-12-31T23:59:59-14:00"),
    ]
    for method, url in requests:
        response = await client.request(method, url, headers=headers)
        assert 400 <= response.status_code < 500, (url[:80], response.status_code, response.text[:200])
    preview = await client.post(
        "/api/v1/plans/preview", json={"rrule": "FREQ=WEEKLY", "starts_on": "9999-12-31"}, headers=headers
    )
    assert 400 <= preview.status_code < 500, preview.text


async def test_a_body_nested_too_deep_is_a_400_problem_not_a_500(client) -> None:
    # The JSON decoder gives up near a thousand levels (RecursionError). Before anyone signs in, on
    # any JSON endpoint, that is the client's malformed body: a 400 that says so, in both languages.
    for depth in (1_000, 100_000):
        deep = ('{"login": "x", "password": ' + "[" * depth + "]" * depth + "}").encode()
        response = await client.post(
            "/api/v1/auth/login", content=deep, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, (depth, response.text[:200])
        assert response.headers["content-type"].startswith(PROBLEM)
        assert (response.json()["code"], response.json()["title"]) == (
            "error.too_deep",
            "リクエスト本文の JSON の入れ子が深すぎます。",
        )
    english = await client.post(
        "/api/v1/auth/login",
        content=b"[" * 5_000 + b"]" * 5_000,
        headers={"content-type": "application/json", "accept-language": "en"},
    )
    assert (english.status_code, english.json()["title"]) == (
        400,
        "The request body's JSON is nested too deeply.",
    )
