"""Call routing: inbound routes, trunks, outbound routes (with every tenant's emergency route) and caller-ID blocks.

Generic checks for each resource, then the rules through HTTP with two tenants under one reseller: numbers and
destinations of the same tenant only, public IPv4 trunk addresses, shared trunks of the tenants above, trunks and
time conditions in use, the emergency route's guarantees, template copies and tenant deletion.
"""

from __future__ import annotations

import random
from typing import Any

from tests.api.harness import ADMIN, World, running_app, unique
from tests.api.mixins import TenantResourceTests

EMERGENCY = [
    {"match": "911", "strip": 0, "prepend": ""},
    {"match": "933", "strip": 0, "prepend": ""},
    {"match": "9911", "strip": 1, "prepend": ""},
]


def did() -> str:
    return f"+1415{random.randint(2, 9)}{random.randint(0, 999999):06d}"


def url(tenant: dict[str, Any], plural: str, obj_id: str | None = None) -> str:
    base = f"/api/v1/tenants/{tenant['id']}/{plural}"
    return f"{base}/{obj_id}" if obj_id else base


def registration_trunk(**extra: Any) -> dict[str, Any]:
    return {
        "name": unique("trunk"),
        "kind": "registration",
        "host": "sip.carrier.example",
        "username": "acme",
        "password": "Carrier-s3cret",
        **extra,
    }


def ip_trunk(**extra: Any) -> dict[str, Any]:
    return {"name": unique("trunk"), "kind": "ip", "host": "8.8.8.8", "allowed_ips": ["8.8.8.0/24"], **extra}


async def make(w: World, tenant: dict[str, Any], plural: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    r = await w.client.post(url(tenant, plural), json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def trunk(w: World, tenant: dict[str, Any], headers: dict[str, str], **extra: Any) -> dict[str, Any]:
    return dict(await make(w, tenant, "trunks", registration_trunk(**extra), headers))


async def time_condition(w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    body = {"name": unique("hours"), "open_destination": {"type": "hangup"}, "closed_destination": {"type": "hangup"}}
    return dict(await make(w, tenant, "time-conditions", body, headers))


def route_body(trunk_ids: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "name": unique("route"),
        "patterns": [{"match": "1NXXNXXXXXX"}, {"match": "NXXNXXXXXX", "prepend": "1"}],
        "destination_class": "national",
        "trunk_ids": trunk_ids,
        **extra,
    }


async def emergency_route(w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    r = await w.client.get(url(tenant, "outbound-routes"), params={"emergency": "true"}, headers=headers)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 1, items
    return dict(items[0])


# ----------------------------------------------------------------------------------------------- generic checks
class TestInboundRoutes(TenantResourceTests):
    plural = "inbound-routes"
    resource = "inbound_route"
    invalid = [
        ({"pattern": "+1415ABC"}, "pattern"),
        ({"pattern": "1415555XXXX"}, "pattern"),
        ({"pattern": "+1.5"}, "pattern"),
        ({"caller_id_pattern": "+1[9"}, "caller_id_pattern"),
        ({"priority": -1}, "priority"),
        ({"name": ""}, "name"),
        ({"destination": {"type": "nowhere"}}, "destination"),
        ({"destination": {"type": "extension", "id": "ext_01nothere"}}, "destination"),
        ({"destination": {"type": "voicemail"}}, "destination"),
        ({"enabled": "yes"}, "enabled"),
    ]

    async def payload(self, w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        return {
            "name": "Main DIDs",
            "pattern": f"+1415{random.randint(200, 999)}XXXX",
            "destination": {"type": "hangup"},
        }

    def update(self) -> dict[str, Any]:
        return {"name": "Sales DIDs", "priority": 50, "caller_id_pattern": "+1212NXXXXXX"}


class TestTrunks(TenantResourceTests):
    plural = "trunks"
    resource = "trunk"
    invalid = [
        ({"host": "10.1.1.1"}, "host"),
        ({"host": "2001:db8::1"}, "host"),
        ({"host": "300.1.1.1"}, "host"),
        ({"host": "not a host"}, "host"),
        ({"allowed_ips": ["203.0.113.0/24"]}, "allowed_ips.0"),
        ({"allowed_ips": ["8.8.0.0/20"]}, "allowed_ips.0"),
        ({"kind": "sms"}, "kind"),
        ({"transport": "sctp"}, "transport"),
        ({"port": 0}, "port"),
        ({"registration_expiry": 59}, "registration_expiry"),
        ({"registration_expiry": 86401}, "registration_expiry"),
        ({"codecs": []}, "codecs"),
        ({"codecs": ["PCMU", "PCMU"]}, "codecs"),
        ({"codecs": ["G729"]}, "codecs"),
        ({"max_channels": 0}, "max_channels"),
        ({"max_channels": 1001}, "max_channels"),
        ({"caller_id_mode": "fixed"}, "caller_id_number"),
        ({"caller_id_number": "12"}, "caller_id_number"),
        ({"number_format": "e.164"}, "number_format"),
        ({"dial_prefix": "9a"}, "dial_prefix"),
        ({"from_domain": "not_a_domain"}, "from_domain"),
        ({"shared": True}, "shared"),
        ({"password": None}, "password"),
        ({"username": None}, "username"),
        ({"register": 1}, "register"),
    ]

    async def payload(self, w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        return registration_trunk(register=True)

    def update(self) -> dict[str, Any]:
        return {"max_channels": 10, "dial_prefix": "9", "codecs": ["PCMA", "G722"]}


class TestOutboundRoutes(TenantResourceTests):
    plural = "outbound-routes"
    resource = "outbound_route"
    invalid = [
        ({"patterns": []}, "patterns"),
        ({"patterns": [{"match": "1NXX?"}]}, "patterns.0.match"),
        ({"patterns": [{"match": "911", "strip": 21}]}, "patterns.0.strip"),
        ({"patterns": [{"match": "911", "prepend": "9a"}]}, "patterns.0.prepend"),
        ({"patterns": [{"match": "911", "prepend": "1+"}]}, "patterns.0.prepend"),
        ({"patterns": [{"match": "NXX"}, {"match": "NXX"}]}, "patterns"),
        ({"patterns": [{"match": f"{i}XX"} for i in range(51)]}, "patterns"),
        ({"destination_class": "galactic"}, "destination_class"),
        ({"trunk_ids": []}, "trunk_ids"),
        ({"trunk_ids": ["trk_01nothere"]}, "trunk_ids.0"),
        ({"time_condition_id": "tmc_01nothere"}, "time_condition_id"),
        ({"caller_id_number": "12"}, "caller_id_number"),
        ({"emergency": True}, "emergency"),
    ]

    async def payload(self, w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        own = await trunk(w, tenant, headers)
        return route_body([own["id"]])

    def update(self) -> dict[str, Any]:
        return {"name": "Long distance", "priority": 20, "caller_id_number": "+14155550100"}


class TestCallerIdBlocks(TenantResourceTests):
    plural = "caller-id-blocks"
    resource = "caller_id_block"
    invalid = [
        ({"pattern": "abc"}, "pattern"),
        ({"pattern": "+1900[X"}, "pattern"),
        ({"pattern": ""}, "pattern"),
        ({"action": "ignore"}, "action"),
        ({"reason": "x" * 201}, "reason"),
    ]

    async def payload(self, w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        return {"pattern": did(), "reason": "robocaller", "action": "reject"}

    def update(self) -> dict[str, Any]:
        return {"reason": "spam", "action": "voicemail"}


# ------------------------------------------------------------------------------------------------ inbound routes
async def test_inbound_routes_take_one_number_of_the_tenant_or_a_pattern(world: World) -> None:
    w, c = world, world.client
    num = await make(w, w.a, "numbers", {"number": did()}, w.reseller_key)
    b_num = await make(w, w.b, "numbers", {"number": did()}, w.reseller_key)
    ext = await w.api.extension(w.a["id"], w.a_key)
    dest = {"type": "extension", "id": ext["id"]}
    routes = url(w.a, "inbound-routes")

    route = await make(w, w.a, "inbound-routes", {"name": "Main", "number_id": num["id"], "destination": dest}, w.a_key)
    assert route["number_id"] == num["id"] and route["pattern"] is None and route["destination"] == dest
    # One route per number.
    r = await c.post(routes, json={"name": "Again", "number_id": num["id"], "destination": dest}, headers=w.a_key)
    assert r.status_code == 409 and r.json()["code"] == "duplicate"
    # Another tenant's number, or both/neither of number_id and pattern: refused.
    r = await c.post(routes, json={"name": "B", "number_id": b_num["id"], "destination": dest}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["code"] == "invalid_reference"
    assert r.json()["errors"][0]["field"] == "number_id"
    both = {"name": "X", "number_id": num["id"], "pattern": "+1415XXXXXXX", "destination": dest}
    assert (await c.post(routes, json=both, headers=w.a_key)).status_code == 422
    assert (await c.post(routes, json={"name": "X", "destination": dest}, headers=w.a_key)).status_code == 422

    # Switching from the number to a pattern needs number_id set to null in the same change.
    r = await c.patch(f"{routes}/{route['id']}", json={"pattern": "+1415555XXXX"}, headers=w.a_key)
    assert r.status_code == 422
    r = await c.patch(f"{routes}/{route['id']}", json={"pattern": "+1415555XXXX", "number_id": None}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["number_id"] is None and r.json()["pattern"] == "+1415555XXXX"
    # The number is free again.
    again = await make(
        w, w.a, "inbound-routes", {"name": "Main2", "number_id": num["id"], "destination": dest}, w.a_key
    )
    r = await c.patch(f"{routes}/{route['id']}", json={"number_id": num["id"], "pattern": None}, headers=w.a_key)
    assert r.status_code == 409
    r = await c.patch(f"{routes}/{again['id']}", json={"priority": 5}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["number_id"] == num["id"]

    listed = await c.get(routes, params={"number_id": num["id"]}, headers=w.a_key)
    assert [i["id"] for i in listed.json()["items"]] == [again["id"]]
    # The routed extension is in use.
    d = await c.delete(url(w.a, "extensions", ext["id"]), headers=w.a_key)
    assert d.status_code == 409 and d.json()["code"] == "in_use"
    assert {ref["id"] for ref in d.json()["references"]} == {route["id"], again["id"]}


async def test_inbound_destinations_must_be_in_the_tenant(world: World) -> None:
    w, c = world, world.client
    b_ext = await w.api.extension(w.b["id"], w.b_key)
    body = {"name": "X", "pattern": "+1415XXXXXXX", "destination": {"type": "extension", "id": b_ext["id"]}}
    r = await c.post(url(w.a, "inbound-routes"), json=body, headers=w.a_key)
    assert r.status_code == 422 and r.json()["code"] == "invalid_reference"
    assert r.json()["errors"][0]["field"] == "destination"
    tc = await time_condition(w, w.a, w.a_key)
    for dest in (
        {"type": "time_condition", "id": tc["id"]},
        {"type": "external", "number": "+12125550100"},
        {"type": "hangup"},
    ):
        body = {"name": "X", "pattern": "+1415XXXXXXX", "caller_id_pattern": "+1212.", "destination": dest}
        r = await c.post(url(w.a, "inbound-routes"), json=body, headers=w.a_key)
        assert r.status_code == 201, r.text


# -------------------------------------------------------------------------------------------------------- trunks
async def test_trunk_addresses_must_be_public_ipv4(world: World) -> None:
    w, c = world, world.client
    trunks = url(w.a, "trunks")
    accepted = [
        (ip_trunk(allowed_ips=["8.8.8.0/24"]), ["8.8.8.0/24"]),
        (ip_trunk(allowed_ips=["8.8.8.8", "1.0.0.0/8", "9.9.0.0/16"]), ["8.8.8.8/32", "1.0.0.0/8", "9.9.0.0/16"]),
    ]
    for body, stored in accepted:
        r = await c.post(trunks, json=body, headers=w.a_key)
        assert r.status_code == 201, r.text
        assert r.json()["allowed_ips"] == stored
    refused = {
        "10.1.1.1": "private",
        "10.0.0.0/8": "private",
        "172.16.5.0/24": "private",
        "192.168.1.0/24": "private",
        "127.0.0.1": "loopback",
        "0.0.0.0/8": "network",
        "169.254.1.0/24": "link-local",
        "100.64.0.0/16": "shared",
        "100.0.0.0/8": "shared",
        "224.0.0.0/8": "multicast",
        "240.1.0.0/16": "reserved",
        "255.255.255.255": "reserved",
        "192.0.2.0/24": "documentation",
        "198.51.100.7": "documentation",
        "203.0.113.0/24": "documentation",
    }
    for cidr, reason in refused.items():
        r = await c.post(trunks, json=ip_trunk(allowed_ips=["8.8.8.0/24", cidr]), headers=w.a_key)
        assert r.status_code == 422, (cidr, r.text)
        err = r.json()["errors"][0]
        assert err["field"] == "allowed_ips.1" and reason in err["message"], (cidr, err)
    for cidr in ("8.8.0.0/20", "8.8.8.0/28", "8.8.8.1/24", "2001:db8::/32", "::1", "8.8.8", "8.8.8.0/33"):
        r = await c.post(trunks, json=ip_trunk(allowed_ips=[cidr]), headers=w.a_key)
        assert r.status_code == 422, (cidr, r.text)
        assert r.json()["errors"][0]["field"].startswith("allowed_ips.0"), (cidr, r.json())
    # A literal host follows the same rule; host names are accepted as they are.
    for host in ("10.1.1.1", "203.0.113.10", "192.168.0.1", "2001:db8::1"):
        r = await c.post(trunks, json=registration_trunk(host=host), headers=w.a_key)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "host", (host, r.text)
    r = await c.post(trunks, json=registration_trunk(host="SIP.Carrier.Example"), headers=w.a_key)
    assert r.status_code == 201 and r.json()["host"] == "sip.carrier.example"
    made = (await c.get(trunks, headers=w.a_key)).json()["total"]
    assert made == 3


async def test_private_addresses_are_allowed_when_the_operator_says_so(api: Any) -> None:
    database = api.state.settings
    from tests.conftest import ThrowawayDatabase  # the same database as the shared app, other settings

    db = ThrowawayDatabase.__new__(ThrowawayDatabase)
    db.backend, db.tmp, db.url = api.backend, database.data_dir, database.database_url
    async with running_app(db, trunk_private_addresses=True) as lab:
        tenant = await lab.tenant()
        key = await lab.key(tenant["id"])
        r = await lab.client.post(
            url(tenant, "trunks"),
            json=ip_trunk(host="192.168.1.10", allowed_ips=["10.0.0.0/8", "203.0.113.0/24"]),
            headers=key,
        )
        assert r.status_code == 201, r.text
        # Masks and IPv6 are still checked.
        r = await lab.client.post(url(tenant, "trunks"), json=ip_trunk(allowed_ips=["10.0.0.0/20"]), headers=key)
        assert r.status_code == 422


async def test_trunk_kind_rules_and_write_only_password(world: World) -> None:
    w, c = world, world.client
    trunks = url(w.a, "trunks")
    for body, field in [
        (ip_trunk(allowed_ips=[]), "allowed_ips"),
        (ip_trunk(register=True), "register"),
        (ip_trunk(password="Secret-123"), "password"),
        (registration_trunk(username=None), "username"),
        (registration_trunk(password=None), "password"),
        (registration_trunk(caller_id_mode="fixed"), "caller_id_number"),
    ]:
        body = {k: v for k, v in body.items() if v is not None}
        r = await c.post(trunks, json=body, headers=w.a_key)
        assert r.status_code == 422, (body, r.text)
        assert field in {e["field"] for e in r.json()["errors"]}, (field, r.json())

    made = await trunk(w, w.a, w.a_key, caller_id_mode="fixed", caller_id_number="(415) 555-0100", register=True)
    assert made["password_set"] is True and "password" not in made and "password_enc" not in made
    assert made["caller_id_number"] == "+14155550100" and made["register"] is True
    assert made["codecs"] == ["PCMU", "PCMA", "telephone-event"] and made["registration_expiry"] == 3600
    one = url(w.a, "trunks", made["id"])
    got = await c.get(one, headers=w.a_key)
    assert "Carrier-s3cret" not in got.text and got.json()["password_set"] is True
    # Switching to an IP trunk needs the password removed and addresses given.
    r = await c.patch(one, json={"kind": "ip", "register": False}, headers=w.a_key)
    assert r.status_code == 422
    r = await c.patch(
        one,
        json={"kind": "ip", "register": False, "password": None, "allowed_ips": ["8.8.4.0/24"], "host": "8.8.4.4"},
        headers=w.a_key,
    )
    assert r.status_code == 200, r.text
    assert r.json()["password_set"] is False and r.json()["kind"] == "ip"
    for bad in ({"name": None}, {"codecs": None}, {"register": None}, {"host": "10.0.0.1"}):
        r = await c.patch(one, json=bad, headers=w.a_key)
        assert r.status_code == 422, (bad, r.text)
    # Secrets never reach the audit trail or the events.
    audit = await c.get(url(w.a, "audit-log"), params={"resource_id": made["id"]}, headers=w.a_key)
    events = await c.get(url(w.a, "events"), params={"resource_id": made["id"]}, headers=w.a_key)
    assert audit.status_code == 200 and events.status_code == 200
    assert "Carrier-s3cret" not in audit.text and "Carrier-s3cret" not in events.text
    assert audit.json()["items"][-1]["after"]["password_enc"] == "***"


async def test_trunk_names_are_unique_per_tenant(world: World) -> None:
    w, c = world, world.client
    first = await trunk(w, w.a, w.a_key, name="Carrier")
    r = await c.post(url(w.a, "trunks"), json=registration_trunk(name="Carrier"), headers=w.a_key)
    assert r.status_code == 409 and r.json()["code"] == "duplicate"
    await trunk(w, w.b, w.b_key, name="Carrier")
    other = await trunk(w, w.a, w.a_key, name="Backup")
    r = await c.patch(url(w.a, "trunks", other["id"]), json={"name": "Carrier"}, headers=w.a_key)
    assert r.status_code == 409
    r = await c.patch(url(w.a, "trunks", first["id"]), json={"name": "Carrier"}, headers=w.a_key)
    assert r.status_code == 200


async def test_shared_trunks_and_available(world: World) -> None:
    w, c = world, world.client
    platform_id = w.reseller["parent_id"]
    platform = {"id": platform_id}
    plat_shared = (await c.post(url(platform, "trunks"), json=ip_trunk(shared=True), auth=ADMIN)).json()
    assert plat_shared["shared"] is True
    res_shared = await trunk(w, w.reseller, w.reseller_key, shared=True)
    res_private = await trunk(w, w.reseller, w.reseller_key)
    own = await trunk(w, w.a, w.a_key)
    b_own = await trunk(w, w.b, w.b_key)
    # A tenant cannot share.
    r = await c.patch(url(w.a, "trunks", own["id"]), json={"shared": True}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "shared"

    r = await c.get(url(w.a, "trunks", "available"), headers=w.a_key)
    assert r.status_code == 200, r.text
    items = {i["id"]: i for i in r.json()["items"]}
    assert {own["id"], res_shared["id"], plat_shared["id"]} <= set(items)
    assert res_private["id"] not in items and b_own["id"] not in items
    assert items[own["id"]]["inherited"] is False and items[res_shared["id"]]["inherited"] is True
    assert r.json()["total"] == len(items)
    for item in items.values():
        assert not {"host", "username", "password", "password_set", "allowed_ips"} & set(item)
    # The read-only key may look; the shared trunk itself stays invisible through the trunk endpoints.
    assert (await c.get(url(w.a, "trunks", "available"), headers=w.a_ro)).status_code == 200
    assert (await c.get(url(w.a, "trunks", res_shared["id"]), headers=w.a_key)).status_code == 404
    assert (await c.get(url(w.a, "trunks", "available"), headers=w.b_key)).status_code == 404
    # The reseller sees its own trunks and the platform's shared ones.
    r = await c.get(url(w.reseller, "trunks", "available"), headers=w.reseller_key)
    assert {res_shared["id"], res_private["id"], plat_shared["id"]} <= {i["id"] for i in r.json()["items"]}

    # Outbound routes may use own and shared-from-above trunks only.
    routes = url(w.a, "outbound-routes")
    r = await c.post(routes, json=route_body([own["id"], res_shared["id"], plat_shared["id"]]), headers=w.a_key)
    assert r.status_code == 201, r.text
    assert r.json()["trunk_ids"] == [own["id"], res_shared["id"], plat_shared["id"]]
    route = r.json()
    for bad in (res_private["id"], b_own["id"]):
        r = await c.post(routes, json=route_body([own["id"], bad]), headers=w.a_key)
        assert r.status_code == 422 and r.json()["code"] == "invalid_reference", r.text
        assert r.json()["errors"][0]["field"] == "trunk_ids.1"
    assert (await c.post(routes, json=route_body([own["id"], own["id"]]), headers=w.a_key)).status_code == 422

    # A shared trunk in use below cannot be deleted or unshared.
    d = await c.delete(url(w.reseller, "trunks", res_shared["id"]), headers=w.reseller_key)
    assert d.status_code == 409 and d.json()["code"] == "in_use"
    assert d.json()["references"][0]["id"] == route["id"]
    r = await c.patch(url(w.reseller, "trunks", res_shared["id"]), json={"shared": False}, headers=w.reseller_key)
    assert r.status_code == 409 and r.json()["code"] == "in_use"
    listed = await c.get(routes, params={"trunk_id": res_shared["id"]}, headers=w.a_key)
    assert [i["id"] for i in listed.json()["items"]] == [route["id"]]
    # Once the route lets go, it can.
    r = await c.patch(url(w.a, "outbound-routes", route["id"]), json={"trunk_ids": [own["id"]]}, headers=w.a_key)
    assert r.status_code == 200, r.text
    r = await c.patch(url(w.reseller, "trunks", res_shared["id"]), json={"shared": False}, headers=w.reseller_key)
    assert r.status_code == 200
    assert (await c.delete(url(w.reseller, "trunks", res_shared["id"]), headers=w.reseller_key)).status_code == 204
    assert (await c.delete(url(platform, "trunks", plat_shared["id"]), auth=ADMIN)).status_code == 204


async def test_a_trunk_used_by_a_route_cannot_be_deleted(world: World) -> None:
    w, c = world, world.client
    used = await trunk(w, w.a, w.a_key)
    spare = await trunk(w, w.a, w.a_key)
    route = await make(w, w.a, "outbound-routes", route_body([used["id"], spare["id"]]), w.a_key)
    for t in (used, spare):
        d = await c.delete(url(w.a, "trunks", t["id"]), headers=w.a_key)
        assert d.status_code == 409 and d.json()["code"] == "in_use"
        assert d.json()["references"][0]["id"] == route["id"]
    r = await c.patch(url(w.a, "outbound-routes", route["id"]), json={"trunk_ids": [spare["id"]]}, headers=w.a_key)
    assert r.status_code == 200
    assert (await c.delete(url(w.a, "trunks", used["id"]), headers=w.a_key)).status_code == 204
    r = await c.patch(url(w.a, "outbound-routes", route["id"]), json={"trunk_ids": []}, headers=w.a_key)
    assert r.status_code == 422


# ----------------------------------------------------------------------------------------------- outbound routes
async def test_time_conditions_of_routes(world: World) -> None:
    w, c = world, world.client
    own = await trunk(w, w.a, w.a_key)
    tc = await time_condition(w, w.a, w.a_key)
    b_tc = await time_condition(w, w.b, w.b_key)
    routes = url(w.a, "outbound-routes")
    r = await c.post(routes, json=route_body([own["id"]], time_condition_id=b_tc["id"]), headers=w.a_key)
    assert r.status_code == 422 and r.json()["code"] == "invalid_reference"
    route = await make(w, w.a, "outbound-routes", route_body([own["id"]], time_condition_id=tc["id"]), w.a_key)
    d = await c.delete(url(w.a, "time-conditions", tc["id"]), headers=w.a_key)
    assert d.status_code == 409 and d.json()["code"] == "in_use"
    assert d.json()["references"][0]["id"] == route["id"]
    r = await c.patch(url(w.a, "outbound-routes", route["id"]), json={"time_condition_id": None}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["time_condition_id"] is None
    assert (await c.delete(url(w.a, "time-conditions", tc["id"]), headers=w.a_key)).status_code == 204


async def test_every_tenant_has_an_emergency_route(world: World) -> None:
    w, c = world, world.client
    routes = url(w.a, "outbound-routes")
    r = await c.get(routes, headers=w.a_ro)  # a read is enough to create it for an existing tenant
    assert r.status_code == 200
    first = r.json()["items"][0]
    assert first["emergency"] is True and first["destination_class"] == "emergency" and first["enabled"] is True
    assert first["patterns"] == EMERGENCY and first["trunk_ids"] == [] and first["time_condition_id"] is None
    assert (await emergency_route(w, w.a, w.a_key))["id"] == first["id"]  # one, however often it is listed
    events = await c.get(url(w.a, "events"), params={"resource_id": first["id"]}, headers=w.a_key)
    assert [e["type"] for e in events.json()["items"]] == ["outbound_route.created"]
    one = url(w.a, "outbound-routes", first["id"])

    d = await c.delete(one, headers=w.a_key)
    assert d.status_code == 409 and d.json()["code"] == "conflict"
    for bad, field in [
        ({"enabled": False}, "enabled"),
        ({"patterns": EMERGENCY[:2]}, "patterns"),
        ({"patterns": [{**EMERGENCY[0]}, {**EMERGENCY[1]}, {**EMERGENCY[2], "strip": 0}]}, "patterns"),
        ({"destination_class": "national"}, "destination_class"),
    ]:
        r = await c.patch(one, json=bad, headers=w.a_key)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["errors"][0]["field"] == field
    tc = await time_condition(w, w.a, w.a_key)
    r = await c.patch(one, json={"time_condition_id": tc["id"]}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "time_condition_id"

    # Extra patterns, other trunks, a name and a caller ID may be changed.
    own = await trunk(w, w.a, w.a_key)
    extra = [*EMERGENCY, {"match": "112", "strip": 0, "prepend": "911"}]
    r = await c.patch(
        one,
        json={"patterns": extra, "trunk_ids": [own["id"]], "name": "911", "caller_id_number": "+14155550100"},
        headers=w.a_key,
    )
    assert r.status_code == 200, r.text
    assert r.json()["patterns"] == extra and r.json()["trunk_ids"] == [own["id"]] and r.json()["emergency"] is True
    r = await c.patch(one, json={"trunk_ids": []}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["trunk_ids"] == []
    # Another tenant's emergency route is its own; resellers have none.
    b_route = await emergency_route(w, w.b, w.b_key)
    assert b_route["id"] != first["id"]
    assert (await c.get(one, headers=w.b_key)).status_code == 404
    r = await c.get(url(w.reseller, "outbound-routes"), params={"emergency": "true"}, headers=w.reseller_key)
    assert r.status_code == 200 and r.json()["total"] == 0


async def test_a_new_route_on_a_fresh_tenant_brings_the_emergency_route(world: World) -> None:
    w, c = world, world.client
    fresh = await w.api.tenant(parent=w.reseller["id"])
    key = await w.api.key(fresh["id"])
    own = await trunk(w, fresh, key)
    made = await make(w, fresh, "outbound-routes", route_body([own["id"]], priority=10), key)
    r = await c.get(url(fresh, "outbound-routes"), headers=key)
    items = r.json()["items"]
    assert [i["emergency"] for i in items] == [True, False] and items[1]["id"] == made["id"]


async def test_outbound_route_filters(world: World) -> None:
    w, c = world, world.client
    own = await trunk(w, w.a, w.a_key)
    intl = await make(
        w,
        w.a,
        "outbound-routes",
        route_body([own["id"]], name="International", destination_class="international", enabled=False),
        w.a_key,
    )
    national = await make(w, w.a, "outbound-routes", route_body([own["id"]], name="National"), w.a_key)
    routes = url(w.a, "outbound-routes")

    async def ids(**params: Any) -> list[str]:
        r = await c.get(routes, params=params, headers=w.a_key)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]]

    assert await ids(destination_class="international") == [intl["id"]]
    assert await ids(enabled="false") == [intl["id"]]
    assert await ids(q="nation") == [national["id"], intl["id"]] or await ids(q="nation") == [
        intl["id"],
        national["id"],
    ]
    assert set(await ids(trunk_id=own["id"])) == {intl["id"], national["id"]}
    assert len(await ids(emergency="false")) == 2
    assert (await c.get(routes, params={"sort": "-name"}, headers=w.a_key)).status_code == 200
    assert (await c.get(routes, params={"sort": "trunk_ids"}, headers=w.a_key)).status_code == 422


# -------------------------------------------------------------------------------------------------- caller-ID blocks
async def test_caller_id_blocks_are_numbers_or_patterns_unique_per_tenant(world: World) -> None:
    w, c = world, world.client
    blocks = url(w.a, "caller-id-blocks")
    made = await make(w, w.a, "caller-id-blocks", {"pattern": "(212) 555-0123", "reason": "Robocaller"}, w.a_key)
    assert made["pattern"] == "+12125550123" and made["action"] == "reject"
    r = await c.post(blocks, json={"pattern": "+1 212 555 0123"}, headers=w.a_key)
    assert r.status_code == 409 and r.json()["code"] == "duplicate"
    await make(w, w.b, "caller-id-blocks", {"pattern": "+12125550123"}, w.b_key)
    pattern = await make(w, w.a, "caller-id-blocks", {"pattern": "+1900NXXXXXX", "action": "hangup"}, w.a_key)
    assert pattern["pattern"] == "+1900NXXXXXX"
    r = await c.patch(url(w.a, "caller-id-blocks", pattern["id"]), json={"pattern": "2125550123"}, headers=w.a_key)
    assert r.status_code == 409
    r = await c.patch(url(w.a, "caller-id-blocks", pattern["id"]), json={"action": None}, headers=w.a_key)
    assert r.status_code == 422
    r = await c.get(blocks, params={"action": "hangup"}, headers=w.a_key)
    assert [i["id"] for i in r.json()["items"]] == [pattern["id"]]


# ---------------------------------------------------------------------------------------- templates and deletion
async def test_template_copies_outbound_routes_with_their_trunks(world: World) -> None:
    w, c = world, world.client
    shared = await trunk(w, w.reseller, w.reseller_key, shared=True)
    template = await w.api.tenant(parent=w.reseller["id"], is_template=True)
    tkey = await w.api.key(template["id"])
    tc = await time_condition(w, template, tkey)
    source = await make(
        w,
        template,
        "outbound-routes",
        route_body([shared["id"]], name="Long distance", time_condition_id=tc["id"]),
        tkey,
    )
    src_emergency = await emergency_route(w, template, tkey)
    r = await c.patch(
        url(template, "outbound-routes", src_emergency["id"]), json={"trunk_ids": [shared["id"]]}, headers=tkey
    )
    assert r.status_code == 200, r.text

    copy = await w.api.tenant(parent=w.reseller["id"], template_id=template["id"])
    ckey = await w.api.key(copy["id"])
    routes = (await c.get(url(copy, "outbound-routes"), headers=ckey)).json()["items"]
    assert len(routes) == 2
    emergency = next(r for r in routes if r["emergency"])
    copied = next(r for r in routes if not r["emergency"])
    assert emergency["id"] != src_emergency["id"] and emergency["trunk_ids"] == [shared["id"]]
    assert emergency["patterns"] == EMERGENCY
    assert copied["id"] != source["id"] and copied["name"] == "Long distance"
    assert copied["trunk_ids"] == [shared["id"]]  # trunks are not copied: the shared one is still used
    copied_tc = (await c.get(url(copy, "time-conditions"), headers=ckey)).json()["items"]
    assert copied["time_condition_id"] == copied_tc[0]["id"] != tc["id"]
    # The shared trunk is now in use by the copy as well.
    d = await c.delete(url(w.reseller, "trunks", shared["id"]), headers=w.reseller_key)
    assert d.status_code == 409
    assert {copied["id"], emergency["id"]} <= {ref["id"] for ref in d.json()["references"]}


async def test_deleting_a_tenant_removes_its_routing(world: World) -> None:
    w, c = world, world.client
    gone = await w.api.tenant(parent=w.reseller["id"])
    key = await w.api.key(gone["id"])
    shared = await trunk(w, w.reseller, w.reseller_key, shared=True)
    own = await trunk(w, gone, key)
    tc = await time_condition(w, gone, key)
    await make(w, gone, "outbound-routes", route_body([own["id"], shared["id"]], time_condition_id=tc["id"]), key)
    num = await make(w, gone, "numbers", {"number": did()}, w.reseller_key)
    await make(
        w, gone, "inbound-routes", {"name": "Main", "number_id": num["id"], "destination": {"type": "hangup"}}, key
    )
    await make(
        w,
        gone,
        "inbound-routes",
        {"name": "Hours", "pattern": "+1415XXXXXXX", "destination": {"type": "time_condition", "id": tc["id"]}},
        key,
    )
    await make(w, gone, "caller-id-blocks", {"pattern": did()}, key)
    # Numbers first (the tenant-delete rule), then the tenant goes with everything else.
    d = await c.delete(f"/api/v1/tenants/{gone['id']}", headers=w.reseller_key)
    assert d.status_code == 409
    assert (await c.delete(url(gone, "numbers", num["id"]), headers=w.reseller_key)).status_code == 204
    d = await c.delete(f"/api/v1/tenants/{gone['id']}", headers=w.reseller_key)
    assert d.status_code == 204, d.text
    # The reseller's shared trunk is no longer in use.
    assert (await c.delete(url(w.reseller, "trunks", shared["id"]), headers=w.reseller_key)).status_code == 204
