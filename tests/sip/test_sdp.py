"""SDP: parsing real-world-style offers, strict syntax, round trips, and RFC 3264 offer/answer."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from centrex.sip.sdp import (
    DEFAULT_CODECS,
    G722,
    PCMA,
    PCMU,
    Attribute,
    Bandwidth,
    Connection,
    Direction,
    Media,
    Origin,
    Rtcp,
    RtpMap,
    SdpError,
    SessionDescription,
    Timing,
    build_answer,
    effective_direction,
    is_hold,
    rewrite_media_address,
)

HYPO = settings(max_examples=200, deadline=None, derandomize=True)


def crlf(text: str) -> bytes:
    return "".join(line.strip() + "\r\n" for line in text.strip().splitlines()).encode()


LINPHONE = crlf("""
    v=0
    o=1001 3459 1207 IN IP4 192.168.1.20
    s=Talk
    c=IN IP4 192.168.1.20
    t=0 0
    a=ice-pwd:5b3c0fa2a30a4d2bd8b7c9a5
    a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics
    a=record:off
    m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100
    a=rtpmap:96 opus/48000/2
    a=fmtp:96 useinbandfec=1
    a=rtpmap:97 speex/16000
    a=fmtp:97 vbr=on
    a=rtpmap:98 speex/8000
    a=fmtp:98 vbr=on
    a=fmtp:18 annexb=yes
    a=rtpmap:101 telephone-event/48000
    a=rtpmap:99 telephone-event/16000
    a=rtpmap:100 telephone-event/8000
    a=rtcp:7079
    a=rtcp-fb:* trr-int 5000
    a=rtcp-fb:* ccm tmmbr
    m=video 9078 RTP/AVP 96
    a=rtpmap:96 VP8/90000
    a=rtcp-fb:* nack pli
""")

PJSIP = crlf("""
    v=0
    o=- 3871279430 3871279430 IN IP4 10.0.0.5
    s=pjmedia
    b=AS:84
    t=0 0
    a=X-nat:0
    m=audio 4000 RTP/AVP 98 97 99 104 3 0 8 9 96
    c=IN IP4 10.0.0.5
    b=AS:64000
    a=rtpmap:98 speex/16000
    a=rtpmap:97 speex/8000
    a=rtpmap:99 speex/32000
    a=rtpmap:104 iLBC/8000
    a=fmtp:104 mode=30
    a=rtpmap:3 GSM/8000
    a=rtpmap:0 PCMU/8000
    a=rtpmap:8 PCMA/8000
    a=rtpmap:9 G722/8000
    a=sendrecv
    a=rtcp:4001 IN IP4 10.0.0.5
    a=ssrc:123807095 cname:01f2a3bb6c3c6b3d
    a=rtpmap:96 telephone-event/8000
    a=fmtp:96 0-16
""")

ASTERISK_HOLD = crlf("""
    v=0
    o=- 1730910000 1730910002 IN IP4 203.0.113.10
    s=Asterisk
    c=IN IP4 203.0.113.10
    t=0 0
    m=audio 18330 RTP/AVP 8 0 101
    a=rtpmap:8 PCMA/8000
    a=rtpmap:0 PCMU/8000
    a=rtpmap:101 telephone-event/8000
    a=fmtp:101 0-16
    a=ptime:20
    a=maxptime:150
    a=sendonly
""")

OLD_HOLD_IPV6 = crlf("""
    v=0
    o=polycom 1 2 IN IP6 2001:db8::5
    s=-
    i=A call on hold
    u=http://example.com/sdp
    e=ops@example.com (Ops)
    p=+1 555 0100
    c=IN IP4 0.0.0.0
    b=CT:128
    t=3034423619 3042462419
    r=604800 3600 0 90000
    r=7d 1h 0 25h
    t=0 0
    z=2882844526 -1h 2898848070 0
    k=prompt
    a=recvonly
    m=audio 49170/2 RTP/AVP 0
    i=voice
    b=AS:64
    k=clear:secret
    a=ptime:0.5
    m=application 0 TCP/BFCP *
""")


@pytest.mark.parametrize(
    "raw", [LINPHONE, PJSIP, ASTERISK_HOLD, OLD_HOLD_IPV6], ids=["linphone", "pjsip", "asterisk", "full"]
)
def test_real_world_samples_round_trip_byte_exact(raw: bytes) -> None:
    sd = SessionDescription.parse(raw)
    assert bytes(sd) == raw
    assert SessionDescription.parse(bytes(sd)) == sd
    assert str(sd) == raw.decode()


def test_linphone_offer_fields() -> None:
    sd = SessionDescription.parse(LINPHONE)
    assert sd.origin == Origin("1001", 3459, 1207, "IN", "IP4", "192.168.1.20")
    assert sd.session_name == "Talk" and sd.connection == Connection("192.168.1.20")
    assert [a.name for a in sd.attributes] == ["ice-pwd", "rtcp-xr", "record"]
    audio, video = sd.media
    assert audio.port == 7078 and audio.proto == "RTP/AVP" and audio.payload_types[:3] == [96, 97, 98]
    assert audio.rtpmap(96) == RtpMap(96, "opus", 48000, 2)
    assert audio.rtpmap(0) == RtpMap(0, "PCMU", 8000, 1)  # static, no rtpmap line
    assert audio.rtpmap(18) is not None and audio.fmtps["18"] == "annexb=yes"
    assert audio.rtcp == Rtcp(7079)
    assert audio.get_all("rtcp-fb") == ["* trr-int 5000", "* ccm tmmbr"]  # unknown attributes kept in order
    assert audio.direction is None and effective_direction(sd, audio) is Direction.SENDRECV
    assert video.media == "video" and video.rtpmap(96) == RtpMap(96, "VP8", 90000)
    assert not is_hold(sd)


def test_pjsip_offer_fields() -> None:
    sd = SessionDescription.parse(PJSIP)
    assert sd.connection is None and sd.bandwidths == [Bandwidth("AS", 84)]
    (audio,) = sd.media
    assert sd.connection_for(audio) == Connection("10.0.0.5")
    assert audio.bandwidths == [Bandwidth("AS", 64000)]
    assert audio.rtcp == Rtcp(4001, Connection("10.0.0.5"))
    assert audio.direction is Direction.SENDRECV
    assert audio.fmtps == {"104": "mode=30", "96": "0-16"}


def test_asterisk_hold_fields() -> None:
    sd = SessionDescription.parse(ASTERISK_HOLD)
    (audio,) = sd.media
    assert audio.ptime == 20 and audio.maxptime == 150
    assert audio.direction is Direction.SENDONLY
    assert is_hold(sd)


def test_full_grammar_sample() -> None:
    sd = SessionDescription.parse(OLD_HOLD_IPV6)
    assert sd.origin.addrtype == "IP6" and sd.origin.address == "2001:db8::5"
    assert sd.information == "A call on hold" and sd.uri == "http://example.com/sdp"
    assert sd.emails == ["ops@example.com (Ops)"] and sd.phones == ["+1 555 0100"]
    assert sd.times == [Timing(3034423619, 3042462419, ["604800 3600 0 90000", "7d 1h 0 25h"]), Timing(0, 0)]
    assert sd.zone == "2882844526 -1h 2898848070 0" and sd.key == "prompt"
    audio, bfcp = sd.media
    assert audio.port_count == 2 and audio.information == "voice" and audio.key == "clear:secret"
    assert audio.ptime == 0.5
    assert bfcp.rejected and bfcp.formats == ["*"] and not bfcp.is_rtp
    # session-level recvonly, plus c=0.0.0.0: the author neither sends nor wants to receive
    assert effective_direction(sd, audio) is Direction.INACTIVE
    assert is_hold(sd)


def test_lf_only_line_ends_and_trailing_space_on_m_line_are_accepted() -> None:
    raw = ASTERISK_HOLD.replace(b"\r\n", b"\n").replace(b"RTP/AVP 8 0 101", b"RTP/AVP 8 0 101 ")
    sd = SessionDescription.parse(raw)
    assert sd == SessionDescription.parse(ASTERISK_HOLD)
    assert bytes(sd) == ASTERISK_HOLD


def test_multicast_connection_forms() -> None:
    assert Connection.parse("IN IP4 224.2.36.42/127/3") == Connection("224.2.36.42", "IP4", "IN", 127, 3)
    assert Connection.parse("IN IP6 ff15::101/3") == Connection("ff15::101", "IP6", "IN", None, 3)
    assert str(Connection.parse("IN IP4 224.2.36.42/127")) == "IN IP4 224.2.36.42/127"


def test_attribute_editing_keeps_order() -> None:
    sd = SessionDescription.parse(PJSIP)
    audio = sd.media[0]
    where = [a.name for a in audio.attributes].index("sendrecv")
    audio.direction = Direction.INACTIVE
    assert [a.name for a in audio.attributes].index("inactive") == where
    audio.direction = None
    assert audio.direction is None and len(audio.attributes) == 13
    audio.set("ptime", "30")
    assert audio.attributes[-1] == Attribute("ptime", "30")
    audio.remove("ssrc")
    assert not audio.has("ssrc")
    with pytest.raises(SdpError):
        audio.set("ptime", "soon")


# --- malformed input -------------------------------------------------------------------------------------------

GOOD = ASTERISK_HOLD.decode()


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "\r\n",
        "v=1\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nt=0 0\r\n",  # version
        "o=- 1 1 IN IP4 1.1.1.1\r\nv=0\r\ns=-\r\nt=0 0\r\n",  # v= not first
        "v=0\r\ns=-\r\no=- 1 1 IN IP4 1.1.1.1\r\nt=0 0\r\n",  # s before o
        "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\n",  # no t=
        "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nm=audio 1 RTP/AVP 0\r\nc=IN IP4 1.1.1.1\r\n",  # no t=
        GOOD.replace("t=0 0\r\n", "t=0 0\r\nc=IN IP4 1.1.1.1\r\n"),  # c after t
        GOOD.replace("s=Asterisk\r\n", "s=Asterisk\r\ns=again\r\n"),  # repeated s
        GOOD.replace("c=IN IP4 203.0.113.10\r\n", ""),  # stream without any c=
        GOOD.replace("a=ptime:20\r\n", "a=ptime:20\r\nc=IN IP4 1.1.1.1\r\n"),  # media c after a
        GOOD.replace("t=0 0\r\n", "t=0 0\r\nx=unknown\r\n"),  # unknown type letter
        GOOD.replace("t=0 0\r\n", "t=0 0\r\nA=upper\r\n"),
        GOOD.replace("t=0 0\r\n", "t=0 0\r\nnot a line\r\n"),
        GOOD.replace("t=0 0\r\n", "t = 0 0\r\n"),
        GOOD.replace("t=0 0\r\n", "t=0\r\n"),
        GOOD.replace("t=0 0\r\n", "t=0 0\r\nr=\r\n"),
        GOOD.replace("t=0 0\r\n", "r=1 1 1\r\nt=0 0\r\n"),  # r before t
        GOOD.replace("o=- 1730910000 1730910002", "o=- x 1"),
        GOOD.replace("o=- 1730910000 1730910002 IN IP4 203.0.113.10", "o=- 1 1 IN IP4"),
        GOOD.replace("c=IN IP4 203.0.113.10", "c=IN IP4"),
        GOOD.replace("c=IN IP4 203.0.113.10", "c=IN IP4 1.1.1.1/999"),
        GOOD.replace("m=audio 18330", "m=audio 70000"),
        GOOD.replace("m=audio 18330", "m=audio -1"),
        GOOD.replace("RTP/AVP 8 0 101", "RTP/AVP"),
        GOOD.replace("RTP/AVP 8 0 101", "RTP/AVP 8 PCMU"),  # RTP formats are numbers
        GOOD.replace("RTP/AVP 8 0 101", "RTP/AVP 8 0 128"),
        GOOD.replace("RTP/AVP 8 0 101", "RTP/AVP 8  0"),
        GOOD.replace("a=rtpmap:8 PCMA/8000", "a=rtpmap:8 PCMA"),
        GOOD.replace("a=rtpmap:8 PCMA/8000", "a=rtpmap:x PCMA/8000"),
        GOOD.replace("a=rtpmap:8 PCMA/8000", "a=rtpmap"),
        GOOD.replace("a=ptime:20", "a=ptime:twenty"),
        GOOD.replace("a=sendonly", "a=sendonly:yes"),
        GOOD.replace("a=sendonly", "a=rtcp:99999"),
        GOOD.replace("a=sendonly", "a=bad name:1"),
        GOOD.replace("a=sendonly", "a=:1"),
        GOOD.replace("a=sendonly", "b=AS"),  # b after a
        GOOD.replace("a=sendonly", "a=x\rinjected"),
        GOOD.replace("a=sendonly", "a=x\x00"),
        GOOD.replace("a=sendonly", "v=0"),  # v= in a media section
        GOOD + "\r\na=after a blank line\r\n",
    ],
)
def test_malformed_sdp_raises_sdp_error(raw: str) -> None:
    with pytest.raises(SdpError) as info:
        SessionDescription.parse(raw)
    assert info.value.status == 400


def test_undecodable_bytes_round_trip() -> None:
    raw = ASTERISK_HOLD.replace(b"s=Asterisk", b"s=\xff\xfe bytes")
    sd = SessionDescription.parse(raw)
    assert bytes(sd) == raw


@HYPO
@given(st.text(max_size=300))
def test_arbitrary_text_parses_or_raises_sdp_error(text: str) -> None:
    with contextlib.suppress(SdpError):
        SessionDescription.parse(text)


@HYPO
@given(st.binary(max_size=300))
def test_arbitrary_bytes_parse_or_raise_sdp_error(data: bytes) -> None:
    with contextlib.suppress(SdpError):
        SessionDescription.parse(data)


@HYPO
@given(st.lists(st.sampled_from([*GOOD.split("\r\n")[:-1], "a=rtpmap:1 x/1/2", "r=1 2 3", "t=1 2", "z=0 0"])))
def test_shuffled_real_lines_parse_or_raise_sdp_error(lines: list[str]) -> None:
    with contextlib.suppress(SdpError):
        sd = SessionDescription.parse("\r\n".join(lines))
        assert SessionDescription.parse(bytes(sd)) == sd


@HYPO
@given(st.data())
def test_mutated_samples_parse_or_raise_sdp_error(data: st.DataObject) -> None:
    raw = bytearray(data.draw(st.sampled_from([LINPHONE, PJSIP, ASTERISK_HOLD, OLD_HOLD_IPV6])))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.sampled_from(b" /:=\r\n0a9x\x00\xff"))
    with contextlib.suppress(SdpError):
        sd = SessionDescription.parse(bytes(raw))
        assert SessionDescription.parse(bytes(sd)) == sd


# --- round-trip property ---------------------------------------------------------------------------------------

_tok = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~", min_size=1, max_size=8)
_txt = st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=20)
_word = st.text(st.characters(codec="utf-8", exclude_categories=["Zs", "Zl", "Zp", "Cc"]), min_size=1, max_size=12)
_addr = st.sampled_from(["192.0.2.1", "0.0.0.0", "2001:db8::1", "host.example", "224.2.1.1"])
_u64 = st.integers(0, 2**63)
_connection = st.builds(Connection, address=_addr, addrtype=st.sampled_from(["IP4", "IP6", "X"]), nettype=_tok).map(
    lambda c: c if c.addrtype != "IP6" else Connection(c.address, "IP6", c.nettype, None, c.count)
)
_bandwidth = st.builds(Bandwidth, type=_tok, value=st.integers(0, 10**9))
_attr_value = st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=15)
_attribute = st.one_of(
    st.builds(Attribute, name=_tok.filter(lambda n: n not in {"rtpmap", "fmtp", "ptime", "maxptime", "rtcp"}))
    .filter(lambda a: a.name not in {"sendrecv", "sendonly", "recvonly", "inactive"})
    .flatmap(lambda a: st.builds(Attribute, name=st.just(a.name), value=st.none() | _attr_value)),
    st.sampled_from([Direction.SENDONLY, Direction.INACTIVE]).map(lambda d: Attribute(d.value)),
    st.builds(
        lambda pt, enc, rate: Attribute("rtpmap", f"{pt} {enc}/{rate}"),
        st.integers(0, 127),
        _tok,
        st.integers(1, 2**32),
    ),
    st.builds(lambda pt, p: Attribute("fmtp", f"{pt} {p}"), st.integers(0, 127), _attr_value),
    st.integers(1, 200).map(lambda n: Attribute("ptime", str(n))),
    st.integers(1, 65535).map(lambda n: Attribute("rtcp", str(n))),
)


@st.composite
def _media(draw: st.DrawFn) -> Media:
    rtp = draw(st.booleans())
    proto = draw(st.sampled_from(["RTP/AVP", "RTP/SAVP"])) if rtp else draw(st.sampled_from(["udptl", "TCP/BFCP"]))
    formats = draw(st.lists(st.integers(0, 127).map(str) if rtp else _tok, min_size=1, max_size=5))
    return Media(
        media=draw(st.sampled_from(["audio", "video", "image", "application"])),
        port=draw(st.integers(0, 65535)),
        proto=proto,
        formats=formats,
        port_count=draw(st.none() | st.integers(1, 8)),
        information=draw(st.none() | _txt),
        connections=draw(st.lists(_connection, min_size=1, max_size=2)),
        bandwidths=draw(st.lists(_bandwidth, max_size=2)),
        key=draw(st.none() | _txt),
        attributes=draw(st.lists(_attribute, max_size=6)),
    )


_session = st.builds(
    SessionDescription,
    origin=st.builds(Origin, username=_word, session_id=_u64, session_version=_u64, nettype=_tok, addrtype=_tok),
    session_name=_txt,
    information=st.none() | _txt,
    uri=st.none() | _txt,
    emails=st.lists(_txt, max_size=2),
    phones=st.lists(_txt, max_size=2),
    connection=st.none() | _connection,
    bandwidths=st.lists(_bandwidth, max_size=2),
    times=st.lists(
        st.builds(Timing, start=_u64, stop=_u64, repeats=st.lists(_txt.filter(str.strip), max_size=2)),
        min_size=1,
        max_size=2,
    ),
    zone=st.none() | _txt,
    key=st.none() | _txt,
    attributes=st.lists(_attribute, max_size=5),
    media=st.lists(_media(), max_size=3),
)


@HYPO
@given(_session)
def test_round_trip_property(sd: SessionDescription) -> None:
    assert SessionDescription.parse(bytes(sd)) == sd
    assert SessionDescription.parse(str(sd)) == sd


# --- offer/answer ------------------------------------------------------------------------------------------------

OURS = Origin("centrex", 42, 1, "IN", "IP4", "198.51.100.1")


def answer(offer: bytes, **kw: object) -> SessionDescription:
    sd = SessionDescription.parse(offer)
    kw.setdefault("ports", [30000, 30002])
    result = build_answer(sd, address="198.51.100.1", origin=OURS, **kw)  # type: ignore[arg-type]
    assert SessionDescription.parse(bytes(result)) == result
    return result


def test_answer_to_linphone_keeps_order_and_rejects_video() -> None:
    ans = answer(LINPHONE, ports=[30000])
    assert len(ans.media) == 2
    audio, video = ans.media
    assert audio.port == 30000 and audio.formats == ["0", "8", "100"]  # our order, their numbers
    assert audio.rtpmap(100) == RtpMap(100, "telephone-event", 8000)
    assert audio.fmtps == {"100": "0-15"}  # RFC 4733: no fmtp in the offer means 0-15
    assert audio.direction is Direction.SENDRECV and audio.ptime == 20
    assert video.port == 0 and video.media == "video" and video.formats == ["96"]
    assert ans.connection == Connection("198.51.100.1") and ans.origin == OURS
    assert ans.times == [Timing(0, 0)]


def test_answer_to_pjsip_uses_offered_dynamic_payload_type_for_dtmf() -> None:
    ans = answer(PJSIP, codecs=[PCMA, *DEFAULT_CODECS])
    (audio,) = ans.media
    assert audio.formats == ["8", "0", "9", "96"]
    assert audio.fmtps == {"96": "0-16"}
    assert [a.value for a in audio.attributes if a.name == "rtpmap"] == [
        "8 PCMA/8000",
        "0 PCMU/8000",
        "9 G722/8000",
        "96 telephone-event/8000",
    ]


@pytest.mark.parametrize(
    ("offered", "wanted", "expected"),
    [
        ("sendrecv", Direction.SENDRECV, Direction.SENDRECV),
        ("sendonly", Direction.SENDRECV, Direction.RECVONLY),
        ("recvonly", Direction.SENDRECV, Direction.SENDONLY),
        ("inactive", Direction.SENDRECV, Direction.INACTIVE),
        ("sendrecv", Direction.SENDONLY, Direction.SENDONLY),  # we put them on hold
        ("sendonly", Direction.SENDONLY, Direction.INACTIVE),
    ],
)
def test_direction_mirroring(offered: str, wanted: Direction, expected: Direction) -> None:
    offer = ASTERISK_HOLD.replace(b"a=sendonly", f"a={offered}".encode())
    assert answer(offer, direction=wanted).media[0].direction is expected


def test_old_style_hold_is_detected_and_answered_recvonly() -> None:
    offer = PJSIP.replace(b"c=IN IP4 10.0.0.5", b"c=IN IP4 0.0.0.0")
    sd = SessionDescription.parse(offer)
    assert is_hold(sd)
    assert effective_direction(sd, sd.media[0]) is Direction.SENDONLY
    assert answer(offer).media[0].direction is Direction.RECVONLY


def test_session_level_direction_applies_to_streams() -> None:
    offer = LINPHONE.replace(b"a=record:off\r\n", b"a=record:off\r\na=inactive\r\n")
    sd = SessionDescription.parse(offer)
    assert is_hold(sd)
    assert answer(offer).media[0].direction is Direction.INACTIVE


def test_no_common_codec_is_488_and_rejected_streams_stay_rejected() -> None:
    only_opus = LINPHONE.replace(b"RTP/AVP 96 97 98 0 8 18 101 99 100", b"RTP/AVP 96 101")
    with pytest.raises(SdpError) as info:
        answer(only_opus)
    assert info.value.status == 488
    two = SessionDescription.parse(ASTERISK_HOLD)
    two.media.insert(0, Media("audio", 0, "RTP/AVP", ["0"]))  # disabled by the offerer
    two.media.append(Media("audio", 5000, "RTP/SAVP", ["0"]))  # SRTP: not offered by us
    ans = build_answer(two, address="198.51.100.1", ports=[40000, 40002], origin=OURS)
    assert [m.port for m in ans.media] == [0, 40000, 0]
    assert [m.proto for m in ans.media] == ["RTP/AVP", "RTP/AVP", "RTP/SAVP"]


def test_more_streams_than_ports_rejects_the_rest() -> None:
    sd = SessionDescription.parse(ASTERISK_HOLD)
    sd.media.append(Media("audio", 6000, "RTP/AVP", ["0"]))
    ans = build_answer(sd, address="198.51.100.1", ports=[40000], origin=OURS)
    assert [m.port for m in ans.media] == [40000, 0]


def test_ipv6_answer_address() -> None:
    ans = answer(ASTERISK_HOLD, ports=[30000])
    assert ans.connection is not None and ans.connection.addrtype == "IP4"
    sd = SessionDescription.parse(ASTERISK_HOLD)
    v6 = build_answer(sd, address="2001:db8::7", ports=[30000], origin=OURS)
    assert str(v6.connection) == "IN IP6 2001:db8::7"


def test_rewrite_for_media_relay() -> None:
    sd = SessionDescription.parse(PJSIP)
    out = rewrite_media_address(sd, "198.51.100.1", [31000])
    assert out.connection == Connection("198.51.100.1")
    assert out.origin.address == "198.51.100.1" and out.origin.session_id == sd.origin.session_id
    (audio,) = out.media
    assert audio.port == 31000 and audio.connections == []
    assert audio.rtcp == Rtcp(31001, Connection("198.51.100.1"))
    assert [a.name for a in audio.attributes] == [a.name for a in sd.media[0].attributes]  # order kept
    assert sd.media[0].port == 4000  # the input is not changed
    assert SessionDescription.parse(bytes(out)) == out


def test_rewrite_keeps_old_style_hold_and_rejected_streams() -> None:
    sd = SessionDescription.parse(OLD_HOLD_IPV6)
    out = rewrite_media_address(sd, "198.51.100.1", [31000, 32000], rewrite_origin=False)
    audio, bfcp = out.media
    assert audio.port == 31000 and audio.port_count == 2 and audio.connections == [Connection("0.0.0.0")]
    assert is_hold(out)
    assert bfcp.port == 0 and bfcp.connections == []
    assert out.origin == sd.origin
    with pytest.raises(ValueError):
        rewrite_media_address(sd, "198.51.100.1", [1])


@HYPO
@given(_session)
def test_answer_property_same_m_lines_or_488(offer: SessionDescription) -> None:
    acceptable = any(
        not m.rejected
        and m.media == "audio"
        and m.proto == "RTP/AVP"
        and any(c.matches(rm) for pt in m.payload_types if (rm := m.rtpmap(pt)) is not None for c in (PCMU, PCMA, G722))
        for m in offer.media
    )
    if not acceptable:
        with pytest.raises(SdpError) as info:
            build_answer(offer, address="198.51.100.1", ports=[30000], origin=OURS)
        assert info.value.status == 488
        return
    ans = build_answer(offer, address="198.51.100.1", ports=[30000], origin=OURS)
    assert [m.media for m in ans.media] == [m.media for m in offer.media]
    assert sum(not m.rejected for m in ans.media) == 1
    for offered, answered in zip(offer.media, ans.media, strict=True):
        if offered.rejected:
            assert answered.rejected
        if not answered.rejected:
            assert set(answered.formats) <= set(offered.formats)
    assert SessionDescription.parse(bytes(ans)) == ans
