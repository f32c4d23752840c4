"""Dialogs (RFC 3261 §12): creation on both sides, in-dialog requests, the ACK for a 2xx, CSeq checks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from centrex.sip.dialog import Dialog, DialogError, DialogId, DialogState
from centrex.sip.message import Request, Response, parse
from centrex.sip.transaction._fields import addr_uri, tag


def _parse_request(text: str) -> Request:
    msg = parse(text.replace("\n", "\r\n").encode())
    assert isinstance(msg, Request)
    return msg


def _parse_response(text: str) -> Response:
    msg = parse(text.replace("\n", "\r\n").encode())
    assert isinstance(msg, Response)
    return msg


INVITE = """INVITE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 314159 INVITE
Contact: <sip:alice@pc33.atlanta.example.com>
Record-Route: <sip:p2.biloxi.example.com;lr>
Record-Route: <sip:p1.atlanta.example.com;lr;transport=tcp>, <sip:p0.example.com;lr>
Content-Length: 0

"""


def _ok(status: int = 200, *, tag: str | None = "a6c85cf", contact: str = "<sip:bob@192.0.2.4;transport=udp>") -> str:
    to = "Bob <sip:bob@biloxi.example.com>" + (f";tag={tag}" if tag else "")
    return f"""SIP/2.0 {status} Whatever
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8
To: {to}
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 314159 INVITE
Contact: {contact}
Record-Route: <sip:p2.biloxi.example.com;lr>
Record-Route: <sip:p1.atlanta.example.com;lr;transport=tcp>, <sip:p0.example.com;lr>
Content-Length: 0

"""


def invite() -> Request:
    return _parse_request(INVITE)


def ok(
    status: int = 200, *, tag: str | None = "a6c85cf", contact: str = "<sip:bob@192.0.2.4;transport=udp>"
) -> Response:
    return _parse_response(_ok(status, tag=tag, contact=contact))


def test_uac_dialog_from_2xx() -> None:
    d = Dialog.uac(invite(), ok())
    assert d.id == DialogId("a84b4c76e66710", "1928301774", "a6c85cf")
    assert d.state is DialogState.CONFIRMED and d.is_uac
    assert d.local_seq == 314159 and d.remote_seq is None
    assert d.remote_target == "sip:bob@192.0.2.4;transport=udp"
    assert d.local_target == "sip:alice@pc33.atlanta.example.com"
    # §12.1.2: the Record-Route values, reversed.
    assert d.route_set == [
        "<sip:p0.example.com;lr>",
        "<sip:p1.atlanta.example.com;lr;transport=tcp>",
        "<sip:p2.biloxi.example.com;lr>",
    ]
    assert d.secure is False
    assert DialogId.of_response(ok()) == d.id


def test_uac_in_dialog_bye_uses_loose_routing_and_next_cseq() -> None:
    d = Dialog.uac(invite(), ok())
    bye = d.create_request("BYE", via="SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKbye")
    assert bye.method == "BYE"
    assert bye.uri == "sip:bob@192.0.2.4;transport=udp"
    assert bye.headers.get_all("Route") == d.route_set
    assert bye.headers.get("CSeq") == "314160 BYE"
    assert bye.headers.get("From") == "Alice <sip:alice@atlanta.example.com>;tag=1928301774"
    assert bye.headers.get("To") == "Bob <sip:bob@biloxi.example.com>;tag=a6c85cf"
    assert bye.headers.get("Call-ID") == "a84b4c76e66710"
    assert bye.headers.get("Max-Forwards") == "70"
    assert bye.headers.get("Via") == "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKbye"
    assert "Contact" not in bye.headers  # not a target refresh
    reparsed = parse(bytes(bye))
    assert isinstance(reparsed, Request) and reparsed.headers.get("CSeq") == "314160 BYE"
    assert d.create_request("INFO").headers.get("CSeq") == "314161 INFO"


def test_reinvite_carries_contact_and_body() -> None:
    d = Dialog.uac(invite(), ok())
    sdp = b"v=0\r\n"
    reinvite = d.create_request("INVITE", body=sdp, content_type="application/sdp", headers=[("Supported", "timer")])
    assert reinvite.headers.get("Contact") == "<sip:alice@pc33.atlanta.example.com>"
    assert reinvite.headers.get("Content-Type") == "application/sdp"
    assert reinvite.headers.get("Supported") == "timer"
    assert reinvite.body == sdp and reinvite.headers.get("Content-Length") == str(len(sdp))


def test_ack_for_2xx_keeps_invite_cseq() -> None:
    d = Dialog.uac(invite(), ok())
    ack = d.create_ack(314159, via="SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKack")
    assert ack.method == "ACK" and ack.headers.get("CSeq") == "314159 ACK"
    assert ack.uri == d.remote_target and ack.headers.get_all("Route") == d.route_set
    assert d.local_seq == 314159  # the ACK does not consume a sequence number
    with pytest.raises(DialogError):
        d.create_request("ACK")


def test_strict_router_first_in_route_set() -> None:
    resp = ok()
    resp.headers.remove("Record-Route")
    resp.headers.add("Record-Route", "<sip:strict.example.com;method=INVITE;maddr=10.0.0.1?x=y>")
    resp.headers.add("Record-Route", "<sip:loose.example.com;lr>")
    d = Dialog.uac(invite(), resp)
    assert d.route_set == ["<sip:loose.example.com;lr>", "<sip:strict.example.com;method=INVITE;maddr=10.0.0.1?x=y>"]
    bye = d.create_request("BYE")
    assert bye.uri == "sip:bob@192.0.2.4;transport=udp"  # loose first: Request-URI is the remote target
    d.route_set.reverse()
    bye = d.create_request("BYE")
    # §12.2.1.1 strict routing: the first route goes in the Request-URI, the remote target last in Route.
    assert bye.uri == "sip:strict.example.com;maddr=10.0.0.1"
    assert bye.headers.get_all("Route") == ["<sip:loose.example.com;lr>", "<sip:bob@192.0.2.4;transport=udp>"]


def test_no_route_set() -> None:
    resp = ok()
    resp.headers.remove("Record-Route")
    d = Dialog.uac(invite(), resp)
    bye = d.create_request("BYE")
    assert d.route_set == [] and "Route" not in bye.headers and bye.uri == d.remote_target


def test_uas_dialog() -> None:
    req = invite()
    d = Dialog.uas(req, ok())
    assert d.id == DialogId("a84b4c76e66710", "a6c85cf", "1928301774")
    assert not d.is_uac and d.state is DialogState.CONFIRMED
    assert d.remote_seq == 314159 and d.local_seq is None
    assert d.remote_target == "sip:alice@pc33.atlanta.example.com"
    assert d.local_target == "sip:bob@192.0.2.4;transport=udp"
    # §12.1.1: Record-Route in order, not reversed.
    assert d.route_set[0] == "<sip:p2.biloxi.example.com;lr>"
    bye = d.create_request("BYE")
    assert bye.headers.get("CSeq") == "1 BYE"
    assert bye.headers.get("From") == "Bob <sip:bob@biloxi.example.com>;tag=a6c85cf"
    assert bye.headers.get("To") == "Alice <sip:alice@atlanta.example.com>;tag=1928301774"
    assert bye.uri == "sip:alice@pc33.atlanta.example.com"
    assert Dialog.uas(req, ok(), initial_cseq=1000).create_request("BYE").headers.get("CSeq") == "1001 BYE"


def test_uac_request_validates_at_uas_and_ids_mirror() -> None:
    uac = Dialog.uac(invite(), ok())
    uas = Dialog.uas(invite(), ok())
    bye = uac.create_request("BYE")
    assert DialogId.of_request(bye) == uas.id
    assert uas.receive_request(bye) is None
    assert uas.remote_seq == 314160 and uas.terminated


def test_receive_request_cseq_rules() -> None:
    d = Dialog.uas(invite(), ok())
    info = d_request(d, "INFO", 314160)
    assert d.receive_request(info) is None and d.remote_seq == 314160
    assert d.receive_request(d_request(d, "INFO", 314159)) == 500  # §12.2.2: lower → 500
    assert d.remote_seq == 314160
    assert d.receive_request(d_request(d, "ACK", 314159)) is None  # ACK reuses the INVITE's CSeq
    bad = d_request(d, "INFO", 314170)
    bad.headers.set("CSeq", "x INFO")
    assert d.receive_request(bad) == 400
    mismatched = d_request(d, "INFO", 314170)
    mismatched.headers.set("CSeq", "314170 BYE")
    assert d.receive_request(mismatched) == 400


def test_uac_side_learns_remote_seq_from_first_request() -> None:
    d = Dialog.uac(invite(), ok())
    assert d.receive_request(d_request(d, "INFO", 5)) is None
    assert d.remote_seq == 5
    assert d.receive_request(d_request(d, "INFO", 4)) == 500


def test_target_refresh() -> None:
    d = Dialog.uas(invite(), ok())
    reinvite = d_request(d, "INVITE", 314160)
    reinvite.headers.set("Contact", '"Alice" <sip:alice@198.51.100.7:5062>;expires=60')
    assert d.receive_request(reinvite) is None
    assert d.remote_target == "sip:alice@198.51.100.7:5062"
    # UAC side: a 2xx to a re-INVITE moves the remote target (§12.2.1.2).
    uac = Dialog.uac(invite(), ok())
    uac.receive_response(ok(contact="<sip:bob@203.0.113.9>"))
    assert uac.remote_target == "sip:bob@203.0.113.9"


def test_early_dialog_confirmed_by_2xx_with_route_set_recomputed() -> None:
    ringing = ok(180)
    ringing.headers.remove("Record-Route")
    d = Dialog.uac(invite(), ringing)
    assert d.state is DialogState.EARLY and d.route_set == []
    d.receive_response(ok())
    assert d.state is DialogState.CONFIRMED
    assert d.route_set[0] == "<sip:p0.example.com;lr>"


def test_early_dialog_ends_on_non_2xx() -> None:
    d = Dialog.uac(invite(), ok(183))
    d.receive_response(ok(486))
    assert d.terminated
    with pytest.raises(DialogError) as err:
        d.create_request("BYE")
    assert err.value.status == 481
    assert d.receive_request(d_request(d, "BYE", 1)) == 481


def test_481_ends_a_confirmed_dialog() -> None:
    d = Dialog.uac(invite(), ok())
    resp = ok(481)
    resp.headers.set("CSeq", "314160 BYE")
    d.receive_response(resp)
    assert d.terminated


def test_uas_early_then_confirm() -> None:
    d = Dialog.uas(invite(), ok(180))
    assert d.state is DialogState.EARLY
    d.confirm()
    assert d.state is DialogState.CONFIRMED


def test_no_dialog_without_to_tag_or_from_100() -> None:
    with pytest.raises(DialogError):
        Dialog.uac(invite(), ok(tag=None))
    with pytest.raises(DialogError):
        Dialog.uac(invite(), ok(100))
    with pytest.raises(DialogError):
        Dialog.uas(invite(), ok(486))
    bad = invite()
    bad.headers.remove("CSeq")
    with pytest.raises(DialogError):
        Dialog.uac(bad, ok())


def test_secure_flag_needs_tls_and_sips() -> None:
    req = invite()
    req.uri = "sips:bob@biloxi.example.com"
    assert Dialog.uac(req, ok(), over_tls=True).secure
    assert not Dialog.uac(req, ok(), over_tls=False).secure
    assert not Dialog.uas(invite(), ok(), over_tls=True).secure


def test_missing_contact_falls_back() -> None:
    resp = ok()
    resp.headers.remove("Contact")
    assert Dialog.uac(invite(), resp).remote_target == "sip:bob@biloxi.example.com"


def d_request(d: Dialog, method: str, number: int) -> Request:
    """A request as the remote party would send it in dialog ``d``."""
    return _parse_request(
        f"""{method} sip:x@example.com SIP/2.0
Via: SIP/2.0/UDP remote.example.com;branch=z9hG4bK{number}{method}
Max-Forwards: 70
From: {d.remote_uri}
To: {d.local_uri}
Call-ID: {d.call_id}
CSeq: {number} {method}
Content-Length: 0

"""
    )


_HOSTILE = st.text(alphabet=st.sampled_from(list(' \t;,=<>"\\:/[]@sip:tag=²٣lr')), max_size=40)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(to=_HOSTILE, contact=_HOSTILE, rr=_HOSTILE, cseq=_HOSTILE)
def test_hostile_values_raise_only_dialog_error(to: str, contact: str, rr: str, cseq: str) -> None:
    resp = ok()
    resp.headers.set("To", to)
    resp.headers.set("Contact", contact)
    resp.headers.set("Record-Route", rr)
    req = invite()
    req.headers.set("CSeq", cseq)
    for make in (Dialog.uac, Dialog.uas):
        try:
            d = make(req, resp)
        except DialogError:
            continue
        d.create_request("BYE")
        d.receive_response(resp)
        assert d.receive_request(req) in (None, 400, 481, 500)


@pytest.mark.parametrize(
    "value",
    ["sip:301@example.com;tag=abc", "<sip:301@example.com>;tag=abc", '"Bob" <sip:301@example.com;user=phone>;tag=abc'],
)
def test_tag_in_addr_spec_and_name_addr(value: str) -> None:
    """PJSIP sends ``To: sip:301@host`` without angle brackets: its tag is still found (RFC 3261 §20.10)."""
    assert tag(value) == "abc"
    assert addr_uri("sip:301@example.com;tag=abc") == "sip:301@example.com"
