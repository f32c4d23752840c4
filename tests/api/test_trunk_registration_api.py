"""``GET /tenants/{t}/trunks/{id}/registration``: tenant scoping (two tenants), the answer without a SIP engine, and
the live state of an engine's ``TrunkRegistrations`` running on the app's database (with a fake carrier)."""

from __future__ import annotations

import asyncio
from typing import Any

from centrex.engine.trunk_registration import TrunkRegistrations
from centrex.sip.auth import DigestAuthenticator, NonceManager
from centrex.sip.message import Headers, Request, Response
from centrex.sip.transport import Source
from tests.api.harness import World
from tests.api.test_routing import trunk, url


class Carrier:
    """A registrar answering REGISTERs at once: 401 with a digest challenge, then 200 with our contact's expiry."""

    def __init__(self) -> None:
        self.auth = DigestAuthenticator("carrier.example", NonceManager(b"c" * 32), algorithms=("MD5",))
        self.requests: list[tuple[Request, Source]] = []

    def send_request(self, request: Request, dest: Source, handler: Any = None) -> None:
        self.requests.append((request, dest))
        if "Authorization" not in request.headers:
            headers = Headers()
            for challenge in self.auth.challenges():
                headers.add("WWW-Authenticate", str(challenge))
            response = Response(headers=headers, status=401, reason="Unauthorized")
        else:
            headers = Headers()
            contact = request.headers.get("Contact") or ""
            headers.add("Contact", f"{contact};expires=120")
            response = Response(headers=headers, status=200, reason="OK")
        asyncio.get_running_loop().call_soon(handler, response)

    def via(self, dest: Source) -> str:
        return "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKapi;rport"

    def contact(self, dest: Source) -> str:
        return "<sip:centrex@127.0.0.1:5060>"


async def resolve(host: str, port: int) -> str:
    return "127.0.0.9"


async def test_registration_state_is_tenant_scoped(world: World) -> None:
    w, c = world, world.client
    t_a = await trunk(w, w.a, w.a_key, register=True, from_domain="carrier.example")
    t_b = await trunk(w, w.b, w.b_key)
    path = f"{url(w.a, 'trunks', t_a['id'])}/registration"
    r = await c.get(path, headers=w.a_ro)  # read-only keys may read it
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["trunk_id"] == t_a["id"] and body["state"] == "unregistered"
    assert "not running" in body["reason"] and body["expires_at"] is None
    # Another tenant's trunk is not found through this tenant; this tenant's key cannot reach the other tenant.
    assert (await c.get(f"{url(w.a, 'trunks', t_b['id'])}/registration", headers=w.a_key)).status_code == 404
    assert (await c.get(f"{url(w.b, 'trunks', t_a['id'])}/registration", headers=w.b_key)).status_code == 404
    assert (await c.get(f"{url(w.b, 'trunks', t_b['id'])}/registration", headers=w.a_key)).status_code in (403, 404)
    assert (await c.get(f"{url(w.a, 'trunks', 'trk_missing')}/registration", headers=w.a_key)).status_code == 404


async def test_live_state_from_the_engine(world: World) -> None:
    w, c = world, world.client
    t_a = await trunk(w, w.a, w.a_key, register=True, from_domain="carrier.example", username="acme-live")
    quiet = await trunk(w, w.a, w.a_key)  # register off
    carrier = Carrier()
    manager = TrunkRegistrations(w.api.state.db, carrier, carrier, poll_interval=0.2, resolve=resolve)
    manager.start()
    try:
        path = f"{url(w.a, 'trunks', t_a['id'])}/registration"
        body: dict[str, Any] = {}
        for _ in range(100):
            body = (await c.get(path, headers=w.a_key)).json()
            if body["state"] == "registered":
                break
            await asyncio.sleep(0.05)
        assert body["state"] == "registered", body
        assert body["status_code"] == 200 and body["reason"] == "OK" and body["expires_at"] is not None
        assert body["next_attempt_at"] is not None
        mine = [req for req, _ in carrier.requests if "acme-live@carrier.example" in (req.headers.get("To") or "")]
        assert [req.headers.get("Expires") for req in mine] == ["3600", "3600"]
        assert "Authorization" in mine[1].headers and mine[1].cseq[0] == mine[0].cseq[0] + 1
        assert mine[0].headers.get("Contact") == "<sip:acme-live@127.0.0.1:5060>"
        r = await c.get(f"{url(w.a, 'trunks', quiet['id'])}/registration", headers=w.a_key)
        assert r.json()["state"] == "unregistered" and "does not register" in r.json()["reason"]
        # Disabling the trunk through the API un-registers it at once (commit hook, not the poll).
        r = await c.patch(url(w.a, "trunks", t_a["id"]), json={"enabled": False}, headers={**w.a_key, "If-Match": "*"})
        assert r.status_code == 200, r.text
        for _ in range(100):
            mine = [req for req, _ in carrier.requests if "acme-live@carrier.example" in (req.headers.get("To") or "")]
            if mine[-1].headers.get("Expires") == "0":
                break
            await asyncio.sleep(0.05)
        assert mine[-1].headers.get("Expires") == "0"
        assert mine[-1].headers.get("Call-ID") == mine[0].headers.get("Call-ID")
        body = (await c.get(path, headers=w.a_key)).json()
        assert body["state"] == "unregistered"
    finally:
        await manager.stop()


async def test_changed_trunk_unregisters_before_registering_again(world: World) -> None:
    w, c = world, world.client
    t_a = await trunk(w, w.a, w.a_key, register=True, from_domain="carrier.example", username="acme-move")
    carrier = Carrier()
    manager = TrunkRegistrations(w.api.state.db, carrier, carrier, poll_interval=0.2, resolve=resolve)
    manager.start()

    def mine() -> list[Request]:
        return [req for req, _ in carrier.requests if "@carrier.example" in (req.headers.get("To") or "")]

    try:
        path = f"{url(w.a, 'trunks', t_a['id'])}/registration"
        for _ in range(100):
            if (await c.get(path, headers=w.a_key)).json()["state"] == "registered":
                break
            await asyncio.sleep(0.05)
        first_call = next(r for r in mine() if "acme-move@" in (r.headers.get("To") or "")).call_id
        r = await c.patch(url(w.a, "trunks", t_a["id"]), json={"registration_expiry": 600}, headers=w.a_key)
        assert r.status_code == 200, r.text
        for _ in range(100):
            if (await c.get(path, headers=w.a_key)).json()["state"] == "registered" and any(
                r.headers.get("Expires") == "600" and "Authorization" in r.headers for r in mine()
            ):
                break
            await asyncio.sleep(0.05)
        moves = [r for r in mine() if "acme-move@" in (r.headers.get("To") or "")]
        expires = [(r.call_id == first_call, r.headers.get("Expires")) for r in moves]
        # old line: challenge + registration, then its un-REGISTER (and its challenge round if any) before the new line
        zero = expires.index((True, "0"))
        first_new = next(i for i, (old, _) in enumerate(expires) if not old)
        assert zero < first_new and expires[-1] == (False, "600"), expires
    finally:
        await manager.stop()
    # Stopping un-registers what is registered.
    assert mine()[-1].headers.get("Expires") == "0"
