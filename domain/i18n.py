"""Messages people read: Japanese by default, English available.

Each package registers its own catalogue at import (`register({...})`); codes are dotted names.
A parameter whose value is a code with words of its own under the message — `{code}.{name}.{value}`,
e.g. `notify.plan_paused.title.reason.refused` — is shown in those words, never as the raw code.
"""

from __future__ import annotations

from typing import Any

Locale = str
SUPPORTED = ("ja", "en")
DEFAULT_LOCALE = "ja"

_CATALOGUE: dict[str, dict[str, str]] = {}


def register(messages: dict[str, dict[str, str]]) -> None:
    for code, texts in messages.items():
        if "ja" not in texts or "en" not in texts:
            raise ValueError(f"message {code} needs ja and en")
        _CATALOGUE[code] = texts


def translate(code: str, locale: str | None = None, **params: Any) -> str:
    texts = _CATALOGUE.get(code)
    if texts is None:
        return code
    lang = locale or DEFAULT_LOCALE
    template = texts.get(lang) or texts[DEFAULT_LOCALE]
    shown = dict(params)
    for name, value in params.items():
        words = _CATALOGUE.get(f"{code}.{name}.{value}") if isinstance(value, str) else None
        if words is not None:
            shown[name] = words.get(lang) or words[DEFAULT_LOCALE]
    try:
        return template.format(**shown)
    except (KeyError, IndexError, ValueError):
        return template


def negotiate(accept_language: str | None, default: str = DEFAULT_LOCALE) -> str:
    """Pick ja or en from an Accept-Language header (q-values honoured)."""
    if not accept_language:
        return default
    best, best_q = default, -1.0
    for part in accept_language.split(","):
        lang, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = lang.strip().lower().split("-")[0]
        if primary in SUPPORTED and q > best_q:
            best, best_q = primary, q
    return best


register(
    {
        "error.bad_request": {"ja": "リクエストが正しくありません。", "en": "The request is not valid."},
        "error.not_json": {
            "ja": "リクエスト本文を JSON として読めません。",
            "en": "The request body is not valid JSON.",
        },
        "error.too_deep": {
            "ja": "リクエスト本文の JSON の入れ子が深すぎます。",
            "en": "The request body's JSON is nested too deeply.",
        },
        "error.validation": {"ja": "入力内容に誤りがあります。", "en": "Some fields are not valid."},
        "error.unauthorized": {"ja": "ログインが必要です。", "en": "You need to sign in."},
        "error.token_invalid": {
            "ja": "認証情報が無効か期限切れです。再度ログインしてください。",
            "en": "Your credentials are invalid or expired. Please sign in again.",
        },
        "error.token_expired": {
            "ja": "認証の有効期限が切れました。更新してください。",
            "en": "Your access token has expired. Please refresh it.",
        },
        "error.device_revoked": {
            "ja": "この端末は利用停止されました。端末内のデータを消去してください。",
            "en": "This device has been revoked. Local data must be wiped.",
        },
        "error.user_inactive": {
            "ja": "このアカウントは無効です。",
            "en": "This account is not active.",
        },
        "error.forbidden": {"ja": "この操作の権限がありません。", "en": "You are not allowed to do this."},
        "error.not_found": {"ja": "見つかりません。", "en": "Not found."},
        "error.conflict": {
            "ja": "他の変更と競合しました。最新の状態を取得してやり直してください。",
            "en": "This conflicts with another change. Fetch the latest state and try again.",
        },
        "error.too_large": {"ja": "リクエストが大きすぎます。", "en": "The request is too large."},
        "error.method_not_allowed": {
            "ja": "このメソッドは使用できません。",
            "en": "This method is not allowed here.",
        },
        "error.rate_limited": {
            "ja": "リクエストが多すぎます。しばらくしてから再度お試しください。",
            "en": "Too many requests. Please try again later.",
        },
        "error.internal": {
            "ja": "サーバー内部でエラーが発生しました。時間をおいて再度お試しください。",
            "en": "Something went wrong on the server. Please try again later.",
        },
        "field.required": {"ja": "必須項目です。", "en": "This field is required."},
        "field.invalid": {"ja": "値が正しくありません。", "en": "This value is not valid."},
        "field.date_in_future": {
            "ja": "今日より後の日付は入力できません。",
            "en": "The date may not be later than today.",
        },
        "field.too_long": {
            "ja": "長すぎます（{max}文字以内）。",
            "en": "Too long (at most {max} characters).",
        },
        "field.too_short": {
            "ja": "短すぎます（{min}文字以上）。",
            "en": "Too short (at least {min} characters).",
        },
        "field.not_allowed": {
            "ja": "使用できない値です。選択肢: {choices}",
            "en": "Not an allowed value. Choices: {choices}",
        },
        "field.type": {"ja": "値の型が正しくありません。", "en": "The value has the wrong type."},
        "field.range": {"ja": "範囲外の値です。", "en": "The value is out of range."},
        "field.between": {
            "ja": "{min}以上{max}以下の値にしてください。",
            "en": "Must be between {min} and {max}.",
        },
        "field.unknown": {"ja": "不明な項目です。", "en": "Unknown field."},
    }
)

register(
    {
        "error.alert_resolved": {
            "ja": "このアラートは既に解決済みです。",
            "en": "This alert is already resolved.",
        },
    }
)
