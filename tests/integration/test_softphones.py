"""Two real third-party softphones against a fresh ``centrex serve``: both register (digest) to the tenant's domain
through the server's address as outbound proxy, phone A calls phone B's extension, B answers, each phone sends its
own tone (A 440 Hz, B 1200 Hz) and records what it hears; A hangs up after ~3 s. The recordings must carry the
OTHER phone's tone, the registrations API must have listed both phones with their user agent, and the CDR must say
answered, internal, with relay counters both ways. The phones are PJSIP (pjsua2, ``tests/support/softphone.py``,
each in its own process) and baresip (``tests/support/baresip_phone.py``) calling PJSIP and called by it — see
docs/phones.md for pointing a real phone at Centrex."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import queue
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ThrowawayDatabase
from tests.support.baresip_phone import Baresip, write_config
from tests.support.pbx import ADMIN, TenantPbx
from tests.support.server import centrex_server, free_port
from tests.support.softphone import analyse

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(importlib.util.find_spec("pjsua2") is None, reason="pjsua2 (PyPI pjsua2-python) missing"),
    pytest.mark.skipif(shutil.which("sox") is None, reason="sox (Debian sox) is not installed"),
]
ROOT = Path(__file__).resolve().parents[2]
TONE_A, TONE_B = 440, 1200  # Hz: what the caller sends, what the callee sends


@dataclass
class Pbx(TenantPbx):
    sip_port: int
    root: Path

    def extension(self, name: str = "Phone", **fields: Any) -> dict[str, Any]:
        return super().extension(name=name, **fields)


@pytest.fixture(scope="module")
def pbx(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pbx]:
    """One server per database backend, SIP on a free port, the relay on a random 1000-port window."""
    root = tmp_path_factory.mktemp(f"phones-{backend}")
    db = ThrowawayDatabase(backend, root)
    db.create()
    sip_port = free_port()
    low = random.randrange(30000, 39000, 2)
    env = {"CENTREX_SIP_LISTEN": f"127.0.0.1:{sip_port}", "CENTREX_RTP_PORTS": f"{low}-{low + 999}"}
    with contextlib.ExitStack() as stack:
        stack.callback(db.drop)
        server = stack.enter_context(centrex_server(root / "data", database_url=db.url, env=env))
        r = httpx.post(
            f"{server.url}/api/v1/tenants", auth=ADMIN, json={"code": "phones", "name": "Phones"}, timeout=10
        )
        assert r.status_code == 201, r.text
        yield Pbx(server.url, r.json(), sip_port, root)


def tone(path: Path, hz: int, seconds: int = 6) -> Path:
    """A sine WAV, 8 kHz mono 16-bit, at half scale (PJSIP loops it)."""
    synth = ["synth", str(seconds), "sine", str(hz), "vol", "0.5"]
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(path), *synth], check=True, timeout=30)
    return path


class Phone:
    """One softphone process; its JSON events are read on a thread so every wait has a bound."""

    def __init__(self, pbx: Pbx, ext: dict[str, Any], name: str, play: Path, *extra: str) -> None:
        self.name, self.record = name, pbx.root / f"{name}-{ext['number']}-heard.wav"
        self.log = pbx.root / f"{name}-{ext['number']}-sip.log"
        args = [
            sys.executable, "-m", "tests.support.softphone", "--name", name,
            "--server", f"127.0.0.1:{pbx.sip_port}", "--domain", pbx.tenant["sip_domain"],
            "--user", ext["sip_username"], "--password", ext["sip_password"],
            "--play", str(play), "--record", str(self.record), "--sip-log", str(self.log), *extra,
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            args, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if line.startswith("{"):
                with contextlib.suppress(ValueError):  # not one of our events: kept in the output only
                    self.events.put(json.loads(line))

    def wait_for(self, event: str, seconds: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                got = self.events.get(timeout=left)
            except queue.Empty:
                break
            if got["event"] == event:
                return got
        raise AssertionError(f"{self.name}: no {event!r} within {seconds}s:\n{self.output()}")

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def finish(self, seconds: float = 60) -> int:
        try:
            return self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError(f"{self.name} still running after {seconds}s:\n{self.output()}") from None

    def output(self) -> str:
        sip = self.log.read_text(errors="replace")[-6000:] if self.log.exists() else ""
        return "".join(self.lines)[-3000:] + "\n--- SIP log (tail) ---\n" + sip

    def close(self) -> None:
        """Kill the process if it still runs, and close its pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.reader.join(timeout=10)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


class NotRegistered(AssertionError):
    """A phone did not show up in the registrations API in time."""


def agents(pbx: Pbx) -> dict[str, str]:
    """User agent of each registered extension number (the registrations API)."""
    r = pbx.api("GET", "/registrations")
    assert r.status_code == 200, r.text
    return {reg["extension_number"]: reg["user_agent"] or "" for reg in r.json()["items"]}


def wait_registered(
    pbx: Pbx, ext: dict[str, Any], seconds: float = 30, gave_up: Callable[[], bool] = lambda: False
) -> str:
    """The user agent of ``ext``'s registration, once there is one (``gave_up``: the phone says it will not come)."""
    deadline = time.monotonic() + seconds
    while (agent := agents(pbx).get(ext["number"])) is None:
        if time.monotonic() > deadline or gave_up():
            raise NotRegistered(f"{ext['number']} not registered within {seconds}s")
        time.sleep(0.2)
    return agent


def assert_heard(recording: Path, hz: int) -> None:
    """The recording carries the tone ``hz`` — the OTHER phone's — loud (a half-scale sine is ~11600 RMS and G.711
    keeps it), for at least 2 s."""
    heard = analyse(recording)
    assert heard["seconds"] >= 2 and heard["rms"] > 3000 and abs(heard["dominant_hz"] - hz) <= 20, (recording, heard)


def assert_cdr(pbx: Pbx, caller: dict[str, Any], callee: dict[str, Any]) -> None:
    """Answered internal call, hung up by the caller after ~3 s, media relayed both ways on both legs."""
    cdr = pbx.cdr(callee)
    assert cdr["disposition"] == "answered" and cdr["direction"] == "internal", cdr
    assert cdr["caller_number"] == caller["number"] and cdr["callee_number"] == callee["number"], cdr
    assert cdr["hangup_by"] == "caller" and cdr["duration_seconds"] > 0 and cdr["billable_seconds"] >= 2, cdr
    media = {leg["id"]: leg for leg in cdr["legs"] if leg.get("kind") == "media"}
    assert set(media) == {"media-a", "media-b"}, cdr["legs"]
    # ~3 s of 20 ms packets each way (150): at least half of them, in and out, on both legs.
    for leg in media.values():
        assert leg["rtp_packets_in"] >= 75 and leg["rtp_packets_out"] >= 75, cdr["legs"]


def assert_pjsip_call(result: dict[str, Any], phone: Phone) -> None:
    states = result["states"]
    assert "CONFIRMED" in states and states[-1] == "DISCONNECTED" and result["media"], (result, phone.output())


def test_two_pjsip_phones_call_each_other_with_audio_both_ways(pbx: Pbx) -> None:
    alice, bob = pbx.extension("Alice"), pbx.extension("Bob")
    play_a, play_b = tone(pbx.root / f"a-{TONE_A}.wav", TONE_A), tone(pbx.root / f"b-{TONE_B}.wav", TONE_B)
    callee = Phone(pbx, bob, "bob", play_b)
    caller: Phone | None = None
    try:
        assert callee.wait_for("registered")["code"] == 200, callee.output()
        caller = Phone(pbx, alice, "alice", play_a, "--dial", bob["number"], "--talk", "3", "--wait-go")
        assert caller.wait_for("registered")["code"] == 200, caller.output()
        # Both phones are registered, with the user agent they sent, before the call.
        registered = agents(pbx)
        assert "PJSIP" in registered.get(alice["number"], "") and "alice" in registered[alice["number"]], registered
        assert "PJSIP" in registered.get(bob["number"], "") and "bob" in registered[bob["number"]], registered
        caller.go()
        a, b = caller.wait_for("result", 60), callee.wait_for("result", 60)
        assert caller.finish() == 0, caller.output()
        assert callee.finish() == 0, callee.output()
    finally:
        callee.close()
        if caller is not None:
            caller.close()
    assert_pjsip_call(a, caller)
    assert_pjsip_call(b, callee)
    assert a.get("hangup_by") == "me", a
    assert_heard(Path(a["record"]), TONE_B)
    assert_heard(Path(b["record"]), TONE_A)
    assert_cdr(pbx, alice, bob)


# baresip 1.0 (libre 1.x) gives up on a 401/407 that carries any challenge it cannot compute ("Register: Function
# not implemented"): the engine challenges it with MD5 only (registrar ``md5_only_agents``, docs/phones.md).
needs_baresip = pytest.mark.skipif(shutil.which("baresip") is None, reason="baresip (Debian baresip) is not installed")


@contextlib.contextmanager
def baresip(pbx: Pbx, ext: dict[str, Any], play: Path) -> Iterator[tuple[Baresip, Path]]:
    """A registered baresip for ``ext`` (answers by itself), and the folder where it dumps each call's audio."""
    confdir, ctrl = pbx.root / f"baresip-{ext['number']}", free_port()
    dumps = confdir.with_name(confdir.name + "-dumps")
    write_config(
        confdir, sip_port=free_port(), ctrl_port=ctrl, server=f"127.0.0.1:{pbx.sip_port}",
        domain=pbx.tenant["sip_domain"], user=ext["sip_username"], password=ext["sip_password"], play=play,
        dump_dir=dumps,
    )  # fmt: skip
    phone = Baresip(confdir, ctrl, pbx.root / f"baresip-{ext['number']}.log")
    try:
        phone.connect()
        try:
            agent = wait_registered(pbx, ext, 15, lambda: "Register: " in phone.output())  # e.g. "Register: 403"
        except NotRegistered as exc:
            raise NotRegistered(f"{exc}\n{phone.output()}") from None
        assert "baresip" in agent, agent
        yield phone, dumps
    finally:
        phone.close()


def decoded(dumps: Path) -> Path:
    """The one call's received (decoded) audio baresip's sndfile module wrote."""
    found = sorted(dumps.glob("*-dec.wav"))
    assert len(found) == 1, found
    return found[0]


@needs_baresip
def test_pjsip_phone_calls_baresip(pbx: Pbx) -> None:
    alice, bob = pbx.extension("Alice"), pbx.extension("Bob")
    play_a = tone(pbx.root / f"a-{TONE_A}.wav", TONE_A)
    play_b = tone(pbx.root / f"b-{TONE_B}-long.wav", TONE_B, seconds=30)  # baresip hangs up when its WAV ends
    with baresip(pbx, bob, play_b) as (callee, dumps):
        caller = Phone(pbx, alice, "alice", play_a, "--dial", bob["number"], "--talk", "3")
        try:
            a = caller.wait_for("result", 60)
            assert caller.finish() == 0, caller.output()
        finally:
            caller.close()
        assert_pjsip_call(a, caller)
        assert a.get("hangup_by") == "me", a
        callee.wait_event("CALL_CLOSED", 15)
    assert_heard(Path(a["record"]), TONE_B)
    assert_heard(decoded(dumps), TONE_A)
    assert_cdr(pbx, alice, bob)


@needs_baresip
def test_baresip_calls_pjsip_phone(pbx: Pbx) -> None:
    alice, bob = pbx.extension("Alice"), pbx.extension("Bob")
    play_a = tone(pbx.root / f"a-{TONE_A}-long.wav", TONE_A, seconds=30)
    play_b = tone(pbx.root / f"b-{TONE_B}.wav", TONE_B)
    callee = Phone(pbx, bob, "bob", play_b)
    try:
        assert callee.wait_for("registered")["code"] == 200, callee.output()
        with baresip(pbx, alice, play_a) as (caller, dumps):
            caller.command("dial", f"sip:{bob['number']}@{pbx.tenant['sip_domain']}")
            caller.wait_event("CALL_ESTABLISHED", 30)
            caller.events(3.0)  # talk
            caller.command("hangup")
            caller.wait_event("CALL_CLOSED", 15)
        b = callee.wait_for("result", 60)
        assert callee.finish() == 0, callee.output()
    finally:
        callee.close()
    assert_pjsip_call(b, callee)
    assert_heard(decoded(dumps), TONE_B)
    assert_heard(Path(b["record"]), TONE_A)
    assert_cdr(pbx, alice, bob)
