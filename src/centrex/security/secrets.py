"""Encryption of secrets that must be read back (SIP passwords for digest auth and provisioning).

AES-256-GCM (``cryptography``) with a key from ``CENTREX_SECRET_KEY`` or ``<data_dir>/secret.key`` (created on first
start, mode 0600). Ciphertexts are ``v1:<base64(nonce|ciphertext)>``.
"""

from __future__ import annotations

import base64
import os
import secrets
import string
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_PASSWORD_ALPHABET = string.ascii_letters + string.digits


def generate_password(length: int = 20) -> str:
    """A strong random password with at least one lower, upper and digit."""
    while True:
        pw = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))
        if any(c.islower() for c in pw) and any(c.isupper() for c in pw) and any(c.isdigit() for c in pw):
            return pw


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("secret key must be 32 bytes")
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        ct = self._aead.encrypt(nonce, plaintext.encode(), b"centrex")
        return "v1:" + base64.b64encode(nonce + ct).decode()

    def decrypt(self, token: str) -> str:
        if not token.startswith("v1:"):
            raise ValueError("unknown secret format")
        raw = base64.b64decode(token[3:])
        return self._aead.decrypt(raw[:12], raw[12:], b"centrex").decode()


_box: SecretBox | None = None


def load_key(secret_key: str | None, data_dir: Path) -> bytes:
    """The configured key, or the data directory's key file (created when missing)."""
    if secret_key:
        key = base64.b64decode(secret_key)
        if len(key) != 32:
            raise ValueError("CENTREX_SECRET_KEY must be 32 bytes, base64-encoded")
        return key
    path = data_dir / "secret.key"
    if path.exists():
        return base64.b64decode(path.read_text().strip())
    data_dir.mkdir(parents=True, exist_ok=True)
    key = AESGCM.generate_key(bit_length=256)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(key).decode())
    return key


def configure_box(key: bytes) -> SecretBox:
    global _box
    _box = SecretBox(key)
    return _box


def default_box() -> SecretBox:
    if _box is None:
        raise RuntimeError("secret box not configured")
    return _box
