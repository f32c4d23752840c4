"""API key material: random tokens shown once, stored as SHA-256 digests.

Keys carry 240 bits of randomness, so a fast digest is enough (no offline guessing is possible) and lookups are a
single indexed equality on the digest.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

KEY_PREFIX = "cx_"
_ALPHABET = string.ascii_letters + string.digits


def generate_key(fmt: str = "native") -> str:
    """A new secret: ``cx_`` + 40 base62 characters, or 32 lower-case hex digits for ``fmt="hex32"``."""
    if fmt == "hex32":
        return secrets.token_hex(16)
    return KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(40))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def display_prefix(secret: str) -> str:
    return secret[:10]


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
