"""SIP over TLS and WebSocket end to end: a real ``centrex serve`` with UDP/TCP, TLS and WS listeners on free ports
(the TLS certificate self-signed into the data dir, and checked by the phones). Phones:

- a TLS phone (asyncio TLS stream, verifying the server against the generated certificate) and a WebSocket phone
  (the ``websockets`` client with the ``sip`` subprotocol, Via/Contact hosts ``*.invalid`` like JsSIP/SIP.js) that
  register with digest; the registrations API must show their transport and connection;
- a call from a SIPp UDP caller to each of them: the INVITE must arrive over the phone's own connection, the phone
  answers 180/200 itself, gets the ACK and then the BYE (caller hangs up) there, and the CDR says answered.

Debian's SIPp is built without TLS (``-t l1`` unavailable) and pjsua2 is not installed here, so the TLS and WS phones
are written in this file (messages built by hand; only parsing and the digest answer reuse ``centrex.sip``)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from centrex.sip.auth_client import with_credentials
from centrex.sip.message import Request, Response, StreamFramer, parse
from tests.conftest import ThrowawayDatabase
from tests.support.pbx import ADMIN, TenantPbx
from tests.support.server import Server, centrex_server, free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="SIPp (Debian sip-tester) is not installed"),
]
SCENARIOS = Path(__file__).parent / "sipp"
WAIT = 20.0  # seconds for any one message (loaded 2-core machine)


@dataclass
class Pbx(TenantPbx):
    server: Server
    sip_port: int
    tls_port: int
    ws_port: int
    root: Path

    async def call(self, caller: dict[str, Any], dialled: str) -> tuple[int, str]:
        """A SIPp UDP caller (INVITE with 407 digest, 200, ACK, 1 s, BYE); (exit code, output)."""
        port = free_port()
        proc = await asyncio.create_subprocess_exec(
            "sipp", "-sf", str(SCENARIOS / "call_uac.xml"), "-t", "u1", "-i", "127.0.0.1", "-p", str(port),
            "-m", "1", "-nostdin", "-timeout", "40s", "-timeout_error", "-recv_timeout", "30000",
            f"127.0.0.1:{self.sip_port}", "-au", caller["sip_username"], "-ap", caller["sip_password"],
            "-key", "user", caller["sip_username"], "-key", "domain", self.tenant["sip_domain"],
            "-key", "dialled", dialled, "-trace_err", "-error_file", str(self.root / f"sipp-{port}.err"),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=self.root,
        )  # fmt: skip
        try:
            async with asyncio.timeout(60):
                out, _ = await proc.communicate()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        return int(proc.returncode or 0), out.decode(errors="replace")[-2000:]


@pytest.fixture(scope="module")
def pbx(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pbx]:
    """One server per database backend, SIP on UDP/TCP, TLS and WS on free ports (WSS off)."""
    root = tmp_path_factory.mktemp(f"transports-{backend}")
    db = ThrowawayDatabase(backend, root)
    db.create()
    sip_port, tls_port, ws_port = free_port(), free_port(), free_port()
    env = {
        "CENTREX_SIP_LISTEN": f"127.0.0.1:{sip_port}",
        "CENTREX_SIP_TLS_LISTEN": f"127.0.0.1:{tls_port}",
        "CENTREX_SIP_WS_LISTEN": f"127.0.0.1:{ws_port}",
        "CENTREX_SIP_WSS_LISTEN": "off",
    }
    with contextlib.ExitStack() as stack:
        stack.callback(db.drop)
        server = stack.enter_context(centrex_server(root / "data", database_url=db.url, env=env))
        r = httpx.post(
            f"{server.url}/api/v1/tenants", auth=ADMIN, json={"code": "transports", "name": "Transports"}, timeout=10
        )
        assert r.status_code == 201, r.text
        yield Pbx(server.url, r.json(), server, sip_port, tls_port, ws_port, root)


# ------------------------------------------------------------------------------------------------ the phones
class Phone:
    """A SIP phone on one connection (TLS stream or WebSocket): builds its own messages, answers calls."""

    via_proto = ""
    contact_transport = ""

    def __init__(self, user: str, password: str, domain: str, host: str, port: int) -> None:
        self.user, self.password, self.domain = user, password, domain
        self.host, self.port = host, port  # what it puts in Via / Contact
        self.contact = f"<sip:{user}@{host}:{port};transport={self.contact_transport}>"
        self.received: list[Request | Response] = []

    async def send(self, message: Request | Response) -> None:
        raise NotImplementedError

    async def _read(self) -> bytes:
        raise NotImplementedError

    async def recv(self) -> Request | Response:
        async with asyncio.timeout(WAIT):
            msg = parse(await self._read())
        self.received.append(msg)
        return msg

    def _via(self) -> str:
        return f"SIP/2.0/{self.via_proto} {self.host}:{self.port};branch=z9hG4bK{secrets.token_hex(8)};rport"

    async def register(self, expires: int = 300) -> Response:
        """REGISTER, answer the 401 with digest, return the final response."""
        request = Request(method="REGISTER", uri=f"sip:{self.domain}")
        aor = f"<sip:{self.user}@{self.domain}>"
        for name, value in [
            ("Via", self._via()),
            ("Max-Forwards", "70"),
            ("From", f"{aor};tag={secrets.token_hex(5)}"),
            ("To", aor),
            ("Call-ID", secrets.token_hex(10)),
            ("CSeq", "1 REGISTER"),
            ("Contact", f"{self.contact};expires={expires}"),
            ("User-Agent", f"centrex-test-{self.via_proto.lower()}-phone"),
            ("Content-Length", "0"),
        ]:
            request.headers.add(name, value)
        await self.send(request)
        challenge = await self._final()
        assert challenge.status == 401, bytes(challenge)
        await self.send(with_credentials(request, challenge, self.user, self.password))
        return await self._final()

    async def _final(self) -> Response:
        while True:
            msg = await self.recv()
            if isinstance(msg, Response) and msg.status >= 200:
                return msg

    @staticmethod
    def _response(request: Request, status: int, reason: str, to_tag: str, body: str = "") -> Response:
        response = Response(status=status, reason=reason)
        for via in request.headers.get_all("Via"):
            response.headers.add("Via", via)
        for name in ("From", "Call-ID", "CSeq"):
            response.headers.add(name, request.headers.get(name) or "")
        response.headers.add("To", f"{request.headers.get('To')};tag={to_tag}")
        if body:
            response.headers.add("Content-Type", "application/sdp")
        response.body = body.encode()
        response.headers.add("Content-Length", str(len(response.body)))
        return response

    async def answer_call(self) -> list[str]:
        """Take an INVITE: 180, 200 with SDP; then the ACK and the BYE (answered 200). The methods, in order."""
        invite = await self.recv()
        assert isinstance(invite, Request) and invite.method == "INVITE", bytes(invite)
        tag = secrets.token_hex(5)
        await self.send(self._response(invite, 180, "Ringing", tag))
        sdp = (
            "v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {free_port()} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
        )
        ok = self._response(invite, 200, "OK", tag, sdp)
        ok.headers.add("Contact", self.contact)
        await self.send(ok)
        methods = ["INVITE"]
        while methods[-1] != "BYE":
            msg = await self.recv()
            if isinstance(msg, Response):
                continue
            if msg.method == "INVITE":  # a retransmission: our 200 did not get there in time
                await self.send(ok)
                continue
            methods.append(msg.method)
            if msg.method == "BYE":
                await self.send(self._response(msg, 200, "OK", tag))
        return methods


class TlsPhone(Phone):
    via_proto, contact_transport = "TLS", "tls"

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *args: Any) -> None:
        super().__init__(*args)
        self.reader, self.writer = reader, writer
        self.framer = StreamFramer()
        self.frames: list[bytes] = []

    async def send(self, message: Request | Response) -> None:
        self.writer.write(bytes(message))
        await self.writer.drain()

    async def _read(self) -> bytes:
        while not self.frames:
            data = await self.reader.read(65536)
            assert data, "the server closed the TLS connection"
            self.frames += self.framer.feed(data)
        return self.frames.pop(0)


class WsPhone(Phone):
    via_proto, contact_transport = "WS", "ws"

    def __init__(self, ws: ClientConnection, *args: Any) -> None:
        super().__init__(*args)
        self.ws = ws

    async def send(self, message: Request | Response) -> None:
        await self.ws.send(bytes(message).decode())  # text frames, as browsers send

    async def _read(self) -> bytes:
        frame = await self.ws.recv()
        assert isinstance(frame, str), "SIP over WebSocket to a browser goes in text frames"
        return frame.encode()


@contextlib.asynccontextmanager
async def tls_phone(pbx: Pbx, ext: dict[str, Any]) -> AsyncIterator[TlsPhone]:
    """Connected over TLS, verifying the server with the certificate Centrex made in its data dir."""
    context = ssl.create_default_context(cafile=str(pbx.server.data_dir / "sip-tls" / "cert.pem"))
    reader, writer = await asyncio.open_connection("127.0.0.1", pbx.tls_port, ssl=context, server_hostname="127.0.0.1")
    local = writer.get_extra_info("sockname")
    try:
        yield TlsPhone(reader, writer, ext["sip_username"], ext["sip_password"], pbx.tenant["sip_domain"], *local[:2])
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


@contextlib.asynccontextmanager
async def ws_phone(pbx: Pbx, ext: dict[str, Any]) -> AsyncIterator[WsPhone]:
    """Connected like a browser phone: subprotocol ``sip``, a random ``.invalid`` host in Via and Contact."""
    async with connect(f"ws://127.0.0.1:{pbx.ws_port}", subprotocols=[Subprotocol("sip")]) as ws:
        assert ws.subprotocol == "sip"
        host = f"{secrets.token_hex(6)}.invalid"
        yield WsPhone(ws, ext["sip_username"], ext["sip_password"], pbx.tenant["sip_domain"], host, 9)


# ------------------------------------------------------------------------------------------------ tests
def test_banner_and_certificate(pbx: Pbx) -> None:
    out = pbx.server.output()
    assert f"tls 127.0.0.1:{pbx.tls_port}" in out and f"ws 127.0.0.1:{pbx.ws_port}" in out, out
    assert "wss" not in out  # off
    key = pbx.server.data_dir / "sip-tls" / "key.pem"
    assert key.is_file() and (key.stat().st_mode & 0o077) == 0


async def test_tls_phone_registers_and_takes_a_call(pbx: Pbx) -> None:
    caller, ext = pbx.extension(), pbx.extension()
    async with tls_phone(pbx, ext) as phone:
        ok = await phone.register()
        assert ok.status == 200, bytes(ok)
        assert "transport=tls" in (ok.headers.get("Contact") or "")
        (reg,) = await asyncio.to_thread(pbx.registrations, ext)
        assert reg["transport"] == "tls" and (reg["source_ip"], reg["source_port"]) == ("127.0.0.1", phone.port)
        answered = asyncio.create_task(phone.answer_call())
        code, out = await pbx.call(caller, ext["number"])
        assert code == 0, out
        async with asyncio.timeout(WAIT):
            assert await answered == ["INVITE", "ACK", "BYE"]
        invite = next(m for m in phone.received if isinstance(m, Request) and m.method == "INVITE")
        assert (invite.headers.get("Via") or "").startswith(f"SIP/2.0/TLS 127.0.0.1:{pbx.tls_port};")
        assert f":{pbx.tls_port};transport=tls>" in (invite.headers.get("Contact") or "")
    cdr = await asyncio.to_thread(pbx.cdr, ext)
    assert cdr["disposition"] == "answered" and cdr["hangup_by"] == "caller"


async def test_websocket_phone_registers_and_takes_a_call(pbx: Pbx) -> None:
    caller, ext = pbx.extension(), pbx.extension()
    async with ws_phone(pbx, ext) as phone:
        ok = await phone.register()
        assert ok.status == 200, bytes(ok)
        assert phone.host in (ok.headers.get("Contact") or "")  # the .invalid contact is the binding
        (reg,) = await asyncio.to_thread(pbx.registrations, ext)
        # The binding is reached through the connection (its peer address), not the Contact's .invalid host.
        assert reg["transport"] == "ws" and reg["contact_uri"].endswith(".invalid:9;transport=ws")
        assert (reg["source_ip"], reg["source_port"]) == ("127.0.0.1", phone.ws.local_address[1])
        answered = asyncio.create_task(phone.answer_call())
        code, out = await pbx.call(caller, ext["number"])
        assert code == 0, out
        async with asyncio.timeout(WAIT):
            assert await answered == ["INVITE", "ACK", "BYE"]
        invite = next(m for m in phone.received if isinstance(m, Request) and m.method == "INVITE")
        assert invite.uri.startswith(f"sip:{ext['sip_username']}@{phone.host}")
        assert (invite.headers.get("Via") or "").startswith(f"SIP/2.0/WS 127.0.0.1:{pbx.ws_port};")
        assert f":{pbx.ws_port};transport=ws>" in (invite.headers.get("Contact") or "")
    cdr = await asyncio.to_thread(pbx.cdr, ext)
    assert cdr["disposition"] == "answered" and cdr["hangup_by"] == "caller" and cdr["billable_seconds"] >= 1
