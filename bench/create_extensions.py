"""Benchmark: create 10,000 extensions through the API with 4 concurrent clients; report the rate.

Goal (project issue): the run completes without error on SQLite and on PostgreSQL. Each of the 4 clients is an
``httpx.AsyncClient`` holding one keep-alive connection; they take jobs from one shared list spread round-robin over
``--tenants`` tenants (created through the API with ``extension_length`` 4, one tenant-admin API key each), so
consecutive creations hit different tenants as they would on a shared platform. Afterwards the totals are checked
through the API. Writes ``bench/results/create_extensions-<backend>.json``.

    .venv/bin/python bench/create_extensions.py                      # SQLite (the embedded default)
    .venv/bin/python bench/create_extensions.py --backend postgres   # a throwaway database on 127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass, field
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
    log,
    machine_info,
    percentile,
    write_result,
)

FIRST_NUMBER = 1000  # 4-digit extensions: 1000-9999 (emergency numbers are 3 digits)


@dataclass
class Outcome:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    status_counts: dict[str, int] = field(default_factory=dict)


async def setup_tenants(client: httpx.AsyncClient, count: int) -> list[tuple[str, dict[str, str]]]:
    """``count`` tenants under the platform and a tenant-admin key for each, created through the API."""
    admin = httpx.BasicAuth("admin", ADMIN_PASSWORD)
    out = []
    for i in range(count):
        r = await client.post(
            "/api/v1/tenants",
            json={"code": f"load-{i:03d}", "name": f"Load tenant {i}", "kind": "tenant", "extension_length": 4},
            auth=admin,
        )
        r.raise_for_status()
        tenant_id = r.json()["id"]
        r = await client.post(f"/api/v1/tenants/{tenant_id}/api-keys", json={"name": "bench"}, auth=admin)
        r.raise_for_status()
        out.append((tenant_id, {"X-API-Key": r.json()["key"]}))
    return out


def body_for(number: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "number": str(number),
        "name": f"Load {number}",
        "first_name": "Load",
        "last_name": str(number),
        "email": f"load{number}@example.com",
    }
    if number % 3 == 0:
        body["forwarding"] = [{"condition": "no_answer", "destination": {"type": "voicemail"}}]
    return body


async def worker(
    base_url: str, jobs: list[tuple[str, dict[str, str], int]], cursor: list[int], outcome: Outcome
) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60.0) as client:
        while cursor[0] < len(jobs):
            tenant_id, headers, number = jobs[cursor[0]]
            cursor[0] += 1
            t0 = time.perf_counter()
            try:
                r = await client.post(f"/api/v1/tenants/{tenant_id}/extensions", json=body_for(number), headers=headers)
                status = str(r.status_code)
                ok = r.status_code == 201
                detail = "" if ok else r.text[:300]
            except httpx.HTTPError as exc:
                status, ok, detail = type(exc).__name__, False, repr(exc)[:300]
            outcome.latencies_ms.append((time.perf_counter() - t0) * 1000)
            outcome.status_counts[status] = outcome.status_counts.get(status, 0) + 1
            if not ok:
                outcome.errors += 1
                if len(outcome.error_samples) < 5:
                    outcome.error_samples.append(f"{status} {number}: {detail}")


async def run(args: argparse.Namespace, base_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0) as client:
        tenants = await setup_tenants(client, args.tenants)
        per_tenant = -(-args.count // args.tenants)
        if FIRST_NUMBER + per_tenant > 10_000:
            raise SystemExit("too many extensions per tenant for 4-digit numbers: raise --tenants")
        jobs = [(*tenants[i % len(tenants)], FIRST_NUMBER + i // len(tenants)) for i in range(args.count)]
        log(f"{len(tenants)} tenants ready; creating {args.count} extensions with {args.clients} clients")

        outcome = Outcome()
        cursor = [0]
        c0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker(base_url, jobs, cursor, outcome) for _ in range(args.clients)))
        elapsed = time.perf_counter() - t0
        client_cpu = time.process_time() - c0

        totals = 0
        for tenant_id, headers in tenants:
            r = await client.get(f"/api/v1/tenants/{tenant_id}/extensions?limit=1", headers=headers)
            r.raise_for_status()
            totals += int(r.headers["X-Total-Count"])
    lat = outcome.latencies_ms
    created = outcome.status_counts.get("201", 0)
    return {
        "created": created,
        "errors": outcome.errors,
        "status_counts": outcome.status_counts,
        "error_samples": outcome.error_samples,
        "listed_total": totals,
        "elapsed_seconds": round(elapsed, 2),
        "rate_per_second": round(created / elapsed, 1) if elapsed else 0.0,
        "latency_ms": {
            "p50": round(percentile(lat, 50), 2),
            "p90": round(percentile(lat, 90), 2),
            "p99": round(percentile(lat, 99), 2),
            "max": round(max(lat), 2),
            "mean": round(sum(lat) / len(lat), 2),
        },
        "client_cpu_seconds": round(client_cpu, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="Where to create the throwaway database.")
    parser.add_argument("--count", type=int, default=10_000, help="Extensions to create.")
    parser.add_argument("--clients", type=int, default=4, help="Concurrent clients (one connection each).")
    parser.add_argument("--tenants", type=int, default=10, help="Tenants the creations are spread over.")
    args = parser.parse_args()

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="centrex-bench-") as tmp:
        data_dir = Path(tmp)
        with backend_database(args.backend, data_dir, args.pg_url) as database_url:
            server = centrex_server(data_dir, database_url, data_dir / "centrex.log")
            try:
                server.start()
                log(f"centrex up on :{server.port} ({args.backend})")
                outcome = asyncio.run(run(args, server.base_url))
            finally:
                server.stop()
    passed = outcome["errors"] == 0 and outcome["created"] == args.count and outcome["listed_total"] == args.count
    result = {
        "backend": args.backend,
        "machine": machine_info(),
        "parameters": {
            "count": args.count,
            "clients": args.clients,
            "tenants": args.tenants,
            "request": "POST /api/v1/tenants/{t}/extensions with a tenant-admin X-API-Key",
            "client": "httpx.AsyncClient, one keep-alive connection per client",
            "server": "centrex serve (uvicorn, 1 worker, uvloop, httptools, access log off)",
        },
        **outcome,
        "goal": "all creations succeed (no error)",
        "passed": passed,
        "total_seconds": round(time.monotonic() - started, 1),
    }
    path = write_result(f"create_extensions-{args.backend}", result)
    lat = outcome["latency_ms"]
    print(
        f"create_extensions [{args.backend}]  {outcome['created']}/{args.count} created in "
        f"{outcome['elapsed_seconds']:.1f}s = {outcome['rate_per_second']:.0f}/s  p50 {lat['p50']:.1f} ms  "
        f"p99 {lat['p99']:.1f} ms  errors {outcome['errors']}  {'PASS' if passed else 'FAIL'}  "
        f"-> {path.relative_to(BENCH_DIR.parent)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
