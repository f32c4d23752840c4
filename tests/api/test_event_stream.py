"""The event API's answers that come before any streaming: catalogue, OpenAPI components, scoping and errors.

(Streaming itself is tested against a real server in tests/integration/test_event_stream*.py: the in-process ASGI
transport buffers whole responses, which an endless stream never finishes.)
"""

from __future__ import annotations

from tests.api.harness import World


async def end_user(w: World) -> tuple[str, str]:
    ext = await w.api.extension(w.a["id"], w.a_key)
    username, password, _ = await w.api.user(w.a["id"], "user", headers=w.a_key, extension_id=ext["id"])
    return username, password


async def test_catalogue_for_any_authenticated_caller(world: World) -> None:
    w = world
    username, password = await end_user(w)
    for auth in ({"headers": w.a_ro}, {"headers": w.b_key}, {"auth": (username, password)}):
        r = await w.client.get("/api/v1/events/catalogue", **auth)
        assert r.status_code == 200, r.text
    body = r.json()
    types = {t["type"]: t for t in body["types"]}
    assert types["call.ended"]["data_schema"] == "CallEventData"
    assert types["recording.ready"]["status"] == "reserved"
    assert "EventEnvelope" in body["schemas"] and body["envelope"] == "EventEnvelope"
    r = await w.client.get("/api/v1/events/catalogue")
    assert r.status_code == 401


async def test_openapi_components_hold_the_event_schemas(world: World) -> None:
    r = await world.client.get("/openapi.json")
    schemas = r.json()["components"]["schemas"]
    for name in ("EventEnvelope", "CallEventData", "RegistrationEventData", "ConfigChangeEventData"):
        assert name in schemas, name
    assert "/api/v1/events/catalogue" in r.json()["paths"]


async def test_stream_refuses_before_streaming(world: World) -> None:
    w = world
    url = f"/api/v1/tenants/{w.b['id']}/events/stream"
    r = await w.client.get(url, headers=w.a_key)  # another tenant: not found, never forbidden
    assert r.status_code == 404
    username, password = await end_user(w)
    r = await w.client.get(f"/api/v1/tenants/{w.a['id']}/events/stream", auth=(username, password))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"  # end users have no events.read
    r = await w.client.get(f"/api/v1/tenants/{w.a['id']}/events/stream?after=evt_gone", headers=w.a_key)
    assert r.status_code == 410 and r.json()["code"] == "resume_expired"
    r = await w.client.get(
        f"/api/v1/tenants/{w.a['id']}/events/stream", headers={**w.a_key, "Last-Event-ID": "evt_gone"}
    )
    assert r.status_code == 410
    r = await w.client.get(f"/api/v1/tenants/{w.a['id']}/events/stream?types=call.<x>", headers=w.a_key)
    assert r.status_code == 422
    r = await w.client.get(f"/api/v1/tenants/{w.a['id']}/events/stream")
    assert r.status_code == 401


async def test_relay_marks_events_published(world: World) -> None:
    """The relay runs in the app: an event written by a request is published (and marked) promptly."""
    import asyncio

    from sqlalchemy import select

    from centrex.db.models.outbox import OutboxEvent

    w = world
    ext = await w.api.extension(w.a["id"], w.a_key)
    db = w.api.state.db
    for _ in range(200):
        async with db.session() as session:
            published = await session.scalar(
                select(OutboxEvent.published_at).where(
                    OutboxEvent.resource_id == ext["id"], OutboxEvent.type == "extension.created"
                )
            )
        if published is not None:
            break
        await asyncio.sleep(0.05)
    assert published is not None
