"""A headless PJSIP (pjsua2) softphone for integration tests, run as its own process (``python -m
tests.support.softphone ...``): it registers with digest auth, then either dials a number (``--dial``) or waits for
one call and answers it; it plays a WAV into the call, records what it receives, and prints JSON events on stdout,
one per line (``registered``, then ``result``). pjsua2 allows one Endpoint per process and owns native threads,
so it never runs inside pytest. Also here: the tone analysis the tests use on the recordings (pure Python)."""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
import wave
from pathlib import Path
from typing import Any

USER_AGENT = "Centrex-test PJSIP softphone"


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def read_wav(path: Path) -> tuple[list[int], int]:
    """Mono 16-bit samples (the first channel) and the sample rate."""
    with wave.open(str(path), "rb") as w:
        assert w.getsampwidth() == 2, f"{path}: {w.getsampwidth() * 8}-bit samples"
        rate, channels, raw = w.getframerate(), w.getnchannels(), w.readframes(w.getnframes())
    samples = [int.from_bytes(raw[i : i + 2], "little", signed=True) for i in range(0, len(raw), 2 * channels)]
    return samples, rate


def rms(samples: list[int]) -> float:
    return math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0


def goertzel_power(samples: list[int], rate: int, freq: float) -> float:
    """Power of ``samples`` at ``freq`` (Goertzel), normalised by the length."""
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return (s1 * s1 + s2 * s2 - coeff * s1 * s2) / len(samples)


def analyse(path: Path, *, skip: float = 0.5, window: float = 1.0) -> dict[str, float]:
    """Level (RMS) and dominant frequency (20 Hz steps over 100–3800 Hz) of the loudest ``window`` seconds of a
    recording after the first ``skip`` seconds (call setup, jitter buffer filling)."""
    samples, rate = read_wav(path)
    samples = samples[int(skip * rate) :]
    size = int(window * rate)
    chunks = [samples[i : i + size] for i in range(0, max(len(samples) - size, 0) + 1, size // 2)] or [samples]
    loudest = max(chunks, key=rms)
    if not loudest:
        return {"rms": 0.0, "dominant_hz": 0.0, "seconds": 0.0}
    # Decimate to ~8 kHz for speed (the tones are below 2 kHz; G.711 carries nothing above 4 kHz anyway).
    step = max(rate // 8000, 1)
    low = loudest[::step]
    powers = {f: goertzel_power(low, rate // step, f) for f in range(100, 3800, 20)}
    return {
        "rms": rms(loudest),
        "dominant_hz": float(max(powers, key=lambda f: powers[f])),
        "seconds": len(samples) / rate,
    }


def run(args: argparse.Namespace) -> int:
    import pjsua2 as pj  # type: ignore[import-untyped]

    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.mainThreadOnly = True
    cfg.uaConfig.userAgent = f"{USER_AGENT} {args.name}"
    cfg.logConfig.consoleLevel = 0  # stdout carries the JSON events only
    cfg.logConfig.level = 5 if args.sip_log else 0
    if args.sip_log:
        cfg.logConfig.filename = args.sip_log
    cfg.medConfig.clockRate = 8000
    cfg.medConfig.sndClockRate = 8000
    cfg.medConfig.noVad = True
    cfg.medConfig.ecTailLen = 0
    ep.libInit(cfg)
    tcfg = pj.TransportConfig()
    tcfg.boundAddress = "127.0.0.1"
    tcfg.publicAddress = "127.0.0.1"
    tcfg.port = 0
    ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
    ep.libStart()
    ep.audDevManager().setNullDev()
    for codec in ep.codecEnum2():  # G.711 only, like the docs tell a desk phone
        prio = {"PCMU/8000/1": 255, "PCMA/8000/1": 254}.get(codec.codecId, 0)
        ep.codecSetPriority(codec.codecId, prio)

    state: dict[str, Any] = {"reg_code": None, "calls": [], "states": [], "media": False}
    player = pj.AudioMediaPlayer()
    player.createPlayer(args.play)  # loops
    recorder = pj.AudioMediaRecorder()
    recorder.createRecorder(args.record)
    ports = {"player": player, "recorder": recorder}  # dropped before libDestroy (closes the WAV: header)
    del player, recorder

    class Call(pj.Call):  # type: ignore[misc]
        def onCallState(self, prm: Any) -> None:
            ci = self.getInfo()
            state["states"].append(ci.stateText)
            state["last_status"] = ci.lastStatusCode
            state["remote_uri"] = ci.remoteUri

        def onCallMediaState(self, prm: Any) -> None:
            ci = self.getInfo()
            for i, mi in enumerate(ci.media):
                if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                    aud = self.getAudioMedia(i)
                    ports["player"].startTransmit(aud)
                    aud.startTransmit(ports["recorder"])
                    state["media"] = True

    class Account(pj.Account):  # type: ignore[misc]
        def onRegState(self, prm: Any) -> None:
            state["reg_code"] = prm.code

        def onIncomingCall(self, prm: Any) -> None:
            call = Call(self, prm.callId)
            state["calls"].append(call)
            op = pj.CallOpParam()
            op.statusCode = 180
            call.answer(op)
            op = pj.CallOpParam()
            op.statusCode = 200
            call.answer(op)

    acfg = pj.AccountConfig()
    acfg.idUri = f"sip:{args.user}@{args.domain}"
    acfg.regConfig.registrarUri = f"sip:{args.domain}"
    acfg.regConfig.timeoutSec = 300
    acfg.sipConfig.proxies.append(f"sip:{args.server};lr")
    acfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", args.user, 0, args.password))
    acfg.natConfig.contactRewriteUse = 0
    acfg.natConfig.viaRewriteUse = 0
    acfg.natConfig.sdpNatRewriteUse = 0
    acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    acfg.mediaConfig.transportConfig.publicAddress = "127.0.0.1"
    account = Account()
    account.create(acfg)

    def poll_until(cond: Any, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if cond():
                return True
            ep.libHandleEvents(20)
        return bool(cond())

    def disconnected() -> bool:
        return "DISCONNECTED" in state["states"]

    result: dict[str, Any] = {"name": args.name}
    call: Any = None
    try:
        if not poll_until(lambda: state["reg_code"] is not None, args.timeout):
            result["error"] = "no answer to REGISTER"
            return 2
        emit("registered", code=state["reg_code"])
        if state["reg_code"] != 200:
            result["error"] = f"REGISTER answered {state['reg_code']}"
            return 2
        if args.wait_go:
            ready = threading.Event()

            def read_go() -> None:
                sys.stdin.readline()
                ready.set()

            threading.Thread(target=read_go, daemon=True).start()
            if not poll_until(ready.is_set, args.timeout):
                result["error"] = "no go on stdin"
                return 2
        if args.dial:
            call = Call(account)
            state["calls"].append(call)
            call.makeCall(f"sip:{args.dial}@{args.domain}", pj.CallOpParam(True))
            confirmed = poll_until(lambda: "CONFIRMED" in state["states"] or disconnected(), args.timeout)
            if confirmed and not disconnected():
                poll_until(disconnected, args.talk)  # talk (stop early if the other side hangs up)
                if not disconnected():
                    result["hangup_by"] = "me"
                    call.hangup(pj.CallOpParam(True))
        else:
            poll_until(lambda: bool(state["calls"]), args.timeout)
        poll_until(disconnected, args.timeout)
        poll_until(lambda: False, 0.3)  # let the last responses (200 to BYE) go out
        return 0
    finally:
        result.update(
            states=state["states"],
            last_status=state.get("last_status"),
            remote_uri=state.get("remote_uri"),
            media=state["media"],
            record=args.record,
        )
        call = None  # every Call object must be gone before libDestroy (its destructor asserts otherwise)
        state["calls"].clear()
        ports.clear()
        emit("result", **result)
        ep.libDestroy()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--name", default="phone")
    p.add_argument("--server", required=True, help="HOST:PORT of the SIP server (registrar and outbound proxy)")
    p.add_argument("--domain", required=True, help="the tenant's SIP domain")
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--play", required=True, help="WAV file sent into the call (looped)")
    p.add_argument("--record", required=True, help="WAV file the received audio is written to")
    p.add_argument("--dial", help="number to call; without it, answer the first incoming call")
    p.add_argument("--wait-go", action="store_true", help="after registering, wait for a line on stdin")
    p.add_argument("--talk", type=float, default=3.0, help="seconds to stay in the call before hanging up")
    p.add_argument("--timeout", type=float, default=20.0, help="bound on each wait (register, answer, hangup)")
    p.add_argument("--sip-log", help="file for PJSIP's log with the SIP messages")
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
