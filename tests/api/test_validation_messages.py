"""Validation messages wholly in the reader's language, naming fields as the client sent them and
stating the allowed choices and limits."""

from __future__ import annotations

import re

import pytest

from domain.enums import Role
from tests.factories import login, make_org, make_user

EN = {"Accept-Language": "en"}


@pytest.fixture
async def coordinator(client, db) -> dict[str, str]:
    async with db() as session:
        org = await make_org(session)
        await make_user(session, org, Role.COORDINATOR, "coord")
    return await login(client, "coord")


def _only_error(response) -> dict:
    assert response.status_code == 400, response.text
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    return errors[0]


async def test_a_page_size_over_the_maximum_names_the_maximum(client, coordinator) -> None:
    ja = _only_error(await client.get("/api/v1/users?page_size=100000", headers=coordinator))
    assert ja["field"] == "page_size" and ja["message"] == "200 以下にしてください。"
    en = _only_error(await client.get("/api/v1/users?page_size=0", headers={**coordinator, **EN}))
    assert en["message"] == "Must be at least 1."


async def test_a_bad_enum_in_the_query_lists_the_choices(client, coordinator) -> None:
    error = _only_error(await client.get("/api/v1/users?role=boss", headers=coordinator))
    assert error["field"] == "role"
    assert error["message"] == "使用できない値です。選択肢: coordinator, commissioner, volunteer"
    alerts = _only_error(await client.get("/api/v1/alerts?status=zzz", headers=coordinator))
    assert "open, acknowledged, resolved" in alerts["message"]


async def test_body_errors_carry_no_english_in_japanese(client, coordinator) -> None:
    cases = [
        ([1], "body", "JSON オブジェクト（{…}）で指定してください。"),
        ({"name": 5}, "name", "文字列で指定してください。"),
        ({"name": "x" * 300}, "name", "長すぎます（100文字以内）。"),
    ]
    for payload, field, message in cases:
        error = _only_error(await client.post("/api/v1/districts", json=payload, headers=coordinator))
        assert (error["field"], error["message"]) == (field, message)
    role = _only_error(
        await client.post(
            "/api/v1/users", json={"login": "abc", "display_name": "x", "role": "boss"}, headers=coordinator
        )
    )
    # The choices are the API's own tokens; no English prose ("or", "Input should be") around them.
    assert role["message"] == "使用できない値です。選択肢: coordinator, commissioner, volunteer"
    listed = _only_error(
        await client.post(
            "/api/v1/users",
            json={"login": "abc", "display_name": "x", "role": "volunteer", "district_ids": "x"},
            headers=coordinator,
        )
    )
    assert listed["message"] == "配列（リスト）で指定してください。"
    for error in (role, listed):
        prose = re.sub(r"coordinator|commissioner|volunteer", "", error["message"])
        assert not re.search(r"[A-Za-z]{3,}", prose), error


async def test_a_query_parameter_is_named_as_the_client_sent_it(client, coordinator) -> None:
    response = await client.get("/api/v1/me/visits?from=garbage", headers={**coordinator, **EN})
    error = _only_error(response)
    assert error["field"] == "from"  # not the handler's `from_`
    assert error["message"].startswith("Must be a date")
    flag = _only_error(await client.get("/api/v1/users?active=maybe", headers=coordinator))
    assert flag["message"] == "true または false で指定してください。"


async def test_an_empty_query_parameter_is_called_empty_not_malformed(client, coordinator) -> None:
    """`?district_id=` (a URL template copied as written, an empty form field): the reader is told
    the value is empty and may be left out, not that its format is wrong."""
    empty = _only_error(await client.get("/api/v1/residents?district_id=", headers=coordinator))
    assert empty == {
        "field": "district_id",
        "code": "field.empty_query",
        "message": "値が空です。使わないときはパラメータごと省いてください。",
    }
    english = _only_error(await client.get("/api/v1/contact-notes?from=", headers={**coordinator, **EN}))
    assert (english["field"], english["message"]) == (
        "from",
        "The value is empty: leave the parameter out when you do not use it.",
    )
    # A value that is there and wrong is still named as such.
    wrong = _only_error(await client.get("/api/v1/residents?district_id=a/b", headers=coordinator))
    assert wrong["code"] == "field.pattern"
