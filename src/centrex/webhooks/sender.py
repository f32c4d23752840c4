"""One delivery attempt: check the target (SSRF guard), sign, POST to the checked address, read a bounded answer.

The connection goes to the address the guard checked (the URL's host replaced by it) while the ``Host`` header and
the TLS SNI/certificate check keep the real host name, so a DNS answer that changes between check and connect
cannot redirect the request. Redirects are never followed (a 3xx is a failed attempt). Only 2xx is success.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import ip_address

import httpx

from centrex import __version__
from centrex.webhooks import signing
from centrex.webhooks.ssrf import UnsafeTarget, check_url

EXCERPT_BYTES = 2048
USER_AGENT = f"Centrex-Webhooks/{__version__}"


@dataclass
class AttemptResult:
    url: str
    request_headers: dict[str, str]
    request_body: str
    success: bool = False
    status: int | None = None
    response_body: str | None = None
    latency_ms: int | None = None
    error: str | None = None
    started_at: float = field(default_factory=time.time)


def new_client() -> httpx.AsyncClient:
    """The HTTP client of the dispatcher: no redirects, no proxies from the environment."""
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        headers={"user-agent": USER_AGENT},
    )


def _is_ip(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return False
    return True


async def send(
    client: httpx.AsyncClient,
    url: str,
    event_id: str,
    body: str,
    secrets: Sequence[str],
    *,
    allow_private: bool,
    timeout_seconds: float,
    now: float | None = None,
) -> AttemptResult:
    """POST ``body`` to ``url`` signed with every secret in ``secrets``; never raises for network trouble."""
    timestamp = int(time.time() if now is None else now)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **signing.headers(secrets, event_id, timestamp, body),
    }
    result = AttemptResult(url=url, request_headers=dict(headers), request_body=body[:EXCERPT_BYTES])
    try:
        target = await check_url(url, allow_private)
    except UnsafeTarget as exc:
        result.error = str(exc)[:500]
        return result
    headers["host"] = target.host_header
    result.request_headers = dict(headers)
    extensions = {}
    if target.url.scheme == "https" and not _is_ip(target.host):
        extensions["sni_hostname"] = target.host
    started = time.perf_counter()
    try:
        async with client.stream(
            "POST",
            target.pinned_url,
            content=body.encode(),
            headers=headers,
            extensions=extensions,
            timeout=timeout_seconds,
        ) as response:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_raw():
                chunks.append(chunk)
                size += len(chunk)
                if size >= EXCERPT_BYTES:
                    break
            result.status = response.status_code
            result.response_body = b"".join(chunks)[:EXCERPT_BYTES].decode("utf-8", "replace")
    except httpx.TimeoutException:
        result.error = f"timed out after {timeout_seconds:g} s"
    except httpx.HTTPError as exc:
        result.error = f"connection failed: {type(exc).__name__}: {exc}"[:500]
    except OSError as exc:
        result.error = f"connection failed: {exc}"[:500]
    except (httpx.InvalidURL, ValueError) as exc:
        result.error = f"invalid request: {exc}"[:500]
    result.latency_ms = int((time.perf_counter() - started) * 1000)
    if result.status is not None:
        result.success = 200 <= result.status < 300
        if 300 <= result.status < 400:
            result.error = "redirects are not followed; answer with 2xx at the subscribed URL"
        elif not result.success:
            result.error = f"HTTP {result.status}"
    return result
