"""Extension-to-extension calls end to end: a real ``centrex serve`` with SIP on a free port, the callee a SIPp that
registers (digest) from a port and then answers there as a UAS, the caller a SIPp UAC that authenticates its INVITE
(407); both SIPp runs must succeed, and the CDR must say what happened (scenarios in ``sipp/``, docs/calls.md).
The server runs with the media relay on (the default), so every SDP the phones get points at the relay."""

from __future__ import annotations

import contextlib
import re
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
PCAP = Path("/usr/share/sip-tester/g711a.pcap")  # RTP the media caller scenario plays (Debian sip-tester)


@dataclass
class Pbx(TenantPbx):
    """The tenant, with SIPp phones registered from free ports."""

    sip_port: int
    root: Path

    def _sipp(self, scenario: str, port: int, extra: list[str]) -> list[str]:
        return [
            "sipp", "-sf", str(SCENARIOS / scenario), "-t", "u1", "-i", "127.0.0.1", "-p", str(port),
            "-m", "1", "-nostdin", "-timeout", "25s", "-timeout_error", "-recv_timeout", "15000",
            "-trace_err", "-error_file", str(self.root / f"sipp-{port}-{scenario}.err"), *extra,
        ]  # fmt: skip

    def register(self, ext: dict[str, Any]) -> int:
        """Register ``ext`` from a free UDP port (the callee's phone); returns the port."""
        port = free_port()
        args = self._sipp("register.xml", port, [
            f"127.0.0.1:{self.sip_port}", "-au", ext["sip_username"], "-ap", ext["sip_password"],
            "-key", "user", ext["sip_username"], "-key", "domain", self.tenant["sip_domain"], "-key", "expires", "300",
        ])  # fmt: skip
        proc = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=self.root)
        assert proc.returncode == 0, proc.stdout[-2000:]
        return port

    @contextlib.contextmanager
    def callee(self, scenario: str, port: int, extra: list[str] | None = None) -> Iterator[subprocess.Popen[str]]:
        """A SIPp UAS on the port the callee registered from (killed on the way out if still running)."""
        proc = subprocess.Popen(
            self._sipp(scenario, port, extra or []),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=self.root,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)

    def caller_args(
        self, scenario: str, caller: dict[str, Any], dialled: str, extra: list[str] | None = None
    ) -> list[str]:
        """The SIPp command line of a caller scenario from a free port (digest credentials of ``caller``)."""
        return self._sipp(scenario, free_port(), [
            f"127.0.0.1:{self.sip_port}", "-au", caller["sip_username"], "-ap", caller["sip_password"],
            "-key", "user", caller["sip_username"], "-key", "domain", self.tenant["sip_domain"],
            "-key", "dialled", dialled, *(extra or []),
        ])  # fmt: skip

    def call(self, scenario: str, caller: dict[str, Any], dialled: str, extra: list[str] | None = None) -> int:
        """Run a caller scenario; returns SIPp's exit code."""
        time.sleep(0.3)  # let a callee SIPp bind its port first
        args = self.caller_args(scenario, caller, dialled, extra)
        proc = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=self.root)
        return proc.returncode

    def start_call(
        self, scenario: str, caller: dict[str, Any], dialled: str, extra: list[str] | None = None
    ) -> subprocess.Popen[str]:
        """Start a caller scenario in the background (a long call the test acts on meanwhile)."""
        args = self.caller_args(scenario, caller, dialled, extra)
        return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, cwd=self.root)


def _finish(proc: subprocess.Popen[str]) -> int:
    try:
        proc.wait(timeout=40)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
    return proc.returncode


@pytest.fixture(scope="module")
def pbx(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pbx]:
    """One server per database backend (SQLite, PostgreSQL) for the whole module."""
    root = tmp_path_factory.mktemp(f"calls-{backend}")
    db = ThrowawayDatabase(backend, root)
    db.create()
    sip_port = free_port()
    env = {"CENTREX_SIP_LISTEN": f"127.0.0.1:{sip_port}"}
    with contextlib.ExitStack() as stack:
        stack.callback(db.drop)
        server = stack.enter_context(centrex_server(root / "data", database_url=db.url, env=env))
        r = httpx.post(f"{server.url}/api/v1/tenants", auth=ADMIN, json={"code": "calls", "name": "Calls"}, timeout=10)
        assert r.status_code == 201, r.text
        yield Pbx(server.url, r.json(), sip_port, root)


def test_answered_call_caller_hangs_up(pbx: Pbx) -> None:
    alice, bob = pbx.extension(name="Alice"), pbx.extension(name="Bob")
    with pbx.callee("callee_answer.xml", pbx.register(bob)) as uas:
        assert pbx.call("call_uac.xml", alice, bob["number"]) == 0
        assert _finish(uas) == 0
    cdr = pbx.cdr(bob)
    assert cdr["disposition"] == "answered" and cdr["direction"] == "internal"
    assert cdr["caller_number"] == alice["number"] and cdr["callee_number"] == bob["number"]
    assert cdr["hangup_by"] == "caller" and cdr["duration_seconds"] >= 1 and cdr["billable_seconds"] >= 1


def test_answered_call_callee_hangs_up(pbx: Pbx) -> None:
    alice, bob = pbx.extension(), pbx.extension()
    with pbx.callee("callee_hangup.xml", pbx.register(bob)) as uas:
        assert pbx.call("call_uac_hungup.xml", alice, bob["number"]) == 0
        assert _finish(uas) == 0
    cdr = pbx.cdr(bob)
    assert cdr["disposition"] == "answered" and cdr["hangup_by"] == "callee" and cdr["billable_seconds"] >= 1


def test_busy_callee(pbx: Pbx) -> None:
    alice, bob = pbx.extension(), pbx.extension()
    with pbx.callee("callee_busy.xml", pbx.register(bob)) as uas:
        assert pbx.call("call_uac_busy.xml", alice, bob["number"]) == 0
        assert _finish(uas) == 0
    cdr = pbx.cdr(bob)
    assert cdr["disposition"] == "busy" and cdr["hangup_cause"] == 486 and cdr["billable_seconds"] == 0


def test_caller_cancels_before_answer(pbx: Pbx) -> None:
    alice, bob = pbx.extension(), pbx.extension()
    with pbx.callee("callee_ring.xml", pbx.register(bob)) as uas:
        assert pbx.call("call_uac_cancel.xml", alice, bob["number"]) == 0
        assert _finish(uas) == 0  # the B leg got the CANCEL
    cdr = pbx.cdr(bob)
    assert cdr["disposition"] == "cancelled" and cdr["hangup_by"] == "caller"


def test_ring_timeout_is_480_and_cancels_the_callee(pbx: Pbx) -> None:
    alice, bob = pbx.extension(), pbx.extension(ring_timeout=5)
    with pbx.callee("callee_ring.xml", pbx.register(bob)) as uas:
        started = time.monotonic()
        assert pbx.call("call_uac_unavailable.xml", alice, bob["number"]) == 0
        assert 4.5 <= time.monotonic() - started < 15
        assert _finish(uas) == 0
    cdr = pbx.cdr(bob)
    assert cdr["disposition"] == "no_answer" and cdr["hangup_by"] == "system"


def test_unregistered_callee_is_480(pbx: Pbx) -> None:
    alice, bob = pbx.extension(), pbx.extension()
    assert pbx.call("call_uac_unavailable.xml", alice, bob["number"]) == 0
    cdr = pbx.cdr(bob)
    assert cdr["disposition"] == "failed" and cdr["hangup_cause"] == 480


def _limits(pbx: Pbx, **limits: Any) -> None:
    r = httpx.patch(f"{pbx.url}/api/v1/tenants/{pbx.tenant['id']}", json={"limits": limits}, auth=ADMIN, timeout=10)
    assert r.status_code == 200, r.text


def test_tenant_call_caps_answer_503_but_never_for_911(pbx: Pbx) -> None:
    alice, bob = pbx.extension(), pbx.extension()
    try:
        # One new call per 5 s: the first call is let through (480: nobody registered), the next one is 503.
        _limits(pbx, max_calls_per_second=0.2)
        assert pbx.call("call_uac_unavailable.xml", alice, bob["number"]) == 0
        assert pbx.call("call_uac_limited.xml", alice, bob["number"]) == 0
        assert pbx.call("call_uac_unavailable.xml", alice, bob["number"]) != 0  # the scenario can fail
        # No call at once: every call is refused with 503 naming the limit, except 911, which gets past the cap (and
        # then finds no trunk in this test: a 503 that says so, not the limit).
        _limits(pbx, max_calls_per_second=None, max_concurrent_calls=0)
        assert pbx.call("call_uac_limited.xml", alice, bob["number"]) == 0
        assert pbx.call("call_uac_notrunk.xml", alice, "911") == 0
        assert pbx.call("call_uac_limited.xml", alice, "911") != 0
    finally:
        _limits(pbx, max_calls_per_second=None, max_concurrent_calls=None)
    r = pbx.api("GET", "/cdrs", params={"extension_id": bob["id"], "disposition": "failed", "limit": 10})
    causes = sorted(item["hangup_cause"] for item in r.json()["items"])
    assert causes == [480, 503, 503, 503], causes  # the second, third and fifth call to bob were capped


def test_unknown_number_is_404_and_dnd_is_486(pbx: Pbx) -> None:
    alice = pbx.extension()
    assert pbx.call("call_uac_notfound.xml", alice, "9999999") == 0
    assert pbx.call("call_uac_busy.xml", alice, "9999999") != 0  # the scenario can fail: a 486 was expected
    carol = pbx.extension(dnd=True, voicemail_enabled=False)
    assert pbx.call("call_uac_busy.xml", alice, carol["number"]) == 0
    cdr = pbx.cdr(carol)
    assert cdr["disposition"] == "busy" and cdr["hangup_by"] == "system"


def test_wrong_password_makes_no_call(pbx: Pbx) -> None:
    alice, bob = pbx.extension(), pbx.extension()
    wrong = {**alice, "sip_password": "wrong-" + alice["sip_password"]}
    assert pbx.call("call_uac_unavailable.xml", wrong, bob["number"]) != 0
    r = pbx.api("GET", "/cdrs", params={"extension_id": bob["id"]})
    assert r.status_code == 200 and r.json()["items"] == []


def _invite(pbx: Pbx, ext: dict[str, Any], port: int, method: str = "INVITE") -> bytes:
    d = pbx.tenant["sip_domain"]
    return (
        f"{method} sip:100@{d} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKretrans{port};rport\r\n"
        f"From: <sip:{ext['sip_username']}@{d}>;tag=rt{port}\r\nTo: <sip:100@{d}>"
        + (";tag=x" if method == "ACK" else "")
        + f"\r\nCall-ID: rt{port}@test\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def _responses(sock: socket.socket, seconds: float) -> list[str]:
    """Status lines and To tags received within ``seconds``."""
    out: list[str] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data = sock.recvfrom(65535)[0].decode()
        except TimeoutError:
            break
        to = next(line for line in data.split("\r\n") if line.lower().startswith("to:"))
        out.append(data.split("\r\n", 1)[0] + " " + to)
    return out


def test_udp_retransmissions_absorbed_and_final_response_retransmitted(pbx: Pbx) -> None:
    alice = pbx.extension()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.sendto(_invite(pbx, alice, port), ("127.0.0.1", pbx.sip_port))
        s.sendto(_invite(pbx, alice, port), ("127.0.0.1", pbx.sip_port))  # a retransmission: no second call
        # No ACK: the 407 comes again at T1, 2·T1 (Timer G), always with the same To tag.
        got = [r for r in _responses(s, 2.0) if " 407 " in r]
        assert len(got) >= 3 and len(set(got)) == 1, got
        ack = _invite(pbx, alice, port, "ACK").replace(b"tag=x", got[0].rsplit("tag=", 1)[1].encode())
        s.sendto(ack, ("127.0.0.1", pbx.sip_port))
        time.sleep(0.2)
        _responses(s, 0.1)
        assert _responses(s, 1.5) == []  # the ACK stopped the retransmissions


def _logged(path: Path, label: str) -> tuple[str, int]:
    """The (address, port) a SIPp scenario logged with ``<log message="LABEL [$c_ip] [$m_port]"/>``."""
    found = re.search(rf"{label} ([0-9.]+) ([0-9]+)", path.read_text(errors="replace"))
    assert found is not None, f"{label} not in {path}"
    return found[1], int(found[2])


@pytest.mark.skipif(not PCAP.exists(), reason=f"{PCAP} (Debian sip-tester) is missing")
@pytest.mark.parametrize(
    ("caller_scenario", "callee_scenario", "caller_got", "callee_got"),
    [
        ("call_uac_media.xml", "callee_echo.xml", "ANSWER-SDP", "OFFER-SDP"),  # offer in the INVITE
        ("call_uac_late.xml", "callee_late.xml", "OFFER-SDP", "ANSWER-SDP"),  # late offer: in the 200, answer in ACK
    ],
    ids=["offer", "late-offer"],
)
def test_media_is_anchored_through_the_relay(
    pbx: Pbx, caller_scenario: str, callee_scenario: str, caller_got: str, callee_got: str
) -> None:
    """The caller plays G.711 RTP at the port the SDP it got named, the callee echoes it back (-rtp_echo): each
    side's SDP names the relay, not the other phone, and the relay's counters in the CDR legs show packets both
    ways."""
    alice, bob = pbx.extension(name="Alice"), pbx.extension(name="Bob")
    caller_media, callee_media = free_port(), free_port()
    caller_log, callee_log = (
        pbx.root / f"media-caller-{caller_media}.log",
        pbx.root / f"media-callee-{callee_media}.log",
    )
    callee_args = ["-rtp_echo", "-mp", str(callee_media), "-trace_logs", "-log_file", str(callee_log)]
    with pbx.callee(callee_scenario, pbx.register(bob), callee_args) as uas:
        caller_args = ["-mp", str(caller_media), "-trace_logs", "-log_file", str(caller_log)]
        assert pbx.call(caller_scenario, alice, bob["number"], caller_args) == 0
        assert _finish(uas) == 0
    offer_ip, offer_port = _logged(callee_log, callee_got)  # the caller's SDP as the callee got it
    answer_ip, answer_port = _logged(caller_log, caller_got)  # the callee's SDP as the caller got it
    cdr = pbx.cdr(bob)
    assert cdr["disposition"] == "answered" and cdr["hangup_by"] == "caller"
    legs = {leg["id"]: leg for leg in cdr["legs"]}
    a, b = legs["media-a"], legs["media-b"]
    # Each phone was given the relay's port for its own leg, never the other phone's media port.
    assert offer_ip == answer_ip == "127.0.0.1"
    assert answer_port == a["relay_port"] and offer_port == b["relay_port"]
    assert answer_port not in (callee_media, caller_media) and offer_port not in (callee_media, caller_media)
    # The relay sent to the callee where its SDP said, and carried RTP both ways (2 s of 20 ms packets ≈ 100).
    assert b["remote"] == f"127.0.0.1:{callee_media}" and b["latched"]
    assert a["rtp_packets_in"] >= 40 and b["rtp_packets_out"] >= 40  # caller → relay → callee
    assert b["rtp_packets_in"] >= 40 and a["rtp_packets_out"] >= 40  # callee's echo → relay → caller
    assert b["rtp_packets_in"] <= a["rtp_packets_in"] and a["rejected"] == b["rejected"] == 0
