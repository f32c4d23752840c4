"""Media relay capacity: concurrent relayed G.711 calls one relay process sustains with < 0.1 % packet loss.

Targets, measured the same way in the same run, a fresh process for every step:
- ``centrex``: ``centrex.media.rtp.RtpRelay`` in its own process (uvloop), driven over stdin/stdout JSON lines.
- ``rtpengine`` (reference): Debian ``rtpengine-daemon`` 10.5, userspace forwarding only (``--table=-1``), one
  worker thread (``--num-threads=1``), sessions made over its ng control protocol (bencode over UDP: ``offer`` with
  phone A's SDP, then ``answer`` with phone B's). Skipped with a note when it is not installed.

Load: ``--generators`` separate processes (default one), each playing phone A and phone B for its share of the
calls from two UDP sockets on 127.0.0.1; every call sends 172-byte RTP packets (12-byte header + 160 bytes of
G.711) at 50 packets/s in each direction, paced in 2 ms slices. The generator is a small C program (sendmmsg /
recvmmsg) built with ``cc`` into a temporary directory, because a Python generator costs more CPU than the relay it
loads; ``--generator python`` (or no compiler) uses the Python one. A step runs ``--duration`` seconds, then
drains 0.5 s; loss is 1 − received / sent over both directions of all calls, so a packet the relay forwards more
than 0.5 s late counts as lost (as it would for a phone's jitter buffer); misrouted and reordered packets are
counted too. The relay process's CPU (all threads, /proc utime + stime) is divided by the step's wall time.
Call counts step up (``--steps``), interleaved between the targets so that load drift on a shared machine hits
both, until a target's loss reaches the limit; its result is the largest count under it. A step where the
generator sent more than 5 % of its slices over 20 ms late is flagged ``generator_limited`` (the machine, not
only the relay, was short of CPU); such a step that fails is measured once more (``--retries``) before it counts.

Writes bench/results/rtp_relay.json. Not a test; nothing here fails CI.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchkit import log, machine_info, write_result

HOST = "127.0.0.1"
PPS = 50
TICK = 1.0 / PPS
SLICES = 10
PAYLOAD = 160
LOSS_LIMIT = 0.001
DRAIN = 0.5
CLK_TCK = os.sysconf("SC_CLK_TCK")
HEADER = struct.Struct("!BBHII")


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime (fields 14 and 15)


# --- role: relay (our relay in its own process) -------------------------------------------------------------------


def relay_role(low: int, high: int) -> None:
    import asyncio

    from centrex.media.rtp import RtpRelay

    raise_fd_limit()

    async def main() -> None:
        relay = RtpRelay(HOST, low, high, inactivity_timeout=3600)
        loop = asyncio.get_running_loop()
        count = 0
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            cmd = line.split()
            answer: Any = "ok"
            if cmd[0] == "create":  # create N phone_a_port phone_b_port -> [[leg_a_port, leg_b_port], ...]
                ports = []
                for _ in range(int(cmd[1])):
                    count += 1
                    session = await relay.create_session(f"bench-{count}")
                    session.set_remote("a", HOST, int(cmd[2]))
                    session.set_remote("b", HOST, int(cmd[3]))
                    ports.append([session.leg_a.local_port, session.leg_b.local_port])
                answer = ports
            elif cmd[0] == "stats":
                totals = dict.fromkeys(("in", "out", "malformed", "rejected", "unroutable", "lost"), 0)
                for session in relay.sessions.values():
                    for leg in (session.leg_a.stats(), session.leg_b.stats()):
                        totals["in"] += leg.rtp_packets_in
                        totals["out"] += leg.rtp_packets_out
                        totals["malformed"] += leg.malformed
                        totals["rejected"] += leg.rejected
                        totals["unroutable"] += leg.unroutable
                        totals["lost"] += leg.lost
                answer = totals
            elif cmd[0] == "clear":
                for session in list(relay.sessions.values()):
                    await session.close()
            elif cmd[0] == "quit":
                break
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
        await relay.close()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


# --- role: generator (phones A and B for a share of the calls) ----------------------------------------------------


def generator_role() -> None:
    socks = []
    for _ in range(2):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE: needs root
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        sock.bind((HOST, 0))
        sock.setblocking(False)
        socks.append(sock)
    sock_a, sock_b = socks
    print(json.dumps([sock_a.getsockname()[1], sock_b.getsockname()[1]]), flush=True)
    first = sys.stdin.readline().split()
    n, duration = int(first[0]), float(first[1])
    # [leg A port (A sends there), leg B port (B sends there)] per call
    targets = [[int(p) for p in sys.stdin.readline().split()] for _ in range(n)]
    payload = bytes(range(PAYLOAD))
    bufs_a = [bytearray(HEADER.pack(0x80, 0, 0, 0, 2 * i) + payload) for i in range(n)]
    bufs_b = [bytearray(HEADER.pack(0x80, 0, 0, 0, 2 * i + 1) + payload) for i in range(n)]
    dest_a = [(HOST, t[0]) for t in targets]
    dest_b = [(HOST, t[1]) for t in targets]
    last_seq = [-1] * (2 * n)
    received = [0, 0]  # on A (from B), on B (from A)
    reordered = misrouted = other = 0
    chunk = -(-n // SLICES)
    ticks = int(duration * PPS)
    sent = 0
    max_lag = 0.0
    late = 0  # slices sent more than one packet interval behind schedule

    def drain(until: float) -> None:
        nonlocal reordered, misrouted, other
        while True:
            timeout = until - time.monotonic()
            ready, _, _ = select.select(socks, [], [], max(0.0, timeout))
            if not ready:
                if timeout <= 0:
                    return
                continue
            for side, sock in enumerate(socks):
                if sock not in ready:
                    continue
                for _ in range(256):
                    try:
                        data = sock.recv(2048)
                    except BlockingIOError:
                        break
                    if len(data) != 12 + PAYLOAD:
                        other += 1
                        continue
                    ssrc = int.from_bytes(data[8:12])
                    if ssrc >= 2 * n or (ssrc & 1) != (0 if side == 1 else 1):
                        misrouted += 1
                        continue
                    received[side] += 1
                    seq = (data[2] << 8) | data[3]
                    if seq <= last_seq[ssrc]:
                        reordered += 1
                    last_seq[ssrc] = seq

    cpu0 = os.times()
    start = time.monotonic() + 0.05
    for tick in range(ticks):
        seq = tick & 0xFFFF
        for piece in range(SLICES):
            due = start + tick * TICK + piece * TICK / SLICES
            now = time.monotonic()
            if now < due:
                drain(due)
            else:
                max_lag = max(max_lag, now - due)
                late += now - due > TICK
            for i in range(piece * chunk, min(n, (piece + 1) * chunk)):
                buf = bufs_a[i]
                struct.pack_into("!HI", buf, 2, seq, tick * 160)
                sock_a.sendto(buf, dest_a[i])
                buf = bufs_b[i]
                struct.pack_into("!HI", buf, 2, seq, tick * 160)
                sock_b.sendto(buf, dest_b[i])
                sent += 2
    drain(time.monotonic() + DRAIN)
    cpu1 = os.times()
    print(
        json.dumps(
            {
                "sent": sent,
                "received": sum(received),
                "reordered": reordered,
                "misrouted": misrouted,
                "other": other,
                "max_lag_s": round(max_lag, 4),
                "late_fraction": round(late / max(1, ticks * SLICES), 4),
                "cpu_s": round(cpu1.user + cpu1.system - cpu0.user - cpu0.system, 3),
            }
        ),
        flush=True,
    )


# The same generator in C (recvmmsg/sendmmsg): a Python generator needs more CPU than the relay it loads, and this
# machine may have only two cores. Built with ``cc -O2`` into a temporary directory at the start of a run.
GENERATOR_C = r"""/* RTP load generator for bench/rtp_relay.py: phones A and B of n calls, 50 pps each way. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PKT 172
#define BATCH 64
#define SLICES 10
#define TICK 0.02

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int s[2], n;
static long sent, recvd, reord, misr, other, late;
static int *last;
static struct mmsghdr rmsg[BATCH];
static struct iovec riov[BATCH];
static uint8_t rbuf[BATCH][2048];

static void drain(double until) {
    struct pollfd fds[2] = {{s[0], POLLIN, 0}, {s[1], POLLIN, 0}};
    for (;;) {
        double t = until - now();
        if (t < 0) t = 0;
        struct timespec ts = {(time_t)t, (long)((t - (time_t)t) * 1e9)};
        int rc = ppoll(fds, 2, &ts, NULL);
        if (rc <= 0) {
            if (now() >= until) return;
            continue;
        }
        for (int k = 0; k < 2; k++) {
            if (!(fds[k].revents & POLLIN)) continue;
            for (int rounds = 0; rounds < 8; rounds++) {
                int got = recvmmsg(s[k], rmsg, BATCH, MSG_DONTWAIT, NULL);
                if (got <= 0) break;
                for (int j = 0; j < got; j++) {
                    uint8_t *p = rbuf[j];
                    if (rmsg[j].msg_len != PKT) { other++; continue; }
                    uint32_t ssrc = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
                    /* socket 0 is phone A: it must receive B's packets (odd SSRC) */
                    if (ssrc >= (uint32_t)(2 * n) || (int)(ssrc & 1) != (k == 0)) { misr++; continue; }
                    recvd++;
                    int seq = p[2] << 8 | p[3];
                    if (seq <= last[ssrc]) reord++;
                    last[ssrc] = seq;
                }
                if (got < BATCH) break;
            }
        }
        if (now() >= until) return;
    }
}

int main(void) {
    int port[2];
    for (int k = 0; k < 2; k++) {
        s[k] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        int big = 8 << 20, snd = 4 << 20;
        if (setsockopt(s[k], SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) != 0)
            setsockopt(s[k], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
        setsockopt(s[k], SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
        struct sockaddr_in a = {0};
        socklen_t l = sizeof a;
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(0x7f000001);
        if (bind(s[k], (struct sockaddr *)&a, sizeof a) != 0) { perror("bind"); return 2; }
        getsockname(s[k], (struct sockaddr *)&a, &l);
        port[k] = ntohs(a.sin_port);
    }
    printf("[%d, %d]\n", port[0], port[1]);
    fflush(stdout);
    double duration;
    if (scanf("%d %lf", &n, &duration) != 2 || n < 0) return 2;
    uint8_t *bufs = calloc((size_t)(2 * n + 1), PKT);
    struct sockaddr_in *dst = calloc((size_t)(2 * n + 1), sizeof *dst);
    last = malloc(sizeof(int) * (size_t)(2 * n + 1));
    for (int i = 0; i < n; i++) {
        int pa, pb;
        if (scanf("%d %d", &pa, &pb) != 2) return 2;
        for (int side = 0; side < 2; side++) {
            int idx = 2 * i + side;
            uint8_t *p = bufs + (size_t)idx * PKT;
            p[0] = 0x80;
            p[8] = idx >> 24; p[9] = idx >> 16; p[10] = idx >> 8; p[11] = idx;
            for (int b = 12; b < PKT; b++) p[b] = (uint8_t)(b + i);
            dst[idx].sin_family = AF_INET;
            dst[idx].sin_addr.s_addr = htonl(0x7f000001);
            dst[idx].sin_port = htons(side == 0 ? pa : pb);
            last[idx] = -1;
        }
    }
    static struct mmsghdr smsg[2][BATCH];
    static struct iovec siov[2][BATCH];
    for (int j = 0; j < BATCH; j++) {
        riov[j].iov_base = rbuf[j];
        riov[j].iov_len = sizeof rbuf[j];
        rmsg[j].msg_hdr.msg_iov = &riov[j];
        rmsg[j].msg_hdr.msg_iovlen = 1;
    }
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    int ticks = (int)(duration / TICK), chunk = (n + SLICES - 1) / SLICES;
    double start = now() + 0.05, max_lag = 0;
    for (int tick = 0; tick < ticks; tick++) {
        int seq = tick & 0xffff;
        uint32_t ts = (uint32_t)tick * 160;
        for (int piece = 0; piece < SLICES; piece++) {
            double due = start + tick * TICK + piece * TICK / SLICES, t = now();
            if (t < due) drain(due);
            else {
                if (t - due > max_lag) max_lag = t - due;
                if (t - due > TICK) late++;
            }
            int lo = piece * chunk, hi = lo + chunk < n ? lo + chunk : n, cnt = 0;
            for (int i = lo; i < hi; i++) {
                for (int side = 0; side < 2; side++) {
                    int idx = 2 * i + side;
                    uint8_t *p = bufs + (size_t)idx * PKT;
                    p[2] = seq >> 8; p[3] = seq;
                    p[4] = ts >> 24; p[5] = ts >> 16; p[6] = ts >> 8; p[7] = ts;
                    siov[side][cnt].iov_base = p;
                    siov[side][cnt].iov_len = PKT;
                    memset(&smsg[side][cnt].msg_hdr, 0, sizeof smsg[side][cnt].msg_hdr);
                    smsg[side][cnt].msg_hdr.msg_iov = &siov[side][cnt];
                    smsg[side][cnt].msg_hdr.msg_iovlen = 1;
                    smsg[side][cnt].msg_hdr.msg_name = &dst[idx];
                    smsg[side][cnt].msg_hdr.msg_namelen = sizeof dst[idx];
                }
                cnt++;
                if (cnt == BATCH || i == hi - 1) {
                    for (int side = 0; side < 2; side++) {
                        int off = 0;
                        for (int tries = 0; off < cnt && tries < 100; tries++) {
                            int rc = sendmmsg(s[side], smsg[side] + off, (unsigned)(cnt - off), 0);
                            if (rc > 0) off += rc;
                        }
                        sent += off;
                    }
                    cnt = 0;
                }
            }
        }
    }
    drain(now() + 0.5);
    getrusage(RUSAGE_SELF, &r1);
    double cpu = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) + (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) * 1e-6 +
                 (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) + (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) * 1e-6;
    printf("{\"sent\": %ld, \"received\": %ld, \"reordered\": %ld, \"misrouted\": %ld, \"other\": %ld, "
           "\"max_lag_s\": %.4f, \"late_fraction\": %.4f, \"cpu_s\": %.3f}\n",
           sent, recvd, reord, misr, other, max_lag, ticks ? (double)late / (ticks * SLICES) : 0.0, cpu);
    return 0;
}
"""


def build_generator(workdir: Path) -> list[str] | None:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    source, binary = workdir / "gen.c", workdir / "gen"
    source.write_text(GENERATOR_C)
    built = subprocess.run([compiler, "-O2", "-o", str(binary), str(source)], capture_output=True, timeout=120)
    if built.returncode != 0:
        log(f"cc failed, using the Python generator: {built.stderr.decode()[-500:]}")
        return None
    return [str(binary)]


# --- targets -------------------------------------------------------------------------------------------------------


class Target(Protocol):
    name: str
    pid: int

    def create(self, count: int, phone_a: int, phone_b: int) -> list[list[int]]: ...
    def stop(self) -> None: ...


class CentrexTarget:
    name = "centrex"

    def __init__(self, low: int, high: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--role", "relay", "--port-min", str(low), "--port-max", str(high)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.pid = self.proc.pid

    def _call(self, line: str) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError(f"relay process ended (exit {self.proc.poll()})")
        return json.loads(answer)

    def create(self, count: int, phone_a: int, phone_b: int) -> list[list[int]]:
        ports: list[list[int]] = self._call(f"create {count} {phone_a} {phone_b}")
        return ports

    def stats(self) -> dict[str, int]:
        stats: dict[str, int] = self._call("stats")
        return stats

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError, BrokenPipeError, ValueError):
            self._call("quit")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def bencode(value: Any) -> bytes:
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        return b"d" + b"".join(bencode(k) + bencode(value[k]) for k in sorted(value)) + b"e"
    raise TypeError(type(value))


def bdecode(data: bytes, i: int = 0) -> tuple[Any, int]:
    c = data[i : i + 1]
    if c == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1 : end]), end + 1
    if c in (b"l", b"d"):
        items: list[Any] = []
        i += 1
        while data[i : i + 1] != b"e":
            item, i = bdecode(data, i)
            items.append(item)
        if c == b"l":
            return items, i + 1
        return {items[k].decode(): items[k + 1] for k in range(0, len(items), 2)}, i + 1
    colon = data.index(b":", i)
    length = int(data[i:colon])
    return data[colon + 1 : colon + 1 + length], colon + 1 + length


def sdp(port: int) -> str:
    return (
        f"v=0\r\no=- 1 1 IN IP4 {HOST}\r\ns=-\r\nc=IN IP4 {HOST}\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
    )


def sdp_port(text: bytes) -> int:
    for line in text.decode().splitlines():
        if line.startswith("m=audio "):
            return int(line.split()[1])
    raise RuntimeError(f"no m=audio line in {text!r}")


class RtpengineTarget:
    """The reference: rtpengine in the foreground; ``stop`` terminates it and waits for it."""

    name = "rtpengine"

    def __init__(self, low: int, high: int, binary: str) -> None:
        self.ng_port = free_udp_port()
        self.proc = subprocess.Popen(
            [
                binary,
                "--config-file=none",
                "--foreground",
                "--log-stderr",
                "--log-level=3",
                "--table=-1",
                f"--interface={HOST}",
                f"--listen-ng={HOST}:{self.ng_port}",
                f"--port-min={low}",
                f"--port-max={high}",
                "--num-threads=1",
                "--timeout=3600",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.pid = self.proc.pid
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(1.0)
        self.calls: list[str] = []
        for _ in range(10):
            if self.proc.poll() is not None:
                break
            try:
                if self.ng({"command": "ping"}).get("result") == b"pong":
                    return
            except (RuntimeError, OSError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("rtpengine did not answer ping")

    def ng(self, command: dict[str, Any]) -> dict[str, Any]:
        """One ng command; resent with the same cookie (rtpengine answers a repeated cookie from its cache)."""
        cookie = f"{random.getrandbits(48):x}"
        for _ in range(5):
            self.sock.sendto(cookie.encode() + b" " + bencode(command), (HOST, self.ng_port))
            try:
                for _ in range(10):
                    data = self.sock.recv(65536)
                    head, _, body = data.partition(b" ")
                    if head.decode() == cookie:
                        answer, _ = bdecode(body)
                        assert isinstance(answer, dict)
                        return answer
            except TimeoutError:
                continue
        raise RuntimeError(f"rtpengine did not answer {command.get('command')}")

    def create(self, count: int, phone_a: int, phone_b: int) -> list[list[int]]:
        ports = []
        for _ in range(count):
            call_id = f"bench-{len(self.calls)}-{random.getrandbits(32):x}"
            offer = self.ng({"command": "offer", "call-id": call_id, "from-tag": "fa", "sdp": sdp(phone_a)})
            if offer.get("result") != b"ok":
                raise RuntimeError(f"rtpengine offer failed: {offer}")
            answer = self.ng(
                {"command": "answer", "call-id": call_id, "from-tag": "fa", "to-tag": "tb", "sdp": sdp(phone_b)}
            )
            if answer.get("result") != b"ok":
                raise RuntimeError(f"rtpengine answer failed: {answer}")
            self.calls.append(call_id)
            ports.append([sdp_port(answer["sdp"]), sdp_port(offer["sdp"])])  # A sends to the port of A's answer
        return ports

    def stop(self) -> None:
        self.sock.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


# --- one step: N calls through a target ---------------------------------------------------------------------------


def run_step(target: Target, calls: int, generators: int, duration: float, generator: list[str]) -> dict[str, Any]:
    gens = [
        subprocess.Popen(generator, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(generators)
    ]
    try:
        jobs = []
        for k, gen in enumerate(gens):
            assert gen.stdout is not None
            phone_a, phone_b = json.loads(gen.stdout.readline())
            share = calls // generators + (1 if k < calls % generators else 0)
            jobs.append(target.create(share, phone_a, phone_b))
        for gen, targets in zip(gens, jobs, strict=True):
            assert gen.stdin is not None
            gen.stdin.write(f"{len(targets)} {duration}\n" + "".join(f"{a} {b}\n" for a, b in targets))
            gen.stdin.flush()
        wall0, cpu0 = time.monotonic(), cpu_seconds(target.pid)
        time.sleep(duration)
        wall1, cpu1 = time.monotonic(), cpu_seconds(target.pid)
        results = []
        for gen in gens:
            out, _ = gen.communicate(timeout=duration + 30)
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for gen in gens:
            if gen.poll() is None:
                gen.kill()
                gen.wait(timeout=10)
    sent = sum(r["sent"] for r in results)
    received = sum(r["received"] for r in results)
    loss = 1 - received / sent if sent else 1.0
    max_lag = max(r["max_lag_s"] for r in results)
    late = max(r["late_fraction"] for r in results)
    return {
        "calls": calls,
        "packets_per_second_through_relay": calls * 2 * PPS,
        "sent": sent,
        "received": received,
        "loss": round(loss, 6),
        "reordered": sum(r["reordered"] for r in results),
        "misrouted": sum(r["misrouted"] for r in results),
        "relay_cpu_percent": round(100 * (cpu1 - cpu0) / (wall1 - wall0), 1),
        "relay_cpu_us_per_packet": round(1e6 * (cpu1 - cpu0) / (wall1 - wall0) / (calls * 2 * PPS), 2),
        "generator_cpu_s": round(sum(r["cpu_s"] for r in results), 2),
        "generator_max_lag_s": max_lag,
        "generator_late_fraction": late,
        "generator_limited": late > 0.05,
    }


def measure_step(target: Target, calls: int, generators: int, duration: float, generator: list[str]) -> dict[str, Any]:
    """One step on a fresh relay process, stopped afterwards whatever happens."""
    try:
        step = run_step(target, calls, generators, duration, generator)
        if isinstance(target, CentrexTarget):
            step["relay_counters"] = target.stats()  # what the relay itself counted, read after the drain
    finally:
        target.stop()
    log(
        f"{target.name}: {calls} calls  loss {100 * step['loss']:.3f} %  relay CPU {step['relay_cpu_percent']} %"
        f" ({step['relay_cpu_us_per_packet']} µs/packet)  reordered {step['reordered']}"
        f"  misrouted {step['misrouted']}" + ("  (generator-limited)" if step["generator_limited"] else "")
    )
    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", choices=("main", "relay", "generator"), default="main")
    parser.add_argument("--port-min", type=int, default=20000)
    parser.add_argument("--port-max", type=int, default=39999)
    parser.add_argument("--steps", default="50,100,200,400,600,800,900,1000,1100,1200,1300,1400,1600,2000")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds of traffic per step")
    parser.add_argument("--generators", type=int, default=1)
    parser.add_argument("--retries", type=int, default=1, help="re-measure a failed, generator-limited step")
    parser.add_argument("--targets", default="centrex,rtpengine")
    parser.add_argument("--generator", choices=("c", "python"), default="c", help="c falls back to python without cc")
    args = parser.parse_args()
    if args.role == "relay":
        relay_role(args.port_min, args.port_max)
        return
    if args.role == "generator":
        generator_role()
        return
    raise_fd_limit()
    steps = [int(s) for s in args.steps.split(",")]
    with tempfile.TemporaryDirectory(prefix="rtp-bench-") as workdir:
        generator = None if args.generator == "python" else build_generator(Path(workdir))
        if generator is None:
            generator = [sys.executable, __file__, "--role", "generator"]
        run(args, steps, generator)


def start_target(name: str, args: argparse.Namespace, result: dict[str, Any]) -> Target:
    if name == "centrex":
        return CentrexTarget(args.port_min, args.port_max)
    if name == "rtpengine":
        binary = shutil.which("rtpengine") or "rtpengine"
        version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
        result["method"]["rtpengine_version"] = (version.stdout + version.stderr).strip()
        return RtpengineTarget(40000, 59999, binary)
    raise SystemExit(f"unknown target {name}")


def run(args: argparse.Namespace, steps: list[int], generator: list[str]) -> None:
    result: dict[str, Any] = {
        "method": {
            "codec": "G.711, 20 ms: 172-byte RTP packets, 50 packets/s each way per call",
            "loss_limit": LOSS_LIMIT,
            "step_duration_s": args.duration,
            "generators": args.generators,
            "generator": "C (sendmmsg/recvmmsg)" if generator[0] != sys.executable else "Python",
            "steps": steps,
            "retries_when_generator_limited": args.retries,
        },
        "machine": machine_info(),
        "targets": {},
    }
    names = []
    for name in args.targets.split(","):
        if name == "rtpengine" and shutil.which("rtpengine") is None:
            result["targets"][name] = {"skipped": "rtpengine not installed (apt-get install rtpengine-daemon)"}
        else:
            names.append(name)
            result["targets"][name] = {"max_calls_under_loss_limit": 0, "steps": []}
    running = list(names)
    for calls in steps:  # interleaved: each call count on every target before the next, so load drift hits both
        for name in list(running):
            entry = result["targets"][name]
            try:
                for attempt in range(1 + args.retries):
                    step = measure_step(
                        start_target(name, args, result), calls, args.generators, args.duration, generator
                    )
                    step["attempt"] = attempt + 1
                    entry["steps"].append(step)
                    failed = step["loss"] >= LOSS_LIMIT or step["misrouted"]
                    if not failed or not step["generator_limited"] or attempt == args.retries:
                        break
                    log(f"{name}: {calls} calls: the generator was starved of CPU too; measuring again")
            except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as exc:
                log(f"{name}: {calls} calls: measurement failed: {exc!r}")
                entry["error"] = f"at {calls} calls: {exc!r}"
                running.remove(name)
                continue
            if failed:
                running.remove(name)
            else:
                entry["max_calls_under_loss_limit"] = calls
        if not running:
            break
    path = write_result("rtp_relay", result)
    for name, data in result["targets"].items():
        if isinstance(data, dict) and "max_calls_under_loss_limit" in data:
            print(f"{name}: {data['max_calls_under_loss_limit']} concurrent calls with < 0.1 % loss")
    print(f"written {path}")


if __name__ == "__main__":
    main()
