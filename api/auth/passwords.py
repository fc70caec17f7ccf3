"""Argon2 password and activation-code hashing."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from domain.errors import FieldError, InvalidInput
from domain.i18n import register

# RFC 9106 low-memory profile (argon2-cffi's default). Tests switch to the cheapest profile through
# settings.password_hash_profile; a hash carries its own parameters, so either verifies the other.
_hasher = PasswordHasher()


def configure(profile: str) -> None:
    global _hasher
    _hasher = PasswordHasher.from_parameters(profiles.CHEAPEST) if profile == "fast" else PasswordHasher()


# Short and readable when read out over the phone: no 0/O, 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
# Password policy (ASVS 2.1.1, 2.1.7): length and a list of common passwords, no composition rules.
# Length counts characters, so a Japanese phrase of 12 characters qualifies.
MIN_PASSWORD_LENGTH = 12
MIN_DISTINCT_CHARACTERS = 5  # "aaaaaaaaaaaa", "121212121212" are long but guessed first
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")

register(
    {
        "error.password_policy": {
            "ja": "このパスワードは使えません。条件を確認してください。",
            "en": "This password cannot be used. Please check the rules.",
        },
        "field.password_too_short": {
            "ja": "パスワードは{min}文字以上にしてください（いくつかの言葉をつなげた文がおすすめです）。",
            "en": "Use at least {min} characters (a phrase of several words works well).",
        },
        "field.password_common": {
            "ja": "よく使われている、または推測されやすいパスワードです。別のものにしてください。",
            "en": "This password is common or easy to guess. Please choose another.",
        },
        "field.password_is_login": {
            "ja": "ログインIDを含むパスワードは使えません。",
            "en": "The password must not contain the login.",
        },
    }
)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def check_password_policy(password: str, login: str | None = None) -> None:
    """Refuse a weak new password with 422 naming the rule it breaks."""
    problem: FieldError | None = None
    lowered = password.strip().lower()
    if len(password) < MIN_PASSWORD_LENGTH:
        problem = FieldError("password", "field.password_too_short", {"min": MIN_PASSWORD_LENGTH})
    elif lowered in common_passwords() or len(set(lowered)) < MIN_DISTINCT_CHARACTERS:
        problem = FieldError("password", "field.password_common")
    elif login and len(login.strip()) >= 3 and login.strip().lower() in lowered:
        problem = FieldError("password", "field.password_is_login")
    if problem is not None:
        raise InvalidInput("error.password_policy", status=422, errors=[problem])


def new_code_and_hash() -> tuple[str, str]:
    code = new_activation_code()
    return code, hash_secret(code)


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(hashed: str | None, secret: str) -> bool:
    if not hashed:
        # Spend the same time as a real check so that unknown accounts cannot be told apart.
        _hasher.hash(secret)
        return False
    try:
        return _hasher.verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False


def new_activation_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def normalise_code(code: str) -> str:
    cleaned = code.strip().upper().replace("-", "").replace(" ", "")
    return f"{cleaned[:4]}-{cleaned[4:]}"
