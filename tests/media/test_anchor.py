"""The media anchor interface (``centrex.media.anchor``), the same tests over both anchors: the built-in relay
(``RelayAnchor``) and a real rtpengine daemon on 127.0.0.1 (``RtpengineAnchor``).

Each phone's SDP is rewritten to point the other phone at the anchor; G.711 RTP sent from two UDP sockets crosses
the anchor both ways intact; the CDR legs count it; ``idle_seconds`` grows from creation, drops when media flows
and grows again when it stops; unusable SDP is refused alike; ``close`` is idempotent and frees the call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from centrex.config import Settings
from centrex.media.anchor import MediaAnchor, MediaSession, RelayAnchor, anchor_from_settings, make_anchor
from centrex.media.rtp import RelayError, RtpRelay
from centrex.media.rtpengine import RtpengineAnchor
from centrex.sip.sdp import SdpError, SessionDescription
from tests.media.conftest import HOST, Phone, Phones, Rtpengine, free_range, needs_rtpengine, rtp, sdp

ANCHORS = ["relay", pytest.param("rtpengine", marks=needs_rtpengine)]


@pytest.fixture(params=ANCHORS)
async def media_anchor(request: pytest.FixtureRequest) -> AsyncIterator[MediaAnchor]:
    anchor: MediaAnchor
    if request.param == "relay":
        low, high = free_range(8)
        anchor = RelayAnchor(RtpRelay(HOST, low, high, inactivity_timeout=1.0))  # idle sampled every 0.25 s
    else:
        engine: Rtpengine = request.getfixturevalue("rtpengine")
        anchor = await RtpengineAnchor.connect(engine.ng, poll_interval=0.2)
    yield anchor
    await anchor.close()


def target(body: bytes) -> tuple[str, int]:
    """Where the SDP ``body`` asks the phone to send RTP: (c= address, first m= port)."""
    sd = SessionDescription.parse(body)
    conn = sd.connection_for(sd.media[0])
    assert conn is not None
    return conn.address, sd.media[0].port


async def connect(session: MediaSession, phones: Phones, *, late: bool) -> tuple[Phone, Phone, int, int]:
    """Two phones whose SDPs went through ``session``: (phone A, phone B, A's port to send to, B's)."""
    a, b = await phones.new(), await phones.new()
    if late:  # late offer: the callee offers in its 200, the caller answers in its ACK
        to_a = await session.rewrite(sdp(b.port, session=2), "b", HOST, offer=True)
        to_b = await session.rewrite(sdp(a.port), "a", HOST, offer=False)
    else:
        to_b = await session.rewrite(sdp(a.port), "a", HOST, offer=True)
        to_a = await session.rewrite(sdp(b.port, session=2), "b", HOST, offer=False)
    (a_ip, a_port), (b_ip, b_port) = target(to_a), target(to_b)
    assert a_ip == b_ip == HOST
    assert a_port not in (a.port, b.port, 0) and b_port not in (a.port, b.port, 0) and a_port != b_port
    return a, b, a_port, b_port


@pytest.mark.parametrize("late", [False, True], ids=["offer", "late-offer"])
async def test_rtp_crosses_the_anchor_both_ways_and_is_counted(
    media_anchor: MediaAnchor, phones: Phones, late: bool
) -> None:
    session = await media_anchor.create_session("call-1@test", "tag-a")
    try:
        a, b, a_port, b_port = await connect(session, phones, late=late)
        sent_ab = [rtp(seq, 0xA) for seq in range(20)]
        sent_ba = [rtp(seq, 0xB) for seq in range(100, 120)]
        for ab, ba in zip(sent_ab, sent_ba, strict=True):
            a.send(ab, a_port)
            b.send(ba, b_port)
            await asyncio.sleep(0.005)
        await b.wait_for(20)
        await a.wait_for(20)
        assert [data for data, _ in b.received] == sent_ab
        assert [data for data, _ in a.received] == sent_ba
        assert {src for _, src in b.received} == {(HOST, b_port)}
        assert {src for _, src in a.received} == {(HOST, a_port)}
        legs = {leg["id"]: leg for leg in await session.stats()}
        assert legs["media-a"]["role"] == "caller" and legs["media-b"]["role"] == "callee"
        for name in ("media-a", "media-b"):
            assert legs[name]["kind"] == "media"
            assert legs[name]["rtp_packets_in"] == 20 and legs[name]["rtp_packets_out"] == 20
            assert legs[name]["rtp_bytes_in"] == 20 * 172
        assert legs["media-a"]["relay_port"] == a_port and legs["media-b"]["relay_port"] == b_port
        assert legs["media-a"]["remote"] == f"{HOST}:{a.port}"
        assert legs["media-b"]["remote"] == f"{HOST}:{b.port}"
    finally:
        await session.close()


async def test_idle_seconds_follows_the_media(media_anchor: MediaAnchor, phones: Phones) -> None:
    session = await media_anchor.create_session("call-idle@test", "tag-a")
    try:
        a, _b, a_port, _ = await connect(session, phones, late=False)
        await asyncio.sleep(1.5)
        assert session.idle_seconds(time.monotonic()) >= 1.4  # since creation: no media yet
        end = time.monotonic() + 1.0
        seq = 0
        while time.monotonic() < end:  # 1 s of RTP, caller to callee only
            a.send(rtp(seq, 0xA), a_port)
            seq += 1
            await asyncio.sleep(0.02)
        assert session.idle_seconds(time.monotonic()) < 1.0  # media seen within the sampling interval
        await asyncio.sleep(2.0)
        now = time.monotonic()
        idle = session.idle_seconds(now)
        assert 1.5 <= idle < 4.0
        assert session.idle_seconds(now + 10) == pytest.approx(idle + 10, abs=0.5)
    finally:
        await session.close()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"this is not SDP", 400),
        (sdp(0), 488),  # the only stream is disabled
        (b"v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n", 488),  # no stream at all
    ],
    ids=["garbage", "disabled-stream", "no-stream"],
)
async def test_unusable_sdp_is_refused_alike(media_anchor: MediaAnchor, body: bytes, status: int) -> None:
    session = await media_anchor.create_session("call-bad@test", "tag-a")
    try:
        with pytest.raises(SdpError) as caught:
            await session.rewrite(body, "a", HOST, offer=True)
        assert caught.value.status == status
    finally:
        await session.close()


async def test_close_is_idempotent_and_frees_the_call(media_anchor: MediaAnchor, phones: Phones) -> None:
    session = await media_anchor.create_session("call-close@test", "tag-a")
    await connect(session, phones, late=False)
    with pytest.raises(RelayError, match="exists already"):
        await media_anchor.create_session("call-close@test", "tag-a")
    await session.close()
    await session.close()
    with pytest.raises(SdpError):
        await session.rewrite(sdp(4000), "a", HOST, offer=True)
    again = await media_anchor.create_session("call-close@test", "tag-a")  # the same call can be made again
    try:
        await connect(again, phones, late=False)
    finally:
        await again.close()
    await media_anchor.close()
    with pytest.raises(RelayError, match="closed"):
        await media_anchor.create_session("call-after@test", "tag-a")


async def test_factory_picks_the_anchor() -> None:
    low, high = free_range(4)
    relay = await make_anchor(HOST, low, high)
    assert isinstance(relay, RelayAnchor) and relay.ip == HOST and relay.relay.port_min == low
    await relay.close()
    engine = await make_anchor(HOST, low, high, rtpengine_ng=f"{HOST}:9", media_timeout=2.0)
    assert isinstance(engine, RtpengineAnchor) and engine.poll_interval == 0.5
    await engine.close()
    assert await anchor_from_settings(Settings(media_relay=False), HOST) is None
    built = await anchor_from_settings(Settings(rtp_port_range=f"{low}-{high}", rtp_bind=None), HOST)
    assert isinstance(built, RelayAnchor) and built.relay.port_max == high and built.ip == HOST
    await built.close()
    with pytest.raises(RelayError, match="HOST:PORT"):
        await make_anchor(HOST, low, high, rtpengine_ng="no-port")


async def test_relay_idle_time_ignores_strangers_and_garbage(phones: Phones) -> None:
    """Only RTP/RTCP accepted from the phones counts as media: a stranger's packets (rejected once the leg latched)
    and malformed datagrams do not keep a silent call alive, though the relay's inactivity check sees them."""
    low, high = free_range(4)
    relay = RtpRelay(HOST, low, high, inactivity_timeout=1.0)
    anchor = RelayAnchor(relay)
    try:
        session = await anchor.create_session("call-stranger@test", "tag-a")
        a, b, a_port, _ = await connect(session, phones, late=False)
        a.send(rtp(1, 0xA), a_port)
        await b.wait_for(1)
        latched = time.monotonic()
        stranger = await phones.new()
        end = latched + 1.5
        while time.monotonic() < end:
            stranger.send(rtp(2, 0xC), a_port)
            stranger.send(b"\x00garbage", a_port)
            await asyncio.sleep(0.02)
        assert session.idle_seconds(time.monotonic()) >= 1.0  # 1.5 s less the 0.25 s sampling interval, at worst
        legs = {leg["id"]: leg for leg in await session.stats()}
        assert legs["media-a"]["rejected"] > 10 and legs["media-a"]["malformed"] > 10
        assert legs["media-a"]["rtp_packets_in"] == 1 and len(b.received) == 1
        assert not relay.sessions["call-stranger@test/tag-a"].dead  # the inactivity check counts every datagram
        await session.close()
    finally:
        await anchor.close()
