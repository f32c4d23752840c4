"""``/api/v1/sip/bans`` (platform administrators only) and ``sipguard.store``, on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta

import pytest

from centrex.db.uow import UnitOfWork
from centrex.sipguard import BanEntry, Guard
from centrex.sipguard.store import delete_expired, load_active_bans, persist_ban
from tests.api.harness import ADMIN, Harness, World

URL = "/api/v1/sip/bans"


def rand_ip() -> str:
    return f"198.18.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


async def test_create_list_get_and_lift(api: Harness) -> None:
    c = api.client
    ip = rand_ip()
    until = datetime.now(UTC) + timedelta(hours=2)
    r = await c.post(URL, json={"source_ip": ip, "reason": "toll fraud", "expires_at": iso(until)}, auth=ADMIN)
    assert r.status_code == 201, r.text
    ban = r.json()
    assert ban["source_ip"] == ip and ban["reason"] == "toll fraud" and ban["active"] is True
    assert ban["created_by"].startswith("user:") and ban["id"].startswith("ban_")
    assert datetime.fromisoformat(ban["expires_at"]) == until

    r = await c.get(URL, params={"source_ip": ip}, auth=ADMIN)
    assert r.status_code == 200 and r.headers["X-Total-Count"] == "1"
    assert [b["id"] for b in r.json()["items"]] == [ban["id"]]
    assert (await c.get(f"{URL}/{ban['id']}", auth=ADMIN)).json() == ban

    # The manual ban and its lift are in the audit log.
    r = await c.delete(f"{URL}/{ban['id']}", auth=ADMIN)
    assert r.status_code == 204
    assert (await c.get(f"{URL}/{ban['id']}", auth=ADMIN)).status_code == 404
    assert (await c.delete(f"{URL}/{ban['id']}", auth=ADMIN)).status_code == 404
    assert (await c.get(URL, params={"source_ip": ip}, auth=ADMIN)).json()["total"] == 0
    audit = (await c.get("/api/v1/audit-log", params={"resource_id": ban["id"]}, auth=ADMIN)).json()["items"]
    assert sorted(a["action"] for a in audit) == ["create", "delete"]
    assert all(a["resource_type"] == "sip_ban" for a in audit)


async def test_networks_ipv6_and_canonical_forms(api: Harness) -> None:
    c = api.client
    net = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.0/24"
    r = await c.post(URL, json={"source_ip": net}, auth=ADMIN)
    assert r.status_code == 201 and r.json()["source_ip"] == net and r.json()["expires_at"] is None
    assert r.json()["reason"] == "manual"
    v6 = f"2001:DB8:{secrets.randbelow(65000):X}::7"
    r = await c.post(URL, json={"source_ip": v6}, auth=ADMIN)
    assert r.status_code == 201 and r.json()["source_ip"] == v6.lower()
    # Filters use the canonical form too; a second active ban of the same source is a conflict.
    r = await c.get(URL, params={"source_ip": v6.lower().replace("::", ":0:0:0:0:")}, auth=ADMIN)
    assert r.json()["total"] == 1
    r = await c.post(URL, json={"source_ip": v6}, auth=ADMIN)
    assert r.status_code == 409, r.text


@pytest.mark.parametrize(
    "body",
    [
        {"source_ip": "not-an-ip"},
        {"source_ip": "1.2.3.256"},
        {"source_ip": "10.0.0.1/8"},
        {"source_ip": "0.0.0.0/0"},
        {"source_ip": "0.0.0.0"},
        {"source_ip": "2001::/8"},
        {"source_ip": ""},
        {"reason": "no address"},
        {"source_ip": "VALID", "expires_at": "2000-01-01T00:00:00Z"},
        {"source_ip": "VALID", "expires_at": "1800000000"},
        {"source_ip": "VALID", "expires_at": "2030-01-01T00:00:00"},  # no time zone
        {"source_ip": "VALID", "reason": ""},
        {"source_ip": "VALID", "reason": "x" * 201},
        {"source_ip": "VALID", "extra": 1},
    ],
)
async def test_bad_input_is_422_and_stores_nothing(api: Harness, body: dict[str, object]) -> None:
    c = api.client
    ip = rand_ip()
    if body.get("source_ip") == "VALID":
        body = {**body, "source_ip": ip}
    before = (await c.get(URL, auth=ADMIN)).json()["total"]
    r = await c.post(URL, json=body, auth=ADMIN)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert (await c.get(URL, auth=ADMIN)).json()["total"] == before
    assert (await c.get(URL, params={"source_ip": ip}, auth=ADMIN)).json()["total"] == 0


async def test_bad_filter_is_422(api: Harness) -> None:
    assert (await api.client.get(URL, params={"source_ip": "nope"}, auth=ADMIN)).status_code == 422
    assert (await api.client.get(URL, params={"sort": "reason"}, auth=ADMIN)).status_code == 422


async def test_only_platform_administrators(world: World) -> None:
    c = world.client
    r = await c.post(URL, json={"source_ip": rand_ip()}, auth=ADMIN)
    ban_id = r.json()["id"]
    for headers in (world.reseller_key, world.a_key, world.a_ro):
        assert (await c.get(URL, headers=headers)).status_code == 403
        assert (await c.get(f"{URL}/{ban_id}", headers=headers)).status_code == 403
        assert (await c.post(URL, json={"source_ip": rand_ip()}, headers=headers)).status_code == 403
        assert (await c.delete(f"{URL}/{ban_id}", headers=headers)).status_code == 403
    ext = await world.api.extension(world.a["id"], world.a_key)
    username, password, _ = await world.api.user(world.a["id"], "user", extension_id=ext["id"])
    assert (await c.get(URL, auth=(username, password))).status_code == 403
    assert (await c.get(URL)).status_code == 401
    # The ban survived all of that.
    assert (await c.get(f"{URL}/{ban_id}", auth=ADMIN)).status_code == 200
    me = (await c.get("/api/v1/auth/me", auth=ADMIN)).json()
    assert {"sip_bans.read", "sip_bans.create", "sip_bans.delete"} <= set(me["permissions"])
    # A read-only platform key lists but cannot ban.
    ro = await world.api.key(me["tenant_id"], read_only=True)
    assert (await c.get(URL, headers=ro)).status_code == 200
    assert (await c.post(URL, json={"source_ip": rand_ip()}, headers=ro)).status_code == 403


async def test_active_filter_and_store_round_trip(api: Harness) -> None:
    c = api.client
    now = time.time()
    expired_ip, active_ip, engine_ip = rand_ip(), rand_ip(), rand_ip()
    async with UnitOfWork(api.state.db) as uow:
        old = await persist_ban(uow.session, BanEntry(expired_ip, "flood: x", now - 7200, now - 3600))
        new = await persist_ban(uow.session, BanEntry(engine_ip, "scanner: ua", now, now + 600))
        # Re-banning a source with an active engine ban updates that row.
        again = await persist_ban(uow.session, BanEntry(engine_ip, "flood: y", now + 1, now + 900))
        await uow.commit()
    assert old.id and new.id and again.id == new.id
    r = await c.post(URL, json={"source_ip": active_ip}, auth=ADMIN)
    assert r.status_code == 201

    async def listed(**params: object) -> set[str]:
        r = await c.get(URL, params={"limit": 500, **params}, auth=ADMIN)
        return {b["source_ip"] for b in r.json()["items"]}

    assert {expired_ip, active_ip, engine_ip} <= await listed()
    active = await listed(active="true")
    assert active_ip in active and engine_ip in active and expired_ip not in active
    inactive = await listed(active="false")
    assert expired_ip in inactive and active_ip not in inactive
    engine = await listed(created_by="engine", active="true")
    assert engine_ip in engine and active_ip not in engine
    row = (await c.get(URL, params={"source_ip": engine_ip}, auth=ADMIN)).json()["items"][0]
    assert row["reason"] == "flood: y" and row["created_by"] == "engine"

    # What the engine loads at start and after each refresh; the guard applies it.
    async with UnitOfWork(api.state.db, write=False) as uow:
        loaded = await load_active_bans(uow.session, now + 2)
    sources = {e.source for e in loaded}
    assert {active_ip, engine_ip} <= sources and expired_ip not in sources
    guard = Guard()
    guard.import_bans(loaded, now=now + 2)
    assert type(guard.check_request(engine_ip, 5060, None, now=now + 2)).__name__ == "Drop"
    assert type(guard.check_request(expired_ip, 5060, None, now=now + 2)).__name__ == "Allow"

    # Lifting through the API reaches the guard at its next refresh.
    await c.delete(f"{URL}/{row['id']}", auth=ADMIN)
    async with UnitOfWork(api.state.db, write=False) as uow:
        guard.import_bans(await load_active_bans(uow.session, now + 3), now=now + 3)
    assert type(guard.check_request(engine_ip, 5060, None, now=now + 3)).__name__ == "Allow"

    async with UnitOfWork(api.state.db) as uow:
        assert await delete_expired(uow.session, datetime.now(UTC)) >= 1
        await uow.commit()
    assert expired_ip not in await listed()
