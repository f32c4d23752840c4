"""The RTP relay on real UDP sockets (127.0.0.1): two phones exchange G.711-sized RTP through it, both ways.

Covers forwarding in order with intact payloads, RTCP, counters, symmetric latching behind a "NAT" (source port
different from the announced one), strict sources, malformed datagrams, the inactivity timeout, port release on close
and port exhaustion. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from centrex.media.rtp import PortsExhausted, RelayError, RtpRelay, Session, build_rtp, parse_rtp
from tests.support.udp import HOST, Phone, free_range, open_phone

PAYLOAD = 160  # 20 ms of G.711
WAIT = 2.0  # seconds: the longest any test waits for something to arrive


async def phone(port: int = 0) -> Phone:
    return await open_phone(WAIT, port)


@pytest.fixture
def phones() -> Iterator[list[Phone]]:
    made: list[Phone] = []
    yield made
    for p in made:
        if p.transport is not None:
            p.transport.close()


@pytest.fixture
async def relay() -> AsyncIterator[RtpRelay]:
    low, high = free_range(8)
    r = RtpRelay(HOST, low, high, inactivity_timeout=30)
    yield r
    await r.close()


def rtp(seq: int, ssrc: int, marker: int = 0) -> bytes:
    payload = bytes((seq + i + marker) & 0xFF for i in range(PAYLOAD))
    return build_rtp(payload_type=0, sequence=seq, timestamp=seq * 160, ssrc=ssrc, payload=payload)


async def new_phone(phones: list[Phone], port: int = 0) -> Phone:
    p = await phone(port)
    phones.append(p)
    return p


async def test_g711_both_ways_in_order_with_counters(relay: RtpRelay, phones: list[Phone]) -> None:
    session = await relay.create_session("call-1")
    a, b = await new_phone(phones), await new_phone(phones)
    a_rtcp, b_rtcp = await new_phone(phones), await new_phone(phones)
    session.set_remote("a", HOST, a.port, rtcp_port=a_rtcp.port)
    session.set_remote(session.leg_b, HOST, b.port, rtcp_port=b_rtcp.port)
    count = 50  # 1 s at 50 packets per second each way
    seq_a, seq_b = 65500, 1000  # A wraps its sequence number during the call
    for i in range(count):
        a.send(rtp((seq_a + i) & 0xFFFF, 0xAAAA), session.leg_a.local_port)
        b.send(rtp(seq_b + i, 0xBBBB), session.leg_b.local_port)
        if i % 25 == 0:
            a_rtcp.send(b"\x81\xc8\x00\x06" + bytes(24), session.leg_a.local_port + 1)
            b_rtcp.send(b"\x81\xc9\x00\x01" + bytes(4), session.leg_b.local_port + 1)
        await asyncio.sleep(0.02)
    await b.wait_for(count)
    await a.wait_for(count)
    await b_rtcp.wait_for(2)
    await a_rtcp.wait_for(2)

    for receiver, first, ssrc, relay_port in ((b, seq_a, 0xAAAA, session.leg_b.local_port), (a, seq_b, 0xBBBB, 0)):
        expected_source = (HOST, relay_port or session.leg_a.local_port)
        assert len(receiver.received) == count
        for i, (data, source) in enumerate(receiver.received):
            assert source == expected_source  # symmetric: sent from the leg's own port
            assert data == rtp((first + i) & 0xFFFF, ssrc)
            assert parse_rtp(data).payload_length == PAYLOAD
    assert [d[:2] for d, _ in b_rtcp.received] == [b"\x81\xc8"] * 2
    assert [d[:2] for d, _ in a_rtcp.received] == [b"\x81\xc9"] * 2
    assert all(src == (HOST, session.leg_b.local_port + 1) for _, src in b_rtcp.received)

    stats = session.stats()
    size = 12 + PAYLOAD
    for leg, last in ((stats.leg_a, (seq_a + count - 1) & 0xFFFF), (stats.leg_b, seq_b + count - 1)):
        assert leg.rtp_packets_in == leg.rtp_packets_out == count
        assert leg.rtp_bytes_in == leg.rtp_bytes_out == count * size
        assert leg.rtcp_packets_in == leg.rtcp_packets_out == 2
        assert leg.last_sequence == last and leg.lost == 0 and leg.latched
        assert leg.malformed == leg.rejected == leg.unroutable == 0
    assert stats.leg_a.remote == (HOST, a.port) and stats.leg_b.remote == (HOST, b.port)
    assert not stats.dead


async def test_lost_estimate_from_sequence_gaps(relay: RtpRelay, phones: list[Phone]) -> None:
    session = await relay.create_session("gaps")
    a, b = await new_phone(phones), await new_phone(phones)
    session.set_remote("b", HOST, b.port)
    sent = [seq for seq in range(100, 130) if seq % 10 != 3]  # 3 packets "lost" on the way to the relay
    for seq in sent:
        a.send(rtp(seq, 1), session.leg_a.local_port)
    await b.wait_for(len(sent))
    leg = session.stats().leg_a
    assert leg.rtp_packets_in == len(sent) and leg.lost == 3 and leg.last_sequence == 129


async def test_latching_follows_the_real_source_port(relay: RtpRelay, phones: list[Phone]) -> None:
    session = await relay.create_session("nat")
    announced, real, b = await new_phone(phones), await new_phone(phones), await new_phone(phones)
    session.set_remote("a", HOST, announced.port)  # what A's SDP says; A's NAT rewrites its source port
    session.set_remote("b", HOST, b.port)
    b.send(rtp(1, 2), session.leg_b.local_port)
    await announced.wait_for(1)  # before A's first packet: to the announced address
    real.send(rtp(1, 1), session.leg_a.local_port)
    await b.wait_for(1)
    for seq in range(2, 12):
        b.send(rtp(seq, 2), session.leg_b.local_port)
    await real.wait_for(10)
    assert len(announced.received) == 1  # latched: nothing more to the announced port
    assert [parse_rtp(d).sequence for d, _ in real.received] == list(range(2, 12))
    leg = session.stats().leg_a
    assert leg.latched and leg.remote == (HOST, real.port)

    intruder = await new_phone(phones)  # another source after latching: dropped and counted
    intruder.send(rtp(99, 9), session.leg_a.local_port)
    intruder.send(b"\x81\xc8\x00\x01" + bytes(4), session.leg_a.local_port + 1)
    real.send(rtp(2, 1), session.leg_a.local_port)
    await b.wait_for(2)
    await asyncio.sleep(0.05)
    assert [parse_rtp(d).sequence for d, _ in b.received] == [1, 2]
    assert session.stats().leg_a.rejected == 1

    session.set_remote("a", HOST, announced.port)  # re-INVITE: the latch is forgotten
    b.send(rtp(12, 2), session.leg_b.local_port)
    await announced.wait_for(2)


async def test_lock_to_announced_ip(phones: list[Phone]) -> None:
    low, high = free_range(2)
    relay = RtpRelay(HOST, low, high, lock_to_announced=True)
    try:
        session = await relay.create_session("strict")
        a, b = await new_phone(phones), await new_phone(phones)
        session.set_remote("b", HOST, b.port)
        session.set_remote("a", "127.0.0.2", a.port)  # A's packets come from 127.0.0.1: not the announced IP
        a.send(rtp(1, 1), session.leg_a.local_port)
        await asyncio.sleep(0.1)
        assert b.received == [] and session.stats().leg_a.rejected == 1
        session.set_remote("a", HOST, a.port + 2)  # same IP, another port: accepted and latched
        a.send(rtp(2, 1), session.leg_a.local_port)
        await b.wait_for(1)
        assert session.stats().leg_a.remote == (HOST, a.port)
    finally:
        await relay.close()


async def test_malformed_and_unroutable_are_dropped(relay: RtpRelay, phones: list[Phone]) -> None:
    session = await relay.create_session("junk")
    a, b = await new_phone(phones), await new_phone(phones)
    a.send(rtp(1, 1), session.leg_a.local_port)  # B's address is not known yet
    a.send(b"hello", session.leg_a.local_port)
    a.send(b"\x40" + bytes(20), session.leg_a.local_port)
    a.send(b"\x00\x00", session.leg_a.local_port + 1)
    await asyncio.sleep(0.1)
    stats = session.stats().leg_a
    assert (stats.malformed, stats.unroutable, stats.rtp_packets_in) == (3, 1, 1)
    session.set_remote("b", HOST, b.port)
    a.send(rtp(2, 1), session.leg_a.local_port)
    await b.wait_for(1)
    with pytest.raises(RelayError, match="not an IP address"):
        session.set_remote("a", "phone.example", 4000)
    with pytest.raises(RelayError, match="out of range"):
        session.set_remote("a", HOST, 70000)
    with pytest.raises(RelayError, match="unknown leg"):
        session.set_remote("c", HOST, 4000)  # type: ignore[arg-type]
    assert session.stats().leg_a.remote == (HOST, a.port)  # refused changes changed nothing


async def test_inactivity_timeout_reports_dead_session(phones: list[Phone]) -> None:
    low, high = free_range(4)
    dead: list[Session] = []
    both_dead = asyncio.Event()

    def report(session: Session) -> None:
        dead.append(session)
        if len(dead) >= 2:
            both_dead.set()

    relay = RtpRelay(HOST, low, high, inactivity_timeout=0.5, on_timeout=report)
    try:
        silent = await relay.create_session("silent")
        active = await relay.create_session("active")
        a, b = await new_phone(phones), await new_phone(phones)
        active.set_remote("b", HOST, b.port)
        for seq in range(20):  # 1 s of traffic on "active" only
            a.send(rtp(seq, 1), active.leg_a.local_port)
            await asyncio.sleep(0.05)
        assert dead == [silent] and silent.stats().dead and not active.dead
        async with asyncio.timeout(WAIT):  # once the traffic stops, "active" is reported too (once)
            await both_dead.wait()
        await asyncio.sleep(0.2)
        assert dead == [silent, active]
    finally:
        await relay.close()


def bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


async def test_close_frees_the_ports_and_exhaustion_is_a_clear_error(phones: list[Phone]) -> None:
    low, high = free_range(2)  # room for exactly one session
    relay = RtpRelay(HOST, low, high)
    try:
        session = await relay.create_session("one")
        ports = [session.leg_a.local_port, session.leg_b.local_port]
        assert sorted(ports) == [low, low + 2] and all(p % 2 == 0 for p in ports)
        assert not any(bindable(p + d) for p in ports for d in (0, 1))
        with pytest.raises(PortsExhausted, match=f"no free RTP port pair in {low}-{high}"):
            await relay.create_session("two")
        assert relay.pairs_in_use == 2 and "two" not in relay.sessions
        with pytest.raises(RelayError, match="exists already"):
            await relay.create_session("one")
        await session.close()
        await session.close()  # idempotent
        assert all(bindable(p + d) for p in ports for d in (0, 1))
        assert relay.pairs_in_use == 0 and relay.sessions == {}
        with pytest.raises(RelayError, match="closed"):
            session.set_remote("a", HOST, 4000)

        blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a port taken by another program is skipped
        with contextlib.closing(blocker):
            blocker.bind((HOST, low + 1))
            with pytest.raises(PortsExhausted):
                await relay.create_session("three")
            assert relay.pairs_in_use == 0  # the half-made session gave its first pair back
        again = await relay.create_session("three")
        assert {again.leg_a.local_port, again.leg_b.local_port} == {low, low + 2}
    finally:
        await relay.close()
    assert all(bindable(p) for p in range(low, high + 1))


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(RelayError, match="not an IP address"):
        RtpRelay("localhost", 20000, 20010)
    with pytest.raises(RelayError, match="port range"):
        RtpRelay(HOST, 20001, 20002)
    with pytest.raises(RelayError, match="port range"):
        RtpRelay(HOST, 80, 100)
