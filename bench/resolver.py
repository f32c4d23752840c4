"""Call-flow resolver benchmark (project issue 4).

Goals:
1. Resolving a DID to its first step takes under 0.1× the time of one SQLite primary-key lookup through SQLAlchemy,
   measured in the same run: the resolver works on the in-memory, invalidated-on-change snapshot cache, never
   querying per call. Data: 1,000 tenants, each with 100 numbers and inbound routes, 20 IVRs, 20 queues,
   20 extensions, 5 time conditions and 10 outbound routes, bulk-inserted into SQLite.
2. A change made through the API is visible to the resolver in under one second: a running ``centrex serve``
   changes an inbound route (PATCH over HTTP); measured (a) through the server's own resolve endpoint (in-process
   invalidation on commit) and (b) in this separate process, whose cache learns of the change by polling the outbox.

Writes bench/results/resolver.json.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchkit import (
    ADMIN_PASSWORD,
    centrex_bin,
    centrex_server,
    log,
    machine_info,
    percentile,
    server_env,
    sqlite_url,
    write_result,
)


def ident(prefix: str, n: int, m: int = 0) -> str:
    return f"{prefix}_{n:013d}{m:013d}"


def rows_for_tenant(i: int, platform: Any, now: datetime) -> dict[str, list[dict[str, Any]]]:
    tid = ident("ten", i)
    common = {"tenant_id": tid, "created_at": now, "updated_at": now, "version": 1}
    out: dict[str, list[dict[str, Any]]] = {
        k: []
        for k in (
            "tenants",
            "extensions",
            "queues",
            "ivrs",
            "time_conditions",
            "phone_numbers",
            "inbound_routes",
            "outbound_routes",
            "voicemail_boxes",
        )
    }
    out["tenants"].append(
        {
            "id": tid,
            "parent_id": platform.id,
            "kind": "tenant",
            "code": f"rb{i:04d}",
            "name": f"Tenant {i}",
            "description": "",
            "status": "active",
            "path": f"{platform.path}{tid}/",
            "depth": 1,
            "is_template": False,
            "sip_domain": f"rb{i:04d}.bench.local",
            "extension_length": 3,
            "allowed_destination_classes": ["emergency", "internal", "local", "national"],
            "timezone": "America/New_York",
            "language": "en",
            "settings": {},
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
    )
    for e in range(20):
        out["extensions"].append(
            {
                **common,
                "id": ident("ext", i, e),
                "number": str(200 + e),
                "name": f"E{e}",
                "sip_username": str(200 + e),
                "sip_password_enc": "v1:x",
                "forwarding": [],
            }
        )
        out["voicemail_boxes"].append(
            {
                **common,
                "id": ident("vmb", i, e),
                "number": str(200 + e),
                "name": f"E{e}",
                "owner_extension_id": ident("ext", i, e),
                "greetings": {},
            }
        )
    for q in range(20):
        out["queues"].append(
            {
                **common,
                "id": ident("que", i, q),
                "name": f"Queue {q}",
                "number": str(700 + q),
                "manager_ids": [],
                "timeout_destination": {"type": "voicemail", "id": ident("vmb", i, q)},
            }
        )
    for v in range(20):
        options = {str(k): {"type": "queue", "id": ident("que", i, (v + k) % 20)} for k in range(1, 8)}
        options["0"] = {"type": "extension", "id": ident("ext", i, 0)}
        options["9"] = {"type": "ivr", "id": ident("ivr", i, (v + 1) % 20)}
        out["ivrs"].append(
            {
                **common,
                "id": ident("ivr", i, v),
                "name": f"Menu {v}",
                "number": str(500 + v),
                "options": options,
                "greeting_text": "Welcome",
                "timeout_destination": {"type": "extension", "id": ident("ext", i, 0)},
            }
        )
    for t in range(5):
        out["time_conditions"].append(
            {
                **common,
                "id": ident("tmc", i, t),
                "name": f"Hours {t}",
                "timezone": "America/New_York",
                "weekly": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}],
                "holidays": [{"name": "Christmas", "date": "2020-12-25", "recurring": True}],
                "mode": "auto",
                "open_destination": {"type": "ivr", "id": ident("ivr", i, t)},
                "closed_destination": {"type": "voicemail", "id": ident("vmb", i, t)},
            }
        )
    for n in range(100):
        did = f"+1{415 + i // 800:03d}{200 + i % 800:03d}{n:04d}"
        out["phone_numbers"].append({**common, "id": ident("num", i, n), "number": did, "description": ""})
        dest = (
            {"type": "time_condition", "id": ident("tmc", i, n % 5)}
            if n % 2 == 0
            else {"type": "extension", "id": ident("ext", i, n % 20)}
        )
        out["inbound_routes"].append(
            {
                **common,
                "id": ident("inr", i, n),
                "name": f"DID {n}",
                "number_id": ident("num", i, n),
                "destination": dest,
            }
        )
    for r in range(10):
        out["outbound_routes"].append(
            {
                **common,
                "id": ident("obr", i, r),
                "name": f"Route {r}",
                "priority": r,
                "patterns": [{"match": f"9{r}NXXXXXX", "strip": 2}],
                "destination_class": "local",
                "trunk_ids": [],
            }
        )
    return out


async def seed(url: str, tenants: int) -> list[tuple[str, str, str]]:
    """Bulk-insert the data set; returns (tenant id, DID, kind) for every number."""
    from sqlalchemy import insert, select
    from sqlalchemy.ext.asyncio import create_async_engine

    import centrex.db.models  # noqa: F401
    from centrex.db.base import Base

    engine = create_async_engine(url)
    dids: list[tuple[str, str, str]] = []
    try:
        async with engine.begin() as conn:
            tenants_table = Base.metadata.tables["tenants"]
            platform = (await conn.execute(select(tenants_table).where(tenants_table.c.kind == "platform"))).one()
            now = datetime.now(UTC)
            pending: dict[str, list[dict[str, Any]]] = {}
            order = [
                "tenants",
                "extensions",
                "voicemail_boxes",
                "queues",
                "ivrs",
                "time_conditions",
                "phone_numbers",
                "inbound_routes",
                "outbound_routes",
            ]

            async def flush() -> None:
                for name in order:
                    if pending.get(name):
                        await conn.execute(insert(Base.metadata.tables[name]), pending[name])
                        pending[name] = []

            for i in range(tenants):
                for name, rows in rows_for_tenant(i, platform, now).items():
                    pending.setdefault(name, []).extend(rows)
                for row in pending["phone_numbers"][-100:]:
                    n = int(row["id"][-13:])
                    dids.append((row["tenant_id"], row["number"], "time_condition" if n % 2 == 0 else "extension"))
                if (i + 1) % 50 == 0:
                    await flush()
            await flush()
    finally:
        await engine.dispose()
    return dids


async def measure_resolver(url: str, dids: list[tuple[str, str, str]], iterations: int) -> dict[str, Any]:
    from centrex.callflow.cache import CallFlowCache
    from centrex.callflow.resolver import resolve_inbound
    from centrex.db.engine import Database

    db = Database(url)
    cache = CallFlowCache(db)
    try:
        started = time.perf_counter()
        for tenant_id in sorted({t for t, _, _ in dids}):
            await cache.snapshot(tenant_id)
        for _, did, _ in dids:
            await cache.tenant_of_did(did)
        warm_seconds = time.perf_counter() - started
        monday_10 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
        rng = random.Random(42)
        results: dict[str, Any] = {
            "snapshot_load_seconds_total": round(warm_seconds, 2),
            "snapshots": len({t for t, _, _ in dids}),
        }
        for kind in ("extension", "time_condition"):
            sample = [d for _, d, k in dids if k == kind]
            picks = [rng.choice(sample) for _ in range(iterations)]

            async def run(did: str) -> str:
                tenant_id = await cache.tenant_of_did(did)
                snap = await cache.snapshot(tenant_id or "")
                assert snap is not None
                return str(resolve_inbound(snap, did, None, monday_10, trace=False).step["kind"])

            expected = "ring_extension" if kind == "extension" else "ivr"
            assert await run(picks[0]) == expected
            t0 = time.perf_counter()
            for did in picks:
                await run(did)
            mean_us = (time.perf_counter() - t0) / iterations * 1e6
            singles = []
            for did in picks[:20_000]:
                s = time.perf_counter_ns()
                await run(did)
                singles.append((time.perf_counter_ns() - s) / 1000)
            results[kind] = {
                "first_step": expected,
                "iterations": iterations,
                "mean_us": round(mean_us, 3),
                "p50_us": round(percentile(singles, 50), 3),
                "p99_us": round(percentile(singles, 99), 3),
            }
        return results
    finally:
        await db.dispose()


async def measure_pk_lookup(url: str, ids: list[str], lookups: int) -> dict[str, Any]:
    """The reference: one primary-key lookup through SQLAlchemy (async ORM ``session.get``, new session each)."""
    from centrex.db.engine import Database
    from centrex.db.models import Extension

    db = Database(url)
    try:
        rng = random.Random(7)
        picks = [rng.choice(ids) for _ in range(lookups)]
        async with db.session() as session:
            assert await session.get(Extension, picks[0]) is not None
        for did in picks[:200]:  # warm-up
            async with db.session() as session:
                await session.get(Extension, did)
        t0 = time.perf_counter()
        for pk in picks:
            async with db.session() as session:
                await session.get(Extension, pk)
        mean_us = (time.perf_counter() - t0) / lookups * 1e6
        return {
            "method": "AsyncSession.get(Extension, id) on a new session (aiosqlite)",
            "lookups": lookups,
            "mean_us": round(mean_us, 2),
        }
    finally:
        await db.dispose()


def measure_visibility(server_url: str, url: str, tenant_id: str, did: str, rounds: int) -> dict[str, Any]:
    """PATCH an inbound route through the API; time until (a) the server's resolve endpoint and (b) this process's
    polling cache show the new first step."""
    from centrex.callflow.cache import CallFlowCache
    from centrex.callflow.resolver import resolve_inbound
    from centrex.db.engine import Database

    auth = ("admin", ADMIN_PASSWORD)
    in_server: list[float] = []
    cross_process: list[float] = []

    async def run() -> None:
        db = Database(url)
        cache = CallFlowCache(db, poll_interval=0.5)
        await cache.start()
        poller = asyncio.create_task(_poll_forever(cache))
        try:
            async with httpx.AsyncClient(base_url=server_url, auth=auth, timeout=30) as client:
                routes = (await client.get(f"/api/v1/tenants/{tenant_id}/inbound-routes", params={"limit": 500})).json()
                route = next(r for r in routes["items"] if r["number_id"])
                numbers = (await client.get(f"/api/v1/tenants/{tenant_id}/numbers", params={"limit": 500})).json()
                did_of = {n["id"]: n["number"] for n in numbers["items"]}
                target_did = did_of[route["number_id"]]
                targets = [{"type": "extension", "id": ident("ext", int(tenant_id[4:17]), k)} for k in (3, 4)]
                for r in range(rounds):
                    dest = targets[r % 2]
                    resp = await client.patch(
                        f"/api/v1/tenants/{tenant_id}/inbound-routes/{route['id']}", json={"destination": dest}
                    )
                    resp.raise_for_status()
                    changed = time.perf_counter()
                    while True:  # (a) through the server's own cache
                        res = await client.post(
                            f"/api/v1/tenants/{tenant_id}/routing/resolve", json={"dialled": target_did}
                        )
                        if res.json()["step"].get("extension_id") == dest["id"]:
                            in_server.append(time.perf_counter() - changed)
                            break
                        if time.perf_counter() - changed > 5:
                            raise RuntimeError("server never showed the change")
                    while True:  # (b) another process: this one
                        snap = await cache.snapshot(tenant_id)
                        assert snap is not None
                        step = resolve_inbound(snap, target_did, None, datetime.now(UTC), trace=False).step
                        if step.get("extension_id") == dest["id"]:
                            cross_process.append(time.perf_counter() - changed)
                            break
                        if time.perf_counter() - changed > 5:
                            raise RuntimeError("the polling cache never showed the change")
                        await asyncio.sleep(0.005)
        finally:
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)
            await db.dispose()

    asyncio.run(run())
    return {
        "rounds": rounds,
        "in_server_ms": {
            "max": round(max(in_server) * 1000, 1),
            "median": round(statistics.median(in_server) * 1000, 1),
        },
        "other_process_ms": {
            "max": round(max(cross_process) * 1000, 1),
            "median": round(statistics.median(cross_process) * 1000, 1),
        },
        "goal_ms": 1000,
        "passed": max(in_server + cross_process) < 1.0,
    }


async def _poll_forever(cache: Any) -> None:
    while True:
        await asyncio.sleep(cache.poll_interval)
        await cache.poll()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--iterations", type=int, default=200_000)
    parser.add_argument("--lookups", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="centrex-bench-resolver-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        url = sqlite_url(data_dir)
        subprocess.run(
            [centrex_bin(), "db", "upgrade", "--data-dir", str(data_dir)],
            check=True,
            capture_output=True,
            env=server_env(),
        )
        server = centrex_server(data_dir, None, Path(tmp) / "server.log")
        with server.start():
            t0 = time.perf_counter()
            dids = asyncio.run(seed(url, args.tenants))
            log(f"seeded {args.tenants} tenants, {len(dids)} numbers in {time.perf_counter() - t0:.1f}s")
            resolver_result = asyncio.run(measure_resolver(url, dids, args.iterations))
            ext_ids = [ident("ext", i, e) for i in range(args.tenants) for e in range(20)]
            pk = asyncio.run(measure_pk_lookup(url, ext_ids, args.lookups))
            visibility = measure_visibility(server.base_url, url, dids[len(dids) // 2][0], "", args.rounds)
    worst = max(resolver_result["extension"]["mean_us"], resolver_result["time_condition"]["mean_us"])
    ratio = worst / pk["mean_us"]
    result = {
        "benchmark": "resolver",
        "machine": machine_info(),
        "parameters": {
            "tenants": args.tenants,
            "per_tenant": {
                "numbers_and_inbound_routes": 100,
                "ivrs": 20,
                "queues": 20,
                "extensions": 20,
                "time_conditions": 5,
                "outbound_routes": 10,
            },
            "iterations": args.iterations,
        },
        "resolver": resolver_result,
        "reference_pk_lookup": pk,
        "ratio": round(ratio, 4),
        "goal_ratio": 0.1,
        "change_visibility": visibility,
        "passed": ratio < 0.1 and visibility["passed"],
    }
    path = write_result("resolver", result)
    log(
        f"resolver: DID → first step {worst:.2f} µs (worst kind) vs SQLite PK lookup {pk['mean_us']:.1f} µs "
        f"= ratio {ratio:.4f} (goal < 0.1) {'PASS' if ratio < 0.1 else 'FAIL'}"
    )
    log(
        f"change visibility: in-server max {visibility['in_server_ms']['max']} ms, other process max "
        f"{visibility['other_process_ms']['max']} ms (goal < 1000 ms) {'PASS' if visibility['passed'] else 'FAIL'}"
    )
    log(f"-> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
