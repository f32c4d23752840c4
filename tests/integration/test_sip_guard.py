"""The SIP edge guard in the running server: a real ``centrex serve`` with SIP on a free port and small guard
thresholds, SIPp as the phone and the attacker (scenarios in ``sipp/``), raw UDP for the scanner, the bans API to see
and lift bans. On SQLite and PostgreSQL (``fresh_database``)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ThrowawayDatabase
from tests.support.pbx import ADMIN, TenantPbx
from tests.support.server import centrex_server, free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="SIPp (Debian sip-tester) is not installed"),
]
SCENARIOS = Path(__file__).parent / "sipp"
AUTH_FAILURES = 3
GUARD_ENV = {
    "CENTREX_SIP_GUARD_AUTH_FAILURES": str(AUTH_FAILURES),
    "CENTREX_SIP_GUARD_AUTH_WINDOW_SECONDS": "120",
    "CENTREX_SIP_GUARD_AUTH_BLOCK_SECONDS": "120",
    "CENTREX_SIP_GUARD_SCANNER_BAN_SECONDS": "600",
}


@dataclass
class Pbx(TenantPbx):
    sip_port: int
    log: Path

    def extension(self, **fields: Any) -> dict[str, Any]:
        return super().extension(**{"number": "201", **fields})

    def bans(self) -> list[dict[str, Any]]:
        r = self.platform_api("GET", "/sip/bans")
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    def sipp(
        self,
        scenario: str,
        ext: dict[str, Any],
        password: str,
        port: int,
        *,
        recv_timeout_ms: int = 5000,
        expires: int = 300,
    ) -> int:
        """One SIPp REGISTER scenario from 127.0.0.1:``port``; SIPp's exit code (0: the scenario went as written)."""
        user = ext["sip_username"]
        args = [
            "sipp", f"127.0.0.1:{self.sip_port}", "-sf", str(SCENARIOS / scenario), "-t", "u1",
            "-i", "127.0.0.1", "-p", str(port), "-m", "1", "-nostdin", "-timeout", "20s", "-timeout_error",
            "-recv_timeout", str(recv_timeout_ms), "-au", user, "-ap", password, "-key", "user", user,
            "-key", "domain", self.tenant["sip_domain"], "-key", "expires", str(expires),
            "-trace_err", "-error_file", str(self.log.parent / f"sipp-{port}.err"),
        ]  # fmt: skip
        proc = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=self.log.parent)
        return proc.returncode

    def options(self, *, user_agent: str = "probe", port: int = 0, wait: float = 1.0) -> bytes | None:
        """Send one OPTIONS over UDP from ``port`` (0: any); the answer, or None when none came within ``wait``."""
        d = self.tenant["sip_domain"]
        branch = f"z9hG4bK{time.monotonic_ns()}"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", port))
            local = s.getsockname()[1]
            request = (
                f"OPTIONS sip:{d} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{local};branch={branch};rport\r\n"
                f"From: <sip:probe@{d}>;tag=p1\r\nTo: <sip:{d}>\r\nCall-ID: {branch}\r\nCSeq: 1 OPTIONS\r\n"
                f"User-Agent: {user_agent}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            )
            s.settimeout(wait)
            s.sendto(request.encode(), ("127.0.0.1", self.sip_port))
            try:
                return s.recvfrom(65535)[0]
            except TimeoutError:
                return None


@pytest.fixture
def pbx(fresh_database: ThrowawayDatabase, tmp_path: Path) -> Iterator[Pbx]:
    sip_port = free_port()
    env = {"CENTREX_SIP_LISTEN": f"127.0.0.1:{sip_port}", **GUARD_ENV}
    with centrex_server(tmp_path / "data", database_url=fresh_database.url, env=env) as server:
        r = httpx.post(f"{server.url}/api/v1/tenants", auth=ADMIN, json={"code": "acme", "name": "Acme"}, timeout=10)
        assert r.status_code == 201, r.text
        yield Pbx(server.url, r.json(), sip_port, server.log)


def test_password_guessing_is_blocked_while_the_phone_keeps_registering(pbx: Pbx) -> None:
    ext = pbx.extension()
    password = ext["sip_password"]
    phone, attacker = free_port(), free_port()
    assert pbx.sipp("register.xml", ext, password, phone) == 0  # the real phone, registered before the attack
    # Wrong passwords from one source port: 403 each time until the (username, IP) pair is blocked ...
    for attempt in range(AUTH_FAILURES):
        assert pbx.sipp("register_forbidden.xml", ext, f"guess-{attempt}", attacker) == 0, attempt
        assert pbx.sipp("register.xml", ext, password, phone) == 0  # the phone re-registers meanwhile
    # ... then no answer at all after the challenge, whatever the password (it is not even checked).
    assert pbx.sipp("register_unanswered.xml", ext, "guess-again", attacker) == 0
    assert pbx.sipp("register_unanswered.xml", ext, password, attacker) == 0
    assert pbx.sipp("register.xml", ext, password, attacker, recv_timeout_ms=2000) != 0  # the check can fail
    # The registered phone is exempt (per IP and port): it still re-registers with 200.
    assert pbx.sipp("register.xml", ext, password, phone) == 0
    assert pbx.sipp("register_unanswered.xml", ext, password, phone) != 0  # it is answered, so this fails
    (reg,) = pbx.registrations(ext)
    assert reg["source_port"] == phone and reg["expires_in"] > 250
    # A blocked pair is not an IP ban: other requests from the address are answered, nothing is in the ban list.
    answer = pbx.options()
    assert answer is not None and answer.startswith(b"SIP/2.0 200 ")
    assert pbx.bans() == []
    # Once the phone unregisters, its source is an ordinary one again: blocked like the attacker's.
    assert pbx.sipp("register.xml", ext, password, phone, expires=0) == 0
    assert pbx.registrations(ext) == []
    assert pbx.sipp("register_unanswered.xml", ext, password, phone) == 0


def test_scanner_is_banned_and_lifting_the_ban_lets_the_source_in(pbx: Pbx) -> None:
    ext = pbx.extension()
    scanner = free_port()
    assert pbx.options(user_agent="friendly-scanner", port=scanner) is None
    deadline = time.monotonic() + 10
    bans = pbx.bans()
    while not bans and time.monotonic() < deadline:
        time.sleep(0.2)
        bans = pbx.bans()
    (ban,) = bans
    assert ban["source_ip"] == "127.0.0.1" and ban["created_by"] == "engine" and ban["active"] is True
    assert ban["reason"].startswith("scanner: ") and "friendly-scanner" in ban["reason"]
    # The whole address is banned: the same source, with an ordinary User-Agent and the right password, gets nothing.
    assert pbx.options(port=scanner) is None
    assert pbx.sipp("register.xml", ext, ext["sip_password"], scanner, recv_timeout_ms=2000) != 0
    assert pbx.registrations(ext) == []
    # Lifting the ban through the API takes effect at the engine's next ban refresh (a few seconds).
    r = pbx.platform_api("DELETE", f"/sip/bans/{ban['id']}")
    assert r.status_code == 204, r.text
    lifted = time.monotonic()
    answer = pbx.options(port=scanner, wait=0.5)
    while answer is None and time.monotonic() - lifted < 10:
        answer = pbx.options(port=scanner, wait=0.5)
    assert answer is not None and answer.startswith(b"SIP/2.0 200 "), "the ban was not lifted within 10 s"
    assert pbx.sipp("register.xml", ext, ext["sip_password"], scanner) == 0
    (reg,) = pbx.registrations(ext)
    assert reg["source_port"] == scanner
    assert pbx.bans() == []
