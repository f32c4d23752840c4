"""Numbers: assigned by the reseller/platform, E.164, unique on the platform; caller-ID name, inbound CNAM lookup and
SMS target set by the tenant's administrators; releasing a number deletes its inbound route."""

from __future__ import annotations

import random
from typing import Any

from tests.api.harness import World
from tests.api.mixins import TenantResourceTests


def did() -> str:
    return f"+1212{random.randint(2, 9)}{random.randint(0, 999999):06d}"


class TestNumbers(TenantResourceTests):
    plural = "numbers"
    resource = "number"
    writer = "reseller"
    invalid = [
        ({"number": "123"}, "number"),
        ({"number": "not a number"}, "number"),
        ({"description": "x" * 501}, "description"),
        ({"cnam_name": "A" * 16}, "cnam_name"),
        ({"cnam_name": "ACME!"}, "cnam_name"),
        ({"cnam_name": ""}, "cnam_name"),
        ({"inbound_cnam_lookup": 1}, "inbound_cnam_lookup"),
        ({"sms_target": {"type": "fax", "to": "x"}}, "sms_target"),
        ({"sms_target": {"type": "email", "address": "nope"}}, "sms_target"),
        ({"sms_target": {"type": "webhook", "url": "http://hooks.example.com/sms"}}, "sms_target"),
        ({"sms_target": {"type": "webhook", "url": "https://user:pw@hooks.example.com/"}}, "sms_target"),
        ({"sms_target": {"type": "sip", "uri": "tel:+12125550100"}}, "sms_target"),
        ({"sms_target": {"type": "extension", "id": "ext_01nothere"}}, "sms_target"),
    ]

    async def payload(self, w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        return {"number": did(), "description": "Main line", "cnam_name": "ACME Corp"}

    def update(self) -> dict[str, Any]:
        return {"description": "Sales line", "cnam_name": "ACME Sales", "inbound_cnam_lookup": True}


async def test_numbers_are_normalised_unique_and_assigned_by_the_reseller(world: World) -> None:
    w, c = world, world.client
    n = did()
    national = f"({n[2:5]}) {n[5:8]}-{n[8:]}"
    r = await c.post(f"/api/v1/tenants/{w.a['id']}/numbers", json={"number": national}, headers=w.reseller_key)
    assert r.status_code == 201 and r.json()["number"] == n
    r = await c.post(f"/api/v1/tenants/{w.b['id']}/numbers", json={"number": n}, headers=w.reseller_key)
    assert r.status_code == 409
    # A tenant administrator reads and describes its numbers but does not assign or release them.
    assert (
        await c.post(f"/api/v1/tenants/{w.a['id']}/numbers", json={"number": did()}, headers=w.a_key)
    ).status_code == 403
    listed = await c.get(f"/api/v1/tenants/{w.a['id']}/numbers", headers=w.a_key)
    assert listed.json()["items"][0]["number"] == n
    num_id = r.json().get("id") or listed.json()["items"][0]["id"]
    assert (await c.delete(f"/api/v1/tenants/{w.a['id']}/numbers/{num_id}", headers=w.a_key)).status_code == 403


async def test_tenant_admin_sets_cnam_lookup_and_sms_target(world: World) -> None:
    w, c = world, world.client
    r = await c.post(f"/api/v1/tenants/{w.a['id']}/numbers", json={"number": did()}, headers=w.reseller_key)
    assert r.status_code == 201, r.text
    num = r.json()
    assert num["cnam_name"] is None and num["inbound_cnam_lookup"] is False and num["sms_target"] is None
    url = f"/api/v1/tenants/{w.a['id']}/numbers/{num['id']}"
    ext = await w.api.extension(w.a["id"], w.a_key)
    other = await w.api.extension(w.b["id"], w.b_key)

    r = await c.patch(
        url,
        json={
            "cnam_name": "O'Neil & Co.",
            "inbound_cnam_lookup": True,
            "sms_target": {"type": "extension", "id": ext["id"]},
        },
        headers=w.a_key,
    )
    assert r.status_code == 200, r.text
    assert r.json()["cnam_name"] == "O'Neil & Co." and r.json()["inbound_cnam_lookup"] is True
    assert r.json()["sms_target"] == {"type": "extension", "id": ext["id"]}
    # The extension receiving the SMS cannot be deleted from under the number.
    d = await c.delete(f"/api/v1/tenants/{w.a['id']}/extensions/{ext['id']}", headers=w.a_key)
    assert d.status_code == 409 and d.json()["code"] == "in_use"
    assert d.json()["references"][0]["id"] == num["id"]

    # Another tenant's extension is not a target (and nothing changes).
    r = await c.patch(url, json={"sms_target": {"type": "extension", "id": other["id"]}}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["code"] == "invalid_reference"
    assert r.json()["errors"][0]["field"] == "sms_target.id"
    assert (await c.get(url, headers=w.a_key)).json()["sms_target"]["id"] == ext["id"]

    for target in (
        {"type": "email", "address": "sms@acme.example"},
        {"type": "webhook", "url": "https://hooks.acme.example/sms?x=1"},
        {"type": "sip", "uri": "sip:sms@gw.acme.example:5061;transport=tls"},
    ):
        r = await c.patch(url, json={"sms_target": target}, headers=w.a_key)
        assert r.status_code == 200, r.text
        assert r.json()["sms_target"] == target
    # The extension is free again once the number no longer points at it.
    d = await c.delete(f"/api/v1/tenants/{w.a['id']}/extensions/{ext['id']}", headers=w.a_key)
    assert d.status_code == 204

    r = await c.patch(url, json={"sms_target": None, "cnam_name": None}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["sms_target"] is None and r.json()["cnam_name"] is None
    for bad in ({"inbound_cnam_lookup": None}, {"description": None}, {"number": did()}):
        r = await c.patch(url, json=bad, headers=w.a_key)
        assert r.status_code == 422, (bad, r.text)
    # Read-only keys and other tenants cannot change it.
    assert (await c.patch(url, json={"cnam_name": "X"}, headers=w.a_ro)).status_code == 403
    assert (await c.patch(url, json={"cnam_name": "X"}, headers=w.b_key)).status_code == 404


async def test_number_filters(world: World) -> None:
    w, c = world, world.client
    base = f"/api/v1/tenants/{w.a['id']}/numbers"
    plain = (await c.post(base, json={"number": did()}, headers=w.reseller_key)).json()
    looked = (await c.post(base, json={"number": did(), "inbound_cnam_lookup": True}, headers=w.reseller_key)).json()
    routed = (await c.post(base, json={"number": did()}, headers=w.reseller_key)).json()
    r = await c.post(
        f"/api/v1/tenants/{w.a['id']}/inbound-routes",
        json={"name": "Main", "number_id": routed["id"], "destination": {"type": "hangup"}},
        headers=w.a_key,
    )
    assert r.status_code == 201, r.text

    async def ids(**params: Any) -> set[str]:
        r = await c.get(base, params={"limit": 500, **params}, headers=w.a_key)
        assert r.status_code == 200, r.text
        return {i["id"] for i in r.json()["items"]}

    assert looked["id"] in await ids(inbound_cnam_lookup="true")
    assert plain["id"] not in await ids(inbound_cnam_lookup="true")
    assert routed["id"] in await ids(routed="true")
    assert {plain["id"], looked["id"]} <= await ids(routed="false")
    assert routed["id"] not in await ids(routed="false")
    assert await ids(q=plain["number"][-7:]) >= {plain["id"]}


async def test_releasing_a_number_deletes_its_inbound_route(world: World) -> None:
    w, c = world, world.client
    num = (await c.post(f"/api/v1/tenants/{w.a['id']}/numbers", json={"number": did()}, headers=w.reseller_key)).json()
    r = await c.post(
        f"/api/v1/tenants/{w.a['id']}/inbound-routes",
        json={"name": "Main", "number_id": num["id"], "destination": {"type": "hangup"}},
        headers=w.a_key,
    )
    route = r.json()
    d = await c.delete(f"/api/v1/tenants/{w.a['id']}/numbers/{num['id']}", headers=w.reseller_key)
    assert d.status_code == 204, d.text
    assert (
        await c.get(f"/api/v1/tenants/{w.a['id']}/inbound-routes/{route['id']}", headers=w.a_key)
    ).status_code == 404
    events = await c.get(f"/api/v1/tenants/{w.a['id']}/events", params={"resource_id": route["id"]}, headers=w.a_key)
    assert [e["type"] for e in events.json()["items"]] == ["inbound_route.created", "inbound_route.deleted"]
    # With its number released, the tenant can be deleted.
    assert (await c.delete(f"/api/v1/tenants/{w.a['id']}", headers=w.reseller_key)).status_code == 204
