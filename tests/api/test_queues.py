"""Queues and their agents: the generic resource checks, then every rule through HTTP with two tenants (the 3CX
``pollingstrategy`` table, the one number space, agents static/dynamic/outside, the agent set, login/logout/pause
with reasons, managers, limits and announcements, typed destinations, in-use deletes, template copies)."""

from __future__ import annotations

import typing
from typing import Any

from centrex.db.models.media import MediaFile
from centrex.db.uow import UnitOfWork
from centrex.domain import queue_strategies
from centrex.resources.queues import schemas
from tests.api.harness import World, next_ext, unique
from tests.api.mixins import TenantResourceTests

# The 3CX WebAPI table (seed 002, queue.new "Polling strategy (0-13)"), written out independently of the code.
THREECX = {
    0: "linear",  # Hunt
    1: "ring_all",  # Ring All
    3: "random_start",  # Hunt random start (default)
    4: "round_robin",  # Next agent
    5: "longest_idle",  # Longest waiting
    6: "least_talk_time",  # Least talk time
    7: "fewest_calls",  # Fewest answered
    8: "hunt_by_threes",  # Hunt by 3's
    9: "first_three_available",  # First 3 available
    10: "skills_ring_all",  # Skillbased routing Ring All
    11: "skills_random_start",  # Skillbased routing Hunt random start
    12: "skills_round_robin",  # Skillbased routing Round robin
    13: "skills_fewest_calls",  # Skillbased routing Fewest answered
}


def base(tenant: dict[str, Any], plural: str = "queues") -> str:
    return f"/api/v1/tenants/{tenant['id']}/{plural}"


def key_of(w: World, tenant: dict[str, Any]) -> dict[str, str]:
    return w.a_key if tenant is w.a else w.b_key


async def queue(w: World, tenant: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {"name": unique("Queue "), "number": next_ext(), **extra}
    r = await w.client.post(base(tenant), json=body, headers=key_of(w, tenant))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def agent(w: World, tenant: dict[str, Any], queue_id: str, **body: Any) -> dict[str, Any]:
    r = await w.client.post(f"{base(tenant)}/{queue_id}/agents", json=body, headers=key_of(w, tenant))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def media(w: World, tenant: dict[str, Any]) -> str:
    """A media file of ``tenant`` (written directly: uploading audio is the media API's business)."""
    async with UnitOfWork(w.api.state.db) as uow:
        row = MediaFile(tenant_id=tenant["id"], name=unique("intro"), kind="prompt", blob_sha256="0" * 64)
        uow.session.add(row)
        await uow.session.flush()
        await uow.commit()
        return row.id


async def moh_class(w: World, tenant: dict[str, Any]) -> str:
    r = await w.client.post(base(tenant, "moh-classes"), json={"name": unique("moh")}, headers=key_of(w, tenant))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def fields(r: Any) -> list[str]:
    return [e["field"] for e in r.json().get("errors", [])]


# ================================================================================================= generic checks
class TestQueues(TenantResourceTests):
    plural = "queues"
    resource = "queue"
    invalid = [
        ({"name": ""}, "name"),
        ({"number": None}, "number"),
        ({"number": "0123"}, "number"),
        ({"number": "911"}, "number"),
        ({"strategy": "everyone"}, "strategy"),
        ({"polling_strategy": 2}, "polling_strategy"),
        ({"polling_strategy": 14}, "polling_strategy"),
        ({"polling_strategy": -1}, "polling_strategy"),
        ({"polling_strategy": "3"}, "polling_strategy"),
        ({"strategy": "ring_all", "polling_strategy": 0}, "polling_strategy"),
        ({"agent_ring_time": 4}, "agent_ring_time"),
        ({"max_wait": 5}, "max_wait"),
        ({"max_callers": 0}, "max_callers"),
        ({"wrap_up": 601}, "wrap_up"),
        ({"announce_interval": 10}, "announce_interval"),
        ({"announce_position": 1}, "announce_position"),
        ({"sla_seconds": 0}, "sla_seconds"),
        ({"callback_enabled": "yes"}, "callback_enabled"),
        ({"intro_media_id": "med_doesnotexist"}, "intro_media_id"),
        ({"moh_class_id": "moh_doesnotexist"}, "moh_class_id"),
        ({"manager_ids": ["ext_doesnotexist"]}, "manager_ids.0"),
        ({"manager_ids": ["not an id"]}, "manager_ids"),
        ({"timeout_destination": {"type": "queue", "id": "que_doesnotexist"}}, "timeout_destination"),
        ({"full_destination": {"type": "external", "number": "12"}}, "full_destination"),
        ({"empty_destination": {"type": "voicemail"}}, "empty_destination"),
        ({"empty_destination": {"type": "fax"}}, "empty_destination"),
    ]

    async def payload(self, w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        ext = await w.api.extension(tenant["id"], headers)
        return {
            "name": unique("Support "),
            "number": next_ext(),
            "polling_strategy": 5,
            "agent_ring_time": 15,
            "max_wait": 600,
            "max_callers": 10,
            "wrap_up": 30,
            "announce_position": True,
            "timeout_destination": {"type": "extension", "id": ext["id"]},
            "full_destination": {"type": "external", "number": "(212) 555-0100"},
            "manager_ids": [ext["id"]],
            "sla_seconds": 30,
            "callback_enabled": True,
        }

    def update(self) -> dict[str, Any]:
        return {"name": "Support renamed", "strategy": "linear", "max_wait": 120, "max_callers": None}


def test_strategy_names_match_the_schema() -> None:
    """The API's strategy enum and the domain table list the same names; the 3CX codes are the seed's."""
    literal = typing.get_args(schemas.StrategyName)
    assert set(literal) == set(queue_strategies.NAMES) and len(literal) == len(queue_strategies.NAMES)
    assert {code: queue_strategies.from_polling(code) for code in THREECX} == THREECX
    assert {name: queue_strategies.to_polling(name) for name in THREECX.values()} == {v: k for k, v in THREECX.items()}
    assert queue_strategies.to_polling("random") is None and queue_strategies.to_polling("weighted") is None
    assert queue_strategies.DEFAULT == "random_start"
    for bad in (2, 14, -1):
        try:
            queue_strategies.from_polling(bad)
        except queue_strategies.UnknownStrategy:
            continue
        raise AssertionError(f"{bad} was accepted")


# ================================================================================================= strategy
async def test_polling_strategy_codes_map_onto_named_strategies(world: World) -> None:
    w, c = world, world.client
    for code, name in THREECX.items():
        q = await queue(w, w.a, polling_strategy=code)
        assert (q["strategy"], q["polling_strategy"]) == (name, code), (code, q)
        # The name alone gives the same queue, and the code is shown for it.
        q = await queue(w, w.a, strategy=name)
        assert q["polling_strategy"] == code
    # Omitted: 3CX's default, 3 (hunt with a random start).
    q = await queue(w, w.a)
    assert (q["strategy"], q["polling_strategy"]) == ("random_start", 3)
    # Centrex strategies 3CX has no code for.
    for name in ("random", "weighted"):
        assert (await queue(w, w.a, strategy=name))["polling_strategy"] is None
    # Both forms agreeing is fine; 2 is undefined by 3CX and refused with the reason; 14 is out of range.
    assert (await queue(w, w.a, strategy="ring_all", polling_strategy=1))["strategy"] == "ring_all"
    before = (await c.get(base(w.a), headers=w.a_key)).json()["total"]
    for code in (2, 14):
        r = await c.post(base(w.a), json={"name": "Q", "number": next_ext(), "polling_strategy": code}, headers=w.a_key)
        assert r.status_code == 422 and fields(r) == ["polling_strategy"], r.text
    r = await c.post(base(w.a), json={"name": "Q", "number": next_ext(), "polling_strategy": 2}, headers=w.a_key)
    assert "not a defined 3CX polling strategy" in r.text
    assert (await c.get(base(w.a), headers=w.a_key)).json()["total"] == before
    # PATCH takes either form; null is refused; a contradiction is refused and changes nothing.
    url = f"{base(w.a)}/{q['id']}"
    r = await c.patch(url, json={"polling_strategy": 13}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["strategy"] == "skills_fewest_calls"
    r = await c.patch(url, json={"strategy": "longest_idle"}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["polling_strategy"] == 5
    for body in ({"strategy": None}, {"polling_strategy": None}, {"polling_strategy": 2}, {"strategy": "x"}):
        r = await c.patch(url, json=body, headers=w.a_key)
        assert r.status_code == 422, (body, r.text)
    r = await c.patch(url, json={"strategy": "linear", "polling_strategy": 4}, headers=w.a_key)
    assert r.status_code == 422 and fields(r) == ["polling_strategy"]
    assert (await c.get(url, headers=w.a_key)).json()["strategy"] == "longest_idle"
    # The list filters by strategy name.
    r = await c.get(base(w.a), params={"strategy": "longest_idle", "limit": 100}, headers=w.a_key)
    assert r.json()["total"] == 3 and q["id"] in [x["id"] for x in r.json()["items"]]
    assert {x["strategy"] for x in r.json()["items"]} == {"longest_idle"}


# ================================================================================================= fields
async def test_queue_fields_defaults_and_limits(world: World) -> None:
    w, c = world, world.client
    q = await queue(w, w.a)
    assert {k: q[k] for k in schemas.QueueCreate.model_fields if k not in ("name", "number", "polling_strategy")} == {
        "strategy": "random_start",
        "agent_ring_time": 20,
        "max_wait": 300,
        "max_callers": None,
        "wrap_up": 0,
        "announce_position": False,
        "announce_hold_time": False,
        "announce_interval": 60,
        "intro_media_id": None,
        "moh_class_id": None,
        "join_empty": True,
        "timeout_destination": None,
        "full_destination": None,
        "empty_destination": None,
        "manager_ids": [],
        "sla_seconds": 20,
        "callback_enabled": False,
        "record": False,
    }
    intro, moh = await media(w, w.a), await moh_class(w, w.a)
    url = f"{base(w.a)}/{q['id']}"
    changes = {
        "max_wait": 900,
        "max_callers": 25,
        "wrap_up": 15,
        "announce_position": True,
        "announce_hold_time": True,
        "announce_interval": 45,
        "intro_media_id": intro,
        "moh_class_id": moh,
        "join_empty": False,
        "sla_seconds": 60,
        "callback_enabled": True,
        "record": True,
        "agent_ring_time": 300,
    }
    r = await c.patch(url, json=changes, headers=w.a_key)
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in changes} == changes
    # Bounds, and fields that may be omitted but never nulled.
    for body in (
        {"max_wait": 86401},
        {"max_callers": 1001},
        {"wrap_up": -1},
        {"announce_interval": 601},
        {"sla_seconds": 3601},
        {"agent_ring_time": 301},
        {"max_wait": None},
        {"join_empty": None},
        {"name": None},
        {"number": None},
        {"manager_ids": None},
        {"callback_enabled": None},
    ):
        r = await c.patch(url, json=body, headers=w.a_key)
        assert r.status_code == 422 and fields(r) == list(body), (body, r.text)
    # Nullable ones clear.
    r = await c.patch(url, json={"max_callers": None, "intro_media_id": None, "moh_class_id": None}, headers=w.a_key)
    assert r.status_code == 200
    assert (r.json()["max_callers"], r.json()["intro_media_id"], r.json()["moh_class_id"]) == (None, None, None)
    # Media and MOH classes of another tenant are invalid references.
    for body in ({"intro_media_id": await media(w, w.b)}, {"moh_class_id": await moh_class(w, w.b)}):
        r = await c.patch(url, json=body, headers=w.a_key)
        assert r.status_code == 422 and r.json()["code"] == "invalid_reference" and fields(r) == list(body)
    # Search and number filters.
    r = await c.get(base(w.a), params={"number": q["number"]}, headers=w.a_key)
    assert [x["id"] for x in r.json()["items"]] == [q["id"]]
    r = await c.get(base(w.a), params={"q": q["name"][2:].upper()}, headers=w.a_key)
    assert [x["id"] for x in r.json()["items"]] == [q["id"]]


async def test_queue_number_is_in_the_tenants_dial_plan(world: World) -> None:
    w, c = world, world.client
    ext = await w.api.extension(w.a["id"], w.a_key)
    # An extension's number is taken (409 duplicate naming the field), as is another queue's.
    r = await c.post(base(w.a), json={"name": "Q", "number": ext["number"]}, headers=w.a_key)
    assert r.status_code == 409 and r.json()["code"] == "duplicate" and r.json()["field"] == "number"
    q = await queue(w, w.a)
    r = await c.post(base(w.a), json={"name": "Q2", "number": q["number"]}, headers=w.a_key)
    assert r.status_code == 409 and r.json()["code"] == "duplicate"
    # And the queue's number is taken for extensions, ring groups and conferences.
    r = await c.post(base(w.a, "extensions"), json={"number": q["number"], "name": "X"}, headers=w.a_key)
    assert r.status_code == 409
    r = await c.post(base(w.a, "conferences"), json={"name": "Room", "number": q["number"]}, headers=w.a_key)
    assert r.status_code == 409
    # The queue shows in the dial plan and keeps its own number on PATCH.
    r = await c.get(base(w.a, "dial-plan/numbers"), headers=w.a_key)
    assert {"number": q["number"], "type": "queue", "id": q["id"], "name": q["name"]} in r.json()["items"]
    url = f"{base(w.a)}/{q['id']}"
    assert (await c.patch(url, json={"number": q["number"]}, headers=w.a_key)).status_code == 200
    r = await c.patch(url, json={"number": ext["number"]}, headers=w.a_key)
    assert r.status_code == 409 and (await c.get(url, headers=w.a_key)).json()["number"] == q["number"]
    r = await c.patch(url, json={"number": "112"}, headers=w.a_key)
    assert r.status_code == 422 and fields(r) == ["number"]
    # Another tenant's number space is its own.
    assert (await queue(w, w.b, number=q["number"]))["number"] == q["number"]
    # Moving the queue frees its old number.
    new = next_ext()
    assert (await c.patch(url, json={"number": new}, headers=w.a_key)).json()["number"] == new
    await w.api.extension(w.a["id"], w.a_key, number=q["number"])


# ================================================================================================= destinations
async def test_destinations_are_typed_checked_and_in_use(world: World) -> None:
    w, c = world, world.client
    ext = await w.api.extension(w.a["id"], w.a_key)
    foreign = await w.api.extension(w.b["id"], w.b_key)
    foreign_q = await queue(w, w.b)
    for name in ("timeout_destination", "full_destination", "empty_destination"):
        for dest in ({"type": "extension", "id": foreign["id"]}, {"type": "queue", "id": foreign_q["id"]}):
            r = await c.post(base(w.a), json={"name": "Q", "number": next_ext(), name: dest}, headers=w.a_key)
            assert r.status_code == 422, r.text
            assert r.json()["code"] == "invalid_reference" and fields(r)[0].startswith(name), r.json()
    other = await queue(w, w.a)
    q = await queue(
        w,
        w.a,
        timeout_destination={"type": "extension", "id": ext["id"]},
        full_destination={"type": "queue", "id": other["id"]},
        empty_destination={"type": "external", "number": "+1 212 555 0199"},
    )
    assert q["timeout_destination"] == {"type": "extension", "id": ext["id"]}
    assert q["full_destination"] == {"type": "queue", "id": other["id"]}
    assert q["empty_destination"] == {"type": "external", "number": "+12125550199"}
    # What a queue sends calls to cannot be deleted (409 in_use naming the queue and the field).
    for url in (f"{base(w.a, 'extensions')}/{ext['id']}", f"{base(w.a)}/{other['id']}"):
        r = await c.delete(url, headers=w.a_key)
        assert r.status_code == 409 and r.json()["code"] == "in_use", r.text
        assert {"resource": "queue", "id": q["id"]}.items() <= r.json()["references"][0].items()
    # A static loop between two queues is refused; hang-up or voicemail ends the chain.
    r = await c.patch(
        f"{base(w.a)}/{other['id']}", json={"full_destination": {"type": "queue", "id": q["id"]}}, headers=w.a_key
    )
    assert r.status_code == 422 and r.json()["code"] == "static_loop", r.text
    url = f"{base(w.a)}/{q['id']}"
    r = await c.patch(url, json={"timeout_destination": {"type": "hangup"}, "full_destination": None}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["full_destination"] is None
    assert (await c.delete(f"{base(w.a, 'extensions')}/{ext['id']}", headers=w.a_key)).status_code == 204
    assert (await c.delete(f"{base(w.a)}/{other['id']}", headers=w.a_key)).status_code == 204
    # A queue other things send calls to is in use too.
    r = await c.post(
        base(w.a, "ring-groups"),
        json={
            "name": "RG",
            "members": [{"type": "external", "number": "+12125550100"}],
            "no_answer_destination": {"type": "queue", "id": q["id"]},
        },
        headers=w.a_key,
    )
    assert r.status_code == 201, r.text
    r = await c.delete(url, headers=w.a_key)
    assert r.status_code == 409 and r.json()["references"][0]["resource"] == "ring_group"


# ================================================================================================= managers
async def test_managers_set_replace_and_in_use(world: World) -> None:
    w, c = world, world.client
    e1 = await w.api.extension(w.a["id"], w.a_key)
    e2 = await w.api.extension(w.a["id"], w.a_key)
    foreign = await w.api.extension(w.b["id"], w.b_key)
    r = await c.post(
        base(w.a), json={"name": "Q", "number": next_ext(), "manager_ids": [e1["id"], e1["id"]]}, headers=w.a_key
    )
    assert r.status_code == 422 and fields(r)[0].startswith("manager_ids")
    r = await c.post(
        base(w.a), json={"name": "Q", "number": next_ext(), "manager_ids": [e1["id"], foreign["id"]]}, headers=w.a_key
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_reference" and fields(r) == ["manager_ids.1"]
    q = await queue(w, w.a, manager_ids=[e1["id"]])
    url = f"{base(w.a)}/{q['id']}/managers"
    # Replace (3CX queue.managers.set): ids or numbers, in order, as an object or a bare array.
    r = await c.put(url, json={"managers": [e2["number"], e1["id"]]}, headers=w.a_key)
    assert r.status_code == 200, r.text
    assert r.json()["manager_ids"] == [e2["id"], e1["id"]] and r.headers["ETag"] == '"2"'
    r = await c.put(url, json=[e2["id"]], headers=w.a_key)
    assert r.status_code == 200 and r.json()["manager_ids"] == [e2["id"]]
    for body, field in [
        ([foreign["id"]], "managers.0"),
        ([e1["id"], e1["number"]], "managers.1"),
        (["+12125550100"], "managers.0"),  # managers are extensions, never outside numbers
        ({"nope": []}, "managers"),
    ]:
        r = await c.put(url, json=body, headers=w.a_key)
        assert r.status_code == 422 and any(f.startswith(field) for f in fields(r)), (body, r.text)
    assert (await c.put(url, json=[e1["id"]], headers={**w.a_key, "If-Match": '"1"'})).status_code == 412
    assert (await c.put(url, json=[e1["id"]], headers=w.a_ro)).status_code == 403
    assert (await c.put(url, json=[foreign["id"]], headers=w.b_key)).status_code == 404
    assert (await c.put(f"{base(w.b)}/{q['id']}/managers", json=[], headers=w.b_key)).status_code == 404
    assert (await c.get(f"{base(w.a)}/{q['id']}", headers=w.a_key)).json()["manager_ids"] == [e2["id"]]
    # A manager cannot be deleted while it manages; an empty set frees it.
    r = await c.delete(f"{base(w.a, 'extensions')}/{e2['id']}", headers=w.a_key)
    assert r.status_code == 409 and r.json()["references"][0]["field"] == "manager_ids.0"
    assert (await c.put(url, json=[], headers=w.a_key)).json()["manager_ids"] == []
    assert (await c.delete(f"{base(w.a, 'extensions')}/{e2['id']}", headers=w.a_key)).status_code == 204


# ================================================================================================= agents
async def test_agents_add_read_change_remove(world: World) -> None:
    w, c = world, world.client
    e1 = await w.api.extension(w.a["id"], w.a_key)
    e2 = await w.api.extension(w.a["id"], w.a_key)
    q = await queue(w, w.a, strategy="skills_ring_all")
    url = f"{base(w.a)}/{q['id']}/agents"
    first = await agent(w, w.a, q["id"], extension_id=e1["id"], penalty=2)
    assert {k: first[k] for k in ("queue_id", "extension_id", "external_number", "kind", "agent_type")} == {
        "queue_id": q["id"],
        "extension_id": e1["id"],
        "external_number": None,
        "kind": "static",
        "agent_type": "NF",
    }
    assert (first["penalty"], first["position"], first["logged_in"], first["paused"]) == (2, 0, True, False)
    assert first["pause_reason"] is None and first["state_changed_at"]
    dynamic = await agent(w, w.a, q["id"], extension_id=e2["id"], kind="dynamic", agent_type="ADR", logged_in=False)
    assert (dynamic["kind"], dynamic["agent_type"], dynamic["position"], dynamic["logged_in"]) == (
        "dynamic",
        "ADR",
        1,
        False,
    )
    outside = await agent(w, w.a, q["id"], external_number="(212) 555-0142", penalty=5, paused=True, pause_reason="x")
    assert (outside["external_number"], outside["agent_type"], outside["extension_id"]) == ("+12125550142", "EA", None)
    assert (outside["paused"], outside["pause_reason"], outside["position"]) == (True, "x", 2)
    # Agent rules: exactly one target, a type that fits it, unique per queue, a paused agent is logged in.
    before = (await c.get(url, headers=w.a_key)).json()["total"]
    foreign = await w.api.extension(w.b["id"], w.b_key)
    for body, code, field in [
        ({}, 422, "extension_id"),
        ({"extension_id": e1["id"], "external_number": "+12125550100"}, 422, "extension_id"),
        ({"extension_id": foreign["id"]}, 422, "extension_id"),
        ({"extension_id": "ext_doesnotexist"}, 422, "extension_id"),
        ({"external_number": "12"}, 422, "external_number"),
        ({"external_number": "+12125550100", "agent_type": "NF"}, 422, "agent_type"),
        ({"extension_id": e1["id"], "agent_type": "EA"}, 422, "agent_type"),
        ({"external_number": "+12125550100", "agent_type": "XX"}, 422, "agent_type"),
        ({"external_number": "+12125550100", "kind": "temporary"}, 422, "kind"),
        ({"external_number": "+12125550100", "penalty": 101}, 422, "penalty"),
        ({"external_number": "+12125550100", "penalty": -1}, 422, "penalty"),
        ({"external_number": "+12125550100", "position": -1}, 422, "position"),
        ({"external_number": "+12125550100", "paused": True, "logged_in": False}, 422, "paused"),
        ({"external_number": "+12125550100", "pause_reason": "lunch"}, 422, "pause_reason"),
        ({"external_number": "+12125550100", "paused": True, "pause_reason": "x" * 101}, 422, "pause_reason"),
        ({"external_number": "+12125550100", "state": "on"}, 422, "state"),
        ({"extension_id": e1["id"]}, 409, "extension_id"),
        ({"external_number": "212-555-0142"}, 409, "external_number"),
    ]:
        r = await c.post(url, json=body, headers=w.a_key)
        assert r.status_code == code, (body, r.text)
        problem = r.json()
        assert problem.get("field") == field or fields(r) == [field], (body, problem)
    assert (await c.get(url, headers=w.a_key)).json()["total"] == before
    # The list is in agent order and filters by extension, kind and state.
    r = await c.get(url, headers=w.a_ro)
    assert r.status_code == 200 and [a["id"] for a in r.json()["items"]] == [first["id"], dynamic["id"], outside["id"]]
    for params, expected in [
        ({"kind": "dynamic"}, [dynamic["id"]]),
        ({"logged_in": "false"}, [dynamic["id"]]),
        ({"paused": "true"}, [outside["id"]]),
        ({"extension_id": e1["id"]}, [first["id"]]),
        ({"sort": "-penalty"}, [outside["id"], first["id"], dynamic["id"]]),
    ]:
        r = await c.get(url, params=params, headers=w.a_key)
        assert [a["id"] for a in r.json()["items"]] == expected, params
    # Queues filter by agent extension.
    r = await c.get(base(w.a), params={"extension_id": e2["id"]}, headers=w.a_key)
    assert [x["id"] for x in r.json()["items"]] == [q["id"]]
    # Read one, change penalty/position/type/kind (with ETag), never the target; null refused.
    r = await c.get(f"{url}/{first['id']}", headers=w.a_key)
    assert r.status_code == 200 and r.json() == first
    etag = r.headers["ETag"]
    r = await c.patch(f"{url}/{first['id']}", json={"penalty": 9, "position": 5}, headers={**w.a_key, "If-Match": etag})
    assert r.status_code == 200 and (r.json()["penalty"], r.json()["position"]) == (9, 5)
    assert r.headers["ETag"] != etag
    r = await c.patch(f"{url}/{first['id']}", json={"penalty": 1}, headers={**w.a_key, "If-Match": etag})
    assert r.status_code == 412
    for body in (
        {"agent_type": "EANM"},
        {"penalty": None},
        {"extension_id": e2["id"]},
        {"logged_in": False},
        {"paused": True},
    ):
        r = await c.patch(f"{url}/{first['id']}", json=body, headers=w.a_key)
        assert r.status_code == 422, (body, r.text)
    r = await c.patch(f"{url}/{outside['id']}", json={"agent_type": "CUFF", "kind": "dynamic"}, headers=w.a_key)
    assert r.status_code == 200 and (r.json()["agent_type"], r.json()["kind"]) == ("CUFF", "dynamic")
    r = await c.patch(f"{url}/{outside['id']}", json={"agent_type": "AD"}, headers=w.a_key)
    assert r.status_code == 422 and fields(r) == ["agent_type"]
    r = await c.get(url, headers=w.a_key)
    assert [a["id"] for a in r.json()["items"]] == [dynamic["id"], outside["id"], first["id"]]
    # Membership is configuration: the read-only key cannot add, change or remove.
    assert (await c.post(url, json={"external_number": "+12125550111"}, headers=w.a_ro)).status_code == 403
    assert (await c.patch(f"{url}/{first['id']}", json={"penalty": 0}, headers=w.a_ro)).status_code == 403
    assert (await c.delete(f"{url}/{first['id']}", headers=w.a_ro)).status_code == 403
    # Remove one (If-Match honoured); it is gone, the others stay.
    assert (await c.delete(f"{url}/{first['id']}", headers={**w.a_key, "If-Match": '"99"'})).status_code == 412
    assert (await c.delete(f"{url}/{first['id']}", headers=w.a_key)).status_code == 204
    assert (await c.get(f"{url}/{first['id']}", headers=w.a_key)).status_code == 404
    assert (await c.delete(f"{url}/{first['id']}", headers=w.a_key)).status_code == 404
    assert (await c.get(url, headers=w.a_key)).json()["total"] == 2
    # An agent id through another queue of the tenant is not there.
    other = await queue(w, w.a)
    assert (await c.get(f"{base(w.a)}/{other['id']}/agents/{outside['id']}", headers=w.a_key)).status_code == 404
    # Audit and events: membership changes are recorded like any object.
    r = await c.get(base(w.a, "events"), params={"resource_id": first["id"]}, headers=w.a_key)
    types = [e["type"] for e in r.json()["items"]]
    assert {"queue_agent.created", "queue_agent.updated", "queue_agent.deleted"} <= set(types), types


async def test_agent_set_replace(world: World) -> None:
    w, c = world, world.client
    e1 = await w.api.extension(w.a["id"], w.a_key)
    e2 = await w.api.extension(w.a["id"], w.a_key)
    e3 = await w.api.extension(w.a["id"], w.a_key)
    q = await queue(w, w.a)
    url = f"{base(w.a)}/{q['id']}/agents"
    kept = await agent(w, w.a, q["id"], extension_id=e1["id"], penalty=7, agent_type="AD", kind="dynamic")
    gone = await agent(w, w.a, q["id"], extension_id=e2["id"])
    r = await c.post(f"{url}/{kept['id']}/pause", json={"reason": "lunch"}, headers=w.a_key)
    assert r.status_code == 200
    # 3CX queue.agents.set: ids, numbers and outside numbers, in order; agents that stay keep their settings.
    r = await c.put(url, json={"agents": [e3["number"], "+1 212 555 0177", e1["id"]]}, headers=w.a_key)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["count"] == 3
    assert [(a["extension_id"], a["external_number"]) for a in got["items"]] == [
        (e3["id"], None),
        (None, "+12125550177"),
        (e1["id"], None),
    ]
    assert [a["position"] for a in got["items"]] == [0, 1, 2]
    new, outside, stayed = got["items"]
    assert stayed["id"] == kept["id"] and (stayed["penalty"], stayed["agent_type"], stayed["kind"]) == (
        7,
        "AD",
        "dynamic",
    )
    assert (stayed["paused"], stayed["pause_reason"]) == (True, "lunch")
    assert (new["kind"], new["agent_type"], new["logged_in"], new["paused"]) == ("static", "NF", True, False)
    assert outside["agent_type"] == "EA"
    assert (await c.get(f"{url}/{gone['id']}", headers=w.a_key)).status_code == 404
    r = await c.get(url, headers=w.a_key)
    assert [a["id"] for a in r.json()["items"]] == [new["id"], outside["id"], kept["id"]]
    # Bad sets change nothing.
    foreign = await w.api.extension(w.b["id"], w.b_key)
    for body, field in [
        ([foreign["id"]], "agents.0"),
        ([e1["id"], e1["number"]], "agents.1"),
        (["+12125550177", "212 555 0177"], "agents.1"),
        ([e1["id"], "nonsense"], "agents.1"),
        (["ext_doesnotexist"], "agents.0"),
        ({"members": [e1["id"]]}, "agents"),
        ([e1["id"]] * 501, "agents"),
    ]:
        r = await c.put(url, json=body, headers=w.a_key)
        assert r.status_code == 422, (body, r.text)
        assert any(f.startswith(field) for f in fields(r)), (field, r.json())
    assert (await c.get(url, headers=w.a_key)).json()["total"] == 3
    assert (await c.put(url, json=[], headers=w.a_ro)).status_code == 403
    # A bare empty array removes every agent.
    r = await c.put(url, json=[], headers=w.a_key)
    assert r.status_code == 200 and r.json() == {"count": 0, "items": []}
    assert (await c.get(url, headers=w.a_key)).json()["total"] == 0


# ================================================================================================= agent state
async def test_login_logout_pause_with_reason_and_events(world: World) -> None:
    w, c = world, world.client
    ext = await w.api.extension(w.a["id"], w.a_key)
    q = await queue(w, w.a)
    a = await agent(w, w.a, q["id"], extension_id=ext["id"], logged_in=False)
    url = f"{base(w.a)}/{q['id']}/agents/{a['id']}"
    # A logged-out agent cannot pause (409) and nothing changes.
    r = await c.post(f"{url}/pause", json={"reason": "lunch"}, headers=w.a_key)
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    r = await c.post(f"{url}/login", headers=w.a_key)
    assert r.status_code == 200 and r.json()["logged_in"] is True and r.json()["paused"] is False
    logged_at = r.json()["state_changed_at"]
    assert logged_at >= a["state_changed_at"]
    r = await c.post(f"{url}/pause", json={"reason": "  lunch  "}, headers=w.a_key)
    assert r.status_code == 200 and (r.json()["paused"], r.json()["pause_reason"]) == (True, "lunch")
    # Pausing again with another reason changes the reason; without a body the reason is cleared.
    r = await c.post(f"{url}/pause", json={"reason": "training"}, headers=w.a_key)
    assert r.json()["pause_reason"] == "training"
    r = await c.post(f"{url}/pause", headers=w.a_key)
    assert r.status_code == 200 and (r.json()["paused"], r.json()["pause_reason"]) == (True, None)
    for body in ({"reason": ""}, {"reason": "x" * 101}, {"why": "x"}):
        r = await c.post(f"{url}/pause", json=body, headers=w.a_key)
        assert r.status_code == 422, (body, r.text)
    r = await c.post(f"{url}/pause", json={"reason": "break"}, headers=w.a_key)
    r = await c.post(f"{url}/unpause", headers=w.a_key)
    assert r.status_code == 200 and (r.json()["paused"], r.json()["pause_reason"]) == (False, None)
    # Unpausing or logging in again changes nothing (same ETag, no event).
    etag = r.headers["ETag"]
    r = await c.post(f"{url}/unpause", headers=w.a_key)
    assert r.status_code == 200 and r.headers["ETag"] == etag
    r = await c.post(f"{url}/login", headers=w.a_key)
    assert r.status_code == 200 and r.headers["ETag"] == etag
    # Logging out ends a pause.
    await c.post(f"{url}/pause", json={"reason": "meeting"}, headers=w.a_key)
    r = await c.post(f"{url}/logout", headers={**w.a_key, "If-Match": '"1"'})
    assert r.status_code == 412
    r = await c.post(f"{url}/logout", headers=w.a_key)
    assert r.status_code == 200
    assert (r.json()["logged_in"], r.json()["paused"], r.json()["pause_reason"]) == (False, False, None)
    # Every real change is one queue_agent.state_changed event, in order, and an audit entry with the action.
    r = await c.get(base(w.a, "events"), params={"resource_id": a["id"], "limit": 100}, headers=w.a_key)
    states = [e for e in r.json()["items"] if e["type"] == "queue_agent.state_changed"]
    states.sort(key=lambda e: e["seq"])
    actions = [e["data"]["action"] for e in states]
    assert actions == ["login", "pause", "pause", "pause", "pause", "unpause", "pause", "logout"]
    last = states[-1]["data"]
    assert last["queue_id"] == q["id"] and last["extension_id"] == ext["id"] and last["logged_in"] is False
    r = await c.get(base(w.a, "audit-log"), params={"resource_id": a["id"], "limit": 100}, headers=w.a_key)
    assert {"login", "pause", "unpause", "logout"} <= {e["action"] for e in r.json()["items"]}
    # The read-only key sees the state but cannot change it.
    assert (await c.get(url, headers=w.a_ro)).json()["logged_in"] is False
    for action in ("login", "logout", "pause", "unpause"):
        assert (await c.post(f"{url}/{action}", headers=w.a_ro)).status_code == 403


async def test_agent_across_its_queues(world: World) -> None:
    w, c = world, world.client
    ext = await w.api.extension(w.a["id"], w.a_key)
    lonely = await w.api.extension(w.a["id"], w.a_key)
    q1, q2, q3 = await queue(w, w.a), await queue(w, w.a), await queue(w, w.a)
    a1 = await agent(w, w.a, q1["id"], extension_id=ext["id"], penalty=1)
    a2 = await agent(w, w.a, q2["id"], extension_id=ext["id"], logged_in=False)
    await agent(w, w.a, q3["id"], external_number="+12125550100")
    ext_url = f"{base(w.a, 'extensions')}/{ext['id']}"
    agents_url = f"{base(w.a, 'agents')}/{ext['number']}"
    # MiRTA AGENT listqueues: by number or id, with the state in each queue.
    r = await c.get(f"{agents_url}/queues", headers=w.a_ro)
    assert r.status_code == 200
    items = r.json()["items"]
    assert r.json()["count"] == 2 and {i["queue_id"] for i in items} == {q1["id"], q2["id"]}
    by_queue = {i["queue_id"]: i for i in items}
    assert by_queue[q1["id"]]["agent_id"] == a1["id"] and by_queue[q1["id"]]["penalty"] == 1
    assert by_queue[q1["id"]]["queue_number"] == q1["number"] and by_queue[q1["id"]]["queue_name"] == q1["name"]
    assert by_queue[q2["id"]]["logged_in"] is False
    assert (await c.get(f"{base(w.a, 'agents')}/{ext['id']}/queues", headers=w.a_key)).json()["count"] == 2
    assert (await c.get(f"{base(w.a, 'agents')}/{lonely['id']}/queues", headers=w.a_key)).json()["count"] == 0
    assert (await c.get(f"{base(w.a, 'agents')}/999/queues", headers=w.a_key)).status_code == 404
    # 3CX ext.queueglobal.set: log in / out of every queue at once.
    r = await c.post(f"{ext_url}/queue-login", headers=w.a_key)
    assert r.status_code == 200 and r.json()["count"] == 2 and all(a["logged_in"] for a in r.json()["items"])
    # MiRTA AGENT pause with queue=ALL: every queue, with the reason; then one queue only.
    r = await c.post(f"{agents_url}/pause", json={"reason": "lunch"}, headers=w.a_key)
    assert r.status_code == 200
    assert [(a["paused"], a["pause_reason"]) for a in r.json()["items"]] == [(True, "lunch")] * 2
    r = await c.post(f"{agents_url}/unpause", json={"queue_id": q2["id"]}, headers=w.a_key)
    assert r.status_code == 200 and [a["id"] for a in r.json()["items"]] == [a2["id"]]
    r = await c.get(f"{agents_url}/queues", headers=w.a_key)
    assert {i["queue_id"]: i["paused"] for i in r.json()["items"]} == {q1["id"]: True, q2["id"]: False}
    r = await c.post(f"{agents_url}/unpause", headers=w.a_key)
    assert r.status_code == 200 and not any(a["paused"] for a in r.json()["items"])
    # A queue the extension is not in, another tenant's queue, a bad body.
    r = await c.post(f"{agents_url}/pause", json={"queue_id": q3["id"]}, headers=w.a_key)
    assert r.status_code == 409
    foreign_q = await queue(w, w.b)
    r = await c.post(f"{agents_url}/pause", json={"queue_id": foreign_q["id"]}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["code"] == "invalid_reference" and fields(r) == ["queue_id"]
    r = await c.post(f"{agents_url}/pause", json={"queue_id": q1["id"], "reason": ""}, headers=w.a_key)
    assert r.status_code == 422
    # Logged out everywhere: pausing is a conflict; an extension in no queue is a conflict too.
    r = await c.post(f"{ext_url}/queue-logout", headers=w.a_key)
    assert r.status_code == 200 and not any(a["logged_in"] or a["paused"] for a in r.json()["items"])
    r = await c.post(f"{agents_url}/pause", headers=w.a_key)
    assert r.status_code == 409
    r = await c.post(f"{base(w.a, 'extensions')}/{lonely['id']}/queue-login", headers=w.a_key)
    assert r.status_code == 409
    for url in (f"{ext_url}/queue-login", f"{agents_url}/pause"):
        assert (await c.post(url, headers=w.a_ro)).status_code == 403
    # MiRTA AGENT del: from one queue, then from all.
    assert (await c.delete(agents_url, params={"queue_id": q3["id"]}, headers=w.a_key)).status_code == 404
    assert (await c.delete(agents_url, params={"queue_id": q1["id"]}, headers=w.a_ro)).status_code == 403
    assert (await c.delete(agents_url, params={"queue_id": q1["id"]}, headers=w.a_key)).status_code == 204
    assert (await c.get(f"{base(w.a)}/{q1['id']}/agents/{a1['id']}", headers=w.a_key)).status_code == 404
    assert (await c.get(f"{agents_url}/queues", headers=w.a_key)).json()["count"] == 1
    assert (await c.delete(agents_url, headers=w.a_key)).status_code == 204
    assert (await c.get(f"{agents_url}/queues", headers=w.a_key)).json()["count"] == 0
    assert (await c.delete(agents_url, headers=w.a_key)).status_code == 404


# ================================================================================================= in use, delete
async def test_agent_extension_is_in_use_and_queue_delete_takes_its_agents(world: World) -> None:
    w, c = world, world.client
    ext = await w.api.extension(w.a["id"], w.a_key)
    q = await queue(w, w.a)
    a = await agent(w, w.a, q["id"], extension_id=ext["id"])
    await agent(w, w.a, q["id"], external_number="+12125550100")
    # An extension that is an agent cannot be deleted (like a ring-group member); removing it from its queues frees it.
    r = await c.delete(f"{base(w.a, 'extensions')}/{ext['id']}", headers=w.a_key)
    assert r.status_code == 409 and r.json()["code"] == "in_use", r.text
    assert {"resource": "queue_agent", "id": a["id"], "field": "extension_id"}.items() <= r.json()["references"][
        0
    ].items()
    assert (await c.get(f"{base(w.a)}/{q['id']}/agents/{a['id']}", headers=w.a_key)).status_code == 200
    # A queue that a ring group overflows to cannot be deleted, and the refused delete keeps its agents.
    r = await c.post(
        base(w.a, "ring-groups"),
        json={
            "name": "RG",
            "members": [{"type": "external", "number": "+12125550100"}],
            "no_answer_destination": {"type": "queue", "id": q["id"]},
        },
        headers=w.a_key,
    )
    assert r.status_code == 201, r.text
    assert (await c.delete(f"{base(w.a)}/{q['id']}", headers=w.a_key)).status_code == 409
    assert (await c.get(f"{base(w.a)}/{q['id']}/agents", headers=w.a_key)).json()["total"] == 2
    assert (await c.delete(f"{base(w.a, 'ring-groups')}/{r.json()['id']}", headers=w.a_key)).status_code == 204
    # Deleting the queue deletes its agents (each recorded), and then the extension is free.
    assert (await c.delete(f"{base(w.a)}/{q['id']}", headers=w.a_key)).status_code == 204
    assert (await c.get(f"{base(w.a)}/{q['id']}/agents", headers=w.a_key)).status_code == 404
    r = await c.get(base(w.a, "events"), params={"resource_id": a["id"]}, headers=w.a_key)
    assert "queue_agent.deleted" in [e["type"] for e in r.json()["items"]]
    assert (await c.get(f"{base(w.a, 'agents')}/{ext['id']}/queues", headers=w.a_key)).json()["count"] == 0
    assert (await c.delete(f"{base(w.a, 'extensions')}/{ext['id']}", headers=w.a_key)).status_code == 204


# ================================================================================================= two tenants
async def test_agents_endpoints_are_tenant_isolated(world: World) -> None:
    w, c = world, world.client
    ext = await w.api.extension(w.a["id"], w.a_key)
    q = await queue(w, w.a)
    a = await agent(w, w.a, q["id"], extension_id=ext["id"])
    b_ext = await w.api.extension(w.b["id"], w.b_key, number=ext["number"])  # the same number in tenant B
    b_q = await queue(w, w.b)
    snapshot = (await c.get(f"{base(w.a)}/{q['id']}/agents/{a['id']}", headers=w.a_key)).json()
    a_urls = [f"{base(w.a)}/{q['id']}/agents", f"{base(w.a)}/{q['id']}/agents/{a['id']}"]
    b_path = f"{base(w.b)}/{q['id']}/agents"
    for method, url, body in [
        ("GET", a_urls[0], None),
        ("POST", a_urls[0], {"extension_id": b_ext["id"]}),
        ("PUT", a_urls[0], [b_ext["id"]]),
        ("GET", a_urls[1], None),
        ("PATCH", a_urls[1], {"penalty": 3}),
        ("DELETE", a_urls[1], None),
        *[("POST", f"{a_urls[1]}/{action}", None) for action in ("login", "logout", "pause", "unpause")],
        ("GET", f"{base(w.a, 'agents')}/{ext['id']}/queues", None),
        ("POST", f"{base(w.a, 'agents')}/{ext['id']}/pause", None),
        ("DELETE", f"{base(w.a, 'agents')}/{ext['id']}", None),
        ("POST", f"{base(w.a, 'extensions')}/{ext['id']}/queue-logout", None),
        # Tenant A's queue and agent through tenant B's own path are not there either.
        ("GET", b_path, None),
        ("POST", b_path, {"extension_id": b_ext["id"]}),
        ("PUT", b_path, [b_ext["id"]]),
        ("PATCH", f"{b_path}/{a['id']}", {"penalty": 3}),
        ("POST", f"{b_path}/{a['id']}/logout", None),
        ("DELETE", f"{b_path}/{a['id']}", None),
        ("GET", f"{base(w.b, 'agents')}/{ext['id']}/queues", None),
        ("POST", f"{base(w.b, 'extensions')}/{ext['id']}/queue-logout", None),
        ("DELETE", f"{base(w.b, 'agents')}/{ext['id']}", None),
    ]:
        r = await c.request(method, url, json=body, headers=w.b_key)
        assert r.status_code == 404, (method, url, r.status_code, r.text)
    # B's own agent paths by number find B's extension, not A's.
    assert (await c.get(f"{base(w.b, 'agents')}/{ext['number']}/queues", headers=w.b_key)).json()["count"] == 0
    r = await c.delete(f"{base(w.b, 'agents')}/{ext['number']}", params={"queue_id": q["id"]}, headers=w.b_key)
    assert r.status_code == 404
    # Cross-tenant references from A: B's extension as an agent, B's queue as a pause target.
    r = await c.post(a_urls[0], json={"extension_id": b_ext["id"]}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["code"] == "invalid_reference"
    r = await c.post(f"{base(w.a, 'agents')}/{ext['id']}/pause", json={"queue_id": b_q["id"]}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["code"] == "invalid_reference"
    assert (await c.get(a_urls[1], headers=w.a_key)).json() == snapshot  # untouched
    assert (await c.get(f"{base(w.b)}/{b_q['id']}/agents", headers=w.b_key)).json()["total"] == 0


# ================================================================================================= template copies
async def test_template_copies_queues_with_remapped_references(world: World) -> None:
    w, c = world, world.client
    template = await w.api.tenant(parent=w.reseller["id"], is_template=True)
    tkey = await w.api.key(template["id"])
    turl = f"/api/v1/tenants/{template['id']}"
    r = await c.post(f"{turl}/extensions", json={"number": "201", "name": "Lead"}, headers=tkey)
    lead = r.json()
    r = await c.post(
        f"{turl}/queues",
        json={"name": "Overflow", "number": "601", "polling_strategy": 1, "timeout_destination": {"type": "hangup"}},
        headers=tkey,
    )
    overflow = r.json()
    body = {
        "name": "Sales",
        "number": "600",
        "polling_strategy": 12,
        "max_wait": 120,
        "full_destination": {"type": "queue", "id": overflow["id"]},
        "timeout_destination": {"type": "extension", "id": lead["id"]},
        "manager_ids": [lead["id"]],
        "callback_enabled": True,
    }
    r = await c.post(f"{turl}/queues", json=body, headers=tkey)
    assert r.status_code == 201, r.text
    sales = r.json()
    await c.post(f"{turl}/queues/{sales['id']}/agents", json={"extension_id": lead["id"], "penalty": 3}, headers=tkey)
    await c.post(f"{turl}/queues/{sales['id']}/agents", json={"external_number": "+12125550100"}, headers=tkey)

    async def copied(tenant: dict[str, Any]) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
        key = await w.api.key(tenant["id"])
        items = (await c.get(f"/api/v1/tenants/{tenant['id']}/queues", headers=key)).json()["items"]
        return key, {q["name"]: q for q in items}

    # Default copy: queues (not extensions, not agents); references to what was not copied are dropped.
    plain = await w.api.tenant(parent=w.reseller["id"], template_id=template["id"])
    key, queues = await copied(plain)
    assert set(queues) == {"Sales", "Overflow"}
    copy = queues["Sales"]
    assert copy["id"] != sales["id"] and copy["tenant_id"] == plain["id"]
    assert (copy["number"], copy["strategy"], copy["polling_strategy"], copy["max_wait"]) == (
        "600",
        "skills_round_robin",
        12,
        120,
    )
    assert copy["full_destination"] == {"type": "queue", "id": queues["Overflow"]["id"]}
    assert copy["manager_ids"] == [] and copy["callback_enabled"] is True
    assert copy["timeout_destination"] == {"type": "hangup"}
    r = await c.get(f"/api/v1/tenants/{plain['id']}/queues/{copy['id']}/agents", headers=key)
    assert r.json()["total"] == 0
    # The copy's references are indexed, and its numbers are in the new tenant's dial plan.
    r = await c.delete(f"/api/v1/tenants/{plain['id']}/queues/{queues['Overflow']['id']}", headers=key)
    assert r.status_code == 409 and r.json()["references"][0]["id"] == copy["id"]
    r = await c.post(f"/api/v1/tenants/{plain['id']}/extensions", json={"number": "600", "name": "X"}, headers=key)
    assert r.status_code == 409
    # With extensions and agents: the agents follow, pointing at the copied extension.
    full = await w.api.tenant(
        parent=w.reseller["id"], template_id=template["id"], copy_resources=["queues", "extensions", "queue_agents"]
    )
    key, queues = await copied(full)
    exts = (await c.get(f"/api/v1/tenants/{full['id']}/extensions", headers=key)).json()["items"]
    assert len(exts) == 1 and exts[0]["id"] != lead["id"]
    copy = queues["Sales"]
    assert copy["manager_ids"] == [exts[0]["id"]]
    assert copy["timeout_destination"] == {"type": "extension", "id": exts[0]["id"]}
    r = await c.get(f"/api/v1/tenants/{full['id']}/queues/{copy['id']}/agents", headers=key)
    assert [(a["extension_id"], a["external_number"], a["penalty"]) for a in r.json()["items"]] == [
        (exts[0]["id"], None, 3),
        (None, "+12125550100", 0),
    ]
    # Agents without their extensions: only the outside-number agents can follow.
    part = await w.api.tenant(
        parent=w.reseller["id"], template_id=template["id"], copy_resources=["queues", "queue_agents"]
    )
    key, queues = await copied(part)
    r = await c.get(f"/api/v1/tenants/{part['id']}/queues/{queues['Sales']['id']}/agents", headers=key)
    assert [(a["extension_id"], a["external_number"]) for a in r.json()["items"]] == [(None, "+12125550100")]
    # The template is unchanged.
    r = await c.get(f"{turl}/queues/{sales['id']}/agents", headers=tkey)
    assert {a["queue_id"] for a in r.json()["items"]} == {sales["id"]}
