"""Credentials: token buckets, the login guard, passwords, key material, the secret box."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from centrex.security.keys import digest, generate_key
from centrex.security.passwords import VerificationCache, hash_password, verify_password
from centrex.security.ratelimit import LoginGuard, TokenBuckets
from centrex.security.secrets import SecretBox, generate_password, load_key


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_refills_and_reports_wait() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=2.0, burst=2, clock=clock)
    assert buckets.allow("k") == (True, 0.0) and buckets.allow("k")[0]
    ok, wait = buckets.allow("k")
    assert not ok and wait == pytest.approx(0.5)
    clock.now += 0.5
    assert buckets.allow("k")[0]
    assert buckets.allow("other")[0]


def test_login_guard_locks_then_releases_and_backs_off() -> None:
    clock = Clock()
    guard = LoginGuard(max_failures=3, lock_seconds=10, max_lock_seconds=60, clock=clock)
    for _ in range(3):
        assert guard.retry_after("bob", "1.1.1.1") == 0
        guard.failed("bob", "1.1.1.1")
    assert guard.retry_after("bob", "1.1.1.1") == pytest.approx(10)
    assert guard.retry_after("bob", "2.2.2.2") == pytest.approx(10)  # per user, whatever the address
    assert guard.retry_after("alice", "3.3.3.3") == 0
    clock.now += 10.5
    assert guard.retry_after("bob", "1.1.1.1") == 0
    guard.failed("bob", "1.1.1.1")
    assert guard.retry_after("bob", "1.1.1.1") == pytest.approx(20)  # doubled
    for _ in range(10):
        guard.failed("bob", "1.1.1.1")
    assert guard.retry_after("bob", "1.1.1.1") <= 60  # capped: never locked out forever
    clock.now += 61
    assert guard.retry_after("bob", "1.1.1.1") == 0
    guard.failed("eve", "9.9.9.9")
    guard.succeeded("eve", "9.9.9.9")
    assert guard.retry_after("eve", "8.8.8.8") == 0


def test_passwords_and_verification_cache() -> None:
    h = hash_password("Secret-pass-1")
    assert h.startswith("$argon2id$") and verify_password(h, "Secret-pass-1")
    assert not verify_password(h, "wrong") and not verify_password("not-a-hash", "x")
    cache = VerificationCache(ttl=60)
    assert cache.verify(h, "Secret-pass-1") and cache.verify(h, "Secret-pass-1")
    assert not cache.verify(h, "wrong")
    assert not cache.verify(hash_password("other"), "Secret-pass-1")


def test_keys_and_generated_passwords() -> None:
    k = generate_key()
    assert k.startswith("cx_") and len(k) == 43 and generate_key() != k
    assert len(generate_key("hex32")) == 32
    assert len(digest(k)) == 64 and digest(k) == digest(k)
    pw = generate_password()
    assert len(pw) == 20 and any(c.isupper() for c in pw) and any(c.isdigit() for c in pw)


def test_secret_box_round_trip_and_key_file(tmp_path: Path) -> None:
    key = load_key(None, tmp_path)
    assert load_key(None, tmp_path) == key
    assert oct(os.stat(tmp_path / "secret.key").st_mode & 0o777) == "0o600"
    box = SecretBox(key)
    token = box.encrypt("sip-secret")
    assert token.startswith("v1:") and "sip-secret" not in token and box.decrypt(token) == "sip-secret"
    with pytest.raises(Exception):  # noqa: B017 - tampering is an authentication failure
        box.decrypt(token[:-4] + "AAAA")
    with pytest.raises(ValueError):
        SecretBox(b"short")
