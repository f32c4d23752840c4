"""Registrations: the API (list, filters, pagination, unregister, two-tenant isolation, permissions) over rows written
directly, and the registrar's REGISTER logic (RFC 3261 §10.3) against the same database, driven in memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from centrex.db.models.sip import SipRegistration
from centrex.domain.ids import new_id
from centrex.engine.registrar import Registrar, RegistrarConfig
from centrex.sip.auth import Challenge, authorize
from centrex.sip.message import Request, Response, parse
from centrex.sip.transport import Source
from tests.api.harness import World

SOURCE = Source("udp", "192.0.2.10", 5062)


async def insert(w: World, tenant: dict[str, Any], ext: dict[str, Any], n: int, **extra: Any) -> str:
    reg_id = new_id("reg")
    async with w.api.state.db.session() as session:
        session.add(
            SipRegistration(
                id=reg_id,
                tenant_id=tenant["id"],
                extension_id=ext["id"],
                aor=f"sip:{ext['sip_username']}@{tenant['sip_domain']}",
                contact=f"<sip:{ext['sip_username']}@192.0.2.{n}:5060>",
                contact_uri=f"sip:{ext['sip_username']}@192.0.2.{n}:5060",
                source_ip=f"192.0.2.{n}",
                source_port=5060,
                transport="udp",
                user_agent="TestPhone/1.0",
                call_id=f"call-{n}",
                cseq=1,
                expires_at=extra.pop("expires_at", datetime.now(UTC) + timedelta(seconds=600)),
                **extra,
            )
        )
        await session.commit()
    return reg_id


async def test_list_filter_paginate_and_unregister(world: World) -> None:
    w, c = world, world.client
    e1 = await w.api.extension(w.a["id"], w.a_key)
    e2 = await w.api.extension(w.a["id"], w.a_key)
    r1 = await insert(w, w.a, e1, 1)
    await insert(w, w.a, e1, 2)
    await insert(w, w.a, e2, 3)
    await insert(w, w.a, e2, 4, expires_at=datetime.now(UTC) - timedelta(seconds=5))  # expired: invisible
    url = f"/api/v1/tenants/{w.a['id']}/registrations"
    r = await c.get(url, headers=w.a_key)
    assert r.status_code == 200, r.text
    assert r.json()["total"] == 3 and r.headers["X-Total-Count"] == "3"
    r = await c.get(url, params={"extension_id": e1["id"]}, headers=w.a_ro)
    items = r.json()["items"]
    assert {i["source_ip"] for i in items} == {"192.0.2.1", "192.0.2.2"}
    first = next(i for i in items if i["id"] == r1)
    assert first["extension_number"] == e1["number"] and first["transport"] == "udp"
    assert first["aor"] == f"sip:{e1['sip_username']}@{w.a['sip_domain']}"
    assert first["user_agent"] == "TestPhone/1.0" and 590 <= first["expires_in"] <= 600
    assert first["registered_at"] and first["expires_at"]
    page = await c.get(url, params={"limit": 2}, headers=w.a_key)
    assert len(page.json()["items"]) == 2 and page.json()["next_cursor"]
    rest = await c.get(url, params={"limit": 2, "cursor": page.json()["next_cursor"]}, headers=w.a_key)
    assert len(rest.json()["items"]) == 1
    assert (await c.get(url, params={"sort": "nope"}, headers=w.a_key)).status_code == 422
    assert (await c.get(f"{url}/{r1}", headers=w.a_key)).json()["contact_uri"].endswith("192.0.2.1:5060")
    # Read-only keys read but do not unregister; the admin does.
    assert (await c.delete(f"{url}/{r1}", headers=w.a_ro)).status_code == 403
    assert (await c.delete(f"{url}/{r1}", headers=w.a_key)).status_code == 204
    assert (await c.get(f"{url}/{r1}", headers=w.a_key)).status_code == 404
    assert (await c.delete(f"{url}/{r1}", headers=w.a_key)).status_code == 404
    assert (await c.get(url, headers=w.a_key)).json()["total"] == 2


async def test_other_tenants_registrations_are_404(world: World) -> None:
    w, c = world, world.client
    e_b = await w.api.extension(w.b["id"], w.b_key)
    reg_b = await insert(w, w.b, e_b, 9)
    a_url = f"/api/v1/tenants/{w.a['id']}/registrations"
    assert (await c.get(a_url, headers=w.a_key)).json()["total"] == 0
    assert (await c.get(f"{a_url}/{reg_b}", headers=w.a_key)).status_code == 404
    assert (await c.delete(f"{a_url}/{reg_b}", headers=w.a_key)).status_code == 404
    # A's key cannot reach B's tenant at all; B still has its binding.
    b_url = f"/api/v1/tenants/{w.b['id']}/registrations"
    assert (await c.get(b_url, headers=w.a_key)).status_code in (403, 404)
    assert (await c.get(b_url, headers=w.b_key)).json()["total"] == 1
    assert (await c.get(b_url, headers=w.reseller_key)).json()["total"] == 1


async def test_end_users_cannot_see_registrations(world: World) -> None:
    w, c = world, world.client
    ext = await w.api.extension(w.a["id"], w.a_key)
    await insert(w, w.a, ext, 5)
    username, password, _ = await w.api.user(w.a["id"], "user", headers=w.a_key, extension_id=ext["id"])
    r = await c.get(f"/api/v1/tenants/{w.a['id']}/registrations", auth=(username, password))
    assert r.status_code == 403


# ------------------------------------------------------------------------------------------ registrar logic
def register(
    tenant: dict[str, Any],
    user: str,
    *,
    contacts: tuple[str, ...] = ("<sip:{user}@192.0.2.10:5062>",),
    expires: int | None = 600,
    call_id: str = "reg-call-1",
    cseq: int = 1,
    branch: str = "z9hG4bK1",
    authorization: str | None = None,
    domain: str | None = None,
) -> Request:
    domain = domain or tenant["sip_domain"]
    lines = [
        f"REGISTER sip:{domain} SIP/2.0",
        f"Via: SIP/2.0/UDP 192.0.2.10:5062;branch={branch};rport",
        f"From: <sip:{user}@{domain}>;tag=abc",
        f"To: <sip:{user}@{domain}>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} REGISTER",
        "User-Agent: UnitPhone/2",
        *(f"Contact: {c.format(user=user)}" for c in contacts),
        *([f"Expires: {expires}"] if expires is not None else []),
        *([f"Authorization: {authorization}"] if authorization else []),
        "Content-Length: 0",
    ]
    msg = parse(("\r\n".join(lines) + "\r\n\r\n").encode())
    assert isinstance(msg, Request)
    return msg


class Phone:
    """Registers like a phone: first without credentials, then answering the challenge it chose."""

    def __init__(self, registrar: Registrar, tenant: dict[str, Any], user: str, password: str, algorithm: str):
        self.registrar, self.tenant, self.user, self.password, self.algorithm = (
            registrar,
            tenant,
            user,
            password,
            algorithm,
        )
        self.cseq = 0

    async def send(self, **kw: Any) -> Response:
        self.cseq += 1
        first = await self.registrar.handle(register(self.tenant, self.user, cseq=self.cseq, **kw), SOURCE)
        if first.status != 401:
            return first
        challenges = [Challenge.parse(v) for v in first.headers.get_all("WWW-Authenticate")]
        challenge = next(ch for ch in challenges if ch.effective_algorithm == self.algorithm)
        creds = authorize(
            challenge,
            username=self.user,
            method="REGISTER",
            uri=f"sip:{self.tenant['sip_domain']}",
            password=self.password,
        )
        self.cseq += 1
        return await self.registrar.handle(
            register(self.tenant, self.user, cseq=self.cseq, authorization=str(creds), **kw), SOURCE
        )


async def count(w: World, ext_id: str) -> int:
    async with w.api.state.db.session() as session:
        stmt = select(func.count()).select_from(SipRegistration).where(SipRegistration.extension_id == ext_id)
        return int(await session.scalar(stmt) or 0)


async def test_registrar_binds_refreshes_and_removes(world: World) -> None:
    w = world
    ext = await w.api.extension(w.a["id"], w.a_key)
    reg = Registrar(w.api.state.db, RegistrarConfig(min_expires=60, max_expires=3600))
    user, pw = ext["sip_username"], ext["sip_password"]
    first = await reg.handle(register(w.a, user), SOURCE)
    assert first.status == 401
    algs = [Challenge.parse(v).effective_algorithm for v in first.headers.get_all("WWW-Authenticate")]
    assert set(algs) == {"MD5", "SHA-256"}
    assert all(Challenge.parse(v).realm == w.a["sip_domain"] for v in first.headers.get_all("WWW-Authenticate"))
    phone = Phone(reg, w.a, user, pw, "SHA-256")
    for algorithm in ("SHA-256", "MD5"):
        phone.algorithm = algorithm
        ok = await phone.send(expires=7200)  # capped at max_expires
        assert ok.status == 200, ok.start_line()
        (contact,) = ok.headers.get_all("Contact")
        assert contact.startswith(f"<sip:{user}@192.0.2.10:5062>") and 3590 <= int(contact.split("expires=")[1]) <= 3600
    assert await count(w, ext["id"]) == 1
    listed = (await w.client.get(f"/api/v1/tenants/{w.a['id']}/registrations", headers=w.a_key)).json()["items"]
    assert listed[0]["source_ip"] == "192.0.2.10" and listed[0]["user_agent"] == "UnitPhone/2"
    two = await phone.send(contacts=("<sip:{user}@192.0.2.11:5062>;expires=120",))
    assert two.status == 200 and len(two.headers.get_all("Contact")) == 2
    assert (await phone.send(expires=30)).status == 423
    too_brief = await phone.send(expires=30)
    assert too_brief.headers.get("Min-Expires") == "60"
    gone = await phone.send(contacts=("<sip:{user}@192.0.2.11:5062>",), expires=0)
    assert gone.status == 200 and len(gone.headers.get_all("Contact")) == 1
    # Contact: * with Expires: 0 removes all; with another Expires it is a bad request.
    assert (await phone.send(contacts=("*",), expires=60)).status == 400
    assert (await phone.send(contacts=("*",), expires=0)).status == 200
    assert await count(w, ext["id"]) == 0
    # A query (no Contact) answers the current bindings, changing nothing.
    query = await phone.send(contacts=())
    assert query.status == 200 and query.headers.get_all("Contact") == []


async def test_registrar_refuses_bad_credentials_and_foreign_domains(world: World) -> None:
    w = world
    ext = await w.api.extension(w.a["id"], w.a_key)
    ext_b = await w.api.extension(w.b["id"], w.b_key)
    reg = Registrar(w.api.state.db)
    user = ext["sip_username"]
    wrong = await Phone(reg, w.a, user, "not-the-password", "MD5").send()
    assert wrong.status == 403
    unknown = await Phone(reg, w.a, "nosuchuser", "whatever", "SHA-256").send()
    assert unknown.status == 403  # challenged first like a real user, then refused
    # B's extension with B's password, but in A's domain: A's realm never knows it.
    other = await Phone(reg, w.a, ext_b["sip_username"], ext_b["sip_password"], "MD5").send()
    assert other.status == 403 or ext_b["sip_username"] == user
    # Unknown domain: 404; To in another domain than the Request-URI: 403.
    assert (await reg.handle(register(w.a, user, domain="nowhere.invalid"), SOURCE)).status == 404
    mixed = register(w.a, user)
    mixed.headers.set("To", f"<sip:{user}@{w.b['sip_domain']}>")
    assert (await reg.handle(mixed, SOURCE)).status == 403
    # A forged nonce gets a fresh challenge, not a 200.
    forged = 'Digest username="{u}", realm="{d}", nonce="abc", uri="sip:{d}", response="00"'.format(
        u=user, d=w.a["sip_domain"]
    )
    assert (await reg.handle(register(w.a, user, authorization=forged), SOURCE)).status == 401
    assert await count(w, ext["id"]) == 0


async def test_registrar_suspended_tenant_and_cseq_order(world: World) -> None:
    w, c = world, world.client
    ext = await w.api.extension(w.a["id"], w.a_key)
    reg = Registrar(w.api.state.db)
    phone = Phone(reg, w.a, ext["sip_username"], ext["sip_password"], "MD5")
    assert (await phone.send(call_id="same")).status == 200
    phone.cseq = 0  # the same Call-ID with a lower CSeq: out of order, nothing changes
    stale = await phone.send(call_id="same", expires=0)
    assert stale.status == 500
    assert await count(w, ext["id"]) == 1
    r = await c.post(f"/api/v1/tenants/{w.a['id']}/suspend", json={"reason": "unpaid"}, headers=w.reseller_key)
    assert r.status_code in (200, 204), r.text
    phone.cseq = 100
    assert (await phone.send(call_id="same")).status == 403


async def test_registrar_purges_expired(world: World) -> None:
    w = world
    ext = await w.api.extension(w.a["id"], w.a_key)
    await insert(w, w.a, ext, 7, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    await insert(w, w.a, ext, 8)
    assert await Registrar(w.api.state.db).purge_expired() >= 1
    assert await count(w, ext["id"]) == 1
