"""Standard Webhooks signing and verification: the spec's known vector, rotation, tampering, staleness."""

from __future__ import annotations

import base64
import time

import pytest

from centrex.webhooks import signing
from centrex.webhooks.signing import WebhookVerificationError

# The example of the Standard Webhooks specification and its reference libraries.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TS = 1614265330
SPEC_BODY = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_known_vector() -> None:
    assert signing.sign(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY) == SPEC_SIGNATURE
    assert signing.sign(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY.encode()) == SPEC_SIGNATURE
    headers = {"webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TS), "webhook-signature": SPEC_SIGNATURE}
    signing.verify(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TS + 10)


def test_generated_secret_shape() -> None:
    secret = signing.generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert secret != signing.generate_secret()


def test_headers_round_trip_with_rotation() -> None:
    new, old = signing.generate_secret(), signing.generate_secret()
    h = signing.headers([new, old], "evt_1", 1_700_000_000, '{"a":1}')
    assert h["webhook-id"] == "evt_1" and h["webhook-timestamp"] == "1700000000"
    parts = h["webhook-signature"].split(" ")
    assert len(parts) == 2 and all(p.startswith("v1,") for p in parts)
    # A receiver holding either secret accepts the request; one holding another secret does not.
    signing.verify(new, h, '{"a":1}', now=1_700_000_000)
    signing.verify(old, h, '{"a":1}', now=1_700_000_000)
    with pytest.raises(WebhookVerificationError, match="no matching signature"):
        signing.verify(signing.generate_secret(), h, '{"a":1}', now=1_700_000_000)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"body": '{"a":2}'}, "no matching signature"),
        ({"webhook-id": "evt_2"}, "no matching signature"),
        ({"webhook-timestamp": "1700000001"}, "no matching signature"),
        ({"webhook-timestamp": "soon"}, "invalid webhook-timestamp"),
        ({"webhook-signature": "v2,abc"}, "no matching signature"),
        ({"drop": "webhook-signature"}, "missing header"),
        ({"now": 1_700_000_000 + 301}, "too old"),
        ({"now": 1_700_000_000 - 301}, "too new"),
    ],
)
def test_verification_refuses_tampering(change: dict[str, object], message: str) -> None:
    secret = signing.generate_secret()
    body = '{"a":1}'
    headers = signing.headers([secret], "evt_1", 1_700_000_000, body)
    now = 1_700_000_000
    for key, value in change.items():
        if key == "body":
            body = str(value)
        elif key == "drop":
            headers.pop(str(value))
        elif key == "now":
            now = int(str(value))
        else:
            headers[key] = str(value)
    with pytest.raises(WebhookVerificationError, match=message):
        signing.verify(secret, headers, body, now=now)


def test_header_names_any_case() -> None:
    secret = signing.generate_secret()
    headers = {k.upper(): v for k, v in signing.headers([secret], "evt_9", 1_700_000_000, "{}").items()}
    signing.verify(secret, headers, b"{}", now=1_700_000_000)


def test_the_receiver_snippet_in_the_docs_works() -> None:
    """The ~10-line verifier of docs/webhooks.md accepts a real signed request and refuses a tampered one."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()
    snippet = doc.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, object] = {}
    exec(compile(snippet, "docs/webhooks.md", "exec"), namespace)
    verify = namespace["verify"]
    assert callable(verify)
    secret, body = signing.generate_secret(), b'{"type":"call.ended"}'
    headers = signing.headers([signing.generate_secret(), secret], "evt_1", int(time.time()), body)
    verify(secret, headers, body)
    with pytest.raises(ValueError, match="bad signature"):
        verify(secret, headers, body + b" ")
    stale = signing.headers([secret], "evt_1", int(time.time()) - 3600, body)
    with pytest.raises(ValueError, match="stale"):
        verify(secret, stale, body)
