"""API keys: generic checks plus one-time display, hashing, rotation overlap, revocation, expiry, last use."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from tests.api.harness import World, unique
from tests.api.mixins import TenantResourceTests


class TestApiKeys(TenantResourceTests):
    plural = "api-keys"
    resource = "api_key"
    cached = False
    invalid = [
        ({"name": ""}, "name"),
        ({"expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"format": "base64"}, "format"),
    ]

    async def payload(self, w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        return {"name": unique("k")}

    def update(self) -> dict[str, Any]:
        return {"name": "renamed key"}


async def test_key_is_shown_once_and_stored_hashed(world: World) -> None:
    from centrex.db.models.api_key import ApiKey

    w, c = world, world.client
    r = await c.post(f"/api/v1/tenants/{w.a['id']}/api-keys", json={"name": "ci"}, headers=w.a_key)
    secret = r.json()["key"]
    assert secret.startswith("cx_") and len(secret) == 43
    got = await c.get(f"/api/v1/tenants/{w.a['id']}/api-keys/{r.json()['id']}", headers=w.a_key)
    assert "key" not in got.json() and got.json()["prefix"] == secret[:10]
    async with w.api.state.db.session() as s:
        row = (await s.execute(select(ApiKey).where(ApiKey.id == r.json()["id"]))).scalar_one()
    assert secret not in (row.key_hash, row.prefix) and len(row.key_hash) == 64
    r = await c.post(f"/api/v1/tenants/{w.a['id']}/api-keys", json={"name": "vt", "format": "hex32"}, headers=w.a_key)
    assert len(r.json()["key"]) == 32 and int(r.json()["key"], 16) >= 0
    assert (await c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {r.json()['key']}"})).status_code == 200


async def test_revoked_key_is_refused_at_once(world: World) -> None:
    w, c = world, world.client
    r = await c.post(f"/api/v1/tenants/{w.a['id']}/api-keys", json={"name": "tmp"}, headers=w.a_key)
    key = {"X-API-Key": r.json()["key"]}
    assert (await c.get("/api/v1/auth/me", headers=key)).status_code == 200
    r = await c.post(f"/api/v1/tenants/{w.a['id']}/api-keys/{r.json()['id']}/revoke", headers=w.a_key)
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    denied = await c.get("/api/v1/auth/me", headers=key)
    assert denied.status_code == 401 and denied.json()["code"] == "unauthenticated"


async def test_rotation_keeps_the_old_key_for_the_overlap_only(world: World) -> None:
    w, c = world, world.client
    r = await c.post(f"/api/v1/tenants/{w.a['id']}/api-keys", json={"name": "rot"}, headers=w.a_key)
    old = {"X-API-Key": r.json()["key"]}
    rotated = await c.post(
        f"/api/v1/tenants/{w.a['id']}/api-keys/{r.json()['id']}/rotate",
        json={"overlap_seconds": 3600},
        headers=w.a_key,
    )
    assert rotated.status_code == 201
    new = {"X-API-Key": rotated.json()["key"]}
    assert (await c.get("/api/v1/auth/me", headers=old)).status_code == 200
    assert (await c.get("/api/v1/auth/me", headers=new)).status_code == 200
    again = await c.post(
        f"/api/v1/tenants/{w.a['id']}/api-keys/{rotated.json()['id']}/rotate",
        json={"overlap_seconds": 0},
        headers=w.a_key,
    )
    assert again.status_code == 201
    assert (await c.get("/api/v1/auth/me", headers=new)).status_code == 401
    assert (await c.get("/api/v1/auth/me", headers={"X-API-Key": again.json()["key"]})).status_code == 200


async def test_expiry_and_last_used(world: World) -> None:
    w, c = world, world.client
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    r = await c.post(
        f"/api/v1/tenants/{w.a['id']}/api-keys", json={"name": "short", "expires_at": soon}, headers=w.a_key
    )
    key_id, key = r.json()["id"], {"X-API-Key": r.json()["key"]}
    assert (await c.get("/api/v1/auth/me", headers=key)).status_code == 200
    got = await c.get(f"/api/v1/tenants/{w.a['id']}/api-keys/{key_id}", headers=w.a_key)
    assert got.json()["last_used_at"] is not None
    await asyncio.sleep(1.2)
    assert (await c.get("/api/v1/auth/me", headers=key)).status_code == 401
    await w.api.state.auth.flush_key_usage()
    listed = await c.get(f"/api/v1/tenants/{w.a['id']}/api-keys", params={"status": "expired"}, headers=w.a_key)
    assert key_id in [k["id"] for k in listed.json()["items"]]
