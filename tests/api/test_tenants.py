"""Tenants: the tree and its visibility, limits within the parent, templates, suspension and deletion."""

from __future__ import annotations

from tests.api.harness import ADMIN, Harness, World, unique


async def test_tree_visibility(world: World) -> None:
    w, c = world, world.client
    other_reseller = await w.api.tenant("reseller")
    stranger = await w.api.tenant(parent=other_reseller["id"])
    r = await c.get("/api/v1/tenants", params={"limit": 500}, headers=w.reseller_key)
    codes = {t["code"] for t in r.json()["items"]}
    assert {w.reseller["code"], w.a["code"], w.b["code"]} <= codes
    assert stranger["code"] not in codes and other_reseller["code"] not in codes
    assert (await c.get(f"/api/v1/tenants/{stranger['id']}", headers=w.reseller_key)).status_code == 404
    # A tenant admin sees its own tenant only.
    r = await c.get("/api/v1/tenants", headers=w.a_key)
    assert [t["id"] for t in r.json()["items"]] == [w.a["id"]]
    assert (await c.get(f"/api/v1/tenants/{w.b['code']}", headers=w.a_key)).status_code == 404
    # Lookup by code works like lookup by id.
    r = await c.get(f"/api/v1/tenants/{w.a['code']}", headers=w.a_key)
    assert r.status_code == 200 and r.json()["id"] == w.a["id"]
    r = await c.get("/api/v1/tenants", params={"parent_id": w.reseller["id"]}, headers=w.reseller_key)
    assert {t["id"] for t in r.json()["items"]} == {w.a["id"], w.b["id"]}


async def test_who_may_create_what(world: World) -> None:
    w, c = world, world.client
    # Resellers create tenants and sub-resellers in their sub-tree.
    sub = await w.api.tenant("reseller", parent=w.reseller["id"], headers=w.reseller_key)
    assert sub["parent_id"] == w.reseller["id"]
    t = await w.api.tenant(headers=w.reseller_key)  # default parent: the caller's tenant
    assert t["parent_id"] == w.reseller["id"] and t["sip_domain"].startswith(t["code"] + ".")
    # Tenants cannot hold tenants; tenant admins cannot create tenants.
    r = await c.post(
        "/api/v1/tenants",
        json={"code": unique("x"), "name": "x", "parent_id": w.a["id"]},
        headers=w.reseller_key,
    )
    assert r.status_code == 422
    r = await c.post("/api/v1/tenants", json={"code": unique("x"), "name": "x"}, headers=w.a_key)
    assert r.status_code == 403
    dup = await c.post("/api/v1/tenants", json={"code": w.a["code"], "name": "x"}, headers=w.reseller_key)
    assert dup.status_code == 409 and dup.json()["code"] == "duplicate"
    bad = await c.post("/api/v1/tenants", json={"code": "Not Valid!", "name": "x"}, headers=w.reseller_key)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "code"


async def test_limits_stay_within_the_parent_and_only_the_parent_sets_them(world: World) -> None:
    w, c = world, world.client
    r = await c.patch(
        f"/api/v1/tenants/{w.reseller['id']}",
        auth=ADMIN,
        json={
            "limits": {
                "max_extensions": 50,
                "max_concurrent_calls": 10,
                "allowed_destination_classes": ["internal", "local", "national"],
            }
        },
    )
    assert r.status_code == 200, r.text
    assert "emergency" in r.json()["limits"]["allowed_destination_classes"]
    r = await c.post(
        "/api/v1/tenants",
        headers=w.reseller_key,
        json={"code": unique("l"), "name": "x", "limits": {"max_extensions": 100}},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "limits.max_extensions"
    r = await c.post(
        "/api/v1/tenants",
        headers=w.reseller_key,
        json={
            "code": unique("l"),
            "name": "x",
            "limits": {
                "max_extensions": 20,
                "max_concurrent_calls": 5,
                "allowed_destination_classes": ["international"],
            },
        },
    )
    assert r.status_code == 422
    r = await c.post(
        "/api/v1/tenants",
        headers=w.reseller_key,
        json={
            "code": unique("l"),
            "name": "x",
            "limits": {"max_extensions": 20, "max_concurrent_calls": 5, "max_calls_per_second": 2},
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["limits"]["allowed_destination_classes"] == ["emergency", "internal", "local", "national"]
    # A reseller cannot raise its own limits; a tenant admin cannot touch its tenant's limits.
    r = await c.patch(
        f"/api/v1/tenants/{w.reseller['id']}",
        json={"limits": {"max_extensions": 999}},
        headers=w.reseller_key,
    )
    assert r.status_code == 403
    r = await c.patch(f"/api/v1/tenants/{w.a['id']}", json={"limits": {"max_extensions": 5}}, headers=w.a_key)
    assert r.status_code == 403
    r = await c.patch(f"/api/v1/tenants/{w.a['id']}", json={"name": "Renamed by its admin"}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["name"] == "Renamed by its admin"


async def test_create_from_template_copies_limits_settings_and_resources(world: World) -> None:
    w, c = world, world.client
    template = await w.api.tenant(
        parent=w.reseller["id"],
        is_template=True,
        extension_length=4,
        timezone="America/Chicago",
        settings={"moh": "jazz"},
        limits={"max_extensions": 10, "max_concurrent_calls": 4},
    )
    tkey = await w.api.key(template["id"])
    src = await w.api.extension(template["id"], tkey, number="1001")
    await w.api.extension(
        template["id"],
        tkey,
        number="1002",
        forwarding=[{"condition": "busy", "destination": {"type": "extension", "id": src["id"]}}],
    )
    copy = await w.api.tenant(parent=w.reseller["id"], template_id=template["code"], copy_resources=["extensions"])
    assert copy["template_id"] == template["id"]
    assert copy["extension_length"] == 4 and copy["timezone"] == "America/Chicago"
    assert copy["settings"] == {"moh": "jazz"}
    assert copy["limits"]["max_extensions"] == 10 and copy["limits"]["max_concurrent_calls"] == 4
    ckey = await w.api.key(copy["id"])
    exts = (await c.get(f"/api/v1/tenants/{copy['id']}/extensions", headers=ckey)).json()["items"]
    assert [e["number"] for e in exts] == ["1001", "1002"]
    assert {e["id"] for e in exts}.isdisjoint({src["id"]})
    # References inside the copy point at the copy, not at the template.
    fwd = exts[1]["forwarding"][0]["destination"]["id"]
    assert fwd == exts[0]["id"]
    # New SIP secrets for copies.
    creds = await c.get(f"/api/v1/tenants/{copy['id']}/extensions/{exts[0]['id']}/sip-credentials", headers=ckey)
    assert creds.json()["password"] != src["sip_password"]
    # Without copy_resources, only the default-copied resources are copied (extensions are optional).
    plain = await w.api.tenant(parent=w.reseller["id"], template_id=template["id"])
    pkey = await w.api.key(plain["id"])
    assert (await c.get(f"/api/v1/tenants/{plain['id']}/extensions", headers=pkey)).json()["total"] == 0
    bad = await c.post(
        "/api/v1/tenants",
        auth=ADMIN,
        json={"code": unique("t"), "name": "x", "template_id": template["id"], "copy_resources": ["api_key"]},
    )
    assert bad.status_code == 422


async def test_template_of_another_reseller_is_invisible(world: World) -> None:
    w, c = world, world.client
    other = await w.api.tenant("reseller")
    hidden = await w.api.tenant(parent=other["id"], is_template=True)
    r = await c.post(
        "/api/v1/tenants",
        headers=w.reseller_key,
        json={"code": unique("t"), "name": "x", "template_id": hidden["id"]},
    )
    assert r.status_code == 422 and r.json()["code"] == "validation_error"


async def test_suspend_makes_the_tenant_read_only_for_its_users(world: World) -> None:
    w, c = world, world.client
    ext = await w.api.extension(w.a["id"], w.a_key)
    assert (
        await c.post(f"/api/v1/tenants/{w.a['id']}/suspend", json={"reason": "unpaid"}, headers=w.a_key)
    ).status_code == 403  # not by itself
    r = await c.post(f"/api/v1/tenants/{w.a['id']}/suspend", json={"reason": "unpaid"}, headers=w.reseller_key)
    assert r.status_code == 200 and r.json()["status"] == "suspended" and r.json()["suspended_reason"] == "unpaid"
    url = f"/api/v1/tenants/{w.a['id']}/extensions"
    assert (await c.get(url, headers=w.a_key)).status_code == 200
    r = await c.patch(f"{url}/{ext['id']}", json={"dnd": True}, headers=w.a_key)
    assert r.status_code == 403 and r.json()["code"] == "tenant_suspended"
    # The reseller above can still manage it.
    assert (await c.patch(f"{url}/{ext['id']}", json={"dnd": True}, headers=w.reseller_key)).status_code == 200
    events = (await c.get(f"/api/v1/tenants/{w.a['id']}/events", params={"type": "tenant."}, headers=w.a_key)).json()[
        "items"
    ]
    assert "tenant.suspended" in [e["type"] for e in events]
    r = await c.post(f"/api/v1/tenants/{w.a['id']}/resume", headers=w.reseller_key)
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert (await c.patch(f"{url}/{ext['id']}", json={"dnd": False}, headers=w.a_key)).status_code == 200


async def test_suspending_a_reseller_suspends_its_subtree(world: World) -> None:
    w, c = world, world.client
    assert (await c.post(f"/api/v1/tenants/{w.reseller['id']}/suspend", auth=ADMIN)).status_code == 200
    r = await c.post(f"/api/v1/tenants/{w.a['id']}/extensions", json={"number": "555", "name": "x"}, headers=w.a_key)
    assert r.status_code == 403 and r.json()["code"] == "tenant_suspended"
    assert (await c.post(f"/api/v1/tenants/{w.reseller['id']}/resume", auth=ADMIN)).status_code == 200


async def test_delete_refuses_while_numbers_or_children_remain(world: World) -> None:
    w, c = world, world.client
    await w.api.extension(w.a["id"], w.a_key)
    num = await c.post(f"/api/v1/tenants/{w.a['id']}/numbers", json={"number": "+12125550199"}, headers=w.reseller_key)
    assert num.status_code == 201
    r = await c.delete(f"/api/v1/tenants/{w.a['id']}", headers=w.reseller_key)
    assert r.status_code == 409 and r.json()["code"] == "in_use"
    assert "+12125550199" in r.json()["detail"]
    assert r.json()["references"] == [
        {"resource": "number", "id": num.json()["id"], "field": "tenant_id", "label": "+12125550199"}
    ]
    r = await c.delete(f"/api/v1/tenants/{w.reseller['id']}", auth=ADMIN)
    assert r.status_code == 409 and {x["id"] for x in r.json()["references"]} == {w.a["id"], w.b["id"]}
    assert (
        await c.delete(f"/api/v1/tenants/{w.a['id']}/numbers/{num.json()['id']}", headers=w.reseller_key)
    ).status_code == 204
    assert (await c.delete(f"/api/v1/tenants/{w.a['id']}", headers=w.reseller_key)).status_code == 204
    assert (await c.get(f"/api/v1/tenants/{w.a['id']}", headers=w.reseller_key)).status_code == 404
    # Its keys died with it; its audit trail did not.
    assert (await c.get("/api/v1/auth/me", headers=w.a_key)).status_code == 401
    r = await c.get("/api/v1/audit-log", params={"resource_id": w.a["id"]}, headers=w.reseller_key)
    assert [e["action"] for e in r.json()["items"]][:1] == ["delete"]


async def test_platform_tenant_cannot_be_deleted(api: Harness) -> None:
    me = (await api.client.get("/api/v1/auth/me", auth=ADMIN)).json()
    r = await api.client.delete(f"/api/v1/tenants/{me['tenant_id']}", auth=ADMIN)
    assert r.status_code in (403, 409)


async def test_tenant_list_runs_constant_queries_and_own_domain_is_fixed(world: World) -> None:
    w, c = world, world.client
    for _ in range(3):
        await w.api.tenant(parent=w.reseller["id"], headers=w.reseller_key)
    await c.get("/api/v1/tenants", params={"limit": 1}, headers=w.reseller_key)
    with w.api.count_queries() as small:
        await c.get("/api/v1/tenants", params={"limit": 1}, headers=w.reseller_key)
    with w.api.count_queries() as large:
        r = await c.get("/api/v1/tenants", params={"limit": 100}, headers=w.reseller_key)
    assert r.json()["total"] == 6 and small.count == large.count <= 2
    r = await c.patch(f"/api/v1/tenants/{w.a['id']}", json={"sip_domain": "bank.example.com"}, headers=w.a_key)
    assert r.status_code == 403
    r = await c.patch(f"/api/v1/tenants/{w.a['id']}", json={"sip_domain": "acme.example.com"}, headers=w.reseller_key)
    assert r.status_code == 200 and r.json()["sip_domain"] == "acme.example.com"


async def test_deleting_a_template_clears_the_origin_of_its_copies(world: World) -> None:
    w, c = world, world.client
    template = await w.api.tenant(parent=w.reseller["id"], is_template=True)
    copy = await w.api.tenant(parent=w.reseller["id"], template_id=template["id"])
    assert copy["template_id"] == template["id"]
    assert (await c.delete(f"/api/v1/tenants/{template['id']}", headers=w.reseller_key)).status_code == 204
    assert (await c.get(f"/api/v1/tenants/{copy['id']}", headers=w.reseller_key)).json()["template_id"] is None


async def test_new_tenants_get_an_emergency_route_and_copied_extensions_get_mailboxes(world: World) -> None:
    w, c = world, world.client
    template = await w.api.tenant(parent=w.reseller["id"], is_template=True)
    tkey = await w.api.key(template["id"])
    ext = await w.api.extension(template["id"], tkey)
    boxes = f"/api/v1/tenants/{template['id']}/voicemail-boxes"
    [box] = (await c.get(boxes, headers=tkey)).json()["items"]
    assert (await c.delete(f"{boxes}/{box['id']}", headers=tkey)).status_code in (204, 409)
    # The copy takes extensions only: their personal mailboxes are made for them, and the route to 911 exists from
    # the first moment (read through the events, which a list request would not write).
    copy = await w.api.tenant(parent=w.reseller["id"], template_id=template["id"], copy_resources=["extensions"])
    ckey = await w.api.key(copy["id"])
    events = (await c.get(f"/api/v1/tenants/{copy['id']}/events", params={"limit": 500}, headers=ckey)).json()
    assert "outbound_route.created" in [e["type"] for e in events["items"]]
    copied = (await c.get(f"/api/v1/tenants/{copy['id']}/extensions", headers=ckey)).json()["items"]
    assert [e["number"] for e in copied] == [ext["number"]]
    [copied_box] = (await c.get(f"/api/v1/tenants/{copy['id']}/voicemail-boxes", headers=ckey)).json()["items"]
    assert copied_box["number"] == ext["number"] and copied_box["id"] != box["id"]
    routes = (await c.get(f"/api/v1/tenants/{copy['id']}/outbound-routes", headers=ckey)).json()["items"]
    assert [r["emergency"] for r in routes] == [True]
    # Resellers have no dial plan of their own: no route for them.
    reseller_routes = await c.get(f"/api/v1/tenants/{w.reseller['id']}/outbound-routes", headers=w.reseller_key)
    assert all(not r["emergency"] for r in reseller_routes.json()["items"])
