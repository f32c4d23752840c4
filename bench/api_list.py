"""Benchmark: an authenticated, tenant-scoped extension list against a bare FastAPI endpoint (same run, same server).

Goal (project issue): ``GET /api/v1/tenants/{t}/extensions?limit=50`` with a tenant-admin ``X-API-Key``, on a
database of 1,000 tenants x 100 extensions, reaches at least 0.5x the requests per second of a bare FastAPI endpoint
that returns the same JSON from memory through the same response model (``bench/bare_app.py``). Both are served by
uvicorn (1 worker, uvloop, httptools, no access log) and loaded by ``wrk`` in the same run, alternating after a
warm-up. Centrex runs with its default settings, so repeated identical requests are answered from its response
cache; a third, informative target is the same server with the cache off (``CENTREX_RESPONSE_CACHE_SECONDS=0``),
i.e. the cost of every cache miss (``--no-uncached`` skips it). Writes ``bench/results/api_list-<backend>.json``.

    .venv/bin/python bench/api_list.py                      # SQLite (the embedded default)
    .venv/bin/python bench/api_list.py --backend postgres   # a throwaway database on 127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from benchkit import (
    ADMIN_PASSWORD,
    BACKENDS,
    BENCH_DIR,
    DEFAULT_PG_URL,
    Server,
    WrkResult,
    backend_database,
    centrex_bin,
    centrex_server,
    free_port,
    log,
    machine_info,
    median,
    run_wrk,
    server_env,
    sqlite_url,
    write_result,
)

GOAL = 0.5
FIRST_NAMES = ("Ada", "Alan", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Edsger", "Frances")
LAST_NAMES = ("Lovelace", "Turing", "Hopper", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie", "Dijkstra")


# ---------------------------------------------------------------------------------------------- seeding
def tenant_rows(platform: Any, count: int, now: datetime) -> list[dict[str, Any]]:
    from centrex.domain.ids import new_id
    from centrex.domain.tenancy import DEFAULT_DESTINATION_CLASSES

    classes = sorted(c.value for c in DEFAULT_DESTINATION_CLASSES)
    rows = []
    for i in range(count):
        tid = new_id("ten")
        code = f"bench-{i:04d}"
        rows.append(
            {
                "id": tid,
                "parent_id": platform.id,
                "kind": "tenant",
                "code": code,
                "name": f"Bench tenant {i}",
                "description": "",
                "status": "active",
                "path": f"{platform.path}{tid}/",
                "depth": 1,
                "is_template": False,
                "template_id": None,
                "sip_domain": f"{code}.{platform.sip_domain}",
                "extension_length": 4,
                "max_extensions": None,
                "max_concurrent_calls": None,
                "max_calls_per_second": None,
                "allowed_destination_classes": classes,
                "timezone": "UTC",
                "language": "en",
                "emergency_location": None,
                "settings": {},
                "suspended_reason": None,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
        )
    return rows


def extension_rows(tenant_id: str, count: int, now: datetime) -> list[dict[str, Any]]:
    from centrex.domain.ids import new_id

    rows = []
    for j in range(count):
        number = str(1000 + j)
        first, last = FIRST_NAMES[j % len(FIRST_NAMES)], LAST_NAMES[j % len(LAST_NAMES)]
        forwarding: list[dict[str, Any]] = []
        if j % 3 == 0:
            forwarding = [{"condition": "no_answer", "enabled": True, "destination": {"type": "voicemail"}}]
        elif j % 7 == 0:
            forwarding = [
                {
                    "condition": "busy",
                    "enabled": True,
                    "destination": {"type": "external", "number": f"+1415555{j:04d}"},
                }
            ]
        stamp = now - timedelta(minutes=count - j)
        rows.append(
            {
                "id": new_id("ext"),
                "tenant_id": tenant_id,
                "number": number,
                "name": f"{first} {last}",
                "first_name": first,
                "last_name": last,
                "email": f"{first}.{last}{j}@example.com".lower(),
                "mobile": f"+1415666{j:04d}" if j % 2 else None,
                "enabled": j % 17 != 0,
                "sip_username": number,
                "sip_password_enc": "v1:bench-placeholder",
                "caller_id_name": None,
                "caller_id_number": None,
                "external_caller_id_name": None,
                "external_caller_id_number": "+14155550100" if j % 5 == 0 else None,
                "outbound_level": "national",
                "dnd": j % 11 == 0,
                "ring_timeout": 20,
                "forwarding": forwarding,
                "voicemail_enabled": True,
                "voicemail_pin_hash": None,
                "recording_policy": "never",
                "emergency_location": None,
                "language": None,
                "timezone": None,
                "created_at": stamp,
                "updated_at": stamp,
                "version": 1,
            }
        )
    return rows


async def seed(url: str, tenants: int, per_tenant: int, analyze: bool) -> list[dict[str, Any]]:
    """Bulk-insert ``tenants`` tenants under the platform with ``per_tenant`` extensions each.

    Core ``INSERT``s on the tables (executemany in chunks): the ORM's bulk path is an order of magnitude slower here
    and the change tracker (audit, outbox) has nothing to add to seed data.
    """
    from sqlalchemy import insert, select, text
    from sqlalchemy.ext.asyncio import create_async_engine

    from centrex.db.models.extension import Extension
    from centrex.db.models.tenant import Tenant

    tenants_table = Tenant.metadata.tables["tenants"]
    extensions_table = Extension.metadata.tables["extensions"]
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            platform = (await conn.execute(select(tenants_table).where(Tenant.kind == "platform"))).one()
            now = datetime.now(UTC)
            rows = tenant_rows(platform, tenants, now)
            await conn.execute(insert(tenants_table), rows)
            batch: list[dict[str, Any]] = []
            for row in rows:
                batch += extension_rows(row["id"], per_tenant, now)
                if len(batch) >= 5_000:
                    await conn.execute(insert(extensions_table), batch)
                    batch = []
            if batch:
                await conn.execute(insert(extensions_table), batch)
        if analyze:
            async with engine.connect() as conn:
                await conn.execute(text("ANALYZE"))
                await conn.commit()
        return rows
    finally:
        await engine.dispose()


def migrate(data_dir: Path, database_url: str | None) -> None:
    args = [centrex_bin(), "db", "upgrade", "--data-dir", str(data_dir)]
    if database_url:
        args += ["--database-url", database_url]
    subprocess.run(args, check=True, capture_output=True, env=server_env())


# ---------------------------------------------------------------------------------------------- the run
def aggregate(results: list[WrkResult]) -> dict[str, Any]:
    return {
        "rps": round(median([r.rps for r in results]), 1),
        "p50_ms": round(median([r.p50_ms for r in results]), 3),
        "p99_ms": round(median([r.p99_ms for r in results]), 3),
        "requests": sum(r.requests for r in results),
        "errors": sum(r.socket_errors + r.non_2xx for r in results),
        "rounds": [r.as_dict() for r in results],
    }


def check_page(client: httpx.Client, url: str, headers: dict[str, str], expected: dict[str, Any]) -> int:
    """The target answers ``expected``; returns the body size."""
    r = client.get(url, headers=headers)
    r.raise_for_status()
    if r.json() != expected:
        raise RuntimeError(f"{url} does not answer the same document")
    return len(r.content)


def measure(args: argparse.Namespace, data_dir: Path, database_url: str | None) -> dict[str, Any]:
    db_url = database_url or sqlite_url(data_dir)
    t0 = time.monotonic()
    migrate(data_dir, database_url)
    with contextlib.ExitStack() as servers:
        # First start: the server bootstraps the platform tenant and the admin; then the data is seeded beside it.
        centrex = servers.enter_context(centrex_server(data_dir, database_url, data_dir / "centrex.log"))
        centrex.start()
        log(f"centrex up on :{centrex.port}; seeding {args.tenants} tenants x {args.extensions} extensions")
        t_seed = time.monotonic()
        rows = asyncio.run(seed(db_url, args.tenants, args.extensions, analyze=args.backend == "postgres"))
        seed_seconds = time.monotonic() - t_seed
        target = rows[len(rows) // 2]
        log(f"seeded in {seed_seconds:.1f}s; target tenant {target['code']} ({target['id']})")

        path = f"/api/v1/tenants/{target['id']}/extensions?limit=50"
        with httpx.Client(base_url=centrex.base_url, timeout=30.0) as client:
            r = client.post(
                f"/api/v1/tenants/{target['id']}/api-keys", json={"name": "bench"}, auth=("admin", ADMIN_PASSWORD)
            )
            r.raise_for_status()
            headers = {"X-API-Key": r.json()["key"]}
            r = client.get(path, headers=headers)
            r.raise_for_status()
            document = r.json()
        if len(document["items"]) != 50 or document["total"] != args.extensions:
            raise RuntimeError(f"unexpected page: {len(document['items'])} items, total {document['total']}")
        payload = data_dir / "page.json"
        payload.write_text(json.dumps(document))

        port = free_port()
        bare = servers.enter_context(
            Server(
                "bare",
                [sys.executable, str(BENCH_DIR / "bare_app.py"), "--http", f"127.0.0.1:{port}"],
                server_env(BENCH_BARE_PAYLOAD=str(payload)),
                data_dir / "bare.log",
                port,
            )
        )
        bare.start()
        targets = {"centrex": centrex.base_url + path, "bare": bare.base_url + path}
        if args.uncached:
            # The same server on the same database with the response cache off: the cost of every cache miss.
            uncached = servers.enter_context(
                centrex_server(data_dir, database_url, data_dir / "uncached.log", CENTREX_RESPONSE_CACHE_SECONDS="0")
            )
            uncached.start()
            targets["centrex_uncached"] = uncached.base_url + path
        with httpx.Client(timeout=30.0) as client:
            sizes = {name: check_page(client, url, headers, document) for name, url in targets.items()}

        def load(url: str, seconds: int) -> WrkResult:
            return run_wrk(url, threads=args.threads, connections=args.connections, duration=seconds, headers=headers)

        for name, url in targets.items():
            log(f"warm-up {name} {args.warmup}s")
            load(url, args.warmup)
        names = list(targets)
        runs: dict[str, list[WrkResult]] = {name: [] for name in names}
        for i in range(args.rounds):
            for name in names[i % len(names) :] + names[: i % len(names)]:  # rotate the order every round
                res = load(targets[name], args.duration)
                runs[name].append(res)
                log(
                    f"round {i + 1} {name:16s} {res.rps:9.1f} req/s  p50 {res.p50_ms:7.2f} ms  "
                    f"p99 {res.p99_ms:7.2f} ms  errors {res.socket_errors + res.non_2xx}"
                )

    results = {name: aggregate(r) for name, r in runs.items()}
    cx, ref = results["centrex"], results["bare"]
    ratio = cx["rps"] / ref["rps"] if ref["rps"] else 0.0
    out: dict[str, Any] = {
        "backend": args.backend,
        "machine": machine_info(),
        "parameters": {
            "tenants": args.tenants,
            "extensions_per_tenant": args.extensions,
            "request": "GET /api/v1/tenants/{t}/extensions?limit=50 with a tenant-admin X-API-Key",
            "response_bytes": sizes["centrex"],
            "load_generator": f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency",
            "warmup_seconds": args.warmup,
            "rounds": args.rounds,
            "aggregation": "median over rounds; the order of the targets rotates every round",
            "server": "uvicorn, 1 worker, uvloop, httptools, access log off",
            "centrex": "centrex serve with its default settings (response cache on)",
            "seed_seconds": round(seed_seconds, 1),
        },
        **results,
        "ratio": round(ratio, 3),
        "ratio_per_round": [round(a.rps / b.rps, 3) for a, b in zip(runs["centrex"], runs["bare"], strict=True)],
        "goal": GOAL,
        "passed": ratio >= GOAL and cx["errors"] == 0 and ref["errors"] == 0,
    }
    if "centrex_uncached" in results:
        out["parameters"]["centrex_uncached"] = "centrex serve with CENTREX_RESPONSE_CACHE_SECONDS=0 (informative)"
        out["ratio_uncached"] = round(results["centrex_uncached"]["rps"] / ref["rps"], 3) if ref["rps"] else 0.0
    out["elapsed_seconds"] = round(time.monotonic() - t0, 1)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="Where to create the throwaway database.")
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--extensions", type=int, default=100, help="Extensions per tenant (>= 50).")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads.")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections.")
    parser.add_argument("--duration", type=int, default=10, help="Seconds per measured wrk run.")
    parser.add_argument("--warmup", type=int, default=3, help="Seconds of warm-up per target (whole seconds, as wrk).")
    parser.add_argument("--rounds", type=int, default=2, help="Measured runs per target, alternating.")
    parser.add_argument(
        "--no-uncached",
        dest="uncached",
        action="store_false",
        help="Skip the informative third target (Centrex with its response cache off).",
    )
    args = parser.parse_args()
    if args.extensions < 50:
        parser.error("--extensions must be at least 50 (the page size)")
    if args.duration < 1 or args.warmup < 1 or args.rounds < 1:
        parser.error("--duration, --warmup and --rounds must be at least 1")

    with tempfile.TemporaryDirectory(prefix="centrex-bench-") as tmp:
        data_dir = Path(tmp)
        with backend_database(args.backend, data_dir, args.pg_url) as database_url:
            result = measure(args, data_dir, database_url)
    path = write_result(f"api_list-{args.backend}", result)
    cx, ref = result["centrex"], result["bare"]
    print(
        f"api_list [{args.backend}]  centrex {cx['rps']:.0f} req/s (p50 {cx['p50_ms']:.2f} ms, "
        f"p99 {cx['p99_ms']:.2f} ms)  bare {ref['rps']:.0f} req/s (p50 {ref['p50_ms']:.2f} ms, "
        f"p99 {ref['p99_ms']:.2f} ms)  ratio {result['ratio']:.3f} (goal {GOAL})  "
        f"{'PASS' if result['passed'] else 'FAIL'}  -> {path.relative_to(BENCH_DIR.parent)}"
    )
    if "centrex_uncached" in result:
        un = result["centrex_uncached"]
        print(
            f"api_list [{args.backend}]  (informative) centrex with the response cache off {un['rps']:.0f} req/s "
            f"(p50 {un['p50_ms']:.2f} ms, p99 {un['p99_ms']:.2f} ms)  ratio {result['ratio_uncached']:.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
