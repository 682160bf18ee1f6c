"""Agent passwords: salted scrypt hashes, checked in constant time. Pure: no SQL, no I/O.

A stored hash reads ``scrypt$N$r$p$SALT$HASH`` (hex), so the cost can be raised later and old
hashes still verify.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

# 2**14 * 8 * 128 bytes = 16 MB of memory and some 50 ms per check: slow for a guesser,
# quick enough for one login.
N, R, P = 2**14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32
MIN_LENGTH = 8
NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")


class PasswordError(ValueError):
    """A password or login name that cannot be used; the message says why."""


def check_name(name: str) -> str:
    """A login name: lower-case letters, digits, ``.``, ``_``, ``-``; at most 32 characters."""
    if not NAME_RE.fullmatch(name):
        raise PasswordError(
            f"{name!r} is not a login name (lower-case letters, digits, '.', '_', '-'; "
            "at most 32 characters, starting with a letter or digit)"
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"a password needs at least {MIN_LENGTH} characters")
    if password != password.strip():
        raise PasswordError("a password must not start or end with a space")
    return password


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES, maxmem=64 * 2**20
    )


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A new salted hash of ``password`` for storing."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    key = _derive(password, salt, N, R, P)
    return f"scrypt${N}${R}${P}${salt.hex()}${key.hex()}"


# Checked when the name is unknown, so an unknown name costs the same time as a wrong password.
_DUMMY = hash_password("not a password", salt=b"\0" * SALT_BYTES)


def verify_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches ``stored``; ``None`` (no such agent) takes as long."""
    try:
        scheme, n, r, p, salt, key = (stored or _DUMMY).split("$")
        if scheme != "scrypt":
            return False
        derived = _derive(password, bytes.fromhex(salt), int(n), int(r), int(p))
        ok = hmac.compare_digest(derived, bytes.fromhex(key))
    except ValueError:
        return False
    return ok and stored is not None
