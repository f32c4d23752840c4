"""User passwords and PINs: Argon2id hashes (argon2-cffi), with a small cache of recent verifications.

HTTP Basic sends the password on every request; verifying Argon2 each time would cost tens of milliseconds, so a
successful verification is remembered for a short time, keyed by a digest of (password, stored hash). Changing the
password changes the stored hash, which makes every cached entry useless at once.
"""

from __future__ import annotations

import hashlib
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class VerificationCache:
    """Remembers successful verifications for ``ttl`` seconds (bounded size)."""

    def __init__(self, ttl: float = 60.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._seen: dict[str, float] = {}

    @staticmethod
    def _key(stored_hash: str, password: str) -> str:
        return hashlib.sha256(f"{stored_hash}\x00{password}".encode()).hexdigest()

    def verify(self, stored_hash: str, password: str) -> bool:
        key = self._key(stored_hash, password)
        now = time.monotonic()
        until = self._seen.get(key)
        if until is not None and until > now:
            return True
        if not verify_password(stored_hash, password):
            return False
        if len(self._seen) >= self.max_entries:
            self._seen = {k: v for k, v in self._seen.items() if v > now}
            if len(self._seen) >= self.max_entries:
                self._seen.clear()
        self._seen[key] = now + self.ttl
        return True


# Dummy hash to spend the same time whether or not a username exists.
DUMMY_HASH = _hasher.hash("centrex-dummy-password-for-timing")
