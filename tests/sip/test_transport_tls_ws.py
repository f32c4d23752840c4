"""SIP over TLS and WebSocket (centrex.sip.transport.tls / ws / mux) and the Via/Contact the engine puts on each
transport (centrex.engine.b2bua.wire): settings, the self-signed certificate, real listeners on loopback (TLS stream
framing and keep-alive, WebSocket subprotocol and one message per frame, connection reuse for requests to a phone),
and a listener that cannot start not stopping the others."""

from __future__ import annotations

import asyncio
import socket
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from pydantic import ValidationError
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake
from websockets.typing import Subprotocol

from centrex.config import Settings
from centrex.engine.b2bua.wire import Wire
from centrex.sip.message import Request, Response, parse
from centrex.sip.transport import (
    SipListener,
    Source,
    TlsListener,
    TransportConfig,
    TransportSet,
    WsListener,
    open_transports,
)
from centrex.sip.transport.base import reply
from centrex.sip.transport.tls import TlsError, ensure_self_signed, server_context

OPTIONS = (
    "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/{proto} {host};branch=z9hG4bK{n}\r\n"
    "From: <sip:a@x>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: c{n}\r\nCSeq: 1 OPTIONS\r\n"
    "Content-Length: 0\r\n\r\n"
)


async def _nothing(msg: Request | Response, source: Source) -> Response | None:
    return None


class Recorder:
    """A handler that answers requests 200 and remembers what came from where."""

    def __init__(self) -> None:
        self.seen: list[tuple[Request | Response, Source]] = []
        self.event = asyncio.Event()

    async def __call__(self, msg: Request | Response, source: Source) -> Response | None:
        self.seen.append((msg, source))
        self.event.set()
        return reply(msg, 200, "OK") if isinstance(msg, Request) else None

    async def wait(self, count: int) -> None:
        async with asyncio.timeout(10):
            while len(self.seen) < count:
                self.event.clear()
                await self.event.wait()


# ------------------------------------------------------------------------------------------------ settings
def test_transport_settings_default_on_sip_host_and_off(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SIP_LISTEN", "SIP_TLS_LISTEN", "SIP_WS_LISTEN", "SIP_WSS_LISTEN", "CONFIG"):
        monkeypatch.delenv(f"CENTREX_{name}", raising=False)
    s = Settings(sip_listen="10.0.0.5:5070")
    assert s.sip_tls_hostport == ("10.0.0.5", 5061)
    assert s.sip_ws_hostport == ("10.0.0.5", 5066)
    assert s.sip_wss_hostport == ("10.0.0.5", 7443)
    s = Settings(sip_listen="10.0.0.5:5070", sip_tls_listen="OFF", sip_ws_listen="6000", sip_wss_listen="[::1]:8443")
    assert s.sip_tls_hostport is None
    assert s.sip_ws_hostport == ("10.0.0.5", 6000)  # a bare port: on the SIP host
    assert s.sip_wss_hostport == ("::1", 8443)
    # WSS follows WS unless it is set itself; nothing listens when SIP is off.
    assert Settings(sip_listen="127.0.0.1:5060", sip_ws_listen="off").sip_wss_hostport is None
    assert Settings(sip_listen="127.0.0.1", sip_ws_listen="off", sip_wss_listen=":9443").sip_wss_hostport == (
        "127.0.0.1",
        9443,
    )
    off = Settings(sip_listen="off", sip_tls_listen="127.0.0.1:5061")
    assert off.sip_tls_hostport is None and off.sip_ws_hostport is None and off.sip_wss_hostport is None
    assert Settings(data_dir=Path("/srv/x")).sip_tls_dir == Path("/srv/x/sip-tls")
    for bad in ("127.0.0.1:99999", "host:port", "127.0.0.1"):
        with pytest.raises(ValidationError):
            Settings(sip_tls_listen=bad)


# ------------------------------------------------------------------------------------------------ Via / Contact
def test_wire_via_and_contact_per_transport() -> None:
    main = SipListener("127.0.0.1", 5060, _nothing)
    transports = TransportSet(main)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    transports.add(TlsListener("127.0.0.1", 5061, _nothing, context))
    transports.add(WsListener("127.0.0.1", 5066, _nothing))
    transports.add(WsListener("127.0.0.1", 7443, _nothing, context))
    wire = Wire(transports)
    cases = {
        "udp": ("SIP/2.0/UDP 127.0.0.1:5060;", "<sip:centrex@127.0.0.1:5060>"),
        "tcp": ("SIP/2.0/TCP 127.0.0.1:5060;", "<sip:centrex@127.0.0.1:5060;transport=tcp>"),
        "tls": ("SIP/2.0/TLS 127.0.0.1:5061;", "<sip:centrex@127.0.0.1:5061;transport=tls>"),
        "ws": ("SIP/2.0/WS 127.0.0.1:5066;", "<sip:centrex@127.0.0.1:5066;transport=ws>"),
        # RFC 7118: Via WSS, but the URI transport parameter is "ws" for secure WebSocket too.
        "wss": ("SIP/2.0/WSS 127.0.0.1:7443;", "<sip:centrex@127.0.0.1:7443;transport=ws>"),
    }
    for transport, (via, contact) in cases.items():
        dest = Source(transport, "127.0.0.1", 40000)
        got = wire.via(dest)
        assert got.startswith(via) and ";branch=z9hG4bK" in got and got.endswith(";rport"), (transport, got)
        assert wire.contact(dest) == contact
    # A transport nobody serves: nothing is sent (no fall-back onto UDP to an ".invalid" host's connection port).
    assert wire.send(Request(), Source("ws", "127.0.0.1", 1)) is False
    assert Wire(main).transports.names == ["udp", "tcp"]  # a bare listener still makes a Wire


# ------------------------------------------------------------------------------------------------ certificate
def test_self_signed_certificate_made_once(tmp_path: Path) -> None:
    directory = tmp_path / "sip-tls"
    cert, key = ensure_self_signed(directory, ["pbx.example.com", "192.0.2.7", "0.0.0.0"])
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    parsed = x509.load_pem_x509_certificate(cert.read_bytes())
    names = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.DNSName)) == {"pbx.example.com", "localhost"}
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} == {"192.0.2.7", "127.0.0.1"}
    first = cert.read_bytes(), key.read_bytes()
    assert ensure_self_signed(directory, ["other.example.com"]) == (cert, key)
    assert (cert.read_bytes(), key.read_bytes()) == first  # reused, not made again
    assert isinstance(server_context(cert, key), ssl.SSLContext)
    with pytest.raises(TlsError):
        server_context(tmp_path / "missing.pem", key)
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(TlsError):
        TransportConfig(cert=str(tmp_path / "junk.pem")).context()


# ------------------------------------------------------------------------------------------------ live listeners
@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return ensure_self_signed(tmp_path_factory.mktemp("tls"), ["127.0.0.1"])


async def _closed(listener: TlsListener | WsListener) -> None:
    """Wait (at most 10 s) until the listener has seen its connections close."""
    for _ in range(500):
        if not listener.connections:
            return
        await asyncio.sleep(0.02)  # the listener has no event to wait on
    raise AssertionError("connection still open after 10 s")


def _client_context(cert: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = True
    return context


async def test_tls_listener_framing_keepalive_and_connection_reuse(cert: tuple[Path, Path]) -> None:
    handler = Recorder()
    listener = TlsListener("127.0.0.1", 0, handler, server_context(*cert))
    await listener.start()
    try:
        assert listener.port != 0
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", listener.port, ssl=_client_context(cert[0]), server_hostname="127.0.0.1"
        )
        data = (OPTIONS.format(proto="TLS", host="phone.example", n=1) + "\r\n\r\n").encode()
        writer.write(data[:30])
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(data[30:])
        await writer.drain()
        await handler.wait(1)
        msg, source = handler.seen[0]
        assert isinstance(msg, Request) and msg.method == "OPTIONS"
        assert source.transport == "tls" and source.ip == "127.0.0.1"
        assert "received=127.0.0.1" in (msg.headers.get("Via") or "")
        got = b""
        async with asyncio.timeout(10):
            while b"SIP/2.0 200 OK" not in got or b"\r\n\r\n" not in got.split(b"SIP/2.0 200 OK", 1)[1]:
                got += await reader.read(4096)
        assert got.startswith(b"\r\nSIP/2.0 200 OK\r\n")  # the pong (RFC 5626), then the answer
        # A request of the engine's own to the phone goes over the same connection.
        bye = Request(method="BYE", uri="sip:phone@phone.example;transport=tls")
        bye.headers.add("Call-ID", "engine-1")
        assert listener.send_to(bye, source) is True
        rest = b""
        async with asyncio.timeout(10):
            while b"engine-1" not in rest:
                rest += await reader.read(4096)
        assert b"BYE sip:phone@phone.example;transport=tls SIP/2.0" in rest
        assert listener.send_to(bye, Source("tls", "127.0.0.1", 1)) is False  # no such connection: not dialled
        writer.close()
        await _closed(listener)
        assert listener.send_to(bye, source) is False
    finally:
        await listener.stop()


async def test_tls_listener_refuses_plain_tcp(cert: tuple[Path, Path]) -> None:
    handler = Recorder()
    listener = TlsListener("127.0.0.1", 0, handler, server_context(*cert))
    await listener.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(OPTIONS.format(proto="TCP", host="127.0.0.1", n=9).encode())
        await writer.drain()
        async with asyncio.timeout(15):
            answer = await reader.read()
        assert b"SIP/2.0" not in answer and handler.seen == []
        writer.close()
    finally:
        await listener.stop()


async def test_ws_listener_one_message_per_frame_and_reuse() -> None:
    handler = Recorder()
    listener = WsListener("127.0.0.1", 0, handler)
    await listener.start()
    try:
        assert listener.transports == ("ws",) and listener.url == f"ws://127.0.0.1:{listener.port}"
        async with connect(listener.url, subprotocols=[Subprotocol("sip")]) as ws:
            assert ws.subprotocol == "sip"
            # Browsers' Via host is a random *.invalid name; no Content-Length is needed over WebSocket.
            text = OPTIONS.format(proto="WS", host="df7jal23ls0d.invalid", n=2).replace("Content-Length: 0\r\n", "")
            await ws.send(text)
            await ws.send(OPTIONS.format(proto="WS", host="df7jal23ls0d.invalid", n=3).encode())  # binary frame
            await handler.wait(2)
            answers = []
            async with asyncio.timeout(10):
                for _ in range(2):
                    frame = await ws.recv()
                    assert isinstance(frame, str)  # text frames, as browsers expect
                    answers.append(parse(frame.encode()))
            assert {a.call_id for a in answers} == {"c2", "c3"}
            assert all(isinstance(a, Response) and a.status == 200 for a in answers)
            source = handler.seen[0][1]
            assert source.transport == "ws" and source.ip == "127.0.0.1"
            assert source.port == ws.local_address[1]  # the connection's address, not the Via's host
            invite = Request(method="INVITE", uri="sip:u@df7jal23ls0d.invalid;transport=ws")
            invite.headers.add("Call-ID", "engine-2")
            transports = TransportSet(SipListener("127.0.0.1", 0, _nothing))
            transports.add(listener)
            assert transports.send_to(invite, source) is True
            async with asyncio.timeout(10):
                frame = await ws.recv()
            assert isinstance(frame, str) and frame.startswith("INVITE sip:u@df7jal23ls0d.invalid;transport=ws")
        await _closed(listener)
        assert transports.send_to(invite, source) is False  # the phone's connection is gone
    finally:
        await listener.stop()


async def test_ws_listener_requires_sip_subprotocol() -> None:
    handler = Recorder()
    listener = WsListener("127.0.0.1", 0, handler)
    await listener.start()
    try:
        async with asyncio.timeout(10):
            with pytest.raises(InvalidHandshake):
                await connect(listener.url)  # no Sec-WebSocket-Protocol: sip
        assert handler.seen == []
    finally:
        await listener.stop()


async def test_wss_listener_over_tls(cert: tuple[Path, Path]) -> None:
    handler = Recorder()
    listener = WsListener("127.0.0.1", 0, handler, server_context(*cert))
    await listener.start()
    try:
        assert listener.transports == ("wss",) and listener.url.startswith("wss://")
        async with connect(listener.url, subprotocols=[Subprotocol("sip")], ssl=_client_context(cert[0])) as ws:
            await ws.send(OPTIONS.format(proto="WSS", host="abc.invalid", n=5))
            async with asyncio.timeout(10):
                frame = await ws.recv()
        assert isinstance(frame, str) and frame.startswith("SIP/2.0 200 OK")
        assert handler.seen[0][1].transport == "wss"
    finally:
        await listener.stop()


async def test_open_transports_reports_a_busy_port_and_keeps_the_rest(tmp_path: Path) -> None:
    main = SipListener("127.0.0.1", 0, _nothing)
    transports = TransportSet(main)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = int(busy.getsockname()[1])
        config = TransportConfig(
            tls=("127.0.0.1", taken), ws=("127.0.0.1", 0), wss=("127.0.0.1", 0), cert_dir=tmp_path / "certs"
        )
        phrases = await open_transports(transports, _nothing, config)
    try:
        assert phrases[0].startswith(f"tls NOT started: cannot listen on 127.0.0.1:{taken}")
        assert phrases[1].startswith("ws 127.0.0.1:") and phrases[2].startswith("wss 127.0.0.1:")
        assert sorted(transports.names) == ["tcp", "udp", "ws", "wss"]
        assert (tmp_path / "certs" / "cert.pem").is_file()  # made for WSS
    finally:
        await transports.stop_extra()
    assert sorted(transports.names) == ["tcp", "udp"]
    # A certificate that cannot be loaded: TLS and WSS are not started, WS is.
    (tmp_path / "bad.pem").write_text("nope")
    config = TransportConfig(
        tls=("127.0.0.1", 0), ws=("127.0.0.1", 0), wss=("127.0.0.1", 0), cert=str(tmp_path / "bad.pem")
    )
    phrases = await open_transports(transports, _nothing, config)
    try:
        assert phrases[0].startswith("tls NOT started (cannot load the TLS certificate")
        assert phrases[1].startswith("ws 127.0.0.1:") and phrases[2].startswith("wss NOT started")
    finally:
        await transports.stop_extra()
