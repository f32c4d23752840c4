"""The call-flow resolver and the static-loop guard over hand-built snapshots (pure, no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from centrex.callflow.guard import find_static_loop
from centrex.callflow.resolver import explain, follow, resolve_inbound, resolve_internal
from centrex.callflow.snapshot import TenantSnapshot

NY = "America/New_York"
SUNDAY_10 = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)  # 10:00 New York
MONDAY_10 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def ext(id_: str, number: str, **kw: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "number": number,
        "name": f"Ext {number}",
        "enabled": True,
        "dnd": False,
        "ring_timeout": 20,
        "forwarding": [],
        "voicemail_enabled": True,
        "outbound_level": "national",
        "external_caller_id_number": None,
        "emergency_location": None,
        **kw,
    }


def office() -> TenantSnapshot:
    snap = TenantSnapshot(
        tenant_id="ten_1",
        tenant_code="acme",
        status="active",
        timezone=NY,
        language="en",
        extension_length=3,
        allowed_classes=frozenset({"internal", "local", "national", "mobile", "toll_free", "emergency"}),
        emergency_location={"address_line1": "1 Main St", "city": "Springfield"},
    )
    for e in (ext("ext_op", "100"), ext("ext_a", "101"), ext("ext_b", "102", outbound_level="internal")):
        snap.extensions[e["id"]] = e
        snap.dial_plan[e["number"]] = ("extension", e["id"])
    snap.voicemail_boxes["vmb_main"] = {"id": "vmb_main", "number": "800", "name": "Main", "max_message_seconds": 180}
    snap.voicemail_boxes["vmb_a"] = {"id": "vmb_a", "number": "101", "name": "Alice", "owner_extension_id": "ext_a"}
    snap.personal_box["ext_a"] = "vmb_a"
    snap.ring_groups["rgp_support"] = {
        "id": "rgp_support",
        "name": "Support",
        "number": "600",
        "strategy": "ring_all",
        "ring_time": 20,
        "members": [{"type": "extension", "extension_id": "ext_a"}],
        "no_answer_destination": {"type": "voicemail", "id": "vmb_main"},
    }
    snap.queues["que_sales"] = {
        "id": "que_sales",
        "name": "Sales",
        "number": "700",
        "strategy": "round_robin",
        "join_empty": True,
        "max_wait": 300,
        "timeout_destination": {"type": "hangup"},
    }
    snap.queue_agents["que_sales"] = [
        {"id": "qag_1", "logged_in": True, "paused": False},
        {"id": "qag_2", "logged_in": True, "paused": True},
    ]
    snap.ivrs["ivr_main"] = {
        "id": "ivr_main",
        "name": "Main menu",
        "timeout": 5,
        "max_retries": 3,
        "dial_by_name": True,
        "options": {
            "1": {"type": "queue", "id": "que_sales"},
            "2": {"type": "ring_group", "id": "rgp_support"},
            "0": {"type": "extension", "id": "ext_op"},
            "9": {"type": "ivr", "id": "ivr_main"},
        },
        "timeout_destination": {"type": "extension", "id": "ext_op"},
    }
    snap.time_conditions["tmc_hours"] = {
        "id": "tmc_hours",
        "name": "Business hours",
        "timezone": NY,
        "mode": "auto",
        "weekly": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}],
        "holidays": [{"name": "Christmas", "date": "2026-12-25", "recurring": True}],
        "open_destination": {"type": "ivr", "id": "ivr_main"},
        "closed_destination": {"type": "voicemail", "id": "vmb_main"},
    }
    snap.inbound_by_number["+14155550100"] = {
        "id": "inr_main",
        "name": "Main number",
        "destination": {"type": "time_condition", "id": "tmc_hours"},
    }
    snap.trunks["trk_1"] = {
        "id": "trk_1",
        "tenant_id": "ten_platform",
        "name": "Carrier",
        "enabled": True,
        "number_format": "e164",
        "dial_prefix": "",
    }
    snap.outbound_routes = [
        {
            "id": "obr_911",
            "name": "Emergency",
            "emergency": True,
            "destination_class": "emergency",
            "trunk_ids": [],
            "patterns": [{"match": "911"}, {"match": "933"}, {"match": "9911", "strip": 1}],
            "priority": 0,
        },
        {
            "id": "obr_nat",
            "name": "National",
            "emergency": False,
            "destination_class": "national",
            "trunk_ids": ["trk_1"],
            "priority": 10,
            "patterns": [
                {"match": "9NXXNXXXXXX", "strip": 1, "prepend": "+1"},
                {"match": "NXXNXXXXXX", "prepend": "+1"},
            ],
        },
        {
            "id": "obr_intl",
            "name": "International",
            "emergency": False,
            "destination_class": "international",
            "trunk_ids": ["trk_1"],
            "priority": 20,
            "patterns": [{"match": "9011.", "strip": 4, "prepend": "+"}],
        },
    ]
    return snap


def test_inbound_open_hours_reach_the_ivr() -> None:
    res = resolve_inbound(office(), "+14155550100", "+12125550000", MONDAY_10)
    assert res.step["kind"] == "ivr" and res.step["ivr_id"] == "ivr_main"
    assert [t["kind"] for t in res.trace] == ["inbound_route", "time_condition", "ivr"]
    assert "open" in res.trace[1]["detail"] and "Monday 10:00" in res.trace[1]["detail"]


def test_inbound_after_hours_and_holidays_reach_voicemail() -> None:
    res = resolve_inbound(office(), "+14155550100", None, SUNDAY_10)
    assert res.step == {
        "kind": "voicemail",
        "box_id": "vmb_main",
        "number": "800",
        "greeting": "unavailable",
        "max_message_seconds": 180,
    }
    christmas = datetime(2026, 12, 25, 15, 0, tzinfo=UTC)
    res = resolve_inbound(office(), "+14155550100", None, christmas)
    assert res.step["kind"] == "voicemail" and "holiday" in res.trace[1]["detail"]


def test_unknown_did_and_blocked_callers() -> None:
    snap = office()
    assert resolve_inbound(snap, "+14155559999", None, MONDAY_10).step["status"] == 404
    snap.caller_id_blocks = [{"id": "cib_1", "pattern": "+1900XXXXXXX", "action": "reject", "reason": "premium"}]
    res = resolve_inbound(snap, "+14155550100", "+19005551234", MONDAY_10)
    assert res.step == {"kind": "reject", "status": 403, "reason": "caller blocked"}
    snap.status = "suspended"
    assert resolve_inbound(snap, "+14155550100", None, MONDAY_10).step["status"] == 503


def test_extension_states_and_forwarding() -> None:
    snap = office()
    res = resolve_internal(snap, "101", "ext_op", MONDAY_10)
    assert res.step["kind"] == "ring_extension" and res.step["on_no_answer"]["id"] == "vmb_a"
    snap.extensions["ext_a"]["dnd"] = True
    res = resolve_internal(snap, "101", "ext_op", MONDAY_10)
    assert res.step["kind"] == "voicemail" and res.step["greeting"] == "busy"
    snap.extensions["ext_a"]["dnd"] = False
    snap.extensions["ext_a"]["forwarding"] = [
        {"condition": "always", "enabled": True, "destination": {"type": "ring_group", "id": "rgp_support"}}
    ]
    res = resolve_internal(snap, "101", "ext_op", MONDAY_10)
    assert res.step["kind"] == "ring_group" and "forwards all calls" in res.trace[1]["detail"]
    snap.extensions["ext_b"]["voicemail_enabled"] = False
    snap.extensions["ext_b"]["dnd"] = True
    assert resolve_internal(snap, "102", "ext_op", MONDAY_10).step == {
        "kind": "reject",
        "status": 486,
        "reason": "do not disturb",
    }


def test_outbound_routes_permissions_and_emergency() -> None:
    snap = office()
    res = resolve_internal(snap, "94155551234", "ext_a", MONDAY_10)
    assert res.step["kind"] == "external" and res.step["number"] == "+14155551234"
    assert res.step["trunks"] == [{"trunk_id": "trk_1", "name": "Carrier", "dial": "+14155551234"}]
    # International is not in the tenant's allowed classes; an internal-only extension may not call out at all.
    assert resolve_internal(snap, "9011442079460958", "ext_a", MONDAY_10).step["status"] == 403
    assert resolve_internal(snap, "94155551234", "ext_b", MONDAY_10).step["status"] == 403
    # 911 always works, without a prefix, from the most restricted extension, with the dispatchable location.
    for dialled in ("911", "9911", "112"):
        res = resolve_internal(snap, dialled, "ext_b", MONDAY_10)
        assert res.step["kind"] == "external" and res.step["emergency"] and res.step["notify"]
        assert res.step["number"] == "911" and res.step["emergency_location"]["city"] == "Springfield"
        assert res.step["trunks"][0]["trunk_id"] == "trk_1"
    snap.status = "suspended"
    assert resolve_internal(snap, "911", "ext_b", MONDAY_10).step["kind"] == "external"
    assert resolve_internal(snap, "101", "ext_b", MONDAY_10).step["status"] == 503
    assert resolve_internal(office(), "12", "ext_a", MONDAY_10).step["status"] == 404


def test_route_closed_by_its_time_condition() -> None:
    snap = office()
    snap.outbound_routes[1]["time_condition_id"] = "tmc_hours"
    res = resolve_internal(snap, "94155551234", "ext_a", SUNDAY_10)
    assert res.step["status"] == 404 and "closed now" in res.trace[0]["detail"]


def test_explain_expands_every_branch_and_marks_loops() -> None:
    snap = office()
    res = resolve_inbound(snap, "+14155550100", None, MONDAY_10)
    out = explain(snap, res, MONDAY_10)
    branches = out["branches"]
    assert branches["key 1"]["step"]["kind"] == "queue" and branches["key 1"]["step"]["agents_ready"] == 1
    assert branches["key 2"]["step"]["kind"] == "ring_group"
    assert branches["key 2"]["branches"]["on_no_answer"]["step"]["box_id"] == "vmb_main"
    assert branches["key 0"]["step"]["extension_id"] == "ext_op"
    assert branches["key 9"] == {"loops_back_to": "ivr Main menu"}
    assert branches["on_timeout"]["step"]["extension_id"] == "ext_op"


def test_announcement_then_next_and_missing_objects() -> None:
    snap = office()
    snap.media["med_1"] = {"id": "med_1", "name": "Welcome"}
    res = follow(
        snap, {"type": "announcement", "media_id": "med_1", "next": {"type": "ivr", "id": "ivr_main"}}, MONDAY_10
    )
    assert res.step["kind"] == "play" and res.step["next"]["id"] == "ivr_main"
    assert follow(snap, {"type": "queue", "id": "que_gone"}, MONDAY_10).step["status"] == 404


def test_static_loops_are_found_and_menu_options_are_not_loops() -> None:
    snap = office()
    assert find_static_loop(snap) is None  # ivr key 9 → itself is a caller action
    snap.ring_groups["rgp_support"]["no_answer_destination"] = {"type": "time_condition", "id": "tmc_hours"}
    snap.time_conditions["tmc_hours"]["closed_destination"] = {"type": "ring_group", "id": "rgp_support"}
    loop = find_static_loop(snap)
    assert loop is not None and any("Support" in s for s in loop) and any("Business hours" in s for s in loop)
    snap = office()
    snap.extensions["ext_a"]["forwarding"] = [
        {"condition": "always", "enabled": True, "destination": {"type": "extension", "id": "ext_b"}}
    ]
    snap.extensions["ext_b"]["forwarding"] = [
        {
            "condition": "no_answer",
            "enabled": True,
            "destination": {"type": "announcement", "media_id": "m", "next": {"type": "extension", "id": "ext_a"}},
        }
    ]
    assert find_static_loop(snap) is not None
