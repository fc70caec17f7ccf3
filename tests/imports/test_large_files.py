"""A wrong file with the right headers (a problem in every cell of thousands of rows): the report
lists the first thousand problems by line and says how many there are in all, and the file is read
off the event loop, so the server goes on answering phones meanwhile."""

from __future__ import annotations

import threading

from api.residents import csv_import
from api.residents.csv_import import COLUMNS
from domain.enums import Role
from tests.factories import login, make_district, make_org, make_user

URL = "/api/v1/residents/import"


async def test_a_file_of_bad_rows_lists_the_first_thousand_problems_and_counts_all(
    client, db, monkeypatch
) -> None:
    async with db() as session:
        org = await make_org(session)
        await make_district(session, org, "中央地区")
        await make_user(session, org, Role.COORDINATOR, "coord")
    coord = await login(client, "coord")
    read_in: list[int] = []
    parse = csv_import.parse

    def watched(*args: object):
        read_in.append(threading.get_ident())
        return parse(*args)

    monkeypatch.setattr(csv_import, "parse", watched)
    header = ",".join(c.label for c in COLUMNS)
    data = ("\r\n".join([header, *[",".join(["x"] * len(COLUMNS))] * 2_000]) + "\r\n").encode()
    for dry_run in ("true", "false"):
        response = await client.post(
            URL, params={"dry_run": dry_run}, content=data, headers={**coord, "Content-Type": "text/csv"}
        )
        assert response.status_code == (200 if dry_run == "true" else 400)
        report = response.json()
        assert len(report["errors"]) == 1000 and report["error_count"] > 10_000
        assert [e["line"] for e in report["errors"]] == sorted(e["line"] for e in report["errors"])
        assert report["errors"][0]["line"] == 2 and len(response.content) < 500_000
    assert read_in and threading.get_ident() not in read_in  # not on the event loop's thread
