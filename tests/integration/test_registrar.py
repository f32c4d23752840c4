"""The registrar end to end: a real ``centrex serve`` with SIP on a free port, SIPp registering with digest auth
over UDP and TCP (scenarios in ``sipp/``), the bindings checked through the API, and hostile datagrams that must not
take the listener down."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.pbx import ADMIN, TenantPbx
from tests.support.server import centrex_server, free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="SIPp (Debian sip-tester) is not installed"),
]
SCENARIOS = Path(__file__).parent / "sipp"


@dataclass
class Pbx(TenantPbx):
    sip_port: int
    log: Path
    last_port: int = 0  # SIPp's local port in the last run

    def extension(self, **fields: Any) -> dict[str, Any]:
        ext = super().extension(**fields)
        secret = self.api("GET", f"/extensions/{ext['id']}/sip-credentials")
        assert secret.status_code == 200 and secret.json()["password"] == ext["sip_password"]
        return ext

    def sipp(
        self,
        scenario: str,
        user: str,
        password: str,
        *,
        expires: int = 300,
        transport: str = "u1",
        port: int | None = None,
    ) -> int:
        """Run one SIPp REGISTER scenario from ``port`` (default: a free one); returns SIPp's exit code."""
        port = port or free_port()
        args = [
            "sipp", f"127.0.0.1:{self.sip_port}", "-sf", str(SCENARIOS / scenario), "-t", transport,
            "-i", "127.0.0.1", "-p", str(port), "-m", "1", "-nostdin", "-timeout", "20s", "-timeout_error",
            "-recv_timeout", "5000", "-au", user, "-ap", password, "-key", "user", user,
            "-key", "domain", self.tenant["sip_domain"], "-key", "expires", str(expires),
            "-trace_err", "-error_file", str(self.log.parent / f"sipp-{port}.err"),
        ]  # fmt: skip
        proc = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=self.log.parent)
        self.last_port = port
        return proc.returncode


@pytest.fixture(scope="module")
def pbx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pbx]:
    root = tmp_path_factory.mktemp("registrar")
    sip_port = free_port()
    with centrex_server(root / "data", env={"CENTREX_SIP_LISTEN": f"127.0.0.1:{sip_port}"}) as server:
        assert f"udp+tcp 127.0.0.1:{sip_port}" in server.output()
        r = httpx.post(f"{server.url}/api/v1/tenants", auth=ADMIN, json={"code": "acme", "name": "Acme"}, timeout=10)
        assert r.status_code == 201, r.text
        yield Pbx(server.url, r.json(), sip_port, server.log)


def test_register_good_password_then_unregister(pbx: Pbx) -> None:
    ext = pbx.extension()
    assert pbx.sipp("register.xml", ext["sip_username"], ext["sip_password"], expires=300) == 0
    (reg,) = pbx.registrations(ext)
    assert reg["transport"] == "udp" and reg["source_ip"] == "127.0.0.1" and reg["source_port"] == pbx.last_port
    assert reg["contact_uri"].startswith(f"sip:{ext['sip_username']}@127.0.0.1:{pbx.last_port}")
    assert reg["aor"] == f"sip:{ext['sip_username']}@{pbx.tenant['sip_domain']}"
    assert reg["user_agent"] == "SIPp-centrex-test" and 250 <= reg["expires_in"] <= 300
    assert reg["extension_number"] == ext["number"]
    # Unregister from the same port (same Contact) with Expires: 0.
    port = pbx.last_port
    assert pbx.sipp("register.xml", ext["sip_username"], ext["sip_password"], expires=0, port=port) == 0
    assert pbx.registrations(ext) == []


def test_register_over_tcp(pbx: Pbx) -> None:
    ext = pbx.extension()
    assert pbx.sipp("register.xml", ext["sip_username"], ext["sip_password"], transport="t1") == 0
    (reg,) = pbx.registrations(ext)
    assert reg["transport"] == "tcp" and reg["contact_uri"].endswith("transport=TCP")


def test_wrong_password_is_forbidden_and_stores_nothing(pbx: Pbx) -> None:
    ext = pbx.extension()
    assert pbx.sipp("register_forbidden.xml", ext["sip_username"], "wrong-" + ext["sip_password"]) == 0
    assert pbx.registrations(ext) == []
    # The right password expected to fail is a failing scenario: the check can fail.
    assert pbx.sipp("register_forbidden.xml", ext["sip_username"], ext["sip_password"]) != 0


def _udp(port: int, data: bytes, *, expect_reply: bool) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(2.0 if expect_reply else 0.3)
        s.sendto(data, ("127.0.0.1", port))
        try:
            return s.recvfrom(65535)[0]
        except TimeoutError:
            return None


def test_malformed_datagrams_do_not_hurt_the_listener(pbx: Pbx) -> None:
    garbage = [
        b"\x00\xff" * 700,
        b"NOT SIP AT ALL\r\n\r\n",
        b"REGISTER sip:x SIP/2.0\r\nVia: broken\r\n\r\n",
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx\r\n\r\n",
        b"REGISTER sip:a SIP/2.0\r\nContent-Length: 99999999\r\n\r\n",
        b"REGISTER sip:a SIP/2.0\r\nX: " + b"x" * 65000 + b"\r\n\r\n",  # oversized: 513, but no Via to answer
    ]
    for data in garbage:
        assert _udp(pbx.sip_port, data, expect_reply=False) is None
    # An answerable malformed request (its CSeq names another method) gets a 400 with its Via copied.
    bad = (
        "REGISTER sip:{d} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKbad1;rport\r\n"
        "From: <sip:a@{d}>;tag=1\r\nTo: <sip:a@{d}>\r\nCall-ID: bad1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    ).format(d=pbx.tenant["sip_domain"])
    answer = _udp(pbx.sip_port, bad.encode(), expect_reply=True)
    assert answer is not None and answer.startswith(b"SIP/2.0 400 "), answer
    via = answer.split(b"\r\n")[1]
    assert b"branch=z9hG4bKbad1" in via and b"received=127.0.0.1" in via and b"rport=" in via
    # A SIP/3.0 request: 505.
    v3 = bad.replace("SIP/2.0\r\n", "SIP/3.0\r\n", 1).replace("CSeq: 1 INVITE", "CSeq: 1 REGISTER")
    answer = _udp(pbx.sip_port, v3.encode(), expect_reply=True)
    assert answer is not None and answer.startswith(b"SIP/2.0 505 "), answer
    # The listener still registers phones afterwards.
    ext = pbx.extension()
    assert pbx.sipp("register.xml", ext["sip_username"], ext["sip_password"]) == 0
    assert len(pbx.registrations(ext)) == 1


def test_retransmission_gets_the_same_answer_and_options_pings(pbx: Pbx) -> None:
    d = pbx.tenant["sip_domain"]
    request = (
        f"REGISTER sip:{d} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKretrans1;rport\r\n"
        f"From: <sip:nobody@{d}>;tag=1\r\nTo: <sip:nobody@{d}>\r\nCall-ID: retrans1\r\nCSeq: 1 REGISTER\r\n"
        "Contact: <sip:nobody@127.0.0.1:9>\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(3.0)
        s.sendto(request, ("127.0.0.1", pbx.sip_port))
        first = s.recvfrom(65535)[0]
        s.sendto(request, ("127.0.0.1", pbx.sip_port))
        second = s.recvfrom(65535)[0]
        assert first.startswith(b"SIP/2.0 401 ") and first == second  # same nonce, same To tag
        port = s.getsockname()[1]
        assert f"rport={port}".encode() in first and b"received=127.0.0.1" in first
        options = request.replace(b"REGISTER", b"OPTIONS").replace(b"retrans1", b"opt1")
        s.sendto(options, ("127.0.0.1", pbx.sip_port))
        assert s.recvfrom(65535)[0].startswith(b"SIP/2.0 200 ")


# ------------------------------------------------------------------------ the listener alone (in-process, real sockets)
async def test_listener_tcp_framing_keepalive_and_counters() -> None:
    import asyncio

    from centrex.sip.message import Request, Response
    from centrex.sip.transport import SipListener, Source
    from centrex.sip.transport.base import reply

    seen: list[tuple[str, Source]] = []

    async def handler(msg: Request | Response, source: Source) -> Response | None:
        assert isinstance(msg, Request)
        seen.append((msg.headers.get("Call-ID") or "", source))
        return reply(msg, 200, "OK")

    listener = SipListener("127.0.0.1", 0, handler)
    await listener.start()
    try:
        template = (
            "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK{n}\r\n"
            "From: <sip:a@x>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: c{n}\r\nCSeq: 1 OPTIONS\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        # Two messages in one segment, the second split across writes, with a CRLF keep-alive between them.
        data = (template.format(n=1) + "\r\n\r\n" + template.format(n=2)).encode()
        writer.write(data[:-20])
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(data[-20:])
        await writer.drain()
        got = b""
        async with asyncio.timeout(5):
            while got.count(b"SIP/2.0 200 OK") < 2:
                got += await reader.read(4096)
        assert got.startswith(b"\r\n")  # the pong, written before the first answer
        assert [c for c, _ in seen] == ["c1", "c2"] and seen[0][1].transport == "tcp"
        assert b"received=127.0.0.1" in got  # the sent-by host was not the source address
        # An oversized header section is a framing error: the connection is closed, the listener lives on.
        writer.write(b"OPTIONS sip:x SIP/2.0\r\nX: " + b"y" * 20000)
        await writer.drain()
        async with asyncio.timeout(5):
            assert await reader.read() == b""
        writer.close()
        assert listener.stats.dropped >= 1 and listener.stats.sent == 2
        # UDP on the same port still answers.
        loop = asyncio.get_running_loop()
        answers: asyncio.Queue[bytes] = asyncio.Queue()

        class Client(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: Any) -> None:
                answers.put_nowait(data)

        transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=("127.0.0.1", listener.port))
        udp = template.format(n=3).replace("SIP/2.0/TCP 192.0.2.1:5060", "SIP/2.0/UDP 127.0.0.1:9")
        transport.sendto(udp.replace(";branch", ";rport;branch").encode())
        async with asyncio.timeout(5):
            assert (await answers.get()).startswith(b"SIP/2.0 200 OK")
        transport.close()
    finally:
        await listener.stop()
