"""Benchmark: webhook delivery, from a state change to the receiver, against a plain loopback HTTP POST loop.

Goal (project issue 7, "Performance"): events from state change to webhook receipt, p50/p99 latency and sustained
deliveries/s with 100 endpoints, against a plain loop of HTTP POSTs from one process to the same receivers as
reference; goal >= 0.5x its rate. Writes ``bench/results/webhooks-<backend>.json``.

- Receivers: one child process (this script with ``--receiver``; uvloop + httptools, ``--receiver-ports`` asyncio
  servers on 127.0.0.1) answering 200 at once and recording arrival time (``time.time()``), ``webhook-id``, the event's
  ``occurred_at`` and, for a sample, the headers and body (signatures are verified afterwards, here).
- Centrex: ``centrex serve`` (SQLite, or a throwaway PostgreSQL database) with ``CENTREX_WEBHOOK_ALLOW_PRIVATE=true``
  and ``CENTREX_WEBHOOK_POLL_SECONDS=0.2`` (the retry poll; new events wake the worker on commit anyway). 10 tenants
  x 10 webhooks (``extension.*``) = 100 endpoints spread over the receivers; each state change is one
  ``POST /extensions`` (``extension.created``) in one tenant, fanned out to that tenant's 10 endpoints.
- Reference: from this process, one ``httpx.AsyncClient`` (the dispatcher's limits) with 1, 10 and 50 (the
  dispatcher's claim batch) concurrent POST loops, each for ``--reference-seconds``, sending a received Centrex body,
  signed per request, round-robin to the 100 URLs; the best of the three is the reference.
- Measured: (1) a burst (all changes at once): deliveries/s from first to last receipt = capacity; (2) steady steps
  at fractions of that capacity, each ``--step-seconds`` long: receipts/s, latency (``occurred_at`` -> receipt)
  p50/p99; a step is sustained when every delivery arrived within ``DRAIN_LIMIT`` s after the step and its second
  half's p50 is not much above the first half's (no growing backlog). The headline is the highest sustained step.

    .venv/bin/python bench/webhooks.py                      # SQLite, ~75 s
    .venv/bin/python bench/webhooks.py --backend postgres   # a throwaway database on 127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from benchkit import (
    ADMIN_PASSWORD,
    BACKENDS,
    BENCH_DIR,
    DEFAULT_PG_URL,
    backend_database,
    centrex_server,
    free_port,
    log,
    machine_info,
    percentile,
    write_result,
)

GOAL = 0.5
TENANTS = 10
HOOKS_PER_TENANT = 10
REFERENCE_CONCURRENCY = 50  # centrex.webhooks.dispatcher.CLAIM_BATCH: deliveries sent at once by the worker
REFERENCE_CONCURRENCIES = (1, 10, REFERENCE_CONCURRENCY)  # the reference is the best of these
SAMPLE_EVERY = 97  # the receiver keeps headers and body of every n-th request (signature check)
DRAIN_LIMIT = 3.0  # seconds after a step within which all of its deliveries must have arrived
OCCURRED = re.compile(rb'"occurred_at":\s*"([^"]+)"')


# ---------------------------------------------------------------------------------------------- the receiver
def receiver_main(ports: list[int]) -> None:
    """Child process: HTTP servers on ``ports``; commands on stdin: ``dump PATH`` (records since the last dump as
    JSON into PATH, answers ``ok``), ``quit``."""
    import httptools
    import uvloop

    records: list[list[Any]] = []  # [time, webhook-id, occurred_at, sample or None, path]
    count = 0
    answer = b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}'

    class Conn(asyncio.Protocol):
        def __init__(self) -> None:
            self.parser = httptools.HttpRequestParser(self)
            self.headers: dict[str, str] = {}
            self.body: list[bytes] = []
            self.path = ""
            self.transport: asyncio.Transport | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport  # type: ignore[assignment]

        def data_received(self, data: bytes) -> None:
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserError:
                assert self.transport is not None
                self.transport.close()

        def on_message_begin(self) -> None:
            self.headers = {}
            self.body = []

        def on_url(self, url: bytes) -> None:
            self.path = url.decode("latin-1")

        def on_header(self, name: bytes, value: bytes) -> None:
            self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

        def on_body(self, body: bytes) -> None:
            self.body.append(body)

        def on_message_complete(self) -> None:
            nonlocal count
            now = time.time()
            body = b"".join(self.body)
            match = OCCURRED.search(body)
            count += 1
            sample = None
            if count % SAMPLE_EVERY == 1:
                sample = {"headers": self.headers, "body": body.decode()}
            records.append(
                [now, self.headers.get("webhook-id"), match.group(1).decode() if match else None, sample, self.path]
            )
            assert self.transport is not None
            self.transport.write(answer)

    def save(path: str, batch: list[list[Any]]) -> None:
        Path(path).write_text(json.dumps(batch))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        servers = [await loop.create_server(Conn, "127.0.0.1", p, backlog=1024) for p in ports]
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        print("ready", flush=True)
        while line := (await reader.readline()).decode().strip():
            if line == "quit":
                break
            _, path = line.split(" ", 1)
            batch = records[:]
            del records[: len(batch)]
            save(path, batch)
            print("ok", flush=True)
        for s in servers:
            s.close()

    uvloop.run(main())


class Receivers:
    """The receiver child process, driven over stdin/stdout."""

    def __init__(self, count: int, workdir: Path) -> None:
        self.ports = [free_port() for _ in range(count)]
        self.workdir = workdir
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--receiver", ",".join(map(str, self.ports))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("receiver did not start")
        self._dumps = 0

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i % len(self.ports)]}/hook/{i}"

    def dump(self) -> list[list[Any]]:
        """The requests received since the last dump."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._dumps += 1
        path = self.workdir / f"dump-{self._dumps}.json"
        self.proc.stdin.write(f"dump {path}\n")
        self.proc.stdin.flush()
        if self.proc.stdout.readline().strip() != "ok":
            raise RuntimeError("receiver did not answer")
        records: list[list[Any]] = json.loads(path.read_text())
        path.unlink()
        return records

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                assert self.proc.stdin is not None
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------------------------------------- provisioning
@dataclass
class Setup:
    tenants: list[tuple[str, dict[str, str]]]
    secrets: dict[str, str] = field(default_factory=dict)  # webhook id -> secret
    urls: list[str] = field(default_factory=list)
    next_number: int = 1000


async def provision(client: httpx.AsyncClient, receivers: Receivers) -> Setup:
    admin = httpx.BasicAuth("admin", ADMIN_PASSWORD)
    setup = Setup(tenants=[])
    for i in range(TENANTS):
        r = await client.post(
            "/api/v1/tenants",
            json={"code": f"hook-{i:03d}", "name": f"Webhook tenant {i}", "kind": "tenant", "extension_length": 4},
            auth=admin,
        )
        r.raise_for_status()
        tenant_id = r.json()["id"]
        r = await client.post(f"/api/v1/tenants/{tenant_id}/api-keys", json={"name": "bench"}, auth=admin)
        r.raise_for_status()
        headers = {"X-API-Key": r.json()["key"]}
        setup.tenants.append((tenant_id, headers))
        for j in range(HOOKS_PER_TENANT):
            url = receivers.url(i * HOOKS_PER_TENANT + j)
            r = await client.post(
                f"/api/v1/tenants/{tenant_id}/webhooks",
                json={"url": url, "event_types": ["extension.*"], "description": f"bench {j}"},
                headers=headers,
            )
            r.raise_for_status()
            setup.secrets[r.json()["id"]] = r.json()["secret"]
            setup.urls.append(url)
    return setup


async def change(client: httpx.AsyncClient, setup: Setup, errors: list[str]) -> None:
    """One state change: an extension created in the next tenant (round-robin)."""
    n = setup.next_number
    setup.next_number += 1
    tenant_id, headers = setup.tenants[n % len(setup.tenants)]
    number = 1000 + (n - 1000) // len(setup.tenants)
    try:
        r = await client.post(
            f"/api/v1/tenants/{tenant_id}/extensions",
            json={"number": str(number), "name": f"Hook {number}"},
            headers=headers,
        )
        if r.status_code != 201:
            errors.append(f"{r.status_code} {r.text[:200]}")
    except httpx.HTTPError as exc:
        errors.append(repr(exc))


async def paced(client: httpx.AsyncClient, setup: Setup, rate: float, seconds: float, errors: list[str]) -> int:
    """Changes at ``rate`` per second for ``seconds`` (each started on schedule, several may be in flight)."""
    total = max(1, round(rate * seconds))
    start = time.monotonic()
    tasks = []
    for k in range(total):
        delay = start + k / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(change(client, setup, errors)))
    await asyncio.gather(*tasks)
    return total


async def wait_for(receivers: Receivers, expected: int, limit: float) -> list[list[Any]]:
    """Collect receipts until ``expected`` arrived or ``limit`` seconds passed without reaching it."""
    got: list[list[Any]] = []
    deadline = time.monotonic() + limit
    while True:
        got += await asyncio.to_thread(receivers.dump)
        if len({(r[1], r[4]) for r in got}) >= expected or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.1)


def latencies_ms(records: list[list[Any]]) -> list[float]:
    out = []
    for at, _id, occurred, _sample, _path in records:
        if occurred:
            out.append((at - datetime.fromisoformat(occurred.replace("Z", "+00:00")).timestamp()) * 1000)
    return out


def summary(records: list[list[Any]], expected: int) -> dict[str, Any]:
    lat = latencies_ms(records)
    times = sorted(r[0] for r in records)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return {
        "expected": expected,
        "received": len(records),
        "distinct_event_endpoint": len({(r[1], r[4]) for r in records}),
        "receipts_per_second": round((len(records) - 1) / span, 1) if span > 0 else 0.0,
        "latency_p50_ms": round(percentile(lat, 50), 1) if lat else None,
        "latency_p99_ms": round(percentile(lat, 99), 1) if lat else None,
        "latency_max_ms": round(max(lat), 1) if lat else None,
    }


def verify_samples(records: list[list[Any]], setup: Setup) -> dict[str, int]:
    """Check the signature of every sampled request against the secret of the webhook its URL belongs to."""
    from centrex.webhooks.signing import WebhookVerificationError, verify

    ok = bad = 0
    by_path = {url.split("/", 3)[3]: secret for url, secret in zip(setup.urls, setup.secrets.values(), strict=True)}
    for _at, _id, _occurred, sample, path in records:
        if sample is None:
            continue
        try:
            verify(by_path[path.lstrip("/")], sample["headers"], sample["body"].encode(), tolerance=600)
        except WebhookVerificationError:
            bad += 1
        else:
            ok += 1
    return {"verified": ok, "failed": bad}


# ---------------------------------------------------------------------------------------------- reference
async def reference(
    receivers: Receivers, urls: list[str], body: str, seconds: float, concurrency: int
) -> dict[str, Any]:
    """``concurrency`` loops of signed POSTs through one client with the dispatcher's limits, for ``seconds``."""
    from centrex.webhooks.sender import USER_AGENT
    from centrex.webhooks.signing import generate_secret
    from centrex.webhooks.signing import headers as sign_headers

    secret = generate_secret()
    receivers.dump()
    counter = 0
    errors = 0
    stop_at = time.monotonic() + seconds
    async with httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        headers={"user-agent": USER_AGENT},
    ) as client:

        async def loop(worker: int) -> None:
            nonlocal counter, errors
            k = worker
            while time.monotonic() < stop_at:
                counter += 1
                msg_id = f"ref_{worker}_{counter}"
                headers = {"content-type": "application/json", **sign_headers([secret], msg_id, int(time.time()), body)}
                try:
                    r = await client.post(urls[k % len(urls)], content=body, headers=headers, timeout=10.0)
                    if r.status_code != 200:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                k += concurrency

        t0 = time.monotonic()
        await asyncio.gather(*(loop(w) for w in range(concurrency)))
        elapsed = time.monotonic() - t0
    received = len(receivers.dump())
    return {
        "requests": counter,
        "received": received,
        "errors": errors,
        "seconds": round(elapsed, 2),
        "rps": round(received / elapsed, 1),
        "concurrency": concurrency,
        "body_bytes": len(body.encode()),
    }


# ---------------------------------------------------------------------------------------------- the run
async def run(args: argparse.Namespace, base_url: str, receivers: Receivers) -> dict[str, Any]:
    errors: list[str] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as client:
        setup = await provision(client, receivers)
        log(f"{len(setup.urls)} webhooks over {len(receivers.ports)} receiver ports")
        fan = HOOKS_PER_TENANT

        # Warm-up: a few changes, all delivered; one received body is the reference's payload.
        await paced(client, setup, 20, 0.5, errors)
        warm = await wait_for(receivers, 10 * fan, 20)
        samples = [r for r in warm if r[3] is not None]
        if not samples:
            raise RuntimeError(f"no webhook arrived in the warm-up ({len(warm)} receipts; errors {errors[:3]})")
        body = samples[0][3]["body"]
        all_records = list(warm)

        runs = []
        for conc in REFERENCE_CONCURRENCIES:
            runs.append(await reference(receivers, setup.urls, body, args.reference_seconds, conc))
            log(f"reference, {conc} concurrent POST loops: {runs[-1]['rps']:.0f} POSTs/s ({runs[-1]['errors']} errors)")
        ref = max(runs, key=lambda r: r["rps"])
        ref_same = next(r for r in runs if r["concurrency"] == REFERENCE_CONCURRENCY)

        # Burst: every change at once (as fast as the API takes them), then the time until the last receipt.
        log(f"burst: {args.burst} changes x {fan} endpoints")
        t0 = time.time()
        await paced(client, setup, 1000.0, args.burst / 1000.0, errors)
        api_seconds = time.time() - t0
        burst_records = await wait_for(receivers, args.burst * fan, 60)
        all_records += burst_records
        burst = summary(burst_records, args.burst * fan)
        times = sorted(r[0] for r in burst_records)
        burst["api_seconds"] = round(api_seconds, 2)
        burst["first_receipt_after_ms"] = round((times[0] - t0) * 1000, 1) if times else None
        burst["all_delivered_after_s"] = round(times[-1] - t0, 2) if times else None
        capacity = burst["receipts_per_second"]
        log(f"burst: {capacity:.0f} deliveries/s, all after {burst['all_delivered_after_s']}s")

        steps = []
        best: dict[str, Any] | None = None
        for fraction in args.fractions:
            rate = max(1.0, capacity * fraction / fan)  # changes/s
            t0 = time.time()
            sent = await paced(client, setup, rate, args.step_seconds, errors)
            t_end = time.time()
            records = await wait_for(receivers, sent * fan, DRAIN_LIMIT)
            all_records += records
            step = summary(records, sent * fan)
            late = [r for r in records if r[0] > t_end + DRAIN_LIMIT]
            half = t0 + (t_end - t0) / 2
            first = [x for r, x in zip(records, latencies_ms(records), strict=False) if r[0] < half]
            second = [x for r, x in zip(records, latencies_ms(records), strict=False) if r[0] >= half]
            in_window = [r for r in records if r[0] <= t_end]
            step.update(
                fraction_of_burst=fraction,
                changes_per_second=round(rate, 2),
                offered_deliveries_per_second=round(rate * fan, 1),
                deliveries_per_second=round(len(in_window) / (t_end - t0), 1),
                latency_p50_first_half_ms=round(percentile(first, 50), 1) if first else None,
                latency_p50_second_half_ms=round(percentile(second, 50), 1) if second else None,
                late=len(late),
            )
            growing = bool(first and second and percentile(second, 50) > 2 * percentile(first, 50) + 100)
            step["sustained"] = step["distinct_event_endpoint"] >= sent * fan and not late and not growing
            steps.append(step)
            log(
                f"step {fraction:.2f}: {rate:.1f} changes/s, {step['deliveries_per_second']:.0f} deliveries/s, "
                f"p50 {step['latency_p50_ms']} ms p99 {step['latency_p99_ms']} ms, "
                f"{step['received']}/{sent * fan} {'sustained' if step['sustained'] else 'NOT sustained'}"
            )
            if step["sustained"]:
                best = step
            else:
                await wait_for(receivers, 10**9, 5)  # let the backlog drain before anything else
                break

    signatures = verify_samples(all_records, setup)
    sustained_rate = best["deliveries_per_second"] if best else 0.0
    ratio = sustained_rate / ref["rps"] if ref["rps"] else 0.0
    return {
        "reference": ref,
        "reference_runs": runs,
        "burst": burst,
        "steps": steps,
        "sustained": best,
        "signatures": signatures,
        "api_errors": len(errors),
        "api_error_samples": errors[:5],
        "ratio": round(ratio, 3),
        "ratio_burst": round(capacity / ref["rps"], 3) if ref["rps"] else 0.0,
        "ratio_to_reference_at_worker_concurrency": round(sustained_rate / ref_same["rps"], 3)
        if ref_same["rps"]
        else 0.0,
        "goal": GOAL,
        "passed": ratio >= GOAL and signatures["failed"] == 0 and not errors,
    }


def measure(args: argparse.Namespace, data_dir: Path, database_url: str | None) -> dict[str, Any]:
    t0 = time.monotonic()
    receivers = Receivers(args.receiver_ports, data_dir)
    try:
        env = {"CENTREX_WEBHOOK_ALLOW_PRIVATE": "true", "CENTREX_WEBHOOK_POLL_SECONDS": str(args.poll_seconds)}
        with centrex_server(data_dir, database_url, data_dir / "centrex.log", **env) as server:
            server.start(ready_path="/readyz")
            log(f"centrex up on :{server.port} ({args.backend})")
            out = asyncio.run(run(args, server.base_url, receivers))
    finally:
        receivers.stop()
    return {
        "backend": args.backend,
        "machine": machine_info(),
        "parameters": {
            "endpoints": TENANTS * HOOKS_PER_TENANT,
            "layout": f"{TENANTS} tenants x {HOOKS_PER_TENANT} webhooks (event_types extension.*)",
            "state_change": "POST /api/v1/tenants/{t}/extensions (extension.created), tenants round-robin",
            "fan_out_per_change": HOOKS_PER_TENANT,
            "receivers": f"{args.receiver_ports} asyncio+httptools servers (uvloop) in one child process",
            "latency": "receipt time (time.time()) minus the event's occurred_at",
            "centrex_settings": {
                "CENTREX_WEBHOOK_ALLOW_PRIVATE": "true",
                "CENTREX_WEBHOOK_POLL_SECONDS": args.poll_seconds,
            },
            "reference": "one httpx.AsyncClient with the dispatcher's limits, N concurrent POST loops from this "
            f"process (N in {list(REFERENCE_CONCURRENCIES)}, the best N counts), a received Centrex body signed per "
            "request, round-robin to the same 100 URLs",
            "burst_changes": args.burst,
            "step_seconds": args.step_seconds,
            "step_fractions_of_burst_rate": args.fractions,
            "drain_limit_seconds": DRAIN_LIMIT,
            "ratio": "sustained deliveries/s (highest sustained step) / reference POSTs/s",
        },
        **out,
        "elapsed_seconds": round(time.monotonic() - t0, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="Where to create the throwaway database.")
    parser.add_argument("--receiver-ports", type=int, default=4, help="HTTP servers the 100 endpoints spread over.")
    parser.add_argument("--reference-seconds", type=float, default=4.0, help="Per reference concurrency.")
    parser.add_argument("--burst", type=int, default=300, help="Changes in the burst (x10 deliveries).")
    parser.add_argument("--step-seconds", type=float, default=8.0)
    parser.add_argument(
        "--fractions",
        type=lambda s: [float(x) for x in s.split(",")],
        default=[0.25, 0.5, 0.75, 0.9, 1.0],
        help="Steady steps as fractions of the burst rate (stops at the first not sustained).",
    )
    parser.add_argument("--poll-seconds", type=float, default=0.2, help="CENTREX_WEBHOOK_POLL_SECONDS.")
    parser.add_argument("--receiver", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        receiver_main([int(p) for p in args.receiver.split(",")])
        return 0

    with tempfile.TemporaryDirectory(prefix="centrex-bench-") as tmp:
        data_dir = Path(tmp)
        with backend_database(args.backend, data_dir, args.pg_url) as database_url:
            result = measure(args, data_dir, database_url)
    path = write_result(f"webhooks-{args.backend}", result)
    ref, best = result["reference"], result["sustained"] or {}
    print(
        f"webhooks [{args.backend}]  centrex {best.get('deliveries_per_second', 0):.0f} deliveries/s sustained "
        f"(p50 {best.get('latency_p50_ms')} ms, p99 {best.get('latency_p99_ms')} ms; burst "
        f"{result['burst']['receipts_per_second']:.0f}/s)  reference {ref['rps']:.0f} POSTs/s  "
        f"ratio {result['ratio']:.3f} (goal {GOAL})  {'PASS' if result['passed'] else 'FAIL'}  "
        f"-> {path.relative_to(BENCH_DIR.parent)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
