"""Event stream fan-out: WebSocket subscribers across tenants, delivery latency and memory per subscriber.

Question (project issue 7, performance): 1,000 WebSocket subscribers across 100 tenants (10 each) receive their own
tenant's events; report the delivery latency p99 and the server memory per subscriber. Measured, not asserted:

1. ``centrex serve`` (SQLite, defaults: in-process bus, 1,000 events queued per subscriber before it is dropped,
   outbox relay woken on commit) on a free port; ``--tenants`` tenants are created through the API (platform admin,
   Basic) with one tenant-admin API key each.
2. Warm-up: one subscriber connects, sees one event of its tenant and leaves (imports, first-use caches). A control
   step: the highest rate for ``--control-duration`` s with nobody subscribed (the API side without fan-out). Then
   VmRSS of the server (/proc/<pid>/status) before and after ``--per-tenant`` subscribers per tenant connect
   (``/api/v1/events/ws`` with ``X-API-Key``, subscribe message ``{"action": "subscribe"}``: every event of the
   key's tenant), all from this process, one asyncio loop (uvloop), 50 handshakes at a time; RSS delta / count.
3. Load: for each rate of ``--rates`` (creations/s) for ``--duration`` s, ``POST /api/v1/tenants/{t}/extensions``
   round-robin over the tenants at a steady schedule (each one an ``extension.created`` and a
   ``voicemail_box.created`` event of that tenant, 10 subscribers each), 32 keep-alive connections at most. Each
   delivery is timestamped on receipt (wall clock, same machine as the server): latency from the event's
   ``occurred_at`` (written in the server's transaction) and from the completion of the API call that caused it
   (negative when the event arrived before the HTTP answer).
4. Isolation: afterwards every tenant's ``extension.created`` events are listed through the API; each subscriber
   must have received exactly those ids (no missing, no duplicate) and nothing of another tenant. Subscribers
   closed by the server (4429 slow consumer, 1012 shutdown) and the server log's "event subscriber dropped" lines
   are counted.
5. Reference (``--no-reference`` to skip): a bare ``websockets`` server (asyncio, uvloop, a subprocess) with the same
   subscribers connected the same way; on a control message it produces as many events per second as Centrex
   delivered per creation times each rate, each a JSON message padded to the mean size of Centrex's, sent to its
   tenant's 10 connections. Same RSS-per-connection and latency (from the event's own timestamp) measurement; no
   database, no authentication.

Writes bench/results/event_stream.json. Not a test; nothing here fails CI.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import websockets

from benchkit import (
    ADMIN_PASSWORD,
    BENCH_DIR,
    Server,
    centrex_server,
    free_port,
    log,
    machine_info,
    percentile,
    server_env,
    write_result,
)
from sip_register import cpu_seconds, rss_kb

CONNECT_CONCURRENCY = 50
API_CONNECTIONS = 32
DRAIN_TIMEOUT = 30.0
MARKER = '"type":"extension.created"'  # orjson's compact form, as the server sends it

# The reference: a bare websockets server. Subscribers connect to /?tenant=N; a connection to /control sends
# {"rate": R, "count": N, "size": S} and gets {"done": true} once every event of that step is sent.
REFERENCE_SERVER = r"""
import asyncio, json, sys, time
from collections import defaultdict
from collections.abc import Iterator
import uvloop, websockets
from websockets.asyncio.server import serve

subs = defaultdict(list)
seq = 0

async def produce(rate, count, size, tenants):
    global seq
    t0 = time.monotonic()
    for i in range(count):
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        seq += 1
        tenant = tenants[i % len(tenants)]
        body = {"op": "event", "event": {"id": f"ref_{seq}", "seq": seq, "tenant_id": tenant, "ts": time.time()}}
        raw = json.dumps(body)
        raw = raw[:-2] + ', "pad": "' + "x" * max(0, size - len(raw) - 11) + '"}}'
        for conn in list(subs[tenant]):
            try:
                await conn.send(raw)
            except websockets.ConnectionClosed:
                pass

async def handler(conn):
    path = conn.request.path
    if path.startswith("/control"):
        async for msg in conn:
            req = json.loads(msg)
            await produce(req["rate"], req["count"], req["size"], sorted(subs))
            await conn.send(json.dumps({"done": True}))
        return
    tenant = path.split("tenant=", 1)[1]
    subs[tenant].append(conn)
    await conn.send(json.dumps({"op": "subscribed"}))
    try:
        await conn.wait_closed()
    finally:
        subs[tenant].remove(conn)

async def main():
    async with serve(handler, "127.0.0.1", int(sys.argv[1]), ping_interval=None, max_queue=None):
        print("ready", flush=True)
        await asyncio.Future()

uvloop.run(main())
"""


@dataclass
class Tenant:
    id: str
    key: str
    number: int = 1000
    created: dict[str, tuple[float, float]] = field(default_factory=dict)  # extension id -> (sent, answered)
    rate_of: dict[str, float] = field(default_factory=dict)  # extension id -> the step's rate (0: warm-up)


@dataclass
class Subscriber:
    tenant: str
    received: list[tuple[float, str]] = field(default_factory=list)  # (wall clock at receipt, raw message)
    closed_code: int | None = None
    closed_reason: str = ""
    connect_ms: float = 0.0
    marker: str = ""  # messages containing this are counted in ``counted`` (what ``drain`` waits for)
    counted: int = 0


def ms_stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "count": len(values),
        "p50": round(percentile(values, 50), 2),
        "p90": round(percentile(values, 90), 2),
        "p99": round(percentile(values, 99), 2),
        "max": round(max(values), 2),
        "mean": round(sum(values) / len(values), 2),
    }


def raise_fd_limit(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        soft = min(needed, hard) if hard != resource.RLIM_INFINITY else needed
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


# ---------------------------------------------------------------------------------------------- subscribers
async def listen(
    url: str, headers: dict[str, str], subscribe: str | None, sub: Subscriber, ready: asyncio.Event
) -> None:
    """One subscriber: connect, subscribe, then timestamp every message until closed (by us or the server)."""
    t0 = time.perf_counter()
    try:
        async with websockets.connect(
            url, additional_headers=headers, open_timeout=60, ping_interval=None, max_queue=None
        ) as conn:
            if subscribe is not None:
                await conn.send(subscribe)
            ack = json.loads(await asyncio.wait_for(conn.recv(), 60))
            if ack.get("op") != "subscribed":
                raise RuntimeError(f"unexpected first message {ack}")
            sub.connect_ms = (time.perf_counter() - t0) * 1000
            ready.set()
            received, marker = sub.received, sub.marker
            async for raw in conn:
                text = raw if isinstance(raw, str) else raw.decode()
                received.append((time.time(), text))
                if marker in text:
                    sub.counted += 1
    except websockets.ConnectionClosed as exc:
        if exc.rcvd is not None:
            sub.closed_code, sub.closed_reason = exc.rcvd.code, exc.rcvd.reason
    finally:
        ready.set()


async def connect_all(
    url_of: Any, tenants: list[str], per_tenant: int, headers_of: Any, subscribe: str | None, marker: str
) -> tuple[list[Subscriber], list[asyncio.Task[None]], float]:
    """``per_tenant`` subscribers for each tenant, ``CONNECT_CONCURRENCY`` handshakes at a time."""
    subs = [Subscriber(t, marker=marker) for _ in range(per_tenant) for t in tenants]
    tasks: list[asyncio.Task[None]] = []
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    t0 = time.perf_counter()

    async def one(sub: Subscriber) -> None:
        async with gate:
            ready = asyncio.Event()
            tasks.append(asyncio.create_task(listen(url_of(sub.tenant), headers_of(sub.tenant), subscribe, sub, ready)))
            await ready.wait()

    await asyncio.gather(*(one(s) for s in subs))
    failed = [s for s in subs if s.connect_ms == 0.0]
    if failed:
        raise RuntimeError(f"{len(failed)} subscribers could not connect; first: {failed[0].closed_reason}")
    return subs, tasks, time.perf_counter() - t0


async def close_all(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def drain(subs: list[Subscriber], expected: dict[str, int], count_of: Any) -> float:
    """Wait until every subscriber has what its tenant was sent (or DRAIN_TIMEOUT); seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < DRAIN_TIMEOUT:
        if all(count_of(s) >= expected.get(s.tenant, 0) or s.closed_code is not None for s in subs):
            break
        await asyncio.sleep(0.05)
    return time.monotonic() - t0


# ---------------------------------------------------------------------------------------------- Centrex
async def provision(client: httpx.AsyncClient, count: int) -> list[Tenant]:
    admin = httpx.BasicAuth("admin", ADMIN_PASSWORD)
    out = []
    for i in range(count):
        body = {"code": f"fan-{i:03d}", "name": f"Fan-out {i}", "kind": "tenant", "extension_length": 4}
        r = await client.post("/api/v1/tenants", json=body, auth=admin)
        r.raise_for_status()
        tenant_id = r.json()["id"]
        r = await client.post(f"/api/v1/tenants/{tenant_id}/api-keys", json={"name": "fan-out"}, auth=admin)
        r.raise_for_status()
        out.append(Tenant(tenant_id, r.json()["key"]))
    return out


async def create_extension(client: httpx.AsyncClient, tenant: Tenant, errors: list[str], rate: float = 0.0) -> None:
    number = tenant.number
    tenant.number += 1
    sent = time.time()
    try:
        r = await client.post(
            f"/api/v1/tenants/{tenant.id}/extensions",
            json={"number": str(number), "name": f"Fan {number}"},
            headers={"X-API-Key": tenant.key},
        )
    except httpx.HTTPError as exc:
        errors.append(repr(exc)[:200])
        return
    if r.status_code != 201:
        errors.append(f"{r.status_code} {r.text[:200]}")
        return
    ext = r.json()["id"]
    tenant.created[ext] = (sent, time.time())
    tenant.rate_of[ext] = rate


async def generate(
    client: httpx.AsyncClient, tenants: list[Tenant], rate: float, duration: float, label: float
) -> dict[str, Any]:
    """``rate`` creations/s for ``duration`` s, round-robin over the tenants, on a fixed schedule."""
    count = round(rate * duration)
    errors: list[str] = []
    pending: list[asyncio.Task[None]] = []
    t0 = time.monotonic()
    late = 0.0
    for i in range(count):
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            late = max(late, -delay)
        pending.append(asyncio.create_task(create_extension(client, tenants[i % len(tenants)], errors, label)))
    await asyncio.gather(*pending)
    elapsed = time.monotonic() - t0
    return {
        "offered_per_second": rate,
        "requests": count,
        "errors": len(errors),
        "error_samples": errors[:3],
        "elapsed_seconds": round(elapsed, 2),
        "achieved_per_second": round((count - len(errors)) / elapsed, 1),
        "schedule_max_late_ms": round(late * 1000, 1),
    }


async def measured_step(
    client: httpx.AsyncClient, tenants: list[Tenant], rate: float, duration: float, pid: int, label: float
) -> dict[str, Any]:
    """``generate`` with the server's and this process's CPU over the step (percent of one core)."""
    c0, p0, w0 = cpu_seconds(pid), time.process_time(), time.monotonic()
    step = await generate(client, tenants, rate, duration, label)
    wall = time.monotonic() - w0
    step["server_cpu_percent"] = round(100 * (cpu_seconds(pid) - c0) / wall, 1)
    step["client_cpu_percent"] = round(100 * (time.process_time() - p0) / wall, 1)
    step["load_average_after"] = round(os.getloadavg()[0], 2)
    return step


async def listed_events(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        r = await client.get(
            f"/api/v1/tenants/{tenant.id}/events",
            params={"type": "extension.created", "limit": 100, "offset": len(out)},
            headers={"X-API-Key": tenant.key},
        )
        r.raise_for_status()
        page = r.json()["items"]
        out += page
        if len(page) < 100:
            return out


def parse_ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


async def run_centrex(args: argparse.Namespace, server: Server) -> dict[str, Any]:
    assert server.proc is not None
    pid = server.proc.pid
    ws_base = server.base_url.replace("http://", "ws://") + "/api/v1/events/ws"
    subscribe = json.dumps({"action": "subscribe"})
    limits = httpx.Limits(max_connections=API_CONNECTIONS, max_keepalive_connections=API_CONNECTIONS)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60.0, limits=limits) as client:
        t0 = time.perf_counter()
        tenants = await provision(client, args.tenants)
        by_id = {t.id: t for t in tenants}
        log(f"{len(tenants)} tenants with keys in {time.perf_counter() - t0:.1f}s")

        def headers_of(tenant_id: str) -> dict[str, str]:
            return {"X-API-Key": by_id[tenant_id].key}

        # Warm-up: one subscriber, one event, gone.
        warm, warm_tasks, _ = await connect_all(lambda _t: ws_base, [tenants[0].id], 1, headers_of, subscribe, MARKER)
        await create_extension(client, tenants[0], [])
        await drain(warm, {tenants[0].id: 1}, lambda s: s.counted)
        await close_all(warm_tasks)
        # Control: the highest rate with nobody subscribed (what creating the extensions costs without fan-out).
        control = await measured_step(client, tenants, max(args.rates), args.control_duration, pid, -1.0)
        log(
            f"control, no subscribers: {control['achieved_per_second']}/s, server CPU {control['server_cpu_percent']} %"
        )
        await asyncio.sleep(1.0)

        before_ids = {ext for t in tenants for ext in t.created}  # their events came before the subscribers
        rss_before = rss_kb(pid)
        subs, tasks, connect_s = await connect_all(
            lambda _t: ws_base, [t.id for t in tenants], args.per_tenant, headers_of, subscribe, MARKER
        )
        await asyncio.sleep(2.0)
        rss_connected = rss_kb(pid)
        n = len(subs)
        log(f"{n} subscribers connected in {connect_s:.1f}s; server RSS {rss_before} -> {rss_connected} kB")

        steps = []
        for rate in args.rates:
            step = await measured_step(client, tenants, rate, args.duration, pid, rate)
            steps.append(step)
            log(
                f"rate {rate}/s: {step['achieved_per_second']}/s achieved, errors {step['errors']}, "
                f"server CPU {step['server_cpu_percent']} %"
            )
        expected = {t.id: sum(1 for ext in t.created if ext not in before_ids) for t in tenants}
        waited = await drain(subs, expected, lambda s: s.counted)
        rss_after = rss_kb(pid)
        closed = [s for s in subs if s.closed_code is not None]
        await close_all(tasks)

        step_of = {ext: r for t in tenants for ext, r in t.rate_of.items()}
        answered = {ext: a for t in tenants for ext, (_s, a) in t.created.items()}

        listed = {t.id: await listed_events(client, t) for t in tenants}

    lat_occ: dict[float, list[float]] = defaultdict(list)
    lat_api: dict[float, list[float]] = defaultdict(list)
    isolation = {"subscribers_exact": 0, "missing": 0, "duplicates": 0, "foreign": 0}
    other_types: dict[str, int] = defaultdict(int)
    sizes: list[int] = []
    first_recv, last_recv = float("inf"), 0.0
    event_messages = 0
    for sub in subs:
        want = {e["id"] for e in listed[sub.tenant] if e["resource_id"] not in before_ids}
        got: list[str] = []
        for t_recv, raw in sub.received:
            msg = json.loads(raw)
            if msg.get("op") != "event":
                continue
            event = msg["event"]
            event_messages += 1
            first_recv, last_recv = min(first_recv, t_recv), max(last_recv, t_recv)
            if event["tenant_id"] != sub.tenant:
                isolation["foreign"] += 1
                continue
            if event["type"] != "extension.created":
                other_types[event["type"]] += 1
                continue
            got.append(event["id"])
            sizes.append(len(raw))
            rate = step_of.get(event["resource_id"], 0.0)
            lat_occ[rate].append((t_recv - parse_ts(event["occurred_at"])) * 1000)
            if event["resource_id"] in answered:
                lat_api[rate].append((t_recv - answered[event["resource_id"]]) * 1000)
        isolation["duplicates"] += len(got) - len(set(got))
        isolation["missing"] += len(want - set(got))
        isolation["foreign"] += len(set(got) - want)
        isolation["subscribers_exact"] += sorted(got) == sorted(want)
    all_occ = [v for vs in lat_occ.values() for v in vs]
    all_api = [v for vs in lat_api.values() for v in vs]
    dropped_in_log = server.tail(100_000).count("event subscriber dropped")
    for step in steps:
        rate = step["offered_per_second"]
        step["latency_from_occurred_at_ms"] = ms_stats(lat_occ[rate])
        step["latency_from_api_answer_ms"] = ms_stats(lat_api[rate])
        step["extension_created_deliveries_per_second"] = round(len(lat_occ[rate]) / step["elapsed_seconds"], 1)
    connects = [s.connect_ms for s in subs]
    return {
        "subscribers": n,
        "connect_seconds": round(connect_s, 2),
        "connect_ms": ms_stats(connects),
        "control_without_subscribers": control,
        "rss_kb": {"before": rss_before, "connected": rss_connected, "after_events": rss_after},
        "bytes_per_subscriber": round((rss_connected - rss_before) * 1024 / n),
        "steps": steps,
        "deliveries": len(all_occ),
        "deliveries_expected": sum(expected[s.tenant] for s in subs),
        "event_messages_received": event_messages,
        "events_per_creation": round(event_messages / len(all_occ), 2) if all_occ else 0.0,
        "deliveries_per_second_all_types": round(event_messages / (last_recv - first_recv), 1) if all_occ else 0.0,
        "drain_seconds": round(waited, 2),
        "latency_from_occurred_at_ms": ms_stats(all_occ),
        "latency_from_api_answer_ms": ms_stats(all_api),
        "delivered_before_api_answer": sum(1 for v in all_api if v < 0),
        "mean_message_bytes": round(sum(sizes) / len(sizes)) if sizes else 0,
        "other_event_types_received": dict(other_types),
        "isolation": {**isolation, "subscribers": n, "passed": isolation["subscribers_exact"] == n},
        "dropped": {
            "closed_by_server": len(closed),
            "close_codes": sorted({(s.closed_code or 0) for s in closed}),
            "server_log_dropped_lines": dropped_in_log,
        },
    }


# ---------------------------------------------------------------------------------------------- reference
@contextlib.contextmanager
def reference_server() -> Iterator[tuple[subprocess.Popen[str], int]]:
    """The bare websockets server in a subprocess on a free port; terminated and waited for afterwards."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", REFERENCE_SERVER, str(port)],
        stdout=subprocess.PIPE,
        env=server_env(),
        start_new_session=True,
        text=True,
    )
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("reference server did not start")
        yield proc, port
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def run_reference(
    args: argparse.Namespace, proc: subprocess.Popen[str], port: int, size: int, per_creation: float
) -> dict[str, Any]:
    """The same subscribers on the bare server, ``per_creation`` events per Centrex creation at each rate."""
    base = f"ws://127.0.0.1:{port}"
    tenants = [f"t{i:03d}" for i in range(args.tenants)]
    _warm, warm_tasks, _ = await connect_all(lambda t: f"{base}/?tenant={t}", tenants[:1], 1, lambda _t: {}, None, "")
    await close_all(warm_tasks)
    await asyncio.sleep(1.0)
    rss_before = rss_kb(proc.pid)
    subs, tasks, connect_s = await connect_all(
        lambda t: f"{base}/?tenant={t}", tenants, args.per_tenant, lambda _t: {}, None, '"op": "event"'
    )
    await asyncio.sleep(2.0)
    rss_connected = rss_kb(proc.pid)
    log(f"reference: {len(subs)} connected in {connect_s:.1f}s; RSS {rss_before} -> {rss_connected} kB")
    steps = []
    lat: dict[float, list[float]] = {}
    async with websockets.connect(f"{base}/control", max_queue=None) as control:
        for creations in args.rates:
            rate = creations * per_creation
            count = round(rate * args.duration)
            seen = {id(s): len(s.received) for s in subs}
            already = seen.copy()
            c0, w0 = cpu_seconds(proc.pid), time.monotonic()
            await control.send(json.dumps({"rate": rate, "count": count, "size": size}))
            await asyncio.wait_for(control.recv(), args.duration * 4 + 60)
            elapsed = time.monotonic() - w0
            per_tenant: dict[str, int] = defaultdict(int)
            for i in range(count):
                per_tenant[tenants[i % len(tenants)]] += 1
            await drain(subs, dict(per_tenant), lambda s, base=already: s.counted - base[id(s)])
            cpu = round(100 * (cpu_seconds(proc.pid) - c0) / (time.monotonic() - w0), 1)
            values = []
            for s in subs:
                for t_recv, raw in s.received[seen[id(s)] :]:
                    values.append((t_recv - json.loads(raw)["event"]["ts"]) * 1000)
            lat[rate] = values
            steps.append(
                {
                    "offered_per_second": creations,
                    "events_per_second": rate,
                    "events": count,
                    "elapsed_seconds": round(elapsed, 2),
                    "server_cpu_percent": cpu,
                    "latency_ms": ms_stats(values),
                }
            )
            log(
                f"reference rate {creations}/s ({rate} events/s): "
                f"p99 {steps[-1]['latency_ms'].get('p99')} ms, server CPU {cpu} %"
            )
    await close_all(tasks)
    all_lat = [v for vs in lat.values() for v in vs]
    return {
        "server": "websockets.asyncio.server (uvloop), in-memory fan-out, no auth, no database",
        "subscribers": len(subs),
        "connect_seconds": round(connect_s, 2),
        "rss_kb": {"before": rss_before, "connected": rss_connected},
        "bytes_per_subscriber": round((rss_connected - rss_before) * 1024 / len(subs)),
        "steps": steps,
        "deliveries": len(all_lat),
        "latency_ms": ms_stats(all_lat),
    }


# ---------------------------------------------------------------------------------------------- main
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--per-tenant", type=int, default=10, help="Subscribers per tenant.")
    parser.add_argument(
        "--rates", type=lambda v: [float(x) for x in v.split(",")], default=[20.0, 50.0, 100.0], help="Creations/s."
    )
    parser.add_argument("--duration", type=float, default=15.0, help="Seconds per rate.")
    parser.add_argument(
        "--control-duration", type=float, default=10.0, help="Seconds at the highest rate with no subscriber."
    )
    parser.add_argument("--no-reference", action="store_true", help="Skip the bare websockets server.")
    args = parser.parse_args()

    fd_limit = raise_fd_limit(2 * args.tenants * args.per_tenant + 1024)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="centrex-bench-") as tmp:
        data_dir = Path(tmp)
        server = centrex_server(data_dir, None, data_dir / "centrex.log")
        try:
            server.start(ready_path="/readyz", timeout=120)
            log(f"centrex up on :{server.port} (SQLite)")
            centrex = run_loop(run_centrex(args, server))
        finally:
            server.stop()
    reference = None
    if not args.no_reference:
        with reference_server() as (proc, port):
            reference = run_loop(
                run_reference(args, proc, port, centrex["mean_message_bytes"], centrex["events_per_creation"])
            )
    result = {
        "machine": machine_info(),
        "parameters": {
            "tenants": args.tenants,
            "subscribers_per_tenant": args.per_tenant,
            "rates_per_second": args.rates,
            "seconds_per_rate": args.duration,
            "backend": "sqlite",
            "events": "POST /api/v1/tenants/{t}/extensions (one extension.created each), round-robin over tenants",
            "subscription": 'WebSocket /api/v1/events/ws, X-API-Key, {"action": "subscribe"} (all of its tenant)',
            "client": f"one process, one uvloop loop, websockets {metadata.version('websockets')}, fd limit {fd_limit}",
            "server": "centrex serve (uvicorn, 1 worker, uvloop), in-process bus, default settings",
        },
        "centrex": centrex,
        "reference": reference,
        "goal": "report delivery latency p99 and memory per subscriber (issue 7); isolation must hold",
        "total_seconds": round(time.monotonic() - started, 1),
    }
    path = write_result("event_stream", result)
    lat = centrex["latency_from_occurred_at_ms"]
    ref = (
        f"; bare websockets: p99 {reference['latency_ms'].get('p99')} ms, {reference['bytes_per_subscriber']} B"
        if reference
        else ""
    )
    print(
        f"event_stream  {centrex['subscribers']} subscribers: {centrex['deliveries']}/{centrex['deliveries_expected']}"
        f" deliveries, p50 {lat.get('p50')} ms p99 {lat.get('p99')} ms max {lat.get('max')} ms, "
        f"{centrex['bytes_per_subscriber']} B per subscriber, isolation "
        f"{'OK' if centrex['isolation']['passed'] else 'BROKEN'}, dropped {centrex['dropped']['closed_by_server']}"
        f"{ref} -> {path.relative_to(BENCH_DIR.parent)}"
    )
    return 0


def run_loop(coro: Any) -> Any:
    """``coro`` on a uvloop loop (as the server runs), asyncio's own when uvloop is missing."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


if __name__ == "__main__":
    raise SystemExit(main())
