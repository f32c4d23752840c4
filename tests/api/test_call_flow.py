"""The end-to-end call flow of issue 4 ("done means"): a small business built entirely through the HTTP API, then
every path explained by the resolver endpoints at fixed instants.

Main number → inbound route → business hours (America/New_York, Mon–Fri 09:00–17:00, Christmas a holiday) → IVR
(1 = sales queue, 2 = support ring group, 0 = operator, dial by name) — after hours a shared voicemail box, on the
holiday the same box with its temporary greeting. Changes made through the API (the inbound route, office mode) show
in the very next resolve, a static loop is refused, and the platform-wide resolver finds the tenant by its DID.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from tests.api.harness import World

NY = "America/New_York"
MONDAY_10 = "2026-11-23T10:00:00-05:00"  # a Monday, 10:00 in New York (EST)
MONDAY_18 = "2026-11-23T18:00:00-05:00"  # the same Monday after hours
SATURDAY_10 = "2026-11-28T10:00:00-05:00"
CHRISTMAS_10 = "2026-12-25T10:00:00-05:00"  # a Friday, but a holiday
JULY_10 = "2026-07-06T14:00:00Z"  # a Monday, 10:00 in New York (EDT, UTC-4)


@dataclass
class Office:
    """The ids of everything the small business is made of."""

    did: str
    number_id: str
    operator: dict[str, Any]
    sales_agent: dict[str, Any]
    support: list[dict[str, Any]]
    queue: dict[str, Any]
    ring_group: dict[str, Any]
    box: dict[str, Any]
    ivr: dict[str, Any]
    hours: dict[str, Any]
    route: dict[str, Any]


def url(w: World, plural: str, obj_id: str | None = None) -> str:
    base = f"/api/v1/tenants/{w.a['id']}/{plural}"
    return f"{base}/{obj_id}" if obj_id else base


async def post(w: World, plural: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    r = await w.client.post(url(w, plural), json=body, headers=headers or w.a_key)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def build_office(w: World) -> Office:
    """The small-business example, step by step as docs/call-flow.md shows it."""
    did = f"+1212{random.randint(2, 9)}{random.randint(0, 999999):06d}"
    number = await post(w, "numbers", {"number": did, "description": "Main number"}, w.reseller_key)

    ext = w.api.extension
    operator = await ext(w.a["id"], w.a_key, "100", name="Olga Operator", first_name="Olga", last_name="Operator")
    sam = await ext(w.a["id"], w.a_key, "201", name="Sam Sales", first_name="Sam", last_name="Sales")
    sue = await ext(w.a["id"], w.a_key, "301", name="Sue Support", first_name="Sue", last_name="Support")
    tom = await ext(w.a["id"], w.a_key, "302", name="Tom Tech", first_name="Tom", last_name="Tech")

    queue = await post(w, "queues", {"name": "Sales", "number": "600", "max_wait": 120})
    r = await w.client.post(
        f"{url(w, 'queues', queue['id'])}/agents", json={"extension_id": sam["id"]}, headers=w.a_key
    )
    assert r.status_code == 201, r.text
    ring_group = await post(
        w,
        "ring-groups",
        {
            "name": "Support",
            "number": "601",
            "strategy": "ring_all",
            "ring_time": 25,
            "members": [
                {"type": "extension", "extension_id": sue["id"]},
                {"type": "extension", "extension_id": tom["id"]},
            ],
        },
    )
    box = await post(w, "voicemail-boxes", {"number": "500", "name": "After hours", "email": "office@acme.example"})
    ivr = await post(
        w,
        "ivrs",
        {
            "name": "Main menu",
            "number": "800",
            "greeting_text": "Thank you for calling ACME. For sales press 1, for support press 2, for the operator "
            "press 0, or dial by name.",
            "options": {
                "1": {"type": "queue", "id": queue["id"]},
                "2": {"type": "ring_group", "id": ring_group["id"]},
                "0": {"type": "extension", "id": operator["id"]},
            },
            "dial_by_name": True,
            "timeout": 5,
            "max_retries": 2,
            "timeout_destination": {"type": "extension", "id": operator["id"]},
        },
    )
    hours = await post(
        w,
        "time-conditions",
        {
            "name": "Business hours",
            "timezone": NY,
            "weekly": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}],
            "holidays": [{"name": "Christmas", "date": "2026-12-25", "recurring": True}],
            "open_destination": {"type": "ivr", "id": ivr["id"]},
            "closed_destination": {"type": "voicemail", "id": box["id"]},
            "holiday_destination": {"type": "voicemail", "id": box["id"], "greeting": "temporary"},
        },
    )
    route = await post(
        w,
        "inbound-routes",
        {
            "name": "Main number",
            "number_id": number["id"],
            "destination": {"type": "time_condition", "id": hours["id"]},
        },
    )
    return Office(did, number["id"], operator, sam, [sue, tom], queue, ring_group, box, ivr, hours, route)


async def resolve(w: World, at: str, **body: Any) -> dict[str, Any]:
    """``POST …/routing/resolve`` for the tenant at a fixed instant."""
    r = await w.client.post(f"/api/v1/tenants/{w.a['id']}/routing/resolve", json={"at": at, **body}, headers=w.a_key)
    assert r.status_code == 200, r.text
    return dict(r.json())


def kinds(answer: dict[str, Any]) -> list[str]:
    return [entry["kind"] for entry in answer["trace"]]


# ------------------------------------------------------------------------------------------------ the paths
async def test_business_hours_reach_the_menu_and_every_key_is_explained(world: World) -> None:
    w = world
    o = await build_office(w)
    answer = await resolve(w, MONDAY_10, dialled=o.did, explain=True)
    assert answer["tenant_id"] == w.a["id"] and answer["direction"] == "inbound" and answer["dialled"] == o.did
    step = answer["step"]
    assert step["kind"] == "ivr" and step["ivr_id"] == o.ivr["id"], step
    assert step["dial_by_name"] is True and step["dial_by_extension"] is False
    assert step["timeout"] == 5 and step["max_retries"] == 2
    assert set(step["options"]) == {"0", "1", "2"}
    # The trace explains why: the number's route, the schedule's state in New York, the menu.
    assert kinds(answer) == ["inbound_route", "time_condition", "ivr"]
    route, tc, menu = answer["trace"]
    assert route["id"] == o.route["id"] and route["detail"] == f"{o.did} → route Main number"
    assert tc["id"] == o.hours["id"] and tc["name"] == "Business hours"
    assert tc["detail"] == "Monday 10:00 America/New_York: open (open hours: mon 09:00–17:00)"
    assert menu["id"] == o.ivr["id"] and menu["detail"] == "menu with keys 0, 1, 2"

    branches = answer["branches"]
    assert set(branches) == {"key 0", "key 1", "key 2", "on_timeout", "on_invalid"}
    # 1 → the sales queue with its one agent ready.
    sales = branches["key 1"]["step"]
    assert sales["kind"] == "queue" and sales["queue_id"] == o.queue["id"]
    assert sales["agents_ready"] == 1 and sales["max_wait"] == 120
    # 2 → the support ring group ringing both members.
    support = branches["key 2"]["step"]
    assert support["kind"] == "ring_group" and support["ring_group_id"] == o.ring_group["id"]
    assert [m["extension_id"] for m in support["members"]] == [e["id"] for e in o.support]
    assert support["strategy"] == "ring_all" and all(m["ring_time"] == 25 for m in support["members"])
    # 0 → the operator's phone; the timeout goes there too; an invalid key hangs up (the default).
    operator = branches["key 0"]["step"]
    assert operator["kind"] == "ring_extension" and operator["extension_id"] == o.operator["id"]
    assert operator["number"] == "100" and operator["name"] == "Olga Operator"
    assert branches["on_timeout"]["step"]["extension_id"] == o.operator["id"]
    assert branches["on_invalid"]["step"] == {"kind": "hangup"}
    assert branches["key 1"]["trace"][0]["kind"] == "queue"

    # Without explain there are no branches; the step and trace are the same.
    plain = await resolve(w, MONDAY_10, dialled=o.did)
    assert plain["branches"] is None and plain["step"] == step and plain["trace"] == answer["trace"]
    # The national form of the DID is the same number; daylight-saving time is New York's too.
    national = await resolve(w, JULY_10, dialled=o.did.removeprefix("+1"))
    assert national["dialled"] == o.did and national["step"]["kind"] == "ivr"
    assert "Monday 10:00" in national["trace"][1]["detail"]

    # The menu's destinations, with names, as the IVR endpoint lists them.
    r = await w.client.get(f"{url(w, 'ivrs', o.ivr['id'])}/destinations", headers=w.a_key)
    assert r.status_code == 200, r.text
    summaries = {item["field"]: item["summary"] for item in r.json()["items"]}
    assert summaries == {
        "options.1": "queue 600 Sales",
        "options.2": "ring group 601 Support",
        "options.0": "extension 100 Olga Operator",
        "timeout_destination": "extension 100 Olga Operator",
        "invalid_destination": "hang up",
    }


async def test_after_hours_weekends_and_holidays_go_to_voicemail(world: World) -> None:
    w = world
    o = await build_office(w)
    for at, local in ((MONDAY_18, "Monday 18:00"), (SATURDAY_10, "Saturday 10:00")):
        answer = await resolve(w, at, dialled=o.did)
        assert answer["step"] == {
            "kind": "voicemail",
            "box_id": o.box["id"],
            "number": "500",
            "greeting": "unavailable",
            "max_message_seconds": 180,
        }, answer
        assert kinds(answer) == ["inbound_route", "time_condition", "voicemail"]
        assert answer["trace"][1]["detail"].startswith(f"{local} America/New_York: closed (outside open hours")
        assert answer["trace"][2]["detail"] == "leave a message (unavailable greeting)"

    holiday = await resolve(w, CHRISTMAS_10, dialled=o.did)
    assert holiday["step"]["kind"] == "voicemail" and holiday["step"]["greeting"] == "temporary"
    assert holiday["trace"][1]["detail"] == "Friday 10:00 America/New_York: holiday (holiday: Christmas)"
    # Recurring: the next Christmas too.
    next_year = await resolve(w, "2027-12-25T15:00:00Z", dialled=o.did)
    assert next_year["step"]["greeting"] == "temporary"

    # The schedule's own state endpoint agrees at the same instants.
    state_url = f"{url(w, 'time-conditions', o.hours['id'])}/state"
    for at, expected in ((MONDAY_10, "open"), (SATURDAY_10, "closed"), (CHRISTMAS_10, "holiday")):
        r = await w.client.get(state_url, params={"at": at}, headers=w.a_key)
        assert r.status_code == 200, r.text
        assert r.json()["state"] == expected and r.json()["override"] is False


async def test_internal_calls_and_the_platform_resolver(world: World) -> None:
    w = world
    o = await build_office(w)
    # An extension dialling the menu's number reaches the same menu (the tenant's dial plan).
    inside = await resolve(w, MONDAY_10, dialled="800", from_extension="201")
    assert inside["direction"] == "internal" and inside["step"]["kind"] == "ivr"
    assert inside["trace"][0] == {
        "kind": "dial_plan",
        "detail": "800 is ivr 800 Main menu",
        "id": o.ivr["id"],
        "name": None,
    }
    queue = await resolve(w, MONDAY_10, dialled="600", from_extension=o.operator["id"])
    assert queue["step"]["kind"] == "queue" and queue["step"]["queue_id"] == o.queue["id"]

    # The platform-wide resolver finds the tenant by its DID, for keys whose sub-tree holds it.
    for headers in (w.a_key, w.reseller_key):
        r = await w.client.post(
            "/api/v1/routing/resolve", json={"did": o.did, "at": SATURDAY_10, "explain": True}, headers=headers
        )
        assert r.status_code == 200, r.text
        assert r.json()["tenant_id"] == w.a["id"] and r.json()["step"]["box_id"] == o.box["id"]
    r = await w.client.post("/api/v1/routing/resolve", json={"did": o.did, "at": SATURDAY_10}, headers=w.b_key)
    assert r.status_code == 404, r.text
    assert w.a["id"] not in r.text and "number" in r.json()["detail"]  # nothing about the owner leaks
    r = await w.client.post("/api/v1/routing/resolve", json={"did": "+12125550000"}, headers=w.a_key)
    assert r.status_code == 404
    r = await w.client.post("/api/v1/routing/resolve", json={"did": "hello"}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "did"
    # A read-only key may ask; another tenant's key may not ask about this tenant.
    r = await w.client.post(
        f"/api/v1/tenants/{w.a['id']}/routing/resolve", json={"dialled": o.did, "at": MONDAY_10}, headers=w.a_ro
    )
    assert r.status_code == 200 and r.json()["step"]["kind"] == "ivr"
    r = await w.client.post(
        f"/api/v1/tenants/{w.a['id']}/routing/resolve", json={"dialled": o.did, "at": MONDAY_10}, headers=w.b_key
    )
    assert r.status_code == 404


# ------------------------------------------------------------------------------------------------ changes
async def test_changes_through_the_api_show_in_the_next_resolve(world: World) -> None:
    w, c = world, world.client
    o = await build_office(w)
    assert (await resolve(w, MONDAY_10, dialled=o.did))["step"]["kind"] == "ivr"  # snapshot now cached

    # Office mode "closed" (no end time): the very next resolve goes to voicemail, in business hours too.
    mode_url = f"{url(w, 'time-conditions', o.hours['id'])}/mode"
    r = await c.post(mode_url, json={"mode": "closed"}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["mode"] == "closed", r.text
    closed = await resolve(w, MONDAY_10, dialled=o.did)
    assert closed["step"]["kind"] == "voicemail" and closed["step"]["box_id"] == o.box["id"]
    assert closed["trace"][1]["detail"] == "Monday 10:00 America/New_York: closed (manual override: closed)"
    r = await c.get(f"{url(w, 'time-conditions', o.hours['id'])}/state", params={"at": MONDAY_10}, headers=w.a_key)
    assert r.json()["state"] == "closed" and r.json()["override"] is True and r.json()["next_change"] is None
    # Back to the schedule.
    r = await c.post(mode_url, json={"mode": "auto"}, headers=w.a_key)
    assert r.status_code == 200, r.text
    assert (await resolve(w, MONDAY_10, dialled=o.did))["step"]["kind"] == "ivr"

    # Point the number straight at the operator: the next resolve rings extension 100 at any time.
    r = await c.patch(
        url(w, "inbound-routes", o.route["id"]),
        json={"destination": {"type": "extension", "id": o.operator["id"]}},
        headers=w.a_key,
    )
    assert r.status_code == 200, r.text
    direct = await resolve(w, SATURDAY_10, dialled=o.did)
    assert direct["step"]["kind"] == "ring_extension" and direct["step"]["extension_id"] == o.operator["id"]
    assert kinds(direct) == ["inbound_route", "extension"]
    # Extensions have voicemail by default: the operator's no-answer leads to their personal box.
    r = await c.get(url(w, "voicemail-boxes"), params={"owner_extension_id": o.operator["id"]}, headers=w.a_key)
    (personal,) = r.json()["items"]
    assert direct["step"]["on_no_answer"] == {"type": "voicemail", "id": personal["id"], "greeting": "unavailable"}
    # Turning voicemail off is visible at once: no answer then simply ends the ringing (no fallback).
    r = await c.patch(url(w, "extensions", o.operator["id"]), json={"voicemail_enabled": False}, headers=w.a_key)
    assert r.status_code == 200, r.text
    step = (await resolve(w, SATURDAY_10, dialled=o.did))["step"]
    assert step["kind"] == "ring_extension" and step["on_no_answer"] is None

    # A menu key changed through the API is what the next explanation shows.
    r = await c.patch(
        url(w, "ivrs", o.ivr["id"]),
        json={
            "options": {
                "1": {"type": "queue", "id": o.queue["id"]},
                "2": {"type": "ring_group", "id": o.ring_group["id"]},
                "0": {"type": "extension", "id": o.operator["id"]},
                "9": {"type": "voicemail", "id": o.box["id"]},
            }
        },
        headers=w.a_key,
    )
    assert r.status_code == 200, r.text
    r = await c.patch(
        url(w, "inbound-routes", o.route["id"]),
        json={"destination": {"type": "time_condition", "id": o.hours["id"]}},
        headers=w.a_key,
    )
    assert r.status_code == 200, r.text
    menu = await resolve(w, MONDAY_10, dialled=o.did, explain=True)
    assert menu["branches"]["key 9"]["step"]["box_id"] == o.box["id"]

    # Disabling the route: the number is no longer routed.
    r = await c.patch(url(w, "inbound-routes", o.route["id"]), json={"enabled": False}, headers=w.a_key)
    assert r.status_code == 200, r.text
    gone = await resolve(w, MONDAY_10, dialled=o.did)
    assert gone["step"] == {"kind": "reject", "status": 404, "reason": f"no inbound route for {o.did}"}


async def test_a_static_loop_is_refused_and_changes_nothing(world: World) -> None:
    w, c = world, world.client
    o = await build_office(w)
    before = await resolve(w, MONDAY_10, dialled=o.did, explain=True)
    # The menu's timeout back to the business-hours condition: open hours lead to the menu again, for ever.
    r = await c.patch(
        url(w, "ivrs", o.ivr["id"]),
        json={"timeout_destination": {"type": "time_condition", "id": o.hours["id"]}},
        headers=w.a_key,
    )
    assert r.status_code in (409, 422), r.text
    problem = r.json()
    assert problem["code"] == "static_loop", problem
    assert "Business hours" in problem["detail"] and "Main menu" in problem["detail"]
    ivr = (await c.get(url(w, "ivrs", o.ivr["id"]), headers=w.a_key)).json()
    assert ivr["timeout_destination"] == {"type": "extension", "id": o.operator["id"]}
    # The business-hours condition opening onto itself.
    r = await c.patch(
        url(w, "time-conditions", o.hours["id"]),
        json={"open_destination": {"type": "time_condition", "id": o.hours["id"]}},
        headers=w.a_key,
    )
    assert r.status_code in (409, 422) and r.json()["code"] == "static_loop", r.text
    # Forwarding the operator always to the business hours closes the cycle hours → menu → (timeout) operator.
    r = await c.patch(
        url(w, "extensions", o.operator["id"]),
        json={"forwarding": [{"condition": "always", "destination": {"type": "time_condition", "id": o.hours["id"]}}]},
        headers=w.a_key,
    )
    assert r.status_code in (409, 422) and r.json()["code"] == "static_loop", r.text
    operator = (await c.get(url(w, "extensions", o.operator["id"]), headers=w.a_key)).json()
    assert operator["forwarding"] == o.operator["forwarding"]
    # Nothing changed: the resolver explains the same call flow as before.
    after = await resolve(w, MONDAY_10, dialled=o.did, explain=True)
    assert after == before
    # A key back to the menu is not a loop (the caller presses it) and is accepted.
    r = await c.patch(
        url(w, "ivrs", o.ivr["id"]),
        json={"options": {**ivr["options"], "*": {"type": "ivr", "id": o.ivr["id"]}}},
        headers=w.a_key,
    )
    assert r.status_code == 200, r.text
    again = await resolve(w, MONDAY_10, dialled=o.did, explain=True)
    assert again["branches"]["key *"] == {"loops_back_to": "ivr 800 Main menu"}


async def test_blocked_callers_and_outbound_calls_of_the_office(world: World) -> None:
    w, c = world, world.client
    o = await build_office(w)
    # A blocked caller is turned away before any route.
    r = await c.post(
        url(w, "caller-id-blocks"), json={"pattern": "+1900NXXXXXX", "reason": "premium spam"}, headers=w.a_key
    )
    assert r.status_code == 201, r.text
    blocked = await resolve(w, MONDAY_10, dialled=o.did, caller_id="+19005550123")
    assert blocked["step"] == {"kind": "reject", "status": 403, "reason": "caller blocked"}
    assert kinds(blocked) == ["caller_id_block"]
    other = await resolve(w, MONDAY_10, dialled=o.did, caller_id="+12125550123")
    assert other["step"]["kind"] == "ivr"

    # Outbound: a carrier trunk and a national route; an extension dialling a 10-digit number goes out with a 1.
    r = await c.post(
        url(w, "trunks"),
        json={
            "name": "Carrier",
            "kind": "registration",
            "host": "sip.carrier.example",
            "username": "acme",
            "password": "Carrier-s3cret",
            "number_format": "e164",
        },
        headers=w.a_key,
    )
    assert r.status_code == 201, r.text
    trunk = r.json()
    r = await c.post(
        url(w, "outbound-routes"),
        json={
            "name": "US national",
            "patterns": [{"match": "1NXXNXXXXXX", "prepend": "+"}, {"match": "NXXNXXXXXX", "prepend": "+1"}],
            "destination_class": "national",
            "trunk_ids": [trunk["id"]],
            "caller_id_number": o.did,
        },
        headers=w.a_key,
    )
    assert r.status_code == 201, r.text
    route = r.json()
    out = await resolve(w, MONDAY_10, dialled="2125550123", from_extension="201")
    assert out["step"] == {
        "kind": "external",
        "number": "+12125550123",
        "destination_class": "national",
        "route_id": route["id"],
        "trunks": [{"trunk_id": trunk["id"], "name": "Carrier", "dial": "+12125550123"}],
        "caller_id": o.did,
        "emergency": False,
    }
    # Emergency: 9911 goes out as 911 through the always-present emergency route. Its trunk list is empty, which
    # means every trunk the tenant may use: its own first, then the reseller's shared trunk.
    r = await c.post(
        f"/api/v1/tenants/{w.reseller['id']}/trunks",
        json={
            "name": "Reseller carrier",
            "kind": "ip",
            "host": "8.8.8.8",
            "allowed_ips": ["8.8.8.0/24"],
            "shared": True,
        },
        headers=w.reseller_key,
    )
    assert r.status_code == 201, r.text
    shared = r.json()
    sos = await resolve(w, SATURDAY_10, dialled="9911", from_extension="100")
    assert sos["step"]["kind"] == "external" and sos["step"]["number"] == "911", sos
    assert sos["step"]["emergency"] is True and sos["step"]["destination_class"] == "emergency"
    assert sos["step"]["trunks"] == [
        {"trunk_id": trunk["id"], "name": "Carrier", "dial": "911"},
        {"trunk_id": shared["id"], "name": "Reseller carrier", "dial": "911"},
    ]
    assert sos["trace"][0]["kind"] == "emergency"
    assert sos["step"]["notify"] is True


async def test_resolving_with_cold_caches(world: World) -> None:
    """A resolve that must look the tenant up and load the snapshot as well (both caches cold) answers at once, on
    SQLite's single connection too."""
    w = world
    o = await build_office(w)
    for path, body in (
        (f"/api/v1/tenants/{w.a['id']}/routing/resolve", {"dialled": o.did, "at": MONDAY_10}),
        ("/api/v1/routing/resolve", {"did": o.did, "at": MONDAY_10}),
    ):
        w.api.state.tenants.invalidate()
        w.api.state.callflow.clear()
        r = await w.client.post(path, json=body, headers=w.a_key)
        assert r.status_code == 200, r.text
        assert r.json()["step"]["kind"] == "ivr"
