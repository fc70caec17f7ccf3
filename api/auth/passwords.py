"""Argon2 password and activation-code hashing."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

# RFC 9106 low-memory profile (argon2-cffi's default). Tests switch to the cheapest profile through
# settings.password_hash_profile; a hash carries its own parameters, so either verifies the other.
_hasher = PasswordHasher()


def configure(profile: str) -> None:
    global _hasher
    _hasher = PasswordHasher.from_parameters(profiles.CHEAPEST) if profile == "fast" else PasswordHasher()


# Short and readable when read out over the phone: no 0/O, 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MIN_PASSWORD_LENGTH = 8


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
