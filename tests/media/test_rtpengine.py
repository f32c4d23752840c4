"""rtpengine as the media anchor: the ng client against scripted UDP servers (cookies, retransmission, timeout,
error replies) and ``RtpengineAnchor`` against a real rtpengine daemon on 127.0.0.1 (SDP rewritten to its ports,
RTP through it both ways, ``query`` counters, ``delete``, a re-offer from the callee, errors mapped to SdpError)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import cast

import pytest

from centrex.media.rtp import RelayError
from centrex.media.rtpengine import (
    NgBadReply,
    NgClient,
    NgError,
    NgOverloaded,
    NgTimeout,
    RtpengineAnchor,
    decode,
    encode,
)
from centrex.media.rtpengine.session import b_tag
from centrex.sip.sdp import SdpError, SessionDescription
from tests.media.conftest import HOST, Phones, Rtpengine, needs_rtpengine, rtp, sdp

Script = Callable[[bytes, bytes, int], list[bytes]]  # (cookie, body, nth datagram) → datagrams to send back


class FakeNg(asyncio.DatagramProtocol):
    """A scripted ng server: records what it got, answers what ``script`` says."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.got: list[tuple[bytes, bytes]] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        cookie, _, body = data.partition(b" ")
        self.got.append((cookie, body))
        assert self.transport is not None
        for reply in self.script(cookie, body, len(self.got)):
            self.transport.sendto(reply, addr)


MakeNg = Callable[[Script], Awaitable[tuple[FakeNg, NgClient]]]


@pytest.fixture
async def fake_ng() -> AsyncIterator[MakeNg]:
    made: list[tuple[FakeNg, NgClient]] = []

    async def make(script: Script) -> tuple[FakeNg, NgClient]:
        _, server = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: FakeNg(script), local_addr=(HOST, 0)
        )
        assert server.transport is not None
        port = server.transport.get_extra_info("sockname")[1]
        client = await NgClient.connect(HOST, port, retransmit=0.1, request_timeout=1.0)
        made.append((server, client))
        return server, client

    yield make
    for server, client in made:
        await client.close()
        assert server.transport is not None
        server.transport.close()


def command_of(body: bytes) -> bytes:
    message = decode(body)
    assert isinstance(message, dict) and isinstance(message[b"command"], bytes)
    return message[b"command"]


def ok(cookie: bytes, **fields: object) -> bytes:
    return cookie + b" " + encode({"result": "ok", **fields})


async def test_retransmits_with_the_same_cookie_until_answered(fake_ng: MakeNg) -> None:
    server, client = await fake_ng(lambda cookie, body, n: [ok(cookie, n=n)] if n >= 3 else [])
    reply = await client.request({"command": "ping"})
    assert reply == {b"result": b"ok", b"n": 3}
    assert len(server.got) == 3 and len({cookie for cookie, _ in server.got}) == 1
    assert decode(server.got[0][1]) == {b"command": b"ping"}
    second = await client.request({"command": "ping"})  # a new request, a new random cookie
    assert second[b"n"] == 4 and server.got[3][0] != server.got[0][0]


async def test_replies_are_matched_by_cookie(fake_ng: MakeNg) -> None:
    held: list[bytes] = []

    def script(cookie: bytes, body: bytes, n: int) -> list[bytes]:
        held.append(cookie)
        if len(held) < 2:
            return []
        # both requests in: answer in reverse order, after a reply nobody asked for
        return [ok(b"stranger", who=b"x")] + [ok(c, who=c) for c in reversed(held)]

    _server, client = await fake_ng(script)
    first, second = await asyncio.gather(client.request({"command": "a"}), client.request({"command": "b"}))
    order = list(dict.fromkeys(held))  # the two cookies in the order they were sent
    assert first[b"who"] == order[0] and second[b"who"] == order[1]


async def test_no_reply_times_out_within_the_bound(fake_ng: MakeNg) -> None:
    server, client = await fake_ng(lambda cookie, body, n: [])
    started = time.monotonic()
    with pytest.raises(NgTimeout, match="no reply"):
        await client.request({"command": "ping"})
    assert 0.9 <= time.monotonic() - started < 3.0
    assert 3 <= len(server.got) <= 5  # sent at 0, 0.1, 0.3, 0.7 s: doubling intervals


@pytest.mark.parametrize(
    ("reply", "error", "match"),
    [
        (encode({"result": "error", "error-reason": "Unknown call-id"}), NgError, "Unknown call-id"),
        (encode({"result": "load limit", "message": "too many"}), NgOverloaded, "load limit"),
        (b"i1ei2e", NgBadReply, "unreadable"),
        (encode([b"result"]), NgBadReply, "not a dictionary"),
        (encode({"sdp": "v=0"}), NgBadReply, "without a result"),
    ],
)
async def test_error_replies_raise(fake_ng: MakeNg, reply: bytes, error: type[Exception], match: str) -> None:
    _server, client = await fake_ng(lambda cookie, body, n: [cookie + b" " + reply])
    with pytest.raises(error, match=match):
        await client.request({"command": "query", "call-id": "x"})
    assert issubclass(error, RelayError)


async def test_closed_client_refuses_and_fails_pending(fake_ng: MakeNg) -> None:
    _server, client = await fake_ng(lambda cookie, body, n: [])
    pending = asyncio.create_task(client.request({"command": "ping"}))
    await asyncio.sleep(0.05)
    await client.close()
    with pytest.raises(RelayError, match="closed"):
        await pending
    with pytest.raises(RelayError, match="closed"):
        await client.request({"command": "ping"})


# ------------------------------------------------------------------------------------------------ real rtpengine
@pytest.fixture
async def engine_anchor(rtpengine: Rtpengine) -> AsyncIterator[RtpengineAnchor]:
    anchor = await RtpengineAnchor.connect(rtpengine.ng, poll_interval=0.2)
    yield anchor
    await anchor.close()


def media_of(body: bytes) -> tuple[str, int, str]:
    """(c= address, first m= port, o= line) of an SDP body."""
    sd = SessionDescription.parse(body)
    conn = sd.connection_for(sd.media[0])
    assert conn is not None
    origin = re.search(rb"^o=(.*)$", body, re.M)
    assert origin is not None
    return conn.address, sd.media[0].port, origin[1].decode().strip()


@needs_rtpengine
async def test_offer_answer_rtp_query_delete(
    rtpengine: Rtpengine, engine_anchor: RtpengineAnchor, phones: Phones
) -> None:
    assert await engine_anchor.ping()
    session = await engine_anchor.create_session("rtpe-1@test", "tag-a")
    a, b = await phones.new(), await phones.new()
    # both phones announce an address the test does not listen on: rtpengine must replace o= and c=
    to_b = await session.rewrite(sdp(a.port, session=7), "a", "192.0.2.99", offer=True)
    to_a = await session.rewrite(sdp(b.port, session=8), "b", "192.0.2.99", offer=False)
    for body in (to_b, to_a):
        address, port, _origin = media_of(body)
        assert address == HOST  # rtpengine's own interface, not the `address` argument
        assert rtpengine.port_min <= port <= rtpengine.port_max
    b_port, a_port = media_of(to_b)[1], media_of(to_a)[1]
    for seq in range(10):
        a.send(rtp(seq, 0xA), a_port)
        b.send(rtp(seq + 50, 0xB), b_port)
        await asyncio.sleep(0.01)
    await b.wait_for(10)
    await a.wait_for(10)
    assert [d for d, _ in b.received] == [rtp(seq, 0xA) for seq in range(10)]
    assert [d for d, _ in a.received] == [rtp(seq + 50, 0xB) for seq in range(10)]
    reply = await engine_anchor.client.request({"command": "query", "call-id": "rtpe-1@test"})
    totals = reply[b"totals"]
    assert isinstance(totals, dict) and totals[b"RTP"] == {b"packets": 20, b"bytes": 20 * 172, b"errors": 0}
    tags = reply[b"tags"]
    assert isinstance(tags, dict) and set(tags) == {b"tag-a", b_tag("rtpe-1@test", "tag-a").encode()}
    await session.close()
    with pytest.raises(NgError):  # rtpengine forgot the call
        await engine_anchor.client.request({"command": "query", "call-id": "rtpe-1@test"})
    assert engine_anchor.sessions == {}


@needs_rtpengine
async def test_re_offer_from_the_callee_keeps_media_flowing(engine_anchor: RtpengineAnchor, phones: Phones) -> None:
    session = await engine_anchor.create_session("rtpe-2@test", "tag-a")
    try:
        a, b = await phones.new(), await phones.new()
        to_b = await session.rewrite(sdp(a.port), "a", HOST, offer=True)
        await session.rewrite(sdp(b.port, session=2), "b", HOST, offer=False)
        b2 = await phones.new()  # the callee moves its media (re-INVITE from the callee) and the caller answers
        to_a = await session.rewrite(sdp(b2.port, session=3), "b", HOST, offer=True)
        await session.rewrite(sdp(a.port), "a", HOST, offer=False)
        a_port, b_port = media_of(to_a)[1], media_of(to_b)[1]
        for seq in range(5):
            a.send(rtp(seq, 0xA), a_port)
            await asyncio.sleep(0.01)
        await b2.wait_for(5)
        assert b.received == []
        b2.send(rtp(1, 0xB), b_port)
        await a.wait_for(1)
    finally:
        await session.close()


@needs_rtpengine
async def test_rtpengine_errors_become_sdp_errors(engine_anchor: RtpengineAnchor) -> None:
    session = await engine_anchor.create_session("rtpe-3@test", "tag-a")
    try:
        with pytest.raises(SdpError) as refused:  # an answer for a call rtpengine never saw an offer for
            await session.rewrite(sdp(4000), "b", HOST, offer=False)
        assert refused.value.status == 488 and "rtpengine" in str(refused.value)
        assert await session.stats() == [  # nothing known: the legs exist, empty
            {
                "id": f"media-{leg}",
                "kind": "media",
                "role": role,
                "anchor": "rtpengine",
                "relay_port": None,
                "remote": None,
                "latched": False,
                "rtp_packets_in": 0,
                "rtp_packets_out": 0,
                "rtp_bytes_in": 0,
                "rtp_bytes_out": 0,
                "rtcp_packets_in": 0,
                "rtcp_packets_out": 0,
                "lost": None,
                "rejected": 0,
                "malformed": 0,
            }
            for leg, role in (("a", "caller"), ("b", "callee"))
        ]
    finally:
        await session.close()


async def test_unreachable_rtpengine_is_503(fake_ng: MakeNg) -> None:
    server, client = await fake_ng(lambda cookie, body, n: [])  # never answers
    anchor = RtpengineAnchor(client, poll_interval=0.5)
    session = await anchor.create_session("down@test", "tag-a")
    with pytest.raises(SdpError) as caught:
        await session.rewrite(sdp(4000), "a", HOST, offer=True)
    assert caught.value.status == 503 and "no reply" in str(caught.value)
    assert decode(server.got[0][1]) == {
        b"command": b"offer",
        b"call-id": b"down@test",
        b"from-tag": b"tag-a",
        b"sdp": sdp(4000),
        b"replace": [b"origin", b"session-connection"],
        b"ICE": b"remove",
    }
    await session.close()  # the offer may have reached rtpengine (only its replies lost): delete is tried
    commands = [command_of(body) for _, body in server.got]
    assert set(commands) == {b"offer", b"delete"} and commands[-1] == b"delete"
    await anchor.close()


async def test_an_offer_that_returns_after_close_is_deleted_again(fake_ng: MakeNg) -> None:
    def script(cookie: bytes, body: bytes, n: int) -> list[bytes]:
        return [ok(cookie, sdp=sdp(30000))] if n >= 2 else []  # the first offer datagram gets no reply

    server, client = await fake_ng(script)
    anchor = RtpengineAnchor(client, poll_interval=0.5)
    session = await anchor.create_session("late@test", "tag-a")
    offer = asyncio.create_task(session.rewrite(sdp(4000), "a", HOST, offer=True))
    await asyncio.sleep(0.03)
    await session.close()  # while the offer waits for its retransmission's reply
    with pytest.raises(SdpError, match="closed meanwhile") as caught:
        await offer
    assert caught.value.status == 503
    commands = [command_of(body) for _, body in server.got]
    assert commands == [b"offer", b"delete", b"offer", b"delete"]
    await anchor.close()


def test_b_tag_is_stable_and_distinct() -> None:
    assert b_tag("c", "t") == b_tag("c", "t") != b_tag("c", "u") != b_tag("d", "t")
    assert b_tag("c", "t") != "t"
