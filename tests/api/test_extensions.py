"""Extensions: generic resource checks plus numbering, limits, credentials, forwarding and end-user rules."""

from __future__ import annotations

from typing import Any

from tests.api.harness import ADMIN, World, next_ext
from tests.api.mixins import TenantResourceTests


class TestExtensions(TenantResourceTests):
    plural = "extensions"
    resource = "extension"
    invalid = [
        ({"number": "12345"}, "number"),
        ({"number": "0123"}, "number"),
        ({"number": "911"}, "number"),
        ({"name": ""}, "name"),
        ({"outbound_level": "galactic"}, "outbound_level"),
        ({"email": "not-an-email"}, "email"),
        ({"external_caller_id_number": "12"}, "external_caller_id_number"),
        ({"voicemail_pin": "12"}, "voicemail_pin"),
        ({"sip_password": "weakpassword"}, "sip_password"),
        ({"ring_timeout": 1}, "ring_timeout"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        (
            {"forwarding": [{"condition": "busy", "destination": {"type": "external", "number": "abc"}}]},
            "forwarding",
        ),
        (
            {
                "forwarding": [
                    {"condition": "busy", "destination": {"type": "voicemail"}},
                    {"condition": "busy", "destination": {"type": "voicemail"}},
                ]
            },
            "forwarding",
        ),
    ]

    async def payload(self, w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        return {"number": next_ext(), "name": "Alice Example", "email": "alice@example.com"}

    def update(self) -> dict[str, Any]:
        return {"name": "Alice Renamed", "dnd": True}


async def test_number_rules_and_limits(world: World) -> None:
    w, c = world, world.client
    url = f"/api/v1/tenants/{w.a['id']}/extensions"
    first = await w.api.extension(w.a["id"], w.a_key, number="301")
    assert first["sip_username"] == "301" and len(first["sip_password"]) >= 16
    dup = await c.post(url, json={"number": "301", "name": "Dup"}, headers=w.a_key)
    assert dup.status_code == 409 and dup.json()["code"] == "duplicate"
    # The same number in another tenant is fine.
    await w.api.extension(w.b["id"], w.b_key, number="301")
    # Limits are enforced (the reseller sets them).
    r = await c.patch(f"/api/v1/tenants/{w.a['id']}", json={"limits": {"max_extensions": 2}}, headers=w.reseller_key)
    assert r.status_code == 200, r.text
    await w.api.extension(w.a["id"], w.a_key, number="302")
    over = await c.post(url, json={"number": "303", "name": "Over"}, headers=w.a_key)
    assert over.status_code == 409 and over.json()["code"] == "limit_exceeded"
    r = await c.get(url, headers=w.a_key)
    assert r.json()["total"] == 2


async def test_sip_credentials_read_and_rotate(world: World) -> None:
    w, c = world, world.client
    ext = await w.api.extension(w.a["id"], w.a_key)
    base = f"/api/v1/tenants/{w.a['id']}/extensions/{ext['id']}/sip-credentials"
    r = await c.get(base, headers=w.a_key)
    assert r.status_code == 200
    assert r.json()["password"] == ext["sip_password"] and r.json()["domain"] == w.a["sip_domain"]
    r = await c.post(base + "/rotate", headers=w.a_key)
    assert r.status_code == 200 and r.json()["password"] != ext["sip_password"]
    assert (await c.get(base, headers=w.a_key)).json()["password"] == r.json()["password"]
    # Secrets never appear in the audit log or the events.
    audit = (
        await c.get(f"/api/v1/tenants/{w.a['id']}/audit-log", params={"resource_id": ext["id"]}, headers=w.a_key)
    ).text
    assert ext["sip_password"] not in audit and r.json()["password"] not in audit
    # Read-only keys (reporting tools) never see secrets.
    assert (await c.get(base, headers=w.a_ro)).status_code == 403
    assert (await c.post(base + "/rotate", headers=w.a_ro)).status_code == 403


async def test_forwarding_references_are_checked(world: World) -> None:
    w, c = world, world.client
    url = f"/api/v1/tenants/{w.a['id']}/extensions"
    target = await w.api.extension(w.a["id"], w.a_key)
    foreign = await w.api.extension(w.b["id"], w.b_key)
    rule = {"condition": "no_answer", "destination": {"type": "extension", "id": foreign["id"]}}
    r = await c.post(url, json={"number": next_ext(), "name": "F", "forwarding": [rule]}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["code"] == "invalid_reference"
    rule["destination"]["id"] = target["id"]
    src = await c.post(url, json={"number": next_ext(), "name": "F", "forwarding": [rule]}, headers=w.a_key)
    assert src.status_code == 201, src.text
    # The target cannot be deleted while forwarded to; the 409 lists who points at it.
    r = await c.delete(f"{url}/{target['id']}", headers=w.a_key)
    assert r.status_code == 409 and r.json()["code"] == "in_use"
    assert r.json()["references"][0]["id"] == src.json()["id"]
    # Clearing the forwarding frees it.
    r = await c.patch(f"{url}/{src.json()['id']}", json={"forwarding": []}, headers=w.a_key)
    assert r.status_code == 200
    assert (await c.delete(f"{url}/{target['id']}", headers=w.a_key)).status_code == 204


async def test_end_user_sees_and_edits_only_own_extension(world: World) -> None:
    w, c = world, world.client
    mine = await w.api.extension(w.a["id"], w.a_key)
    other = await w.api.extension(w.a["id"], w.a_key)
    username, password, _ = await w.api.user(w.a["id"], "user", headers=w.a_key, extension_id=mine["id"])
    me = (username, password)
    url = f"/api/v1/tenants/{w.a['id']}/extensions"
    r = await c.get(url, auth=me)
    assert r.status_code == 200 and [e["id"] for e in r.json()["items"]] == [mine["id"]]
    assert (await c.get(f"{url}/{other['id']}", auth=me)).status_code == 404
    assert (await c.patch(f"{url}/{other['id']}", json={"dnd": True}, auth=me)).status_code == 404
    r = await c.patch(f"{url}/{mine['id']}", json={"dnd": True, "voicemail_pin": "4321"}, auth=me)
    assert r.status_code == 200 and r.json()["dnd"] is True and r.json()["voicemail_pin_set"] is True
    r = await c.patch(f"{url}/{mine['id']}", json={"outbound_level": "unrestricted"}, auth=me)
    assert r.status_code == 403
    assert (await c.post(url, json={"number": next_ext(), "name": "x"}, auth=me)).status_code == 403
    assert (await c.get(f"/api/v1/tenants/{w.a['id']}/users", auth=me)).status_code == 403
    assert (await c.get(f"/api/v1/tenants/{w.b['id']}/extensions", auth=me)).status_code == 404


async def test_extension_length_follows_tenant(world: World) -> None:
    w, c = world, world.client
    t = await w.api.tenant(parent=w.reseller["id"], extension_length=4)
    key = await w.api.key(t["id"], auth=ADMIN)
    url = f"/api/v1/tenants/{t['id']}/extensions"
    assert (await c.post(url, json={"number": "101", "name": "x"}, headers=key)).status_code == 422
    assert (await c.post(url, json={"number": "1001", "name": "x"}, headers=key)).status_code == 201
    # Changing the length is refused while extensions of the old length exist.
    r = await c.patch(f"/api/v1/tenants/{t['id']}", json={"extension_length": 3}, headers=w.reseller_key)
    assert r.status_code == 409
