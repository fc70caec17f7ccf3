"""Every kind of alert the jobs open, and every way one is resolved, reads as words in the alerts
export, in Japanese and English — not as the code (no_answer_twice and nobody_can_visit did)."""

from __future__ import annotations

import pytest

import api.reports.record_exports  # noqa: F401  (registers the export's words)
from domain import alerts as lifecycle
from domain.enums import AlertResolution
from domain.i18n import translate
from schedules import alerting, reassignment
from tests.console.conftest import lists, world  # noqa: F401
from tests.factories import login

KINDS = (*alerting.KINDS, reassignment.NOBODY_CAN_VISIT)


def test_every_alert_kind_and_resolution_has_words() -> None:
    codes = [f"value.alert_kind.{kind}" for kind in KINDS]
    codes += [f"value.resolution.{resolution}" for resolution in AlertResolution]
    for code in codes:
        for locale in ("ja", "en"):
            assert translate(code, locale) != code, (code, locale)


@pytest.mark.parametrize("kind", [alerting.NO_ANSWER_TWICE, reassignment.NOBODY_CAN_VISIT])
async def test_the_alerts_export_names_the_kind_in_words(client, db, world, kind) -> None:  # noqa: F811
    async with db() as session:
        await lifecycle.open_alert(
            session, org_id=world.org.id, kind=kind, cause_key=f"{kind}:1", resident_id=world.resident.id
        )
        await session.commit()
    coord = await login(client, "coord")
    for lang, words in (
        ("ja", translate(f"value.alert_kind.{kind}", "ja")),
        ("en", translate(f"value.alert_kind.{kind}", "en")),
    ):
        exported = await client.get(
            "/api/v1/reports/exports/alerts?format=csv", headers={**coord, "Accept-Language": lang}
        )
        assert exported.status_code == 200, exported.text
        text = exported.content.decode("utf-8-sig")
        assert kind not in text and words in text, (lang, text)
