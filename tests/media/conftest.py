"""Fixtures of the media anchor tests: a real rtpengine daemon on 127.0.0.1 (userspace forwarding, no kernel
module), free port ranges, and UDP "phones" that record what they receive."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from centrex.media.rtp import build_rtp
from tests.support.server import free_port
from tests.support.udp import HOST, Phone, free_range, open_phone

WAIT = 5.0  # seconds: the longest a test waits for a packet (generous: pytest -n 2 on a loaded machine)
RTPENGINE = shutil.which("rtpengine")
needs_rtpengine = pytest.mark.skipif(RTPENGINE is None, reason="rtpengine (Debian rtpengine-daemon) is missing")


@dataclass(frozen=True)
class Rtpengine:
    ng: str  # HOST:PORT of the ng control socket
    port_min: int
    port_max: int
    log: Path


def _ping(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.3)
        try:
            sock.sendto(b"probe d7:command4:pinge", (HOST, port))
            return sock.recv(1000) == b"probe d6:result4:ponge"
        except OSError:
            return False


@pytest.fixture(scope="session")
def rtpengine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rtpengine]:
    """One rtpengine daemon for the session (of this pytest worker), stopped at the end."""
    if RTPENGINE is None:
        pytest.skip("rtpengine (Debian rtpengine-daemon) is missing")
    ng = free_port()
    low, high = free_range(32)
    log = tmp_path_factory.mktemp("rtpengine") / "rtpengine.log"
    command = [
        RTPENGINE,
        "--config-file=none",
        "--foreground",
        "--log-stderr",
        "--log-level=6",
        "--table=-1",  # no kernel forwarding: userspace only
        f"--interface={HOST}",
        f"--listen-ng={HOST}:{ng}",
        f"--port-min={low}",
        f"--port-max={high}",
        "--num-threads=2",
        "--delete-delay=0",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while not _ping(ng):
            if proc.poll() is not None:
                pytest.fail(f"rtpengine exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"rtpengine did not answer ping within 15 s: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
        yield Rtpengine(f"{HOST}:{ng}", low, high, log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


class Phones:
    """Makes phones for a test and closes them after it."""

    def __init__(self) -> None:
        self.made: list[Phone] = []

    async def new(self, port: int = 0) -> Phone:
        proto = await open_phone(WAIT, port)
        self.made.append(proto)
        return proto


@pytest.fixture
def phones() -> Iterator[Phones]:
    made = Phones()
    yield made
    for p in made.made:
        p.close()


def rtp(seq: int, ssrc: int) -> bytes:
    """A G.711-sized RTP packet whose payload depends on ``seq`` (to check it arrives intact)."""
    payload = bytes((seq + i) & 0xFF for i in range(160))
    return build_rtp(payload_type=0, sequence=seq, timestamp=seq * 160, ssrc=ssrc, payload=payload)


def sdp(port: int, *, ip: str = HOST, session: int = 1, extra: str = "") -> bytes:
    """A phone's SDP offering PCMU and telephone-event on ``ip:port``."""
    return (
        f"v=0\r\no=phone {session} 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
        f"a=sendrecv\r\n{extra}"
    ).encode()
