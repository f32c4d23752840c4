"""Webhooks through the API: the generic two-tenant resource tests, secrets, system webhooks, the SSRF rule, and
deliveries to a real HTTP receiver on loopback (the dispatcher driven step by step with ``run_once``).

The module runs its own app (fresh database, the shared app's secret key) with the background worker off and
private targets allowed, so that deliveries happen exactly when a test runs the dispatcher, and so that the shared
app never sees an enabled webhook.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import orjson
import pytest_asyncio
from sqlalchemy import select, update

from centrex.db.models.webhooks import Webhook, WebhookDelivery
from centrex.db.types import utcnow
from centrex.webhooks import signing
from centrex.webhooks.dispatcher import claim, fan_out, run_once
from tests.api.harness import ADMIN, Harness, World, make_world, running_app
from tests.api.mixins import TenantResourceTests
from tests.conftest import ThrowawayDatabase
from tests.support.server import free_port
from tests.webhooks.receiver import Receiver, receiving

PUBLIC_URL = "https://93.184.216.34/hook"  # a public literal: no DNS, never contacted (the worker is off)


@pytest_asyncio.fixture(scope="module")
async def hooks(api_app: Harness, tmp_path_factory: Any) -> AsyncIterator[Harness]:
    shared = api_app.state.settings
    key = (shared.data_dir / "secret.key").read_text().strip()
    db = ThrowawayDatabase(api_app.backend, tmp_path_factory.mktemp(f"webhooks-{api_app.backend}"))
    await asyncio.to_thread(db.create)  # asyncio.run inside: not on this loop
    try:
        async with running_app(
            db,
            secret_key=shared.secret_key or key,
            webhook_worker=False,
            webhook_allow_private=True,
            webhook_max_attempts=3,
            webhook_backoff_base_seconds=0.05,
            webhook_backoff_max_seconds=0.2,
            webhook_disable_after_failures=2,
            webhook_timeout_seconds=5.0,
        ) as harness:
            yield harness
    finally:
        await asyncio.to_thread(db.drop)


@pytest_asyncio.fixture
async def world(hooks: Harness) -> World:
    return await make_world(hooks)


def hooks_url(tenant: dict[str, Any], *rest: str) -> str:
    return "/".join([f"/api/v1/tenants/{tenant['id']}/webhooks", *rest])


async def subscribe(w: World, url: str, tenant: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    tenant = tenant or w.a
    headers = w.a_key if tenant is w.a else w.b_key if tenant is w.b else w.reseller_key
    body = {"url": url, "event_types": ["extension.*"], **extra}
    r = await w.client.post(hooks_url(tenant), json=body, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def dispatch(api: Harness, rounds: int = 1, pause: float = 0.0) -> None:
    for _ in range(rounds):
        await run_once(api.state.db, api.state.settings)
        if pause:
            await asyncio.sleep(pause)


async def dispatch_until(api: Harness, receiver: Receiver, count: int, within: float = 30.0) -> None:
    """Run the dispatcher until the receiver has ``count`` requests (retries wait for their jittered delay)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while len(receiver.requests) < count:
        assert loop.time() < deadline, f"{len(receiver.requests)} of {count} requests after {within} s"
        await run_once(api.state.db, api.state.settings)
        await asyncio.sleep(0.05)


def verified(secret: str, request: Any) -> dict[str, Any]:
    signing.verify(secret, request.headers, request.body)
    body: dict[str, Any] = orjson.loads(request.body)
    return body


class TestWebhookResource(TenantResourceTests):
    plural = "webhooks"
    resource = "webhook"
    cached = False
    invalid = [
        ({"url": "ftp://hooks.example.com/x"}, "url"),
        ({"url": "https://no-such-host.invalid/x"}, "url"),
        ({"event_types": []}, "event_types"),
        ({"event_types": ["Not A Type"]}, "event_types"),
        ({"event_types": ["call.*", "call.*"]}, "event_types"),
        ({"include_children": True}, "include_children"),  # tenant a is a plain tenant
        ({"ordered": "yes"}, "ordered"),
    ]

    async def payload(self, w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        return {"url": PUBLIC_URL, "description": "CRM", "event_types": ["call.*", "extension.created"]}

    def update(self) -> dict[str, Any]:
        return {"description": "CRM (new)", "ordered": True, "event_types": ["*"]}


async def test_secret_shown_once_and_stored_encrypted(world: World) -> None:
    w = world
    made = await subscribe(w, PUBLIC_URL)
    secret = made["secret"]
    assert secret.startswith("whsec_") and made["enabled"] is True and made["system"] is False
    r = await w.client.get(hooks_url(w.a, made["id"]), headers=w.a_key)
    assert r.status_code == 200 and "secret" not in r.json()
    listed = await w.client.get(hooks_url(w.a), headers=w.a_key)
    assert secret not in listed.text
    async with w.api.state.db.session() as session:
        row = await session.scalar(select(Webhook).where(Webhook.id == made["id"]))
    assert row is not None and secret not in row.secret_enc
    for path in ("audit-log", "events"):
        r = await w.client.get(
            f"/api/v1/tenants/{w.a['id']}/{path}", params={"resource_id": made["id"]}, headers=w.a_key
        )
        assert r.status_code == 200 and r.json()["items"]
        assert secret not in r.text and "secret_enc" not in r.text


async def test_loopback_target_refused_by_default(api: Harness) -> None:
    """The shared app runs with the default settings: private targets are refused with a clear 422."""
    tenant = await api.tenant()
    key = await api.key(tenant["id"])
    for url in ("http://127.0.0.1:9000/hook", "http://localhost/hook", "https://10.0.0.8/x", "http://[::1]/"):
        r = await api.client.post(hooks_url(tenant), json={"url": url}, headers=key)
        assert r.status_code == 422, (url, r.text)
        problem = r.json()
        error = next(e for e in problem["errors"] if e["field"] == "url")
        assert error["code"] == "unsafe_url"
        assert "public addresses only" in error["message"] and "CENTREX_WEBHOOK_ALLOW_PRIVATE" in error["message"]
    r = await api.client.get(hooks_url(tenant), headers=key)
    assert r.json()["total"] == 0


async def test_include_children_only_above_tenants(world: World) -> None:
    w = world
    made = await subscribe(w, PUBLIC_URL, tenant=w.reseller, include_children=True)
    assert made["include_children"] is True
    r = await w.client.patch(hooks_url(w.a, "x"), json={"include_children": True}, headers=w.a_key)
    assert r.status_code == 404


async def test_system_webhooks_are_for_platform_admins(world: World) -> None:
    w = world
    body = {"url": PUBLIC_URL, "event_types": ["tenant.*"]}
    for headers in (w.reseller_key, w.a_key):
        r = await w.client.post("/api/v1/system/webhooks", json=body, headers=headers)
        assert r.status_code == 403, r.text
        assert (await w.client.get("/api/v1/system/webhooks", headers=headers)).status_code == 403
    r = await w.client.post("/api/v1/system/webhooks", json=body, auth=ADMIN)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["system"] is True and made["secret"].startswith("whsec_")
    r = await w.client.post("/api/v1/system/webhooks", json={**body, "event_types": ["extension.*"]}, auth=ADMIN)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "event_types.0"
    r = await w.client.get(f"/api/v1/system/webhooks/{made['id']}", auth=ADMIN)
    assert r.status_code == 200 and "secret" not in r.json()
    # Not a tenant webhook of the platform tenant, and not reachable through a tenant path.
    platform = made["tenant_id"]
    r = await w.client.get(f"/api/v1/tenants/{platform}/webhooks/{made['id']}", auth=ADMIN)
    assert r.status_code == 404
    r = await w.client.patch(f"/api/v1/system/webhooks/{made['id']}", json={"description": "ops"}, auth=ADMIN)
    assert r.status_code == 200 and r.json()["description"] == "ops"
    r = await w.client.delete(f"/api/v1/system/webhooks/{made['id']}", auth=ADMIN)
    assert r.status_code == 204


async def test_system_webhook_receives_tenant_lifecycle_across_tenants(hooks: Harness) -> None:
    async with receiving() as receiver:
        r = await hooks.client.post(
            "/api/v1/system/webhooks", json={"url": receiver.url, "event_types": ["tenant.*"]}, auth=ADMIN
        )
        assert r.status_code == 201, r.text
        made = r.json()
        reseller = await hooks.tenant("reseller")
        child = await hooks.tenant(parent=reseller["id"])
        await hooks.extension(child["id"], await hooks.key(child["id"]))  # not a lifecycle event
        await dispatch_until(hooks, receiver, 2)
        await dispatch(hooks)
        bodies = [verified(made["secret"], req) for req in receiver.requests]
        # Not ordered: the two deliveries go out side by side, in either order.
        assert sorted((b["type"], b["data"]["resource_id"]) for b in bodies) == sorted(
            [("tenant.created", reseller["id"]), ("tenant.created", child["id"])]
        )
        r = await hooks.client.delete(f"/api/v1/system/webhooks/{made['id']}", auth=ADMIN)
        assert r.status_code == 204


async def test_delivery_signed_and_logged(world: World) -> None:
    w = world
    async with receiving() as receiver:
        hook = await subscribe(w, receiver.url)
        ext = await w.api.extension(w.a["id"], w.a_key)
        await w.api.extension(w.b["id"], w.b_key)  # another tenant's event: not delivered here
        await dispatch_until(w.api, receiver, 1)
        await dispatch(w.api)
        assert len(receiver.requests) == 1
        req = receiver.requests[0]
        body = verified(hook["secret"], req)
        assert body["type"] == "extension.created" and body["id"] == req.headers["webhook-id"]
        assert body["data"]["resource_id"] == ext["id"] and body["data"]["tenant_id"] == w.a["id"]
        assert body["data"]["data"]["object"]["number"] == ext["number"] and body["timestamp"].endswith("Z")
        assert body["data"]["type"] == "extension.created" and body["data"]["id"] == body["id"]
        assert body["timestamp"] == body["data"]["occurred_at"] and body["data"]["seq"] > 0
        assert req.headers["content-type"] == "application/json" and req.path == "/hook"
        assert req.headers["host"] == f"127.0.0.1:{receiver.port}"

        r = await w.client.get(hooks_url(w.a, hook["id"], "deliveries"), headers=w.a_key)
        assert r.status_code == 200 and r.headers["X-Total-Count"] == "1"
        delivery = r.json()["items"][0]
        assert delivery["status"] == "succeeded" and delivery["attempts"] == 1
        assert delivery["event_id"] == body["id"] and delivery["last_status_code"] == 200
        r = await w.client.get(hooks_url(w.a, hook["id"], "deliveries", delivery["id"]), headers=w.a_ro)
        assert r.status_code == 200
        detail = r.json()
        (attempt,) = detail["attempt_log"]
        assert attempt["response_status"] == 200 and attempt["success"] is True
        assert attempt["request_headers"]["webhook-id"] == body["id"]
        assert attempt["response_body"] == '{"ok": true}' and attempt["latency_ms"] >= 0
        assert orjson.loads(detail["body"]) == body
        # Filters.
        for params, total in (
            ({"status": "succeeded"}, 1),
            ({"status": "failed"}, 0),
            ({"event_type": "extension.*"}, 1),
            ({"event_type": "call.*"}, 0),
        ):
            r = await w.client.get(hooks_url(w.a, hook["id"], "deliveries"), params=params, headers=w.a_key)
            assert r.json()["total"] == total, params
        r = await w.client.get(hooks_url(w.a, hook["id"], "deliveries"), params={"status": "x"}, headers=w.a_key)
        assert r.status_code == 422
        # Two tenants: B sees neither the endpoint's log nor the delivery, through either path.
        for url in (
            hooks_url(w.a, hook["id"], "deliveries"),
            hooks_url(w.a, hook["id"], "deliveries", delivery["id"]),
            hooks_url(w.b, hook["id"], "deliveries"),
            hooks_url(w.b, hook["id"], "deliveries", delivery["id"]),
        ):
            assert (await w.client.get(url, headers=w.b_key)).status_code == 404, url
        for url in (
            hooks_url(w.a, hook["id"], "deliveries", delivery["id"], "replay"),
            hooks_url(w.b, hook["id"], "deliveries", delivery["id"], "replay"),
            hooks_url(w.a, hook["id"], "test"),
            hooks_url(w.a, hook["id"], "rotate-secret"),
            hooks_url(w.a, hook["id"], "enable"),
        ):
            assert (await w.client.post(url, headers=w.b_key)).status_code == 404, url
            assert (await w.client.post(url, headers=w.a_ro)).status_code in (403, 404), url

        # Replay: a new delivery of the same event, same webhook-id and body.
        r = await w.client.post(hooks_url(w.a, hook["id"], "deliveries", delivery["id"], "replay"), headers=w.a_key)
        assert r.status_code == 201, r.text
        again = r.json()
        assert again["replay_of"] == delivery["id"] and again["status"] == "pending" and again["id"] != delivery["id"]
        await dispatch_until(w.api, receiver, 2)
        second = receiver.requests[1]
        assert second.headers["webhook-id"] == req.headers["webhook-id"] and second.body == req.body
        verified(hook["secret"], second)


async def test_retries_with_backoff_then_success(world: World) -> None:
    w = world
    async with receiving(statuses=[500, 503]) as receiver:
        hook = await subscribe(w, receiver.url)
        await w.api.extension(w.a["id"], w.a_key)
        await dispatch_until(w.api, receiver, 3)
        ids = {r.headers["webhook-id"] for r in receiver.requests}
        assert len(ids) == 1  # the same event each time
        for req in receiver.requests:
            verified(hook["secret"], req)
        r = await w.client.get(hooks_url(w.a, hook["id"], "deliveries"), headers=w.a_key)
        (delivery,) = r.json()["items"]
        assert delivery["status"] == "succeeded" and delivery["attempts"] == 3
        detail = (await w.client.get(hooks_url(w.a, hook["id"], "deliveries", delivery["id"]), headers=w.a_key)).json()
        assert [a["attempt"] for a in detail["attempt_log"]] == [1, 2, 3]
        assert [a["response_status"] for a in detail["attempt_log"]] == [500, 503, 200]
        assert [a["error"] for a in detail["attempt_log"]] == ["HTTP 500", "HTTP 503", None]
        assert detail["attempt_log"][0]["response_body"] == "receiver says no"
        hook_now = (await w.client.get(hooks_url(w.a, hook["id"]), headers=w.a_key)).json()
        assert hook_now["consecutive_failures"] == 0 and hook_now["last_success_at"] and hook_now["enabled"]


async def test_failing_endpoint_is_disabled_then_re_enabled(world: World) -> None:
    w = world
    async with receiving() as receiver:
        receiver.default = 500
        hook = await subscribe(w, receiver.url)
        await w.api.extension(w.a["id"], w.a_key)
        await w.api.extension(w.a["id"], w.a_key)
        # 2 deliveries × 3 attempts, all failing: both fail for good and the endpoint is disabled (after 2).
        await dispatch_until(w.api, receiver, 6)
        await dispatch(w.api, rounds=3, pause=0.3)
        assert len(receiver.requests) == 6
        hook_now = (await w.client.get(hooks_url(w.a, hook["id"]), headers=w.a_key)).json()
        assert hook_now["enabled"] is False and hook_now["consecutive_failures"] == 2
        assert "2 consecutive deliveries failed" in hook_now["disabled_reason"] and hook_now["disabled_at"]
        r = await w.client.get(hooks_url(w.a, hook["id"], "deliveries"), params={"status": "failed"}, headers=w.a_key)
        assert r.json()["total"] == 2
        r = await w.client.get(
            f"/api/v1/tenants/{w.a['id']}/events", params={"type": "webhook.disabled"}, headers=w.a_key
        )
        disabled = [e for e in r.json()["items"] if e["resource_id"] == hook["id"]]
        assert len(disabled) == 1 and disabled[0]["data"]["reason"] == hook_now["disabled_reason"]
        assert disabled[0]["data"]["consecutive_failures"] == 2 and disabled[0]["data"]["url"] == receiver.url
        # Disabled: new events are not delivered to it.
        await w.api.extension(w.a["id"], w.a_key)
        await dispatch(w.api, rounds=2, pause=0.1)
        assert len(receiver.requests) == 6
        # Re-enable: health reset; the next event is delivered.
        r = await w.client.post(hooks_url(w.a, hook["id"], "enable"), headers=w.a_key)
        assert r.status_code == 200, r.text
        assert r.json()["enabled"] is True and r.json()["disabled_reason"] is None
        assert r.json()["consecutive_failures"] == 0
        receiver.default = 200
        ext = await w.api.extension(w.a["id"], w.a_key)
        await dispatch_until(w.api, receiver, 7)
        assert verified(hook["secret"], receiver.requests[-1])["data"]["resource_id"] == ext["id"]


async def test_test_delivery_and_secret_rotation(world: World) -> None:
    w = world
    async with receiving() as receiver:
        hook = await subscribe(w, receiver.url)
        r = await w.client.post(hooks_url(w.a, hook["id"], "test"), headers=w.a_key)
        assert r.status_code == 200, r.text
        result = r.json()
        assert result["status"] == "succeeded" and result["event_type"] == "webhook.test"
        assert result["attempt_log"][0]["response_status"] == 200
        (req,) = receiver.requests
        body = verified(hook["secret"], req)
        assert body["type"] == "webhook.test" and body["id"] == result["event_id"]
        assert len(req.headers["webhook-signature"].split()) == 1

        r = await w.client.post(hooks_url(w.a, hook["id"], "rotate-secret"), headers=w.a_key)
        assert r.status_code == 200, r.text
        rotated = r.json()
        assert rotated["secret"] != hook["secret"] and rotated["secret"].startswith("whsec_")
        assert rotated["previous_secret_expires_at"]
        r = await w.client.post(hooks_url(w.a, hook["id"], "test"), headers=w.a_key)
        assert r.json()["status"] == "succeeded"
        req = receiver.requests[-1]
        assert len(req.headers["webhook-signature"].split()) == 2
        verified(rotated["secret"], req)  # receivers that already switched
        verified(hook["secret"], req)  # receivers still on the old secret
        got = (await w.client.get(hooks_url(w.a, hook["id"]), headers=w.a_key)).json()
        assert got["previous_secret_expires_at"] == rotated["previous_secret_expires_at"]
        r = await w.client.get(
            hooks_url(w.a, hook["id"], "deliveries"), params={"event_type": "webhook.test"}, headers=w.a_key
        )
        assert r.json()["total"] == 2
    # The receiver is gone: the test reports the failure (200 with a failed delivery), nothing is retried.
    r = await w.client.post(hooks_url(w.a, hook["id"], "test"), headers=w.a_key)
    assert r.status_code == 200
    failed = r.json()
    assert failed["status"] == "failed" and failed["attempt_log"][0]["error"].startswith("connection failed")
    got = (await w.client.get(hooks_url(w.a, hook["id"]), headers=w.a_key)).json()
    assert got["consecutive_failures"] == 0 and got["enabled"] is True


async def test_ordered_endpoint_gets_one_event_at_a_time_in_order(world: World) -> None:
    w = world
    async with receiving(statuses=[500]) as receiver:
        hook = await subscribe(w, receiver.url, ordered=True)
        first = await w.api.extension(w.a["id"], w.a_key)
        second = await w.api.extension(w.a["id"], w.a_key)
        await dispatch(w.api)
        # Only the first event was attempted; the second waits for it even though it is due.
        assert len(receiver.requests) == 1
        await dispatch_until(w.api, receiver, 3)
        ids = [verified(hook["secret"], r)["data"]["resource_id"] for r in receiver.requests]
        assert ids == [first["id"], first["id"], second["id"]]


async def test_include_children_delivers_tenants_below(world: World) -> None:
    w = world
    async with receiving() as receiver:
        hook = await subscribe(w, receiver.url, tenant=w.reseller, include_children=True)
        own = await subscribe(w, receiver.url.replace("/hook", "/own"))  # tenant a's own endpoint
        ext_a = await w.api.extension(w.a["id"], w.a_key)
        ext_b = await w.api.extension(w.b["id"], w.b_key)
        await dispatch_until(w.api, receiver, 3)
        await dispatch(w.api)
        by_path: dict[str, list[str]] = {}
        for req in receiver.requests:
            secret = hook["secret"] if req.path == "/hook" else own["secret"]
            by_path.setdefault(req.path, []).append(verified(secret, req)["data"]["resource_id"])
        assert sorted(by_path["/hook"]) == sorted([ext_a["id"], ext_b["id"]])
        assert by_path["/own"] == [ext_a["id"]]


async def test_claims_are_exclusive_and_leases_expire(world: World) -> None:
    """Two workers never hold the same delivery (PostgreSQL: SKIP LOCKED; SQLite: one writer); a delivery held by
    a worker that died is claimed again once its lease has expired."""
    w = world
    db = w.api.state.db
    hook = await subscribe(w, PUBLIC_URL)  # never sent: the test only claims
    for _ in range(6):
        await w.api.extension(w.a["id"], w.a_key)
    while await fan_out(db):
        pass
    first, second = await asyncio.gather(claim(db, 30.0, limit=4), claim(db, 30.0, limit=4))
    mine = {c.delivery_id for c in first if c.webhook_id == hook["id"]}
    theirs = {c.delivery_id for c in second if c.webhook_id == hook["id"]}
    assert not mine & theirs and len(mine | theirs) == 6
    assert all(c.attempt == 1 and c.secrets == [hook["secret"]] for c in [*first, *second])
    assert not [c for c in await claim(db, 30.0) if c.webhook_id == hook["id"]]  # all leased
    # A worker "dies" holding short leases: once they expire, the deliveries are claimed again.
    async with db.session() as session:  # (release the long leases taken above)
        await session.execute(
            update(WebhookDelivery).where(WebhookDelivery.webhook_id == hook["id"]).values(lease_until=None)
        )
        await session.commit()
    short = await claim(db, 0.2)
    assert {c.delivery_id for c in short if c.webhook_id == hook["id"]} == mine | theirs
    assert not [c for c in await claim(db, 0.2) if c.webhook_id == hook["id"]]
    await asyncio.sleep(0.4)
    again = await claim(db, 30.0)
    assert {c.delivery_id for c in again if c.webhook_id == hook["id"]} == mine | theirs
    r = await w.client.delete(hooks_url(w.a, hook["id"]), headers=w.a_key)
    assert r.status_code == 204


async def test_endpoint_failing_for_a_day_is_disabled(world: World) -> None:
    w = world
    down = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    hook = await subscribe(w, down)
    async with w.api.state.db.session() as session:  # it has been failing since the day before yesterday
        await session.execute(
            update(Webhook).where(Webhook.id == hook["id"]).values(failing_since=utcnow() - timedelta(days=2))
        )
        await session.commit()
    await w.api.extension(w.a["id"], w.a_key)
    await dispatch(w.api)
    got = (await w.client.get(hooks_url(w.a, hook["id"]), headers=w.a_key)).json()
    assert got["enabled"] is False and got["disabled_reason"].startswith("every delivery attempt failed since")
    (delivery,) = (await w.client.get(hooks_url(w.a, hook["id"], "deliveries"), headers=w.a_key)).json()["items"]
    assert delivery["status"] == "pending" and delivery["last_error"].startswith("connection failed")
