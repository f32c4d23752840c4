"""Call routing end to end with SIPp peers on a real ``centrex serve``: forking to every binding of an extension,
forwarding on busy, ring-group hunting, outbound calls through trunks with failover and digest towards the
carrier, inbound calls from an IP trunk to a DID, re-INVITE (hold) relayed between the legs, and RFC 4028 session
timers enforced by the engine (docs/calls.md)."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ThrowawayDatabase
from tests.integration.test_calls import Pbx, _finish
from tests.support.pbx import ADMIN
from tests.support.server import centrex_server, free_port

pytestmark = [pytest.mark.integration]

TRUNK_USER, TRUNK_PASSWORD = "carrieruser", "Carrier-pass-1"


@pytest.fixture(scope="module")
def pbx(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pbx]:
    """One server per database backend, trunks on loopback allowed (a lab carrier)."""
    root = tmp_path_factory.mktemp(f"routing-{backend}")
    db = ThrowawayDatabase(backend, root)
    db.create()
    sip_port = free_port()
    env = {"CENTREX_SIP_LISTEN": f"127.0.0.1:{sip_port}", "CENTREX_TRUNK_PRIVATE_ADDRESSES": "true"}
    with contextlib.ExitStack() as stack:
        stack.callback(db.drop)
        server = stack.enter_context(centrex_server(root / "data", database_url=db.url, env=env))
        r = httpx.post(
            f"{server.url}/api/v1/tenants", auth=ADMIN, json={"code": "routing", "name": "Routing"}, timeout=10
        )
        assert r.status_code == 201, r.text
        yield Pbx(server.url, r.json(), sip_port, root)


def _created(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 201, r.text
    return dict(r.json())


def _cdr_of_call(pbx: Pbx, **params: Any) -> dict[str, Any]:
    """The one closed CDR matching ``params`` (polled for at most 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        r = pbx.api("GET", "/cdrs", params=params)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        if (items and items[0]["disposition"] != "in_progress") or time.monotonic() > deadline:
            assert len(items) == 1, items
            return dict(items[0])
        time.sleep(0.2)


def _sipp_uas(pbx: Pbx, scenario: str, port: int, keys: dict[str, str]) -> subprocess.Popen[str]:
    extra = [arg for k, v in keys.items() for arg in ("-key", k, v)]
    return subprocess.Popen(
        pbx._sipp(scenario, port, extra), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, cwd=pbx.root
    )


@contextlib.contextmanager
def _running(proc: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def test_call_rings_every_binding_and_cancels_the_others(pbx: Pbx) -> None:
    alice, bob = pbx.extension(), pbx.extension()
    desk, mobile = pbx.register(bob), pbx.register(bob)  # two phones on one extension
    with pbx.callee("callee_ring.xml", desk) as ringing, pbx.callee("callee_answer.xml", mobile) as answering:
        assert pbx.call("call_uac.xml", alice, bob["number"]) == 0
        assert _finish(answering) == 0
        assert _finish(ringing) == 0  # got the CANCEL when the other phone answered
    cdr = pbx.cdr(bob)
    assert cdr["disposition"] == "answered"
    branches = sorted((leg for leg in cdr["legs"] if leg["kind"] == "sip"), key=lambda leg: leg["id"])
    assert len(branches) == 2
    assert sorted((leg["answered"], leg["cancelled"]) for leg in branches) == [(False, True), (True, False)]


def test_busy_extension_forwards_to_another(pbx: Pbx) -> None:
    alice, carol = pbx.extension(), pbx.extension()
    bob = pbx.extension(forwarding=[{"condition": "busy", "destination": {"type": "extension", "id": carol["id"]}}])
    with (
        pbx.callee("callee_busy.xml", pbx.register(bob)) as busy,
        pbx.callee("callee_answer.xml", pbx.register(carol)) as answering,
    ):
        assert pbx.call("call_uac.xml", alice, bob["number"]) == 0
        assert _finish(busy) == 0 and _finish(answering) == 0
    cdr = _cdr_of_call(pbx, extension_id=carol["id"])
    assert cdr["disposition"] == "answered" and cdr["callee_number"] == bob["number"]
    statuses = sorted(leg["status"] for leg in cdr["legs"] if leg["kind"] == "sip")
    assert statuses == [200, 486]


def test_unanswered_extension_forwards_after_its_ring_time(pbx: Pbx) -> None:
    alice, carol = pbx.extension(), pbx.extension()
    bob = pbx.extension(
        ring_timeout=5,
        forwarding=[{"condition": "no_answer", "destination": {"type": "extension", "id": carol["id"]}}],
    )
    with (
        pbx.callee("callee_ring.xml", pbx.register(bob)) as ringing,
        pbx.callee("callee_answer.xml", pbx.register(carol)) as answering,
    ):
        started = time.monotonic()
        assert pbx.call("call_uac.xml", alice, bob["number"]) == 0
        assert time.monotonic() - started >= 4.5  # bob's phone rang for his ring time first
        assert _finish(ringing) == 0  # and was cancelled
        assert _finish(answering) == 0
    cdr = _cdr_of_call(pbx, extension_id=carol["id"])
    assert cdr["disposition"] == "answered"
    assert sorted((leg["status"], leg["cancelled"]) for leg in cdr["legs"] if leg["kind"] == "sip") == [
        (200, False),
        (487, True),
    ]


def test_sequential_ring_group_hunts_to_the_next_member(pbx: Pbx) -> None:
    alice, dave, erin = pbx.extension(), pbx.extension(), pbx.extension()
    group = _created(
        pbx.api(
            "POST",
            "/ring-groups",
            json={
                "name": "Support",
                "number": "650",
                "strategy": "sequential",
                "ring_time": 5,
                "members": [
                    {"type": "extension", "extension_id": dave["id"]},
                    {"type": "extension", "extension_id": erin["id"]},
                ],
            },
        )
    )
    with (
        pbx.callee("callee_ring.xml", pbx.register(dave)) as first,
        pbx.callee("callee_answer.xml", pbx.register(erin)) as second,
    ):
        started = time.monotonic()
        assert pbx.call("call_uac.xml", alice, group["number"]) == 0
        assert time.monotonic() - started >= 4.5  # dave rang for the member ring time first
        assert _finish(first) == 0  # dave's phone was cancelled
        assert _finish(second) == 0
    cdr = _cdr_of_call(pbx, extension_id=erin["id"])
    assert cdr["disposition"] == "answered"


def _trunk(pbx: Pbx, name: str, port: int, **fields: Any) -> dict[str, Any]:
    body = {"name": name, "kind": "registration", "host": "127.0.0.1", "port": port, **fields}
    body.setdefault("username", TRUNK_USER)
    body.setdefault("password", TRUNK_PASSWORD)
    return _created(pbx.api("POST", "/trunks", json=body))


def test_outbound_call_fails_over_to_the_next_trunk_with_digest(pbx: Pbx) -> None:
    alice = pbx.extension(external_caller_id_number="+12125550150")
    down_port, up_port = free_port(), free_port()
    down = _trunk(pbx, "Carrier down", down_port)
    up = _trunk(pbx, "Carrier up", up_port)
    _created(
        pbx.api(
            "POST",
            "/outbound-routes",
            json={
                "name": "Long distance",
                "priority": 10,
                "patterns": [{"match": "1NXXNXXXXXX"}],
                "destination_class": "national",
                "trunk_ids": [down["id"], up["id"]],
            },
        )
    )
    keys = {"user": TRUNK_USER, "password": TRUNK_PASSWORD}
    with (
        _running(_sipp_uas(pbx, "trunk_503.xml", down_port, {})) as failing,
        _running(_sipp_uas(pbx, "trunk_auth_answer.xml", up_port, keys)) as carrier,
    ):
        time.sleep(0.3)
        assert pbx.call("call_uac.xml", alice, "13125550199") == 0
        assert _finish(failing) == 0
        assert _finish(carrier) == 0  # the digest was right (verifyauth) and the call ended with our BYE
    cdr = _cdr_of_call(pbx, direction="outbound")
    assert cdr["disposition"] == "answered" and cdr["trunk_id"] == up["id"]
    branches = sorted((leg for leg in cdr["legs"] if leg["kind"] == "sip"), key=lambda leg: leg["id"])
    assert [(leg["trunk_id"], leg["status"]) for leg in branches] == [(down["id"], 503), (up["id"], 200)]
    assert branches[1]["dialled"] == "+13125550199"


def test_outbound_call_through_a_registering_trunk(pbx: Pbx) -> None:
    alice = pbx.extension(external_caller_id_number="+12125550151")
    port = free_port()
    keys = {"user": TRUNK_USER, "password": TRUNK_PASSWORD, "expires": "3600"}
    with _running(_sipp_uas(pbx, "trunk_registrar_once.xml", port, keys)) as registrar:
        trunk = _trunk(pbx, "Registering carrier", port, register=True, registration_expiry=3600)
        assert _finish(registrar) == 0  # challenged, then registered with the right digest
    deadline = time.monotonic() + 10
    while (state := pbx.api("GET", f"/trunks/{trunk['id']}/registration").json())["state"] != "registered":
        assert time.monotonic() < deadline, state
        time.sleep(0.2)
    _created(
        pbx.api(
            "POST",
            "/outbound-routes",
            json={
                "name": "Through the registering carrier",
                "priority": 5,
                "patterns": [{"match": "7NXXXXXXXXX", "strip": 1, "prepend": "1"}],
                "destination_class": "national",
                "trunk_ids": [trunk["id"]],
            },
        )
    )
    with _running(_sipp_uas(pbx, "trunk_auth_answer.xml", port, keys)) as carrier:
        time.sleep(0.3)
        assert pbx.call("call_uac.xml", alice, "74155550142") == 0
        assert _finish(carrier) == 0
    cdr = _cdr_of_call(pbx, number="74155550142")
    assert cdr["disposition"] == "answered" and cdr["direction"] == "outbound"
    assert [leg["dialled"] for leg in cdr["legs"] if leg["kind"] == "sip"] == ["+14155550142"]


def test_inbound_call_from_an_ip_trunk_reaches_the_did_destination(pbx: Pbx) -> None:
    bob = pbx.extension()
    carrier_port = free_port()
    trunk = _created(
        pbx.api(
            "POST",
            "/trunks",
            json={"name": "Inbound carrier", "kind": "ip", "host": "127.0.0.1", "allowed_ips": ["127.0.0.1/32"]},
        )
    )
    number = _created(pbx.api("POST", "/numbers", json={"number": "+12125550123"}))
    _created(
        pbx.api(
            "POST",
            "/inbound-routes",
            json={"name": "Main", "number_id": number["id"], "destination": {"type": "extension", "id": bob["id"]}},
        )
    )
    with pbx.callee("callee_answer.xml", pbx.register(bob)) as phone:
        time.sleep(2.5)  # the engine's trunk index refreshes every 2 s
        args = pbx._sipp("carrier_call.xml", carrier_port, [
            f"127.0.0.1:{pbx.sip_port}", "-key", "user", "+13125550111", "-key", "domain", "carrier.test",
            "-key", "dialled", "12125550123",
        ])  # fmt: skip
        proc = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=pbx.root)
        assert proc.returncode == 0, proc.stdout[-2000:]
        assert _finish(phone) == 0
    cdr = _cdr_of_call(pbx, direction="inbound")
    assert cdr["disposition"] == "answered"
    assert cdr["did"] == "+12125550123" and cdr["trunk_id"] == trunk["id"]
    assert cdr["caller_number"] == "+13125550111" and cdr["extension_id"] == bob["id"]


def test_reinvite_hold_is_relayed_to_the_other_leg(pbx: Pbx) -> None:
    alice, bob = pbx.extension(), pbx.extension()
    with pbx.callee("callee_hold.xml", pbx.register(bob)) as callee:
        assert pbx.call("call_uac_hold.xml", alice, bob["number"]) == 0  # a=recvonly came back
        assert _finish(callee) == 0  # a=sendonly reached the callee
    assert pbx.cdr(bob)["disposition"] == "answered"


def test_session_timer_without_refresh_ends_the_call(pbx: Pbx) -> None:
    alice, bob = pbx.extension(), pbx.extension()
    keys = ["-key", "interval", "6"]
    with pbx.callee("callee_timer.xml", pbx.register(bob), keys) as callee:
        started = time.monotonic()
        assert pbx.call("call_uac_timer.xml", alice, bob["number"], keys) == 0  # got the engine's BYE
        assert 3 <= time.monotonic() - started < 20
        assert _finish(callee) == 0
    cdr = pbx.cdr(bob)
    assert cdr["disposition"] == "answered" and cdr["hangup_by"] == "system"


def test_call_without_media_is_hung_up_after_the_media_timeout(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Neither phone sends RTP: with ``media_timeout_seconds`` 2 the engine ends the call (BYE both legs)."""
    root = tmp_path_factory.mktemp(f"media-timeout-{backend}")
    db = ThrowawayDatabase(backend, root)
    db.create()
    sip_port = free_port()
    env = {"CENTREX_SIP_LISTEN": f"127.0.0.1:{sip_port}", "CENTREX_MEDIA_TIMEOUT_SECONDS": "2"}
    with contextlib.ExitStack() as stack:
        stack.callback(db.drop)
        server = stack.enter_context(centrex_server(root / "data", database_url=db.url, env=env))
        r = httpx.post(f"{server.url}/api/v1/tenants", auth=ADMIN, json={"code": "quiet", "name": "Quiet"}, timeout=10)
        pbx = Pbx(server.url, _created(r), sip_port, root)
        alice, bob = pbx.extension(), pbx.extension()
        keys = ["-key", "interval", "600"]  # a session timer far away: only the media timeout can end the call
        with pbx.callee("callee_timer.xml", pbx.register(bob), keys) as callee:
            started = time.monotonic()
            assert pbx.call("call_uac_timer.xml", alice, bob["number"], keys) == 0  # got the engine's BYE
            assert 1.5 <= time.monotonic() - started < 20
            assert _finish(callee) == 0
        cdr = pbx.cdr(bob)
        assert cdr["disposition"] == "answered" and cdr["hangup_by"] == "system"


def _events(pbx: Pbx, **params: Any) -> list[dict[str, Any]]:
    r = pbx.api("GET", "/events", params={"limit": 200, **params})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def _call_events(pbx: Pbx, cdr_id: str, last: str) -> list[dict[str, Any]]:
    """The call's events once ``last`` is among them (polled for at most 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        events = _events(pbx, resource_id=cdr_id)
        if last in [e["type"] for e in events] or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


def test_call_and_registration_events_are_in_the_outbox(pbx: Pbx) -> None:
    alice, bob = pbx.extension(), pbx.extension()
    with pbx.callee("callee_hold.xml", pbx.register(bob)) as callee:
        assert pbx.call("call_uac_hold.xml", alice, bob["number"]) == 0
        assert _finish(callee) == 0
    cdr = pbx.cdr(bob)
    events = _call_events(pbx, cdr["id"], "call.ended")
    assert [e["type"] for e in events] == [
        "call.created",
        "call.ringing",
        "call.answered",
        "call.held",
        "call.ended",
    ]
    ringing, ended = events[1]["data"], events[-1]["data"]
    assert ringing["ringing_extension_id"] == bob["id"] and ringing["leg"] == "b1" and ringing["state"] == "ringing"
    assert ended["call_id"] == cdr["id"] and ended["disposition"] == "answered" and ended["state"] == "ended"
    assert ended["billable_seconds"] == cdr["billable_seconds"] and ended["hangup_by"] == "caller"
    registered = [e for e in _events(pbx, type="registration.") if e["data"]["extension_id"] == bob["id"]]
    assert [e["type"] for e in registered] == ["registration.created"]
    assert registered[0]["data"]["transport"] == "udp" and registered[0]["data"]["source"].startswith("127.0.0.1:")


def test_unanswered_call_is_missed(pbx: Pbx) -> None:
    alice, bob = pbx.extension(), pbx.extension()
    with pbx.callee("callee_ring.xml", pbx.register(bob)) as uas:
        assert pbx.call("call_uac_cancel.xml", alice, bob["number"]) == 0
        assert _finish(uas) == 0
    cdr = pbx.cdr(bob)
    events = _call_events(pbx, cdr["id"], "call.missed")
    assert [e["type"] for e in events][-2:] == ["call.ended", "call.missed"]
    assert events[-1]["data"]["disposition"] == "cancelled"


def test_live_calls_and_extension_states_while_ringing(pbx: Pbx) -> None:
    alice, bob = pbx.extension(), pbx.extension(ring_timeout=6)
    other = _created(
        httpx.post(f"{pbx.url}/api/v1/tenants", auth=ADMIN, json={"code": "liveother", "name": "Other"}, timeout=10)
    )
    with pbx.callee("callee_ring.xml", pbx.register(bob)) as uas:
        time.sleep(0.3)
        caller = pbx.start_call("call_uac_unavailable.xml", alice, bob["number"])
        try:
            deadline = time.monotonic() + 5
            while True:
                calls = pbx.api("GET", "/calls").json()
                ringing = [c for c in calls["items"] if c["callee"] == bob["number"]]
                if ringing and ringing[0]["legs"][-1]["state"] == "ringing":
                    break
                assert time.monotonic() < deadline, calls
                time.sleep(0.1)
            call = ringing[0]
            assert calls["engine_running"] and call["state"] == "ringing" and call["direction"] == "internal"
            assert call["legs"][0]["leg"] == "a" and call["legs"][0]["extension_id"] == alice["id"]
            assert call["legs"][1]["extension_id"] == bob["id"]
            summary = pbx.api("GET", "/calls/summary").json()
            assert summary["calls"] >= 1 and summary["ringing"] >= 1 and summary["channels"] >= 2
            assert summary["registered_contacts"] >= 1
            states = {s["extension_id"]: s["state"] for s in pbx.api("GET", "/extension-states").json()["items"]}
            assert states[alice["id"]] == "in_use" and states[bob["id"]] == "ringing"
            one = pbx.api("GET", f"/calls/{call['id']}")
            assert one.status_code == 200 and one.json()["id"] == call["id"]
            elsewhere = pbx.platform_api("GET", f"/tenants/{other['id']}/calls/{call['id']}")
            assert elsewhere.status_code == 404  # another tenant never sees it
            assert pbx.platform_api("GET", f"/tenants/{other['id']}/calls").json()["items"] == []
        finally:
            assert _finish(caller) == 0  # 480 after bob's ring time
            assert _finish(uas) == 0
    assert all(c["callee"] != bob["number"] for c in pbx.api("GET", "/calls").json()["items"])
    assert pbx.api("GET", f"/calls/{call['id']}").status_code == 404  # ended calls are in /cdrs


def _answered_call(pbx: Pbx, callee: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + 8
    while True:
        items = [c for c in pbx.api("GET", "/calls").json()["items"] if c["callee"] == callee["number"]]
        if items and items[0]["state"] == "up":
            return dict(items[0])
        assert time.monotonic() < deadline, items
        time.sleep(0.1)


def test_blind_transfer_through_the_api(pbx: Pbx) -> None:
    alice, bob, carol = pbx.extension(), pbx.extension(), pbx.extension()
    with (
        pbx.callee("callee_answer.xml", pbx.register(bob)) as first,
        pbx.callee("callee_answer.xml", pbx.register(carol)) as second,
    ):
        time.sleep(0.3)
        with _running(pbx.start_call("call_uac_long.xml", alice, bob["number"])) as caller:
            call = _answered_call(pbx, bob)
            bad = pbx.api("POST", f"/calls/{call['id']}/transfer", json={"destination": "799"})
            assert bad.status_code == 422, bad.text  # nobody has 799: nothing changes
            r = pbx.api("POST", f"/calls/{call['id']}/transfer", json={"destination": carol["number"]})
            assert r.status_code == 202, r.text
            assert _finish(first) == 0  # bob got the engine's BYE
            assert _finish(caller) == 0  # alice's call went on and she hung up
            assert _finish(second) == 0  # carol answered and got the BYE
    events = [e["type"] for e in _call_events(pbx, call["id"], "call.ended")]
    tail = events[events.index("call.transferred") :]
    assert tail == ["call.transferred", "call.ringing", "call.bridged", "call.ended"], events
    assert pbx.api("POST", f"/calls/{call['id']}/hangup").status_code == 404  # ended: in /cdrs now


def test_blind_transfer_by_refer_from_the_phone(pbx: Pbx) -> None:
    alice, bob, carol = pbx.extension(), pbx.extension(), pbx.extension()
    with (
        pbx.callee("callee_refer.xml", pbx.register(bob), ["-key", "target", carol["number"]]) as transferor,
        pbx.callee("callee_answer.xml", pbx.register(carol)) as target,
    ):
        time.sleep(0.3)
        with _running(pbx.start_call("call_uac_long.xml", alice, bob["number"])) as caller:
            assert _finish(transferor) == 0  # 202, NOTIFY 200, then our BYE
            assert _finish(caller) == 0
            assert _finish(target) == 0
    cdr = _cdr_of_call(pbx, number=bob["number"])
    assert cdr["disposition"] == "answered" and cdr["hangup_by"] == "caller"
    answered = [leg for leg in cdr["legs"] if leg["kind"] == "sip" and leg["answered"]]
    assert [leg["extension_id"] for leg in answered] == [bob["id"], carol["id"]]


def test_hang_up_through_the_api(pbx: Pbx) -> None:
    alice, bob = pbx.extension(), pbx.extension()
    with pbx.callee("callee_timer.xml", pbx.register(bob), ["-key", "interval", "600"]) as callee:
        time.sleep(0.3)
        with _running(
            pbx.start_call("call_uac_timer.xml", alice, bob["number"], ["-key", "interval", "600"])
        ) as caller:
            call = _answered_call(pbx, bob)
            r = pbx.api("POST", f"/calls/{call['id']}/hangup")
            assert r.status_code == 200, r.text
            assert _finish(caller) == 0 and _finish(callee) == 0  # both got the engine's BYE
    cdr = pbx.cdr(bob)
    assert cdr["disposition"] == "answered" and cdr["hangup_by"] == "system"


def test_busy_lamp_subscription_follows_the_extension(pbx: Pbx) -> None:
    alice, bob, carol = pbx.extension(), pbx.extension(ring_timeout=5), pbx.extension()
    with pbx.callee("callee_ring.xml", pbx.register(bob)) as phone:
        args = pbx._sipp("subscribe_blf.xml", free_port(), [
            f"127.0.0.1:{pbx.sip_port}", "-au", alice["sip_username"], "-ap", alice["sip_password"],
            "-key", "user", alice["sip_username"], "-key", "domain", pbx.tenant["sip_domain"],
            "-key", "watched", bob["number"],
        ])  # fmt: skip
        with _running(
            subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=pbx.root)
        ) as lamp:
            time.sleep(1.5)  # subscribed, first NOTIFY (idle) answered
            assert pbx.call("call_uac_unavailable.xml", carol, bob["number"]) == 0  # bob rings 5 s, then 480
            assert _finish(lamp) == 0  # idle → early → idle, then unsubscribed
        assert _finish(phone) == 0


def test_dtmf_sent_through_the_api_reaches_the_phone(pbx: Pbx) -> None:
    alice, bob = pbx.extension(), pbx.extension()
    with pbx.callee("callee_dtmf.xml", pbx.register(bob)) as callee:
        time.sleep(0.3)
        with _running(pbx.start_call("call_uac_long.xml", alice, bob["number"])) as caller:
            call = _answered_call(pbx, bob)
            bad = pbx.api("POST", f"/calls/{call['id']}/dtmf", json={"digits": "1x"})
            assert bad.status_code == 422, bad.text
            r = pbx.api("POST", f"/calls/{call['id']}/dtmf", json={"digits": "1#", "leg": "callee"})
            assert r.status_code == 200, r.text
            assert _finish(caller) == 0
            assert _finish(callee) == 0  # got INFO Signal=1 then Signal=#, each answered


def test_click_to_call_rings_the_extension_then_connects_the_destination(pbx: Pbx) -> None:
    alice, carol = pbx.extension(), pbx.extension()
    with (
        pbx.callee("callee_late.xml", pbx.register(alice)) as desk,
        pbx.callee("callee_answer.xml", pbx.register(carol)) as target,
    ):
        time.sleep(0.3)
        nobody = pbx.api("POST", "/calls", json={"extension_id": pbx.extension()["id"], "destination": carol["number"]})
        assert nobody.status_code == 409, nobody.text  # no registered phone
        r = pbx.api("POST", "/calls", json={"extension_id": alice["id"], "destination": carol["number"]})
        assert r.status_code == 202, r.text
        call_id = r.json()["call_id"]
        deadline = time.monotonic() + 10
        while True:
            live = pbx.api("GET", f"/calls/{call_id}")
            assert live.status_code == 200, live.text
            legs = live.json()["legs"]
            if any(leg["state"] == "answered" and leg["extension_id"] == carol["id"] for leg in legs):
                break
            assert time.monotonic() < deadline, live.json()
            time.sleep(0.1)
        assert pbx.api("POST", f"/calls/{call_id}/hangup").status_code == 200
        assert _finish(desk) == 0  # got an INVITE without SDP, answered with an offer, got the answer in the ACK
        assert _finish(target) == 0  # got the desk phone's offer (through the anchor), answered, got our BYE
    events = [e["type"] for e in _call_events(pbx, call_id, "call.ended")]
    assert events[0] == "call.created" and events[-1] == "call.ended" and "call.bridged" in events, events
    cdr = pbx.api("GET", "/cdrs", params={"number": carol["number"]}).json()["items"][0]
    assert cdr["id"] == call_id and cdr["disposition"] == "answered" and cdr["caller_number"] == alice["number"]


def test_hold_and_resume_through_the_api(pbx: Pbx) -> None:
    alice, bob = pbx.extension(), pbx.extension()
    with pbx.callee("callee_hold_resume.xml", pbx.register(bob)) as callee:
        time.sleep(0.3)
        with _running(pbx.start_call("call_uac_long.xml", alice, bob["number"])) as caller:
            call = _answered_call(pbx, bob)
            assert pbx.api("POST", f"/calls/{call['id']}/resume", json={"leg": "callee"}).status_code == 409
            r = pbx.api("POST", f"/calls/{call['id']}/hold", json={"leg": "callee"})
            assert r.status_code == 200, r.text
            assert pbx.api("GET", f"/calls/{call['id']}").json()["state"] == "held"
            r = pbx.api("POST", f"/calls/{call['id']}/resume", json={"leg": "callee"})
            assert r.status_code == 200, r.text
            assert _finish(caller) == 0
            assert _finish(callee) == 0  # sendonly, then sendrecv, each answered and ACKed
    events = [e["type"] for e in _call_events(pbx, call["id"], "call.ended")]
    assert events[-3:] == ["call.held", "call.resumed", "call.ended"], events
