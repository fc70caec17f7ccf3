"""Message texts: per locale, and never more personal data than the screen needs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from notifications.templates import MessageKind, kinds, render


def test_every_kind_renders_in_japanese_and_english():
    for kind in kinds():
        params = (
            {"title": "件名", "body": "本文"}
            if kind == MessageKind.GENERIC
            else {"resident_name": "山田 花子"}
        )
        ja, en = render(kind, "ja", **params), render(kind, "en", **params)
        assert all(ja) and all(en)
        assert kind == MessageKind.GENERIC or ja != en


def test_due_is_shown_in_the_organisations_local_time():
    due = datetime(2026, 11, 28, 1, 30, tzinfo=UTC)  # 10:30 in Tokyo
    assert render("reminder", "ja", resident_name="山田 花子", due=due, tz="Asia/Tokyo") == (
        "訪問予定：山田 花子さん",
        "11月28日 10:30に訪問の予定があります。",
    )
    assert (
        render("reminder", "en", resident_name="Hanako", due=due)[1]
        == "You have a visit planned for 28 Nov 10:30."
    )


def test_unknown_locale_falls_back_to_japanese_and_missing_name_is_generic():
    assert (
        render("urgent_alert", "fr")
        == render("urgent_alert", "ja")
        == (
            "【緊急】対象者さん",
            "緊急の対応が必要です。すぐにアプリで確認してください。",
        )
    )


@pytest.mark.parametrize("leak", ["address", "note", "phone", "text"])
def test_a_push_cannot_carry_addresses_or_note_text(leak):
    with pytest.raises(ValueError, match="not allowed"):
        render("missed_contact", "ja", resident_name="山田 花子", **{leak: "テスト市中央1-2-3"})


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown message kind"):
        render("horoscope", "ja")


def test_an_urgent_reason_is_a_code_from_a_closed_list_never_free_text():
    title, body = render("urgent_alert", "en", resident_name="山田 花子", reason="no_answer_twice")
    assert "山田 花子" in title and "No answer twice" in body
    with pytest.raises(ValueError, match="unknown urgent reason"):
        render("urgent_alert", "ja", resident_name="山田 花子", reason="テスト市中央1-2-3")


def test_every_message_text_is_in_the_one_vocabulary():
    """Every `notify.*` text a person is told is registered by `notifications.templates` and by no
    other module, in Japanese and English."""
    import ast
    from pathlib import Path

    from domain.i18n import translate

    root = Path(__file__).resolve().parents[2]
    owners: dict[str, list[str]] = {}
    for path in sorted(root.glob("*/**/*.py")):
        if ".venv" in path.parts or path.parts[len(root.parts)] == "tests":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                for key in node.keys:
                    if isinstance(key, ast.Constant) and str(key.value).startswith("notify."):
                        owners.setdefault(key.value, []).append(str(path.relative_to(root)))
    assert owners, "no notify.* texts found"
    assert {code: files for code, files in owners.items() if files != ["notifications/templates.py"]} == {}
    for code in owners:
        assert translate(code, "ja") != translate(code, "en"), code
