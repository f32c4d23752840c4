"""Ring groups, pickup groups, extension groups, conferences and the dial plan: generic resource checks (two
tenants, read-only keys, If-Match, idempotency, audit, cache) plus the rules of each, through HTTP."""

from __future__ import annotations

from typing import Any

from centrex.db.models.media import MohClass
from centrex.db.uow import UnitOfWork
from tests.api.harness import Harness, World, next_ext, unique
from tests.api.mixins import TenantResourceTests


def base(tenant: dict[str, Any], plural: str) -> str:
    return f"/api/v1/tenants/{tenant['id']}/{plural}"


async def moh_class(api: Harness, tenant_id: str) -> str:
    """A music-on-hold class, made directly in the database (its own slice is not under test here)."""
    async with UnitOfWork(api.state.db) as uow:
        obj = MohClass(tenant_id=tenant_id, name=unique("moh"))
        uow.session.add(obj)
        await uow.commit()
        return obj.id


async def ring_group(w: World, tenant: dict[str, Any], headers: dict[str, str], **extra: Any) -> dict[str, Any]:
    if "members" not in extra:
        ext = await w.api.extension(tenant["id"], headers)
        extra["members"] = [{"type": "extension", "extension_id": ext["id"]}]
    r = await w.client.post(base(tenant, "ring-groups"), json={"name": unique("rg"), **extra}, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


# ------------------------------------------------------------------------------------------------ ring groups
class TestRingGroups(TenantResourceTests):
    plural = "ring-groups"
    resource = "ring_group"
    invalid = [
        ({"name": ""}, "name"),
        ({"number": "0123"}, "number"),
        ({"number": "911"}, "number"),
        ({"strategy": "everyone"}, "strategy"),
        ({"ring_time": 1}, "ring_time"),
        ({"ring_time": "20"}, "ring_time"),
        ({"members": []}, "members"),
        ({"members": [{"type": "external", "number": "abc"}]}, "members"),
        ({"members": [{"type": "external", "number": "+12125550100"}] * 2}, "members"),
        ({"members": [{"type": "extension", "extension_id": "ext_doesnotexist"}]}, "members.0"),
        ({"members": [{"type": "extension", "extension_id": "ext_x", "delay": -1}]}, "members"),
        ({"members": [{"type": "fax"}]}, "members"),
        ({"caller_id_prefix": "x" * 21}, "caller_id_prefix"),
        ({"no_answer_destination": {"type": "queue", "id": "que_nope"}}, "no_answer_destination"),
        ({"no_answer_destination": {"type": "voicemail"}}, "no_answer_destination"),
        ({"moh_class_id": "moh_nope"}, "moh_class_id"),
        ({"confirm_external": 1}, "confirm_external"),
    ]

    async def payload(self, w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        ext = await w.api.extension(tenant["id"], headers)
        return {
            "name": "Sales",
            "strategy": "ring_all",
            "members": [
                {"type": "extension", "extension_id": ext["id"], "ring_time": 15, "delay": 5},
                {"type": "external", "number": "(212) 555-0100"},
            ],
            "no_answer_destination": {"type": "extension", "id": ext["id"]},
            "caller_id_prefix": "Sales: ",
        }

    def update(self) -> dict[str, Any]:
        return {"name": "Sales renamed", "strategy": "sequential", "ring_time": 30}


async def test_ring_group_fields_and_number_space(world: World) -> None:
    w, c = world, world.client
    ext = await w.api.extension(w.a["id"], w.a_key)
    number = next_ext()
    group = await ring_group(
        w,
        w.a,
        w.a_key,
        number=number,
        members=[{"type": "extension", "extension_id": ext["id"]}, {"type": "external", "number": "2125550199"}],
    )
    assert group["number"] == number and group["strategy"] == "ring_all" and group["ring_time"] == 20
    assert group["skip_busy"] is True and group["confirm_external"] is False
    assert group["members"][1] == {"type": "external", "number": "+12125550199", "ring_time": None}
    # One number space: an extension, a queue or a conference cannot take it, nor another ring group.
    r = await c.post(base(w.a, "extensions"), json={"number": number, "name": "X"}, headers=w.a_key)
    assert r.status_code == 409 and r.json()["code"] == "duplicate"
    r = await c.post(base(w.a, "queues"), json={"name": "Q", "number": number}, headers=w.a_key)
    assert r.status_code == 409 and r.json()["code"] == "duplicate"
    r = await c.post(
        base(w.a, "ring-groups"),
        json={"name": "Other", "number": ext["number"], "members": group["members"]},
        headers=w.a_key,
    )
    assert r.status_code == 409 and r.json()["field"] == "number"
    # The same number in another tenant is fine.
    await ring_group(w, w.b, w.b_key, number=number)
    # PATCH can remove the number (null) and give it back.
    r = await c.patch(f"{base(w.a, 'ring-groups')}/{group['id']}", json={"number": None}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["number"] is None
    r = await c.patch(f"{base(w.a, 'ring-groups')}/{group['id']}", json={"number": number}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["number"] == number
    r = await c.patch(f"{base(w.a, 'ring-groups')}/{group['id']}", json={"members": None}, headers=w.a_key)
    assert r.status_code == 422


async def test_ring_group_references_stay_in_the_tenant(world: World) -> None:
    w, c = world, world.client
    foreign = await w.api.extension(w.b["id"], w.b_key)
    own = await w.api.extension(w.a["id"], w.a_key)
    url = base(w.a, "ring-groups")
    for body, field in [
        ({"members": [{"type": "extension", "extension_id": foreign["id"]}]}, "members.0"),
        (
            {
                "members": [{"type": "extension", "extension_id": own["id"]}],
                "no_answer_destination": {"type": "extension", "id": foreign["id"]},
            },
            "no_answer_destination",
        ),
        (
            {
                "members": [{"type": "extension", "extension_id": own["id"]}],
                "moh_class_id": await moh_class(w.api, w.b["id"]),
            },
            "moh_class_id",
        ),
    ]:
        r = await c.post(url, json={"name": "X", **body}, headers=w.a_key)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "invalid_reference" and r.json()["errors"][0]["field"].startswith(field)
    moh = await moh_class(w.api, w.a["id"])
    group = await ring_group(w, w.a, w.a_key, moh_class_id=moh)
    assert group["moh_class_id"] == moh
    assert (await c.get(url, headers=w.a_key)).json()["total"] == 1


async def test_ring_group_members_get_and_replace(world: World) -> None:
    w, c = world, world.client
    e1 = await w.api.extension(w.a["id"], w.a_key, name="Ann")
    e2 = await w.api.extension(w.a["id"], w.a_key, name="Bob")
    group = await ring_group(
        w, w.a, w.a_key, members=[{"type": "extension", "extension_id": e1["id"], "ring_time": 45, "delay": 10}]
    )
    url = f"{base(w.a, 'ring-groups')}/{group['id']}/members"
    r = await c.get(url, headers=w.a_ro)
    assert r.status_code == 200
    assert r.json() == {
        "count": 1,
        "items": [
            {
                "type": "extension",
                "extension_id": e1["id"],
                "number": e1["number"],
                "name": "Ann",
                "ring_time": 45,
                "delay": 10,
            }
        ],
    }
    # Replace (3CX group.members.set): numbers, ids and outside numbers, in hunt order; e1 keeps its settings.
    r = await c.put(url, json={"members": [e2["number"], "+1 212 555 0101", e1["id"]]}, headers=w.a_key)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["count"] == 3
    assert [m["number"] for m in got["items"]] == [e2["number"], "+12125550101", e1["number"]]
    assert got["items"][2]["ring_time"] == 45 and got["items"][0]["ring_time"] is None
    assert r.headers["ETag"] == '"2"'
    # A bare array works too (and the group's members field follows).
    r = await c.put(url, json=[e1["number"]], headers=w.a_key)
    assert r.status_code == 200 and r.json()["count"] == 1
    r = await c.get(f"{base(w.a, 'ring-groups')}/{group['id']}", headers=w.a_key)
    assert r.json()["members"] == [{"type": "extension", "extension_id": e1["id"], "ring_time": 45, "delay": 10}]
    # Bad sets change nothing.
    foreign = await w.api.extension(w.b["id"], w.b_key)
    for body, field in [
        ({"members": []}, "members"),
        ({"members": [foreign["id"]]}, "members.0"),
        ({"members": [e1["number"], e1["id"]]}, "members.1"),
        ({"members": ["777", "nonsense"]}, "members.0"),
        ({"members": ["x" * 41]}, "members.0"),
        ({"nope": []}, "members"),
    ]:
        r = await c.put(url, json=body, headers=w.a_key)
        assert r.status_code == 422, (body, r.text)
        assert any(e["field"].startswith(field) for e in r.json()["errors"]), (field, r.json())
    assert (await c.get(url, headers=w.a_key)).json()["count"] == 1
    # Stale If-Match, read-only keys and other tenants.
    r = await c.put(url, json=[e2["id"]], headers={**w.a_key, "If-Match": '"1"'})
    assert r.status_code == 412
    assert (await c.put(url, json=[e2["id"]], headers=w.a_ro)).status_code == 403
    assert (await c.get(url, headers=w.b_key)).status_code == 404
    assert (await c.put(url, json=[foreign["id"]], headers=w.b_key)).status_code == 404
    other = f"{base(w.b, 'ring-groups')}/{group['id']}/members"
    assert (await c.get(other, headers=w.b_key)).status_code == 404


async def test_ring_group_member_extension_is_in_use(world: World) -> None:
    w, c = world, world.client
    ext = await w.api.extension(w.a["id"], w.a_key)
    group = await ring_group(w, w.a, w.a_key, members=[{"type": "extension", "extension_id": ext["id"]}])
    r = await c.delete(f"{base(w.a, 'extensions')}/{ext['id']}", headers=w.a_key)
    assert r.status_code == 409 and r.json()["code"] == "in_use"
    assert {"resource": "ring_group", "id": group["id"]}.items() <= r.json()["references"][0].items()
    # The filter finds the groups of an extension.
    r = await c.get(base(w.a, "ring-groups"), params={"extension_id": ext["id"]}, headers=w.a_key)
    assert [g["id"] for g in r.json()["items"]] == [group["id"]]
    r = await c.get(base(w.a, "ring-groups"), params={"extension_id": "ext_other"}, headers=w.a_key)
    assert r.json()["total"] == 0
    # Once the group no longer rings it, the extension can go.
    r = await c.patch(
        f"{base(w.a, 'ring-groups')}/{group['id']}",
        json={"members": [{"type": "external", "number": "+12125550100"}]},
        headers=w.a_key,
    )
    assert r.status_code == 200
    assert (await c.delete(f"{base(w.a, 'extensions')}/{ext['id']}", headers=w.a_key)).status_code == 204


async def test_ring_groups_cannot_loop_without_caller_action(world: World) -> None:
    w, c = world, world.client
    a = await ring_group(w, w.a, w.a_key)
    b = await ring_group(w, w.a, w.a_key, no_answer_destination={"type": "ring_group", "id": a["id"]})
    url = f"{base(w.a, 'ring-groups')}/{a['id']}"
    r = await c.patch(url, json={"no_answer_destination": {"type": "ring_group", "id": b["id"]}}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["code"] == "static_loop", r.text
    assert (await c.get(url, headers=w.a_key)).json()["no_answer_destination"] is None
    # Pointing at itself is a loop too; voicemail (or anything a caller acts on) breaks it.
    r = await c.patch(url, json={"no_answer_destination": {"type": "ring_group", "id": a["id"]}}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["code"] == "static_loop"
    r = await c.patch(url, json={"no_answer_destination": {"type": "hangup"}}, headers=w.a_key)
    assert r.status_code == 200


# ---------------------------------------------------------------------------------------------- pickup groups
class TestPickupGroups(TenantResourceTests):
    plural = "pickup-groups"
    resource = "pickup_group"
    invalid = [
        ({"name": ""}, "name"),
        ({"member_ids": ["ext_doesnotexist"]}, "member_ids.0"),
        ({"member_ids": ["not an id"]}, "member_ids"),
        ({"member_ids": "ext_x"}, "member_ids"),
    ]

    async def payload(self, w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        ext = await w.api.extension(tenant["id"], headers)
        return {"name": unique("pickup"), "member_ids": [ext["id"]]}

    def update(self) -> dict[str, Any]:
        return {"name": "Front office"}


async def test_pickup_group_rules(world: World) -> None:
    w, c = world, world.client
    url = base(w.a, "pickup-groups")
    e1 = await w.api.extension(w.a["id"], w.a_key)
    e2 = await w.api.extension(w.a["id"], w.a_key)
    foreign = await w.api.extension(w.b["id"], w.b_key)
    r = await c.post(url, json={"name": "Floor 1", "member_ids": [e1["id"], e2["id"]]}, headers=w.a_key)
    assert r.status_code == 201
    group = r.json()
    r = await c.post(url, json={"name": "Floor 1"}, headers=w.a_key)
    assert r.status_code == 409 and r.json()["code"] == "duplicate"
    r = await c.post(base(w.b, "pickup-groups"), json={"name": "Floor 1"}, headers=w.b_key)
    assert r.status_code == 201  # names are unique per tenant
    r = await c.post(url, json={"name": "Dup", "member_ids": [e1["id"], e1["id"]]}, headers=w.a_key)
    assert r.status_code == 422
    r = await c.patch(f"{url}/{group['id']}", json={"member_ids": [e1["id"], foreign["id"]]}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "member_ids.1"
    r = await c.patch(f"{url}/{group['id']}", json={"name": None}, headers=w.a_key)
    assert r.status_code == 422
    r = await c.get(url, params={"extension_id": e2["id"]}, headers=w.a_key)
    assert [g["id"] for g in r.json()["items"]] == [group["id"]]
    r = await c.delete(f"{base(w.a, 'extensions')}/{e2['id']}", headers=w.a_key)
    assert r.status_code == 409 and r.json()["references"][0]["resource"] == "pickup_group"


# -------------------------------------------------------------------------------------------- extension groups
class TestExtensionGroups(TenantResourceTests):
    plural = "extension-groups"
    resource = "extension_group"
    invalid = [
        ({"name": ""}, "name"),
        ({"description": "x" * 501}, "description"),
        ({"member_ids": ["ext_doesnotexist"]}, "member_ids.0"),
    ]

    async def payload(self, w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        ext = await w.api.extension(tenant["id"], headers)
        return {"name": unique("grp"), "description": "Sales team", "member_ids": [ext["id"]]}

    def update(self) -> dict[str, Any]:
        return {"description": "Renamed", "member_ids": []}


async def test_extension_group_members(world: World) -> None:
    w, c = world, world.client
    url = base(w.a, "extension-groups")
    e1 = await w.api.extension(w.a["id"], w.a_key, name="Zed")
    e2 = await w.api.extension(w.a["id"], w.a_key, name="Amy")
    r = await c.post(url, json={"name": "__DEFAULT__", "member_ids": [e1["id"], e2["id"]]}, headers=w.a_key)
    assert r.status_code == 201
    group = r.json()
    r = await c.get(f"{url}/{group['id']}/members", headers=w.a_ro)
    assert r.status_code == 200
    assert r.json() == {
        "count": 2,
        "items": [
            {"extension_id": e1["id"], "number": e1["number"], "name": "Zed"},
            {"extension_id": e2["id"], "number": e2["number"], "name": "Amy"},
        ],
    }
    r = await c.get(url, params={"name": "__DEFAULT__"}, headers=w.a_key)
    assert [g["id"] for g in r.json()["items"]] == [group["id"]]
    assert (await c.post(url, json={"name": "__DEFAULT__"}, headers=w.a_key)).status_code == 409
    assert (await c.get(f"{url}/{group['id']}/members", headers=w.b_key)).status_code == 404
    assert (await c.get(f"{base(w.b, 'extension-groups')}/{group['id']}/members", headers=w.b_key)).status_code == 404
    assert (await c.delete(f"{base(w.a, 'extensions')}/{e1['id']}", headers=w.a_key)).status_code == 409


# ------------------------------------------------------------------------------------------------ conferences
class TestConferences(TenantResourceTests):
    plural = "conferences"
    resource = "conference"
    invalid = [
        ({"name": ""}, "name"),
        ({"number": "911"}, "number"),
        ({"number": "05"}, "number"),
        ({"participant_pin": "12"}, "participant_pin"),
        ({"moderator_pin": "12345678901"}, "moderator_pin"),
        ({"participant_pin": "1234", "moderator_pin": "1234"}, "moderator_pin"),
        ({"wait_for_moderator": True, "moderator_pin": None}, "wait_for_moderator"),
        ({"max_members": 1}, "max_members"),
        ({"max_members": 501}, "max_members"),
        ({"language": "English!"}, "language"),
        ({"moh_class_id": "moh_nope"}, "moh_class_id"),
        ({"record": "yes"}, "record"),
    ]

    async def payload(self, w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        return {
            "name": "Weekly",
            "number": next_ext(),
            "participant_pin": "1234",
            "moderator_pin": "98765",
            "wait_for_moderator": True,
            "max_members": 20,
            "language": "en-US",
        }

    def update(self) -> dict[str, Any]:
        return {"name": "Daily", "max_members": 10, "mute_on_join": True}


async def test_conference_pins_are_encrypted_and_readable(world: World) -> None:
    w, c = world, world.client
    url = base(w.a, "conferences")
    r = await c.post(
        url,
        json={"name": "Board", "number": next_ext(), "participant_pin": "111", "moderator_pin": "2222"},
        headers=w.a_key,
    )
    assert r.status_code == 201
    room = r.json()
    assert room["participant_pin"] == "111" and room["moderator_pin"] == "2222"
    assert room["max_members"] == 50 and room["announce_join_leave"] is True and room["wait_for_moderator"] is False
    # Readers (a read-only key too) see the PINs; the audit log and events never do.
    r = await c.get(f"{url}/{room['id']}", headers=w.a_ro)
    assert r.json()["participant_pin"] == "111"
    audit = await c.get(base(w.a, "audit-log"), params={"resource_id": room["id"]}, headers=w.a_key)
    events = await c.get(base(w.a, "events"), params={"resource_id": room["id"]}, headers=w.a_key)
    assert "2222" not in audit.text and "2222" not in events.text and "***" in audit.text
    # PIN rules hold across updates.
    r = await c.patch(f"{url}/{room['id']}", json={"moderator_pin": "111"}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "moderator_pin"
    r = await c.patch(f"{url}/{room['id']}", json={"wait_for_moderator": True}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["wait_for_moderator"] is True
    r = await c.patch(f"{url}/{room['id']}", json={"moderator_pin": None}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "wait_for_moderator"
    etag = (await c.get(f"{url}/{room['id']}", headers=w.a_key)).headers["ETag"]
    r = await c.patch(f"{url}/{room['id']}", json={"participant_pin": "111"}, headers=w.a_key)
    assert r.status_code == 200 and r.headers["ETag"] == etag  # the same PIN again is no change
    r = await c.patch(
        f"{url}/{room['id']}", json={"participant_pin": None, "wait_for_moderator": False}, headers=w.a_key
    )
    assert r.status_code == 200 and r.json()["participant_pin"] is None
    # One number space with the other dialable objects.
    ext = await w.api.extension(w.a["id"], w.a_key)
    r = await c.patch(f"{url}/{room['id']}", json={"number": ext["number"]}, headers=w.a_key)
    assert r.status_code == 409 and r.json()["code"] == "duplicate"
    r = await c.patch(f"{url}/{room['id']}", json={"number": None}, headers=w.a_key)
    assert r.status_code == 422


# ------------------------------------------------------------------------------------------------- dial plan
async def test_dial_plan_numbers_and_free(world: World) -> None:
    w, c = world, world.client
    ext = await w.api.extension(w.a["id"], w.a_key, number="910", name="Nine-ten")
    group = await ring_group(w, w.a, w.a_key, number="913", members=[{"type": "extension", "extension_id": ext["id"]}])
    r = await c.post(base(w.a, "queues"), json={"name": "Help", "number": "90"}, headers=w.a_key)
    assert r.status_code == 201
    queue = r.json()
    r = await c.post(base(w.a, "conferences"), json={"name": "Room", "number": "9001"}, headers=w.a_key)
    assert r.status_code == 201
    room = r.json()
    r = await c.get(base(w.a, "dial-plan/numbers"), headers=w.a_ro)
    assert r.status_code == 200
    assert r.json() == {
        "count": 4,
        "items": [
            {"number": "90", "type": "queue", "id": queue["id"], "name": "Help"},
            {"number": "910", "type": "extension", "id": ext["id"], "name": "Nine-ten"},
            {"number": "913", "type": "ring_group", "id": group["id"], "name": group["name"]},
            {"number": "9001", "type": "conference", "id": room["id"], "name": "Room"},
        ],
    }
    # Free numbers: the tenant's extension length, in order, skipping used and emergency numbers (911).
    r = await c.get(base(w.a, "dial-plan/free"), params={"from": 909, "limit": 4}, headers=w.a_key)
    assert r.status_code == 200
    assert r.json() == {"extension_length": 3, "count": 4, "items": ["909", "912", "914", "915"]}
    r = await c.get(base(w.a, "dial-plan/free"), params={"from": 998}, headers=w.a_key)
    assert r.json()["items"] == ["998"]  # 999 is an emergency number; 1000 is too long
    r = await c.get(base(w.a, "dial-plan/free"), headers=w.a_key)
    assert r.json()["items"][0] == "100" and r.json()["count"] == 10
    for params in ({"limit": 0}, {"limit": 501}, {"from": "abc"}):
        assert (await c.get(base(w.a, "dial-plan/free"), params=params, headers=w.a_key)).status_code == 422
    # Tenant B sees its own (empty) plan, never A's.
    r = await c.get(base(w.b, "dial-plan/numbers"), headers=w.b_key)
    assert r.json() == {"count": 0, "items": []}
    assert (await c.get(base(w.a, "dial-plan/numbers"), headers=w.b_key)).status_code == 404
    assert (await c.get(base(w.a, "dial-plan/free"), headers=w.b_key)).status_code == 404
