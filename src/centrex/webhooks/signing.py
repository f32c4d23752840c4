"""Standard Webhooks signing (https://www.standardwebhooks.com/) and its verification, for senders and receivers.

A secret is ``whsec_`` + base64 of random bytes; the HMAC key is the decoded bytes. The signed content is
``f"{webhook_id}.{webhook_timestamp}.{body}"``; the ``webhook-signature`` header is a space-separated list of
``v1,<base64 HMAC-SHA256>`` (several during a secret rotation: a receiver accepts any one that matches).
This module has no dependency outside the standard library, so receivers may copy it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable, Mapping

PREFIX = "whsec_"
TOLERANCE_SECONDS = 5 * 60


class WebhookVerificationError(Exception):
    """The request is not a valid signed webhook (missing header, stale timestamp, no matching signature)."""


def generate_secret(nbytes: int = 24) -> str:
    """A new secret: ``whsec_`` + base64 of ``nbytes`` random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(nbytes)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret (``whsec_`` prefix optional)."""
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: str | bytes) -> str:
    """One ``v1,<base64>`` signature of ``body`` sent as ``msg_id`` at ``timestamp`` (unix seconds)."""
    payload = body if isinstance(body, bytes) else body.encode()
    content = f"{msg_id}.{timestamp}.".encode() + payload
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_: Iterable[str], msg_id: str, timestamp: int, body: str | bytes) -> str:
    """The ``webhook-signature`` value: one signature per secret (current first), space-separated."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets_)


def headers(secrets_: Iterable[str], msg_id: str, timestamp: int, body: str | bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for one request."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets_, msg_id, timestamp, body),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: str | bytes,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> None:
    """Check a received webhook; raise ``WebhookVerificationError`` unless it is authentic and fresh.

    ``headers`` may use any case (pass ``request.headers``). Give the raw body, exactly as received.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        msg_id = lower["webhook-id"]
        stamp = lower["webhook-timestamp"]
        given = lower["webhook-signature"]
    except KeyError as exc:
        raise WebhookVerificationError(f"missing header {exc.args[0]}") from None
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError("invalid webhook-timestamp") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError("webhook-timestamp too old or too new")
    expected = sign(secret, msg_id, timestamp, body).encode()
    for candidate in given.split():
        version, _, _sig = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(candidate.encode(), expected):
            return
    raise WebhookVerificationError("no matching signature")
