"""A file the check accepted near the request limit can be imported from the console: the confirm
form carries it back compressed (base64 alone adds a third: before, a file between ¾ of the limit
and the limit was accepted by the check and refused with 413 on 「取り込む」). A file that would not
fit even so is said to be too large before the button is offered; a carried file that would unpack
past the limit is refused."""

from __future__ import annotations

import base64
import random
import re
import string
import zlib

import pytest
from sqlalchemy import func, select

from domain.models import Resident
from domain.settings import Settings
from tests.console.conftest import csrf_from, sign_in

PAGE = "/console/import-export"
HEADER = "氏名,ふりがな,住所,地区,リスク,支援内容\r\n"
LIMIT = 64 * 1024


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_request_bytes": LIMIT})


def _register(rows: int, needs: callable) -> bytes:
    lines = [f"取込 {i:05d},トリコミ,中央町{i}-1,中央地区,高,{needs(i)}\r\n" for i in range(rows)]
    return (HEADER + "".join(lines)).encode("utf-8")


async def _check(client, data: bytes):
    return await client.post(
        PAGE + "/check",
        data={"_csrf": await csrf_from(client, PAGE)},
        files={"file": ("名簿.csv", data, "text/csv")},
    )


async def _residents(db) -> int:
    async with db() as session:
        return await session.scalar(select(func.count()).select_from(Resident)) or 0


async def test_a_file_the_check_accepted_near_the_limit_is_imported(client, world, db) -> None:
    await sign_in(client, "coord")
    data = _register(420, lambda i: "買い物・通院・ゴミ出しの支援、見守りの声かけ")
    assert LIMIT * 0.8 < len(data) < LIMIT - 4096  # base64 of it alone would not fit in a request
    checked = await _check(client, data)
    assert "問題はありません。420人を登録します。" in checked.text
    carried = re.search(r'name="checked_file" value="([^"]+)"', checked.text).group(1)
    before = await _residents(db)
    confirm = await client.post(
        PAGE + "/import",
        data={"_csrf": await csrf_from(client, PAGE)},
        files={"checked_file": (None, carried)},
    )
    assert confirm.status_code == 200 and "420人を登録しました。" in confirm.text
    assert await _residents(db) == before + 420


async def test_a_file_too_large_to_carry_back_is_said_so_before_the_button(client, world, db) -> None:
    await sign_in(client, "coord")
    noise = random.Random(7)
    letters = string.ascii_letters + string.digits + "!#$%&()*+-./:;<=>?@[]^_{|}~"
    data = _register(280, lambda i: "".join(noise.choice(letters) for _ in range(150)))
    assert LIMIT * 0.8 < len(data) < LIMIT - 4096
    checked = await _check(client, data)
    assert checked.status_code == 200
    assert 'name="checked_file"' not in checked.text
    assert (
        "コンソールから取り込むには大きすぎます" in checked.text
        and "mimamori import-residents" in checked.text
    )


async def test_a_carried_file_that_unpacks_past_the_limit_is_refused(client, world, db) -> None:
    await sign_in(client, "coord")
    bomb = base64.b64encode(zlib.compress(HEADER.encode() + b"a" * (LIMIT * 20))).decode()
    assert len(bomb) < LIMIT // 2
    before = await _residents(db)
    refused = await client.post(
        PAGE + "/import",
        data={"_csrf": await csrf_from(client, PAGE)},
        files={"checked_file": (None, bomb)},
    )
    assert refused.status_code == 413
    assert await _residents(db) == before
