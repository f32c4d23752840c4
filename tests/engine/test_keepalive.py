"""NAT keep-alive (``centrex.engine.keepalive``): pings spread over the interval, any response keeps a binding,
three consecutive failures drop it; and, against a real database, ``Registrar.drop_binding`` with the source index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from centrex.db.models.sip import SipRegistration
from centrex.domain.ids import new_id
from centrex.engine.keepalive import Binding, KeepAlive, options_request
from centrex.engine.registrar import Registrar
from centrex.sip.message import Request, Response, parse
from centrex.sip.transport import Source
from tests.api.harness import Harness, make_world


class FakeAddresses:
    def via(self, dest: Source) -> str:
        return "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKtest;rport"

    def contact(self, dest: Source) -> str:
        return "<sip:centrex@127.0.0.1:5060>"

    def host_for(self, dest: Source) -> str:
        return "127.0.0.1"


class FakeSender:
    def __init__(self) -> None:
        self.sent: list[tuple[Request, Source, object]] = []

    def send_request(self, request: Request, dest: Source, handler: object = None) -> None:
        self.sent.append((request, dest, handler))

    def answer(self, index: int, status: int | None) -> None:
        _, _, handler = self.sent[index]
        response = None if status is None else Response(status=status, reason="X")
        assert callable(handler)
        handler(response)


def binding(n: int, cseq: int = 1) -> Binding:
    return Binding(
        f"reg{n}",
        f"sip:10{n}@acme.example",
        f"sip:10{n}@10.0.0.{n}:5060",
        Source("udp", "127.0.0.1", 6000 + n),
        f"c{n}",
        cseq,
    )


class Harnessed:
    def __init__(self, bindings: list[Binding], interval: float = 30.0) -> None:
        self.bindings = bindings
        self.sender = FakeSender()
        self.sleeps: list[float] = []
        self.dropped: list[Binding] = []

        async def load() -> list[Binding]:
            return list(self.bindings)

        async def drop(b: Binding) -> bool:
            self.dropped.append(b)
            self.bindings.remove(b)
            return True

        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        self.keepalive = KeepAlive(
            None,  # type: ignore[arg-type]  # not used with bindings/drop given
            self.sender,
            FakeAddresses(),
            interval,
            bindings=load,
            drop=drop,
            sleep=sleep,
        )


async def settle() -> None:
    import asyncio

    for _ in range(5):
        await asyncio.sleep(0)


def test_options_request_shape() -> None:
    b = binding(1)
    request = options_request(b, FakeAddresses())
    parsed = parse(bytes(request))
    assert isinstance(parsed, Request)
    assert parsed.method == "OPTIONS" and parsed.uri == "sip:101@10.0.0.1:5060"
    assert parsed.headers.get("To") == "<sip:101@acme.example>"
    assert parsed.cseq == (1, "OPTIONS") and parsed.call_id
    assert ";tag=" in (parsed.headers.get("From") or "")
    assert parsed.headers.get("Max-Forwards") == "70"


async def test_round_spreads_pings_over_the_interval() -> None:
    h = Harnessed([binding(1), binding(2), binding(3), binding(4)], interval=30.0)
    await h.keepalive.run_round()
    assert [dest.port for _, dest, _ in h.sender.sent] == [6001, 6002, 6003, 6004]
    assert h.sleeps == [7.5, 7.5, 7.5, 7.5]  # one interval in all, not a burst
    empty = Harnessed([], interval=30.0)
    await empty.keepalive.run_round()
    assert empty.sender.sent == [] and empty.sleeps == [30.0]


@pytest.mark.parametrize("status", [200, 404, 501, 503])
async def test_any_response_keeps_the_binding(status: int) -> None:
    h = Harnessed([binding(1)])
    for i in range(6):
        await h.keepalive.run_round()
        h.sender.answer(i, status)
    await settle()
    assert h.dropped == [] and len(h.sender.sent) == 6


async def test_three_unanswered_pings_drop_the_binding() -> None:
    h = Harnessed([binding(1), binding(2)])
    for _ in range(3):
        await h.keepalive.run_round()
        h.sender.answer(len(h.sender.sent) - 1, 200)  # binding 2 answers, binding 1 never
    await settle()
    assert h.dropped == []  # the third ping to binding 1 is still outstanding
    await h.keepalive.run_round()  # its next ping is due: the third failure
    await settle()
    assert [b.id for b in h.dropped] == ["reg1"]
    await h.keepalive.run_round()
    assert [dest.port for _, dest, _ in h.sender.sent[-1:]] == [6002]


async def test_timeouts_count_and_an_answer_resets() -> None:
    h = Harnessed([binding(1)])
    await h.keepalive.run_round()
    h.sender.answer(0, None)  # Timer F / transport error: one failure
    await h.keepalive.run_round()
    h.sender.answer(1, None)  # two
    await h.keepalive.run_round()
    h.sender.answer(2, 200)  # alive again: back to zero
    await h.keepalive.run_round()
    h.sender.answer(3, None)
    await h.keepalive.run_round()
    h.sender.answer(4, None)
    await settle()
    assert h.dropped == []
    await h.keepalive.run_round()
    h.sender.answer(5, 100)  # a provisional response is not an answer yet
    h.sender.answer(5, None)
    await settle()
    assert [b.id for b in h.dropped] == ["reg1"]


async def test_late_answer_counts_and_a_refresh_starts_afresh() -> None:
    h = Harnessed([binding(1)])
    await h.keepalive.run_round()
    await h.keepalive.run_round()  # ping 0 unanswered when ping 1 is due: one failure
    h.sender.answer(0, 200)  # ...but it answers late: alive
    await h.keepalive.run_round()  # ping 1 unanswered: one failure
    await h.keepalive.run_round()  # two
    h.bindings[:] = [binding(1, cseq=2)]  # the phone re-registered: counting starts again
    await h.keepalive.run_round()
    await h.keepalive.run_round()
    await settle()
    assert h.dropped == []
    await h.keepalive.run_round()
    await h.keepalive.run_round()
    await settle()
    assert [b.cseq for b in h.dropped] == [2]


async def test_off_when_interval_is_zero() -> None:
    h = Harnessed([binding(1)], interval=0)
    h.keepalive.start()
    await settle()
    assert h.keepalive._task is None and h.sender.sent == []
    await h.keepalive.stop()


# ------------------------------------------------------------------------------------------ real database
async def test_drop_binding_and_load(api_app: Harness) -> None:
    w = await make_world(api_app)
    db = api_app.state.db
    ext = await api_app.extension(w.a["id"], w.a_key)
    ids = []
    async with db.session() as session:
        for n, transport in ((1, "udp"), (2, "udp"), (3, "sctp")):
            reg_id = new_id("reg")
            ids.append(reg_id)
            session.add(
                SipRegistration(
                    id=reg_id,
                    tenant_id=w.a["id"],
                    extension_id=ext["id"],
                    aor=f"sip:{ext['sip_username']}@{w.a['sip_domain']}",
                    contact=f"<sip:x@198.51.100.{n}:5060>",
                    contact_uri=f"sip:x@198.51.100.{n}:5060",
                    source_ip=f"198.51.100.{n}",
                    source_port=5060,
                    transport=transport,
                    call_id=f"ka-{n}",
                    cseq=5,
                    expires_at=datetime.now(UTC) + timedelta(seconds=600),
                )
            )
        await session.commit()
    registrar = Registrar(db)
    await registrar.load_bindings()
    assert registrar.has_source("198.51.100.1", 5060) and registrar.has_source("198.51.100.2", 5060)
    keepalive = KeepAlive(registrar, FakeSender(), FakeAddresses(), 30.0)
    loaded = {b.id: b for b in await keepalive._load()}
    assert ids[0] in loaded and ids[1] in loaded and ids[2] not in loaded  # a transport the engine does not send on
    first = loaded[ids[0]]
    assert first.dest == Source("udp", "198.51.100.1", 5060) and first.contact_uri == "sip:x@198.51.100.1:5060"
    # Refreshed by a REGISTER since (another CSeq): left alone.
    assert not await registrar.drop_binding(ids[0], "ka-1", 4)
    assert await registrar.drop_binding(ids[0], "ka-1", 5)
    assert not registrar.has_source("198.51.100.1", 5060)
    assert registrar.has_source("198.51.100.2", 5060)  # the extension's other binding stays
    async with db.session() as session:
        left = set(
            (await session.scalars(select(SipRegistration.id).where(SipRegistration.extension_id == ext["id"]))).all()
        )
    assert left == {ids[1], ids[2]}
    assert not await registrar.drop_binding(ids[0], "ka-1", 5)  # already gone
