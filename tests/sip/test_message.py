"""Unit and property tests for the SIP message layer: headers, parser, URIs, structured fields, validate, framing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from centrex.sip.message import (
    FramingError,
    Headers,
    ParseError,
    Request,
    Response,
    SipUri,
    StreamFramer,
    TelUri,
    canonical_name,
    parse,
    parse_address,
    parse_addresses,
    parse_cseq,
    parse_uri,
    parse_vias,
    split_list,
    uri_scheme,
    validate,
)
from centrex.sip.message.fields import parse_delta_seconds, parse_max_forwards, parse_via, unquote
from centrex.sip.message.uri import unescape

SETTINGS = settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

INVITE = (
    b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b'To: "Bob" <sip:bob@biloxi.example.com>\r\n'
    b"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@pc33.atlanta.example.com>;expires=3600;q=0.7\r\n"
    b"X-Unknown: keep  this   exactly;;,\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 4\r\n"
    b"\r\n"
    b"v=0\n"
)


# ------------------------------------------------------------------------------------------------------ headers
def test_compact_forms_and_case() -> None:
    assert canonical_name("v") == "Via"
    assert canonical_name("CALL-id") == "Call-ID"
    assert canonical_name("X-Foo") == "X-Foo"
    h = Headers()
    h.add("v", "SIP/2.0/UDP a")
    h.add("VIA", "SIP/2.0/UDP b")
    h.add("l", "0")
    assert h.get_all("Via") == ["SIP/2.0/UDP a", "SIP/2.0/UDP b"]
    assert h.count("via") == 2 and "content-length" in h
    h.prepend("Via", "SIP/2.0/UDP top")
    assert h.get("v") == "SIP/2.0/UDP top"
    h.set("Via", "only")
    assert h.get_all("Via") == ["only"]
    assert h.remove("Content-Length") == 1 and "l" not in h


def test_split_list_respects_quotes_and_brackets() -> None:
    value = '"Doe, John" <sip:a@b;x=1,2>, <sip:c@d>,,sip:e@f'
    assert split_list(value) == ['"Doe, John" <sip:a@b;x=1,2>', "<sip:c@d>", "sip:e@f"]
    assert split_list('"unterminated, still one') == ['"unterminated, still one']


# ------------------------------------------------------------------------------------------------------- parser
def test_parse_request_and_round_trip() -> None:
    msg = parse(INVITE)
    assert isinstance(msg, Request)
    assert msg.method == "INVITE" and msg.uri == "sip:bob@biloxi.example.com"
    assert msg.cseq == (314159, "INVITE")
    assert msg.headers.get("X-Unknown") == "keep  this   exactly;;,"
    assert msg.body == b"v=0\n"
    assert bytes(msg) == INVITE
    assert parse(bytes(msg)) == msg
    validate(msg)


def test_folding_compact_forms_and_lf_only() -> None:
    data = (
        b"OPTIONS sip:a@b SIP/2.0\n"
        b"v: SIP/2.0/UDP h;branch=z9hG4bK1\n"
        b"Subject: first\n"
        b"\t second\n"
        b"   third\n"
        b"f: <sip:x@y>;tag=1\n"
        b"t: sip:a@b\n"
        b"i: id1\n"
        b"CSeq : 1 OPTIONS\n"
        b"\n"
    )
    msg = parse(data)
    assert msg.headers.get("Subject") == "first second third"
    assert msg.headers.get("Via") == "SIP/2.0/UDP h;branch=z9hG4bK1"
    assert msg.headers.get("CSeq") == "1 OPTIONS"
    validate(msg)
    assert parse(bytes(msg)) == msg


def test_body_and_content_length() -> None:
    head = b"SIP/2.0 200 OK\r\nContent-Length: 3\r\n\r\n"
    assert parse(head + b"abcdef").body == b"abc"  # extra datagram octets are ignored (RFC 3261 §18.3)
    with pytest.raises(ParseError):
        parse(head + b"ab")
    no_length = parse(b"SIP/2.0 200 OK\r\nVia: x\r\n\r\nrest of datagram")
    assert no_length.body == b"rest of datagram"
    for bad in (b"-1", b"five", b"\xd9\xa3", b"1234567890"):
        with pytest.raises(ParseError):
            parse(b"SIP/2.0 200 OK\r\nl: " + bad + b"\r\n\r\n")


def test_binary_multipart_body_round_trips() -> None:
    body = b"--b\r\nContent-Type: application/octet-stream\r\n\r\n\x00\x01\r\x0a\n\r\xff\x00\r\n--b--\r\n"
    data = b"MESSAGE sip:k@example.org SIP/2.0\r\nContent-Type: multipart/mixed;boundary=b\r\n"
    data += b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    msg = parse(data)
    assert msg.body == body and bytes(msg) == data


def test_start_lines() -> None:
    assert isinstance(parse(b"\r\n\r\nOPTIONS sip:a SIP/2.0\r\n\r\n"), Request)  # leading keep-alives skipped
    noreason = parse(b"SIP/2.0 100 \r\n\r\n")
    assert isinstance(noreason, Response) and noreason.reason == ""
    for bad in (
        b"",
        b"\r\n",
        b"SIP/2.0 4294967301 big\r\n\r\n",
        b"SIP/2.0 099 low\r\n\r\n",
        b"INVITE  sip:a SIP/2.0\r\n\r\n",
        b"INVITE sip:a SIP/2.0 \r\n\r\n",
        b"INV\xc3\x89TE sip:a SIP/2.0\r\n\r\n",
        b"OPTIONS sip:a SIP/2.0\r\nno colon here\r\n\r\n",
    ):
        with pytest.raises(ParseError):
            parse(bad)
    with pytest.raises(ParseError) as info:
        parse(b"X" * 70_000)
    assert info.value.status == 513


# ---------------------------------------------------------------------------------------------------------- URI
def test_sip_uri_components_and_round_trip() -> None:
    text = "sips:al%69ce:secret@[2001:db8::1]:5061;transport=tcp;lr;maddr=239.255.255.1?subject=hi%20there&x=y"
    uri = SipUri.parse(text)
    assert uri.scheme == "sips" and uri.user == "al%69ce" and unescape(uri.user) == "alice"
    assert uri.password == "secret" and uri.host == "[2001:db8::1]" and uri.port == 5061
    assert uri.params == [("transport", "tcp"), ("lr", None), ("maddr", "239.255.255.1")]
    assert uri.headers == [("subject", "hi%20there"), ("x", "y")]
    assert uri.transport == "tcp" and uri.has_param("LR") and uri.param("lr") == ""
    assert str(uri) == text
    assert str(SipUri.parse("SIP:Bob@Example.COM")) == "SIP:Bob@Example.COM"


@pytest.mark.parametrize(
    "bad",
    [
        "sip:",
        "sip:user@",
        "sip:a@b:99999",
        "sip:a@b:5x",
        "sip:a@[::1",
        "sip:a@[zz::1]",
        "sip:a@b c",
        "sip:a@b;=x",
        "sip:a%zz@b",
        "sip:a@b?noequals",
        "sip:a@-bad-.com",
        "sip:a@300.1.1.1",
        "sip:a@b;lr=a b",
    ],
)
def test_bad_sip_uris(bad: str) -> None:
    with pytest.raises(ParseError):
        SipUri.parse(bad)


def test_schemes() -> None:
    assert isinstance(parse_uri("tel:+1-201-555-0123"), TelUri)
    assert uri_scheme("soap.beep://192.0.2.103:3002") == "soap.beep"
    with pytest.raises(ParseError) as info:
        parse_uri("mailto:a@b")
    assert info.value.status == 416
    with pytest.raises(ParseError) as info:
        parse_uri("<sip:a@b>")
    assert info.value.status == 400
    with pytest.raises(ParseError):
        TelUri.parse("tel:5550123")  # local number needs phone-context
    tel = TelUri.parse("tel:7042;phone-context=example.com")
    assert str(tel) == "tel:7042;phone-context=example.com"
    assert TelUri.parse("tel:+1-201-555-0123").equivalent(TelUri.parse("tel:+12015550123"))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"),
        ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"),
        ("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;newparam=5"),
        (
            "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
            "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com",
        ),
        (
            "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
            "sip:alice@atlanta.com?priority=urgent&subject=project%20x",
        ),
    ],
)
def test_rfc3261_equivalent_uris(a: str, b: str) -> None:
    assert SipUri.parse(a).equivalent(SipUri.parse(b))
    assert SipUri.parse(b).equivalent(SipUri.parse(a))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"),
        ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"),
        ("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"),
        ("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"),
        ("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"),
        ("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"),
        ("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"),
        ("sip:a@b", "sips:a@b"),
        ("sip:a%40x@b", "sip:a@x@b".replace("@x@", "%2540x@")),
    ],
)
def test_rfc3261_different_uris(a: str, b: str) -> None:
    assert not SipUri.parse(a).equivalent(SipUri.parse(b))


# ------------------------------------------------------------------------------------------------------- fields
def test_via_with_rport_received_and_ipv6() -> None:
    via = parse_via("SIP / 2.0 / TCP [2001:db8::9]:5070 ; branch = z9hG4bKx ; rport ; received=2001:db8::5")
    assert (via.protocol, via.version, via.transport) == ("SIP", "2.0", "TCP")
    assert via.host == "[2001:db8::9]" and via.port == 5070
    assert via.branch == "z9hG4bKx" and via.has_rport and via.rport is None and via.received == "2001:db8::5"
    resp = parse_via("SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKy;rport=5061;received=192.0.2.1")
    assert resp.rport == 5061 and str(resp) == "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKy;rport=5061;received=192.0.2.1"
    assert [v.host for v in parse_vias(["SIP/2.0/UDP a, SIP/2.0/TCP b:1", "SIP/2.0/TLS c"])] == ["a", "b", "c"]
    for bad in (
        "SIP/2.0/UDP",
        "SIP/2.0 a",
        "SIP/2.0/UDP a;;",
        "SIP/2.0/UDP a;rport=x",
        "SIP/2.0/UDP a;received=host.example.com",
        "SIP/2.0/UDP a;ttl=300",
        "SIP/2.0/UDP a;branch=",
        "SIP/2.0/UDP a b",
    ):
        with pytest.raises(ParseError):
            parse_via(bad)
    with pytest.raises(ParseError):
        parse_vias(["SIP/2.0/UDP a,,SIP/2.0/UDP b"])


def test_name_addr_forms() -> None:
    a = parse_address('"Mr. \\"Quoted\\" Doe" <sip:doe@example.com;transport=tcp>;tag=abc;expires=60')
    assert a.display_name == 'Mr. "Quoted" Doe' and a.uri == "sip:doe@example.com;transport=tcp"
    assert a.tag == "abc" and a.expires == 60
    b = parse_address("sip:doe@example.com;tag=xyz")  # addr-spec: ;tag belongs to the header
    assert b.uri == "sip:doe@example.com" and b.tag == "xyz" and b.display_name is None
    c = parse_address("Alice Smith<tel:+15551234;phone-context=x>")
    assert c.display_name == "Alice Smith"
    assert isinstance(c.parsed_uri(), TelUri)
    assert parse_address('"x" <sip:a@b>;q=1.0').q == 1.0
    assert str(parse_address('"A \\"B\\"" <sip:a@b>;tag=1')) == '"A \\"B\\"" <sip:a@b>;tag=1'
    star = parse_addresses(["*"], allow_wildcard=True)
    assert star[0].wildcard and str(star[0]) == "*"
    assert parse_addresses(["*;expires=0"], allow_wildcard=True)[0].expires == 0
    with pytest.raises(ParseError):
        parse_addresses(["*, <sip:a@b>"], allow_wildcard=True)
    with pytest.raises(ParseError):
        parse_address("*")
    for bad in (
        '"unterminated <sip:a@b>',
        "Bell, Alexander <sip:a@b>",
        "< sip:a@b >",
        "sip:a@b?x=y",
        "<sip:a@b> junk",
        "<sip:a@b",
        '"x" sip:a@b',
        "<sip:a@b>;q=2",
    ):
        with pytest.raises(ParseError):
            parse_address(bad).q  # noqa: B018
    assert unquote('"a\\\\b"') == "a\\b"


def test_scalar_fields() -> None:
    assert parse_cseq("0009  INVITE").number == 9
    assert str(parse_cseq("1 ACK")) == "1 ACK"
    for bad in ("", "1", "x INVITE", "1 INVITE extra", str(2**31) + " INVITE", "-1 INVITE", "١ INVITE"):
        with pytest.raises(ParseError):
            parse_cseq(bad)
    assert parse_max_forwards("0068") == 68
    for bad in ("256", "", "x", "-1"):
        with pytest.raises(ParseError):
            parse_max_forwards(bad)
    assert parse_delta_seconds("3600") == 3600
    with pytest.raises(ParseError):
        parse_delta_seconds("1" + "0" * 100)


# ----------------------------------------------------------------------------------------------------- validate
def _without(name: str) -> bytes:
    return b"\r\n".join(line for line in INVITE.split(b"\r\n") if not line.lower().startswith(name.encode()))


@pytest.mark.parametrize("name", ["To:", "From:", "Call-ID:", "CSeq:", "Via:"])
def test_validate_requires_headers(name: str) -> None:
    with pytest.raises(ParseError) as info:
        validate(parse(_without(name.lower())))
    assert info.value.status == 400


def test_validate_rules() -> None:
    validate(parse(_without("max-forwards:")))  # RFC 2543 peers omit it (RFC 4475 §3.4.1)
    same_twice = INVITE.replace(b"CSeq: 314159 INVITE\r\n", b"CSeq: 314159 INVITE\r\nCSeq: 314159  INVITE\r\n")
    validate(parse(same_twice))
    cases = {
        INVITE.replace(b"Max-Forwards: 70", b"Max-Forwards: 7000"): 400,
        INVITE.replace(b"CSeq: 314159 INVITE", b"CSeq: 314159 BYE"): 400,
        INVITE.replace(b"Call-ID: a84", b"Call-ID: a84\r\ni: other"): 400,
        INVITE.replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1): 505,
        INVITE.replace(b"sip:bob@biloxi.example.com SIP", b"sip:bob@biloxi.example.com?X=y SIP"): 400,
        INVITE.replace(b"Contact: <sip:alice", b"Contact: *, <sip:alice"): 400,
        INVITE.replace(b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com", b"Call-ID: "): 400,
    }
    for data, status in cases.items():
        with pytest.raises(ParseError) as info:
            validate(parse(data))
        assert info.value.status == status
    validate(parse(INVITE.replace(b"INVITE sip:bob@biloxi.example.com", b"INVITE urn:service:sos")))


# ------------------------------------------------------------------------------------------------------ framing
def test_framer_splits_stream_and_skips_keepalives() -> None:
    framer = StreamFramer()
    stream = b"\r\n\r\n" + INVITE + b"\r\n" + INVITE
    out: list[bytes] = []
    for i in range(0, len(stream), 7):
        out += framer.feed(stream[i : i + 7])
    assert out == [INVITE, INVITE] and framer.buffered == 0 and framer.keepalives == 1
    lf_only = b"OPTIONS sip:a SIP/2.0\nl: 2\n\nhiOPTIONS sip:b SIP/2.0\n\n"
    assert framer.feed(lf_only) == [b"OPTIONS sip:a SIP/2.0\nl: 2\n\nhi", b"OPTIONS sip:b SIP/2.0\n\n"]


def test_framer_limits() -> None:
    with pytest.raises(FramingError):
        StreamFramer(max_header=100).feed(b"OPTIONS sip:a SIP/2.0\r\nX: " + b"a" * 200)
    with pytest.raises(FramingError) as info:
        StreamFramer(max_body=10).feed(b"OPTIONS sip:a SIP/2.0\r\nContent-Length: 11\r\n\r\n")
    assert info.value.status == 513
    with pytest.raises(FramingError):
        StreamFramer().feed(b"OPTIONS sip:a SIP/2.0\r\nContent-Length: -5\r\n\r\n")
    with pytest.raises(FramingError):
        StreamFramer().feed(b"OPTIONS sip:a SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\n")
    partial = StreamFramer()
    assert partial.feed(b"OPTIONS sip:a SIP/2.0\r\nl: 5\r\n\r\nab") == []
    assert partial.feed(b"cde") == [b"OPTIONS sip:a SIP/2.0\r\nl: 5\r\n\r\nabcde"]


# --------------------------------------------------------------------------------------------------- properties
TOKEN = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.!%*_+`'~", min_size=1)
NAMES = st.sampled_from(["Via", "v", "To", "t", "From", "Call-ID", "i", "CSeq", "Contact", "m", "Subject", "X-A"])
HEADER_NAME = st.one_of(NAMES, TOKEN.filter(lambda n: canonical_name(n).lower() != "content-length"))
VALUE = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"), max_size=40).map(
    lambda v: v.strip(" \t")
)
URI_TEXT = st.from_regex(r"\A[a-z]{1,5}:[!-~]{1,30}\Z").filter(lambda u: " " not in u)


@st.composite
def messages(draw: st.DrawFn) -> Request | Response:
    headers = Headers()
    for name, value in draw(st.lists(st.tuples(HEADER_NAME, VALUE), max_size=8)):
        headers.add(name, value)
    body = draw(st.binary(max_size=60))
    if body or draw(st.booleans()):
        headers.add(draw(st.sampled_from(["Content-Length", "l", "content-length"])), str(len(body)))
    if draw(st.booleans()):
        return Request(headers=headers, body=body, method=draw(TOKEN), uri=draw(URI_TEXT))
    reason = draw(VALUE)
    return Response(headers=headers, body=body, status=draw(st.integers(100, 699)), reason=reason)


@SETTINGS
@given(messages())
def test_property_round_trip(msg: Request | Response) -> None:
    assert parse(bytes(msg)) == msg


def _everything(data: bytes) -> None:
    """parse, validate, and every structured parser on what parsed: only ParseError may come out."""
    try:
        msg = parse(data)
    except ParseError:
        return
    for run in (
        lambda: validate(msg),
        lambda: parse_vias(msg.headers.get_all("Via")),
        lambda: parse_addresses(msg.headers.get_all("Contact"), allow_wildcard=True),
        lambda: [parse_address(v).q for v in msg.headers.get_all("To") + msg.headers.get_all("From")],
        lambda: parse_cseq(msg.headers.get("CSeq") or ""),
        lambda: msg.cseq,
        lambda: parse_uri(msg.uri) if isinstance(msg, Request) else None,
        lambda: SipUri.parse(msg.uri).equivalent(SipUri.parse(msg.uri)) if isinstance(msg, Request) else None,
    ):
        with contextlib.suppress(ParseError):
            run()
    with contextlib.suppress(ParseError):
        StreamFramer(max_header=512, max_body=512).feed(data)


@SETTINGS
@given(st.binary(max_size=300))
def test_property_arbitrary_bytes_only_parse_error(data: bytes) -> None:
    _everything(data)


@SETTINGS
@given(st.data())
def test_property_mutated_messages_only_parse_error(data: st.DataObject) -> None:
    raw = bytearray(INVITE)
    for _ in range(data.draw(st.integers(1, 6))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        byte = data.draw(st.sampled_from([0, 9, 10, 13, 32, 34, 37, 44, 58, 59, 60, 62, 64, 91, 93, 0xFF, 0xD9]))
        if action == "flip":
            raw[pos] = byte
        elif action == "insert":
            raw.insert(pos, byte)
        elif len(raw) > 1:
            del raw[pos]
    _everything(bytes(raw))


@SETTINGS
@given(st.text(max_size=60))
def test_property_uri_and_field_parsers_on_text(text: str) -> None:
    for run in (
        lambda: SipUri.parse("sip:" + text),
        lambda: parse_uri(text),
        lambda: parse_via("SIP/2.0/UDP " + text),
        lambda: parse_address(text),
        lambda: parse_cseq(text),
        lambda: parse_max_forwards(text),
        lambda: parse_delta_seconds(text),
        lambda: unescape(text),
    ):
        with contextlib.suppress(ParseError):
            run()
