"""IVRs, time conditions and voicemail boxes: the generic checks, then every rule through HTTP with two tenants
(dial-plan numbers, greetings and media, destinations, static loops, schedule state at fixed instants, office-mode
overrides and their expiry, PINs and end users, in-use deletes, template copies)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from centrex.db.models.media import MediaFile
from centrex.db.models.voicemail import VoicemailBox
from centrex.db.uow import UnitOfWork
from centrex.security.passwords import verify_password
from tests.api.harness import World, unique
from tests.api.mixins import TenantResourceTests

NY = "America/New_York"
OFFICE = [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}]
ALWAYS_OPEN = [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"}]
CHRISTMAS = [{"name": "Christmas", "date": "2020-12-25", "recurring": True}]
_box_numbers = itertools.count(1000)


def base(w: World, tenant: dict[str, Any], plural: str) -> str:
    return f"/api/v1/tenants/{tenant['id']}/{plural}"


def key_of(w: World, tenant: dict[str, Any]) -> dict[str, str]:
    return w.a_key if tenant is w.a else w.b_key


async def media(w: World, tenant: dict[str, Any], name: str | None = None) -> str:
    """A media file of ``tenant`` (written directly: uploading audio is the media API's business)."""
    async with UnitOfWork(w.api.state.db) as uow:
        row = MediaFile(tenant_id=tenant["id"], name=name or unique("prompt"), kind="prompt", blob_sha256="0" * 64)
        uow.session.add(row)
        await uow.session.flush()
        await uow.commit()
        return row.id


async def ivr(w: World, tenant: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {"name": unique("Menu "), "greeting_text": "Welcome", **extra}
    r = await w.client.post(base(w, tenant, "ivrs"), json=body, headers=key_of(w, tenant))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def time_condition(w: World, tenant: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {
        "name": unique("Hours "),
        "timezone": NY,
        "weekly": OFFICE,
        "holidays": CHRISTMAS,
        "open_destination": {"type": "hangup"},
        "closed_destination": {"type": "hangup"},
        **extra,
    }
    r = await w.client.post(base(w, tenant, "time-conditions"), json=body, headers=key_of(w, tenant))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def box(w: World, tenant: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {"number": str(next(_box_numbers)), "name": "Shared box", **extra}
    r = await w.client.post(base(w, tenant, "voicemail-boxes"), json=body, headers=key_of(w, tenant))
    assert r.status_code == 201, r.text
    return dict(r.json())


# ================================================================================================= generic checks
class TestIvrs(TenantResourceTests):
    plural = "ivrs"
    resource = "ivr"
    invalid = [
        ({"name": "bad/name"}, "name"),
        ({"name": " "}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"number": "0123"}, "number"),
        ({"number": "911"}, "number"),
        ({"greeting_text": None}, "greeting_text"),
        ({"greeting_text": "x" * 1001}, "greeting_text"),
        ({"greeting_media_id": "med_doesnotexist"}, "greeting_media_id"),
        ({"invalid_media_id": "med_doesnotexist"}, "invalid_media_id"),
        ({"options": {"5x": {"type": "hangup"}}}, "options"),
        ({"options": {"1": {"type": "extension", "id": "ext_doesnotexist"}}}, "options.1"),
        ({"options": {"2": {"type": "voicemail"}}}, "options.2"),
        ({"options": {"3": {"type": "fax"}}}, "options.3"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": 61}, "timeout"),
        ({"timeout": "5"}, "timeout"),
        ({"max_retries": 11}, "max_retries"),
        ({"dial_by_name": 1}, "dial_by_name"),
        ({"timeout_destination": {"type": "ivr", "id": "ivr_doesnotexist"}}, "timeout_destination"),
        ({"invalid_destination": {"type": "external", "number": "12"}}, "invalid_destination"),
        ({"language": "English"}, "language"),
    ]

    async def payload(self, w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        ext = await w.api.extension(tenant["id"], headers)
        return {
            "name": unique("Menu "),
            "greeting_text": "Thanks for calling. Press 1 for sales, 0 for the operator.",
            "options": {"1": {"type": "extension", "id": ext["id"]}, "0": {"type": "extension", "id": ext["id"]}},
            "timeout_destination": {"type": "extension", "id": ext["id"]},
        }

    def update(self) -> dict[str, Any]:
        return {"timeout": 7, "max_retries": 2, "dial_by_name": True, "greeting_text": "Hello again"}


class TestTimeConditions(TenantResourceTests):
    plural = "time-conditions"
    resource = "time_condition"
    invalid = [
        ({"name": ""}, "name"),
        ({"weekly": [{"days": ["funday"], "start": "09:00", "end": "17:00"}]}, "weekly"),
        ({"weekly": [{"days": [], "start": "09:00", "end": "17:00"}]}, "weekly"),
        ({"weekly": [{"days": ["mon", "mon"], "start": "09:00", "end": "17:00"}]}, "weekly"),
        ({"weekly": [{"days": ["mon"], "start": "9:00", "end": "17:00"}]}, "weekly"),
        ({"weekly": [{"days": ["mon"], "start": "09:00", "end": "25:00"}]}, "weekly"),
        ({"weekly": [{"days": ["mon"], "start": "09:00", "end": "09:00"}]}, "weekly"),
        ({"weekly": [{"days": ["mon"], "start": "09:00", "end": "00:00"}]}, "weekly"),
        ({"weekly": OFFICE * 101}, "weekly"),
        ({"holidays": [{"name": "x", "date": "2026-12-26", "end_date": "2026-12-25"}]}, "holidays"),
        ({"holidays": [{"name": "x", "date": "2026-13-01"}]}, "holidays"),
        ({"holidays": [{"name": "x", "date": 20261225}]}, "holidays"),
        ({"holidays": [{"name": "x", "date": "2026-01-01", "end_date": "2027-01-01", "recurring": True}]}, "holidays"),
        ({"holidays": [{"name": "x", "date": "2026-12-25"}] * 367}, "holidays"),
        ({"mode": "lunch"}, "mode"),
        ({"mode": "closed", "mode_until": "2000-01-01T00:00:00Z"}, "mode_until"),
        ({"mode": "closed", "mode_until": "2099-01-01T00:00:00"}, "mode_until"),
        ({"mode_until": "2099-01-01T00:00:00Z"}, "mode_until"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"flow_number": "12a"}, "flow_number"),
        ({"closed_destination": None}, "closed_destination"),
        ({"open_destination": {"type": "ivr", "id": "ivr_doesnotexist"}}, "open_destination"),
        ({"holiday_destination": {"type": "voicemail"}}, "holiday_destination"),
    ]

    async def payload(self, w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        ext = await w.api.extension(tenant["id"], headers)
        return {
            "name": unique("Business hours "),
            "timezone": NY,
            "weekly": OFFICE,
            "holidays": CHRISTMAS,
            "open_destination": {"type": "extension", "id": ext["id"]},
            "closed_destination": {"type": "hangup"},
        }

    def update(self) -> dict[str, Any]:
        return {"timezone": "Europe/Paris", "holidays": [], "closed_destination": {"type": "hangup"}}


class TestVoicemailBoxes(TenantResourceTests):
    plural = "voicemail-boxes"
    resource = "voicemail_box"
    invalid = [
        ({"number": "1"}, "number"),
        ({"number": "12345678901"}, "number"),
        ({"number": "12a"}, "number"),
        ({"number": None}, "number"),
        ({"name": ""}, "name"),
        ({"pin": "12"}, "pin"),
        ({"pin": "abcd"}, "pin"),
        ({"pin": 1234}, "pin"),
        ({"max_message_seconds": 5}, "max_message_seconds"),
        ({"max_message_seconds": 3601}, "max_message_seconds"),
        ({"max_messages": 0}, "max_messages"),
        ({"max_messages": 10001}, "max_messages"),
        ({"retention_days": 0}, "retention_days"),
        ({"retention_days": 3651}, "retention_days"),
        ({"greetings": {"welcome": "med_abc"}}, "greetings"),
        ({"greetings": {"busy": "med_doesnotexist"}}, "greetings.busy"),
        ({"active_greeting": "name"}, "active_greeting"),
        ({"owner_extension_id": "ext_doesnotexist"}, "owner_extension_id"),
        ({"email": "not-an-email"}, "email"),
        ({"email": None, "email_delete": True}, "email_delete"),
        ({"transcription": "yes"}, "transcription"),
    ]

    async def payload(self, w: World, tenant: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        return {
            "number": str(next(_box_numbers)),
            "name": "Sales team",
            "pin": "2468",
            "email": "sales@example.com",
            "max_messages": 200,
        }

    def update(self) -> dict[str, Any]:
        return {"name": "Support team", "max_messages": 50, "transcription": True, "retention_days": 30}


# ============================================================================================================ IVRs
async def test_ivr_number_shares_the_dial_plan(world: World) -> None:
    w, c = world, world.client
    ext = await w.api.extension(w.a["id"], w.a_key)
    url = base(w, w.a, "ivrs")
    r = await c.post(url, json={"name": "Main", "number": ext["number"], "greeting_text": "Hi"}, headers=w.a_key)
    assert r.status_code == 409 and r.json()["code"] == "duplicate"
    menu = await ivr(w, w.a, number="950")
    r = await c.post(url, json={"name": "Other", "number": "950", "greeting_text": "Hi"}, headers=w.a_key)
    assert r.status_code == 409
    # The extension side sees the IVR's number too; another tenant's number space is its own.
    r = await c.post(base(w, w.a, "extensions"), json={"number": "950", "name": "x"}, headers=w.a_key)
    assert r.status_code == 409 and r.json()["code"] == "duplicate"
    assert (await ivr(w, w.b, number="950"))["number"] == "950"
    r = await c.patch(f"{url}/{menu['id']}", json={"number": "911"}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "reserved"
    r = await c.patch(f"{url}/{menu['id']}", json={"number": ext["number"]}, headers=w.a_key)
    assert r.status_code == 409
    r = await c.patch(f"{url}/{menu['id']}", json={"number": None}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["number"] is None
    r = await c.post(base(w, w.a, "extensions"), json={"number": "950", "name": "x"}, headers=w.a_key)
    assert r.status_code == 201


async def test_ivr_names_are_unique_per_tenant_and_alphanumeric(world: World) -> None:
    w, c = world, world.client
    url = base(w, w.a, "ivrs")
    hol = await ivr(w, w.a, name="HOL")
    assert hol["name"] == "HOL"
    r = await c.post(url, json={"name": "hol", "greeting_text": "x"}, headers=w.a_key)
    assert r.status_code == 409 and r.json()["code"] == "duplicate"
    assert (await ivr(w, w.b, name="HOL"))["name"] == "HOL"
    other = await ivr(w, w.a, name="QCB")
    r = await c.patch(f"{url}/{other['id']}", json={"name": "HOL"}, headers=w.a_key)
    assert r.status_code == 409
    r = await c.patch(f"{url}/{other['id']}", json={"name": "Queue call-back_2"}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["name"] == "Queue call-back_2"
    r = await c.get(url, params={"name": "HOL"}, headers=w.a_key)
    assert [i["id"] for i in r.json()["items"]] == [hol["id"]]


async def test_ivr_greeting_is_media_of_the_tenant_or_text(world: World) -> None:
    w, c = world, world.client
    url = base(w, w.a, "ivrs")
    mine, foreign = await media(w, w.a), await media(w, w.b)
    r = await c.post(url, json={"name": "Media menu", "greeting_media_id": mine}, headers=w.a_key)
    assert r.status_code == 201, r.text
    menu = r.json()
    assert menu["greeting_media_id"] == mine and menu["greeting_text"] is None
    r = await c.post(url, json={"name": "Foreign", "greeting_media_id": foreign}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["code"] == "invalid_reference"
    r = await c.post(url, json={"name": "Silent"}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "greeting_text"
    # Removing the only greeting is refused and changes nothing.
    r = await c.patch(f"{url}/{menu['id']}", json={"greeting_media_id": None}, headers=w.a_key)
    assert r.status_code == 422
    r = await c.patch(f"{url}/{menu['id']}", json={"invalid_media_id": foreign}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["code"] == "invalid_reference"
    r = await c.get(f"{url}/{menu['id']}", headers=w.a_key)
    assert r.json()["greeting_media_id"] == mine and r.json()["invalid_media_id"] is None
    assert r.json()["updated_at"] == menu["updated_at"]
    r = await c.patch(
        f"{url}/{menu['id']}", json={"greeting_media_id": None, "greeting_text": "Spoken"}, headers=w.a_key
    )
    assert r.status_code == 200 and r.json()["greeting_text"] == "Spoken"


async def test_ivr_options_and_exits_must_be_in_the_same_tenant(world: World) -> None:
    w, c = world, world.client
    url = base(w, w.a, "ivrs")
    foreign_ext = await w.api.extension(w.b["id"], w.b_key)
    foreign_menu = await ivr(w, w.b)
    for body in (
        {"options": {"1": {"type": "extension", "id": foreign_ext["id"]}}},
        {"options": {"#": {"type": "ivr", "id": foreign_menu["id"]}}},
        {"timeout_destination": {"type": "extension", "id": foreign_ext["id"]}},
        {"invalid_destination": {"type": "announcement", "media_id": await media(w, w.b), "next": {"type": "hangup"}}},
    ):
        r = await c.post(url, json={"name": unique("M"), "greeting_text": "x", **body}, headers=w.a_key)
        assert r.status_code == 422 and r.json()["code"] == "invalid_reference", (body, r.text)
    assert (await c.get(url, headers=w.a_key)).json()["total"] == 0
    # Keys are 0-9, * and #; options are stored in key order.
    ext = await w.api.extension(w.a["id"], w.a_key)
    to_ext = {"type": "extension", "id": ext["id"]}
    menu = await ivr(w, w.a, options={"#": to_ext, "*": {"type": "hangup"}, "9": to_ext, "0": to_ext})
    assert list(menu["options"]) == ["0", "9", "*", "#"]
    r = await c.patch(f"{url}/{menu['id']}", json={"options": {"10": to_ext}}, headers=w.a_key)
    assert r.status_code == 422
    r = await c.patch(f"{url}/{menu['id']}", json={"options": None}, headers=w.a_key)
    assert r.status_code == 422


async def test_nested_menus_and_static_loops(world: World) -> None:
    w, c = world, world.client
    url = base(w, w.a, "ivrs")
    parent = await ivr(w, w.a, name="Main")
    # A submenu whose option goes back to the parent is fine (the caller presses a key).
    child = await ivr(w, w.a, name="Support", options={"9": {"type": "ivr", "id": parent["id"]}})
    r = await c.patch(
        f"{url}/{parent['id']}",
        json={"options": {"2": {"type": "ivr", "id": child["id"]}, "*": {"type": "ivr", "id": parent["id"]}}},
        headers=w.a_key,
    )
    assert r.status_code == 200, r.text
    # Timeouts that chase each other forever are refused, and nothing changes.
    r = await c.patch(
        f"{url}/{child['id']}", json={"timeout_destination": {"type": "ivr", "id": parent["id"]}}, headers=w.a_key
    )
    assert r.status_code == 200
    r = await c.patch(
        f"{url}/{parent['id']}", json={"timeout_destination": {"type": "ivr", "id": child["id"]}}, headers=w.a_key
    )
    assert r.status_code == 422 and r.json()["code"] == "static_loop", r.text
    assert "Main" in r.json()["detail"] and "Support" in r.json()["detail"]
    assert (await c.get(f"{url}/{parent['id']}", headers=w.a_key)).json()["timeout_destination"] is None
    # An invalid-input exit to itself loops as well.
    r = await c.patch(
        f"{url}/{parent['id']}", json={"invalid_destination": {"type": "ivr", "id": parent["id"]}}, headers=w.a_key
    )
    assert r.status_code == 422 and r.json()["code"] == "static_loop"
    # Through a time condition: menu timeout → schedule → back to the menu.
    tc = await time_condition(w, w.a, open_destination={"type": "ivr", "id": parent["id"]})
    r = await c.patch(
        f"{url}/{parent['id']}",
        json={"timeout_destination": {"type": "time_condition", "id": tc["id"]}},
        headers=w.a_key,
    )
    assert r.status_code == 422 and r.json()["code"] == "static_loop"


async def test_ivr_destinations_lists_targets_with_names(world: World) -> None:
    w, c = world, world.client
    url = base(w, w.a, "ivrs")
    ext = await w.api.extension(w.a["id"], w.a_key, name="Operator Olga")
    vm = await box(w, w.a, name="After hours")
    prompt = await media(w, w.a, name="closed-prompt")
    sub = await ivr(w, w.a, name="Sales", number="8200")
    menu = await ivr(
        w,
        w.a,
        options={
            "1": {"type": "ivr", "id": sub["id"]},
            "0": {"type": "extension", "id": ext["id"]},
            "8": {"type": "external", "number": "+14155550100"},
            "9": {
                "type": "announcement",
                "media_id": prompt,
                "next": {"type": "voicemail", "id": vm["id"], "greeting": "busy"},
            },
        },
        invalid_destination={"type": "voicemail", "id": vm["id"]},
    )
    r = await c.get(f"{url}/{menu['id']}/destinations", headers=w.a_ro)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == menu["id"] and body["name"] == menu["name"]
    items = {i["field"]: i for i in body["items"]}
    assert [i["field"] for i in body["items"]] == [
        "options.0",
        "options.1",
        "options.8",
        "options.9",
        "timeout_destination",
        "invalid_destination",
    ]
    assert items["options.0"]["key"] == "0"
    assert items["options.0"]["targets"] == [
        {
            "field": "options.0",
            "resource": "extension",
            "id": ext["id"],
            "name": "Operator Olga",
            "number": ext["number"],
        }
    ]
    assert items["options.1"]["summary"] == "ivr 8200 Sales"
    assert items["options.8"]["summary"] == "external +14155550100" and items["options.8"]["targets"] == []
    nine = items["options.9"]
    assert [(t["resource"], t["field"]) for t in nine["targets"]] == [
        ("media", "options.9.media_id"),
        ("voicemail_box", "options.9.next"),
    ]
    assert "closed-prompt" in nine["summary"] and "After hours" in nine["summary"] and "busy" in nine["summary"]
    assert items["timeout_destination"]["is_default"] is True and items["timeout_destination"]["type"] == "hangup"
    assert items["invalid_destination"]["targets"][0]["number"] == vm["number"]
    # Another tenant's menu is a 404.
    assert (await c.get(f"{url}/{menu['id']}/destinations", headers=w.b_key)).status_code == 404
    assert (await c.get(f"{base(w, w.b, 'ivrs')}/{menu['id']}/destinations", headers=w.b_key)).status_code == 404


async def test_referenced_menus_boxes_and_conditions_cannot_be_deleted(world: World) -> None:
    w, c = world, world.client
    sub = await ivr(w, w.a, name="Sub")
    vm = await box(w, w.a)
    tc = await time_condition(w, w.a)
    menu = await ivr(
        w,
        w.a,
        options={
            "1": {"type": "ivr", "id": sub["id"]},
            "2": {"type": "voicemail", "id": vm["id"]},
            "3": {"type": "time_condition", "id": tc["id"]},
        },
    )
    for plural, obj in (("ivrs", sub), ("voicemail-boxes", vm), ("time-conditions", tc)):
        r = await c.delete(f"{base(w, w.a, plural)}/{obj['id']}", headers=w.a_key)
        assert r.status_code == 409 and r.json()["code"] == "in_use", (plural, r.text)
        assert r.json()["references"][0]["id"] == menu["id"]
    r = await c.patch(f"{base(w, w.a, 'ivrs')}/{menu['id']}", json={"options": {}}, headers=w.a_key)
    assert r.status_code == 200
    for plural, obj in (("ivrs", sub), ("voicemail-boxes", vm), ("time-conditions", tc)):
        assert (await c.delete(f"{base(w, w.a, plural)}/{obj['id']}", headers=w.a_key)).status_code == 204


# ================================================================================================ time conditions
async def state(w: World, tc: dict[str, Any], at: str | None = None, headers: dict[str, str] | None = None) -> Any:
    params = {"at": at} if at else None
    return await w.client.get(
        f"{base(w, w.a, 'time-conditions')}/{tc['id']}/state", params=params, headers=headers or w.a_key
    )


async def test_state_at_fixed_instants(world: World) -> None:
    w = world
    ext = await w.api.extension(w.a["id"], w.a_key)
    vm = await box(w, w.a)
    open_dest = {"type": "extension", "id": ext["id"]}
    closed_dest = {"type": "voicemail", "id": vm["id"]}
    tc = await time_condition(w, w.a, open_destination=open_dest, closed_destination=closed_dest)
    # Sunday 10:00 in New York: closed until Monday 09:00.
    r = await state(w, tc, "2026-11-22T10:00:00-05:00")
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["state"] == "closed" and s["destination"] == closed_dest and s["override"] is False
    assert (
        s["timezone"] == NY and s["local_time"].startswith("2026-11-22T10:00:00") and s["local_time"].endswith("-05:00")
    )
    assert s["at"] == "2026-11-22T15:00:00Z" or s["at"].startswith("2026-11-22T15:00:00")
    assert _utc(s["next_change"]) == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    # Monday 10:00 (given in UTC): open until 17:00 New York time.
    s = (await state(w, tc, "2026-11-23T15:00:00Z")).json()
    assert s["state"] == "open" and s["destination"] == open_dest and "mon 09:00" in s["reason"]
    assert _utc(s["next_change"]) == datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    # Christmas (a Friday) is a holiday; without a holiday destination calls go to the closed one.
    s = (await state(w, tc, "2026-12-25T10:00:00-05:00")).json()
    assert s["state"] == "holiday" and "Christmas" in s["reason"] and s["destination"] == closed_dest
    r = await w.client.patch(
        f"{base(w, w.a, 'time-conditions')}/{tc['id']}",
        json={"holiday_destination": {"type": "hangup"}},
        headers=w.a_key,
    )
    assert r.status_code == 200
    s = (await state(w, tc, "2026-12-25T10:00:00-05:00")).json()
    assert s["destination"] == {"type": "hangup"}
    # Bad instants are 422; another tenant's condition is a 404; read-only keys may read the state.
    assert (await state(w, tc, "2026-11-23T10:00:00")).status_code == 422
    assert (await state(w, tc, "yesterday")).status_code == 422
    assert (await state(w, tc, "1700000000")).status_code == 422
    assert (await state(w, tc, headers=w.b_key)).status_code == 404
    r = await w.client.get(f"{base(w, w.b, 'time-conditions')}/{tc['id']}/state", headers=w.b_key)
    assert r.status_code == 404
    assert (await state(w, tc, headers=w.a_ro)).status_code == 200


async def test_state_uses_the_tenants_time_zone_by_default(world: World) -> None:
    w, c = world, world.client
    t = await w.api.tenant(parent=w.reseller["id"], timezone="America/Los_Angeles")
    key = await w.api.key(t["id"])
    body = {
        "name": "LA hours",
        "weekly": OFFICE,
        "open_destination": {"type": "hangup"},
        "closed_destination": {"type": "hangup"},
    }
    r = await c.post(f"/api/v1/tenants/{t['id']}/time-conditions", json=body, headers=key)
    assert r.status_code == 201 and r.json()["timezone"] is None
    # 09:30 in New York is 06:30 in Los Angeles: still closed there.
    r = await c.get(
        f"/api/v1/tenants/{t['id']}/time-conditions/{r.json()['id']}/state",
        params={"at": "2026-11-23T09:30:00-05:00"},
        headers=key,
    )
    assert r.json()["state"] == "closed" and r.json()["timezone"] == "America/Los_Angeles"
    assert r.json()["local_time"].startswith("2026-11-23T06:30:00")


async def test_office_mode_override_and_expiry(world: World) -> None:
    w, c = world, world.client
    tc = await time_condition(w, w.a, weekly=ALWAYS_OPEN, holidays=[], flow_number="7")
    url = f"{base(w, w.a, 'time-conditions')}/{tc['id']}"
    now = datetime.now(UTC)
    until = (now + timedelta(hours=2)).replace(microsecond=0)
    r = await c.post(f"{url}/mode", json={"mode": "closed", "until": until.isoformat()}, headers=w.a_key)
    assert r.status_code == 200, r.text
    assert r.json()["mode"] == "closed" and _utc(r.json()["mode_until"]) == until
    etag = r.headers["ETag"]
    s = (await state(w, tc)).json()
    assert s["state"] == "closed" and s["override"] is True and "manual override" in s["reason"]
    assert _utc(s["next_change"]) == until
    # After the end time the schedule applies again.
    after = (until + timedelta(minutes=1)).isoformat()
    s = (await state(w, tc, after)).json()
    assert s["state"] == "open" and s["override"] is False
    # The change is audited as set_mode and announced as time_condition.mode_changed.
    r = await c.get(
        f"/api/v1/tenants/{w.a['id']}/audit-log",
        params={"resource_id": tc["id"], "action": "set_mode"},
        headers=w.a_key,
    )
    assert r.json()["total"] == 1
    r = await c.get(
        f"/api/v1/tenants/{w.a['id']}/events",
        params={"resource_id": tc["id"], "type": "time_condition.mode_changed"},
        headers=w.a_key,
    )
    events = r.json()["items"]
    assert len(events) == 1
    data = events[0]["data"]
    assert (
        data["mode"] == "closed" and data["flow_number"] == "7" and data["previous"] == {"mode": "auto", "until": None}
    )
    # A permanent override has no next change; back to auto follows the schedule.
    r = await c.post(f"{url}/mode", json={"mode": "holiday"}, headers={**w.a_key, "If-Match": etag})
    assert r.status_code == 200 and r.json()["mode_until"] is None
    s = (await state(w, tc)).json()
    assert s["state"] == "holiday" and s["next_change"] is None and s["destination"] == {"type": "hangup"}
    r = await c.post(f"{url}/mode", json={"mode": "open"}, headers={**w.a_key, "If-Match": etag})
    assert r.status_code == 412
    r = await c.post(f"{url}/mode", json={"mode": "auto"}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["mode"] == "auto"
    assert (await state(w, tc)).json()["override"] is False
    # Setting the same mode again changes nothing and announces nothing.
    r = await c.post(f"{url}/mode", json={"mode": "auto"}, headers=w.a_key)
    assert r.status_code == 200
    r = await c.get(
        f"/api/v1/tenants/{w.a['id']}/events",
        params={"resource_id": tc["id"], "type": "time_condition.mode_changed"},
        headers=w.a_key,
    )
    assert [e["data"]["mode"] for e in r.json()["items"]] == ["closed", "holiday", "auto"]


async def test_mode_changes_are_validated_and_for_administrators_only(world: World) -> None:
    w, c = world, world.client
    tc = await time_condition(w, w.a)
    url = f"{base(w, w.a, 'time-conditions')}/{tc['id']}"
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    for body in (
        {"mode": "closed", "until": past},
        {"mode": "auto", "until": future},
        {"mode": "closed", "until": "2099-01-01T00:00:00"},
        {"mode": "lunch"},
        {"mode": "closed", "extra": 1},
        {},
    ):
        r = await c.post(f"{url}/mode", json=body, headers=w.a_key)
        assert r.status_code == 422, (body, r.text)
    assert (await c.post(f"{url}/mode", json={"mode": "open"}, headers=w.a_ro)).status_code == 403
    assert (await c.post(f"{url}/mode", json={"mode": "open"}, headers=w.b_key)).status_code == 404
    r = await c.post(f"{base(w, w.b, 'time-conditions')}/{tc['id']}/mode", json={"mode": "open"}, headers=w.b_key)
    assert r.status_code == 404
    ext = await w.api.extension(w.a["id"], w.a_key)
    username, password, _ = await w.api.user(w.a["id"], "user", headers=w.a_key, extension_id=ext["id"])
    r = await c.post(f"{url}/mode", json={"mode": "open"}, auth=(username, password))
    assert r.status_code == 403
    assert (await c.get(url, headers=w.a_key)).json()["mode"] == "auto"
    # PATCH can set the mode as well; a new mode without an end replaces the old end time.
    r = await c.patch(url, json={"mode": "closed", "mode_until": future}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["mode_until"] is not None
    r = await c.patch(url, json={"mode": "open"}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["mode_until"] is None
    r = await c.patch(url, json={"mode": "auto", "mode_until": future}, headers=w.a_key)
    assert r.status_code == 422


async def test_time_condition_names_and_flow_numbers_are_unique(world: World) -> None:
    w, c = world, world.client
    url = base(w, w.a, "time-conditions")
    first = await time_condition(w, w.a, name="Business hours", flow_number="1")
    body = {"open_destination": {"type": "hangup"}, "closed_destination": {"type": "hangup"}}
    r = await c.post(url, json={**body, "name": "Business hours"}, headers=w.a_key)
    assert r.status_code == 409 and r.json()["code"] == "duplicate"
    r = await c.post(url, json={**body, "name": "Night", "flow_number": "1"}, headers=w.a_key)
    assert r.status_code == 409 and r.json()["code"] == "duplicate"
    second = await time_condition(w, w.a, name="Night", flow_number="2")
    r = await c.patch(f"{url}/{second['id']}", json={"flow_number": "1"}, headers=w.a_key)
    assert r.status_code == 409
    r = await c.patch(f"{url}/{first['id']}", json={"flow_number": "1", "name": "Business hours"}, headers=w.a_key)
    assert r.status_code == 200
    assert (await time_condition(w, w.b, name="Business hours", flow_number="1"))["flow_number"] == "1"
    r = await c.get(url, params={"flow_number": "2"}, headers=w.a_key)
    assert [i["id"] for i in r.json()["items"]] == [second["id"]]


async def test_time_condition_loops_destinations_and_tenants(world: World) -> None:
    w, c = world, world.client
    url = base(w, w.a, "time-conditions")
    day = await time_condition(w, w.a, name="Day")
    night = await time_condition(w, w.a, name="Night", open_destination={"type": "time_condition", "id": day["id"]})
    r = await c.patch(
        f"{url}/{day['id']}",
        json={"closed_destination": {"type": "time_condition", "id": night["id"]}},
        headers=w.a_key,
    )
    assert r.status_code == 422 and r.json()["code"] == "static_loop"
    assert (await c.get(f"{url}/{day['id']}", headers=w.a_key)).json()["closed_destination"] == {"type": "hangup"}
    foreign = await w.api.extension(w.b["id"], w.b_key)
    r = await c.patch(
        f"{url}/{day['id']}", json={"open_destination": {"type": "extension", "id": foreign["id"]}}, headers=w.a_key
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_reference"
    r = await c.patch(f"{url}/{day['id']}", json={"open_destination": None}, headers=w.a_key)
    assert r.status_code == 422
    # Its destinations, with the target names (holiday: the closed destination unless set).
    r = await c.get(f"{url}/{night['id']}/destinations", headers=w.a_key)
    assert r.status_code == 200
    items = r.json()["items"]
    assert [i["key"] for i in items] == ["open", "closed", "holiday"]
    assert items[0]["targets"][0]["name"] == "Day" and items[0]["summary"] == "time condition Day"
    assert items[2]["is_default"] is True and items[2]["destination"] == {"type": "hangup"}
    assert (await c.get(f"{url}/{night['id']}/destinations", headers=w.b_key)).status_code == 404


# ================================================================================================= voicemail boxes
async def personal_box(w: World, ext: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    r = await w.client.get(
        base(w, w.a, "voicemail-boxes"), params={"owner_extension_id": ext["id"]}, headers=headers or w.a_key
    )
    assert r.status_code == 200 and r.json()["total"] == 1, r.text
    return dict(r.json()["items"][0])


async def test_personal_box_defaults_and_one_box_per_extension(world: World) -> None:
    w, c = world, world.client
    url = base(w, w.a, "voicemail-boxes")
    # An extension with voicemail has its personal box; a second one is refused.
    auto = await w.api.extension(w.a["id"], w.a_key, name="Bob")
    bob = await personal_box(w, auto)
    assert bob["number"] == auto["number"] and bob["name"] == "Bob" and bob["pin_set"] is False
    r = await c.post(url, json={"owner_extension_id": auto["id"], "number": "5555"}, headers=w.a_key)
    assert r.status_code == 409 and r.json()["field"] == "owner_extension_id"
    # Without one, creating it takes the extension's number and name by default.
    ext = await w.api.extension(w.a["id"], w.a_key, name="Alice", voicemail_enabled=False)
    r = await c.post(url, json={"owner_extension_id": ext["id"]}, headers=w.a_key)
    assert r.status_code == 201, r.text
    personal = r.json()
    assert personal["number"] == ext["number"] and personal["name"] == "Alice" and personal["pin_set"] is False
    r = await c.post(url, json={"owner_extension_id": ext["id"], "number": "5555"}, headers=w.a_key)
    assert r.status_code == 409 and r.json()["field"] == "owner_extension_id"
    # Mailbox numbers are unique in the tenant but live outside the dial plan.
    r = await c.post(url, json={"number": ext["number"], "name": "Clash"}, headers=w.a_key)
    assert r.status_code == 409 and r.json()["code"] == "duplicate"
    menu = await ivr(w, w.a, number="8300")
    assert (await box(w, w.a, number=menu["number"]))["number"] == "8300"
    assert (await box(w, w.b, number=ext["number"]))["number"] == ext["number"]
    # Shared boxes need a number and a name; owners must be extensions of the tenant.
    r = await c.post(url, json={"name": "No number"}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "number"
    r = await c.post(url, json={"number": "4444"}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "name"
    foreign = await w.api.extension(w.b["id"], w.b_key)
    r = await c.post(url, json={"owner_extension_id": foreign["id"]}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["code"] == "invalid_reference"
    # Moving a box to an extension that already has one is refused; freeing it works.
    shared = await box(w, w.a)
    r = await c.patch(f"{url}/{shared['id']}", json={"owner_extension_id": ext["id"]}, headers=w.a_key)
    assert r.status_code == 409
    r = await c.patch(f"{url}/{personal['id']}", json={"owner_extension_id": None}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["owner_extension_id"] is None
    r = await c.patch(f"{url}/{shared['id']}", json={"owner_extension_id": ext["id"]}, headers=w.a_key)
    assert r.status_code == 200
    r = await c.get(url, params={"owner_extension_id": ext["id"]}, headers=w.a_key)
    assert [i["id"] for i in r.json()["items"]] == [shared["id"]]


async def test_pin_is_write_only_and_hashed(world: World) -> None:
    w, c = world, world.client
    url = base(w, w.a, "voicemail-boxes")
    vm = await box(w, w.a, pin="123456")
    assert vm["pin_set"] is True and "pin" not in vm and "pin_hash" not in vm
    async with UnitOfWork(w.api.state.db, write=False) as uow:
        stored = await uow.session.scalar(select(VoicemailBox.pin_hash).where(VoicemailBox.id == vm["id"]))
    assert stored and stored.startswith("$argon2") and verify_password(stored, "123456")
    r = await c.post(f"{url}/{vm['id']}/pin", json={"pin": None}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["pin_set"] is False
    r = await c.post(f"{url}/{vm['id']}/pin", json={"pin": "9876"}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["pin_set"] is True
    etag = r.headers["ETag"]
    for bad in ({"pin": "12"}, {"pin": "12ab"}, {"pin": 1234}, {}, {"pin": "1234", "x": 1}):
        assert (await c.post(f"{url}/{vm['id']}/pin", json=bad, headers=w.a_key)).status_code == 422
    r = await c.post(f"{url}/{vm['id']}/pin", json={"pin": "1111"}, headers={**w.a_key, "If-Match": '"1"'})
    assert r.status_code == 412
    assert (await c.post(f"{url}/{vm['id']}/pin", json={"pin": "1111"}, headers=w.a_ro)).status_code == 403
    assert (await c.post(f"{url}/{vm['id']}/pin", json={"pin": "1111"}, headers=w.b_key)).status_code == 404
    r = await c.post(f"{base(w, w.b, 'voicemail-boxes')}/{vm['id']}/pin", json={"pin": "1111"}, headers=w.b_key)
    assert r.status_code == 404
    assert (await c.get(f"{url}/{vm['id']}", headers=w.a_key)).headers["ETag"] == etag
    # Audited as set_pin with the hash redacted.
    r = await c.get(
        f"/api/v1/tenants/{w.a['id']}/audit-log", params={"resource_id": vm["id"], "action": "set_pin"}, headers=w.a_key
    )
    entries = r.json()["items"]
    assert len(entries) == 2 and entries[0]["after"]["pin_hash"] == "***"
    assert "$argon2" not in r.text
    r = await c.get(f"/api/v1/tenants/{w.a['id']}/events", params={"resource_id": vm["id"]}, headers=w.a_key)
    assert "$argon2" not in r.text


async def test_end_user_sees_only_own_box_and_sets_its_pin(world: World) -> None:
    w, c = world, world.client
    url = base(w, w.a, "voicemail-boxes")
    mine_ext = await w.api.extension(w.a["id"], w.a_key)
    mine = await personal_box(w, mine_ext)
    other = await personal_box(w, await w.api.extension(w.a["id"], w.a_key))
    shared = await box(w, w.a)
    username, password, _ = await w.api.user(w.a["id"], "user", headers=w.a_key, extension_id=mine_ext["id"])
    me = (username, password)
    r = await c.get(url, auth=me)
    assert r.status_code == 200 and [i["id"] for i in r.json()["items"]] == [mine["id"]]
    assert (await c.get(f"{url}/{mine['id']}", auth=me)).status_code == 200
    for obj in (other, shared):
        assert (await c.get(f"{url}/{obj['id']}", auth=me)).status_code == 404
        assert (await c.post(f"{url}/{obj['id']}/pin", json={"pin": "1357"}, auth=me)).status_code == 404
    r = await c.post(f"{url}/{mine['id']}/pin", json={"pin": "1357"}, auth=me)
    assert r.status_code == 200 and r.json()["pin_set"] is True
    # Everything else stays with the administrators.
    assert (await c.patch(f"{url}/{mine['id']}", json={"max_messages": 5}, auth=me)).status_code == 403
    assert (await c.delete(f"{url}/{mine['id']}", auth=me)).status_code == 403
    assert (await c.post(url, json={"number": "7777", "name": "x"}, auth=me)).status_code == 403
    assert (await c.get(base(w, w.a, "ivrs"), auth=me)).status_code == 403
    assert (await c.get(base(w, w.a, "time-conditions"), auth=me)).status_code == 403
    assert (await c.get(base(w, w.b, "voicemail-boxes"), auth=me)).status_code == 404
    # A user whose extension has no box sees none.
    quiet = await w.api.extension(w.a["id"], w.a_key, voicemail_enabled=False)
    nobody, pw, _ = await w.api.user(w.a["id"], "user", headers=w.a_key, extension_id=quiet["id"])
    r = await c.get(url, auth=(nobody, pw))
    assert r.status_code == 200 and r.json()["total"] == 0


async def test_box_greetings_and_email_delivery(world: World) -> None:
    w, c = world, world.client
    url = base(w, w.a, "voicemail-boxes")
    unavailable, name = await media(w, w.a), await media(w, w.a)
    vm = await box(w, w.a, greetings={"unavailable": unavailable, "name": name}, active_greeting="temporary")
    assert vm["greetings"] == {"unavailable": unavailable, "name": name} and vm["active_greeting"] == "temporary"
    foreign = await media(w, w.b)
    r = await c.patch(f"{url}/{vm['id']}", json={"greetings": {"busy": foreign}}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "greetings.busy"
    r = await c.patch(f"{url}/{vm['id']}", json={"email_delete": True}, headers=w.a_key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "email_delete"
    r = await c.patch(f"{url}/{vm['id']}", json={"email": "ops@example.com", "email_delete": True}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["email_delete"] is True
    r = await c.patch(f"{url}/{vm['id']}", json={"email": None}, headers=w.a_key)
    assert r.status_code == 422
    r = await c.patch(f"{url}/{vm['id']}", json={"retention_days": None, "greetings": {}}, headers=w.a_key)
    assert r.status_code == 200 and r.json()["retention_days"] is None and r.json()["greetings"] == {}
    for body in ({"max_messages": None}, {"active_greeting": None}, {"number": None}):
        assert (await c.patch(f"{url}/{vm['id']}", json=body, headers=w.a_key)).status_code == 422


# ================================================================================================ template copies
async def test_template_copies_menus_schedules_and_boxes_with_remapped_references(world: World) -> None:
    w, c = world, world.client
    template = await w.api.tenant(parent=w.reseller["id"], is_template=True)
    tkey = await w.api.key(template["id"])
    prompt = await media(w, template, name="welcome")
    tc_body = {
        "name": "Business hours",
        "weekly": OFFICE,
        "open_destination": {"type": "hangup"},
        "closed_destination": {"type": "hangup"},
        "mode": "closed",
    }
    r = await c.post(f"/api/v1/tenants/{template['id']}/time-conditions", json=tc_body, headers=tkey)
    assert r.status_code == 201, r.text
    tc = r.json()
    r = await c.post(
        f"/api/v1/tenants/{template['id']}/voicemail-boxes",
        json={"number": "100", "name": "General", "pin": "2222", "greetings": {"unavailable": prompt}},
        headers=tkey,
    )
    vm = r.json()
    menu_body = {
        "name": "Main",
        "number": "800",
        "greeting_media_id": prompt,
        "options": {
            "1": {"type": "time_condition", "id": tc["id"]},
            "2": {"type": "voicemail", "id": vm["id"]},
        },
        "timeout_destination": {"type": "time_condition", "id": tc["id"]},
    }
    r = await c.post(f"/api/v1/tenants/{template['id']}/ivrs", json=menu_body, headers=tkey)
    assert r.status_code == 201, r.text
    menu = r.json()

    async def copied(tenant: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        key = await w.api.key(tenant["id"])
        ivrs = (await c.get(f"/api/v1/tenants/{tenant['id']}/ivrs", headers=key)).json()["items"]
        tcs = (await c.get(f"/api/v1/tenants/{tenant['id']}/time-conditions", headers=key)).json()["items"]
        assert len(ivrs) == 1 and len(tcs) == 1
        return key, ivrs[0], tcs[0]

    # Default copy: menus, schedules and media; boxes are optional, so the box option becomes a hang-up.
    plain = await w.api.tenant(parent=w.reseller["id"], template_id=template["id"])
    key, copy_menu, copy_tc = await copied(plain)
    assert copy_menu["id"] != menu["id"] and copy_tc["id"] != tc["id"]
    assert copy_menu["options"]["1"] == {"type": "time_condition", "id": copy_tc["id"]}
    assert copy_menu["timeout_destination"] == {"type": "time_condition", "id": copy_tc["id"]}
    assert copy_menu["options"]["2"] == {"type": "hangup"}
    assert copy_tc["mode"] == "auto"  # the template's override is its own state
    async with UnitOfWork(w.api.state.db, write=False) as uow:
        owner = await uow.session.scalar(
            select(MediaFile.tenant_id).where(MediaFile.id == copy_menu["greeting_media_id"])
        )
    assert copy_menu["greeting_media_id"] != prompt and owner == plain["id"]
    # The copy's references are indexed: the copied schedule is in use by the copied menu.
    r = await c.delete(f"/api/v1/tenants/{plain['id']}/time-conditions/{copy_tc['id']}", headers=key)
    assert r.status_code == 409 and r.json()["references"][0]["id"] == copy_menu["id"]
    # Asking for boxes too: the box is copied without its PIN, greetings and the option remapped.
    full = await w.api.tenant(
        parent=w.reseller["id"],
        template_id=template["id"],
        copy_resources=["ivrs", "time_conditions", "media", "voicemail_box"],
    )
    key, copy_menu, copy_tc = await copied(full)
    boxes = (await c.get(f"/api/v1/tenants/{full['id']}/voicemail-boxes", headers=key)).json()["items"]
    assert len(boxes) == 1 and boxes[0]["id"] != vm["id"] and boxes[0]["pin_set"] is False
    assert copy_menu["options"]["2"] == {"type": "voicemail", "id": boxes[0]["id"]}
    assert boxes[0]["greetings"]["unavailable"] == copy_menu["greeting_media_id"] != prompt


# ================================================================================================ helpers
def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
