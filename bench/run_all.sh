#!/usr/bin/env bash
# Runs every benchmark on SQLite and on PostgreSQL (the resolver on SQLite); results go to bench/results/*.json
# (about 30 minutes; the SIP benchmarks also install sip-tester and kamailio when missing).
# Usage: bench/run_all.sh [--sqlite-only]
# - installs what is missing first (scripts/setup.sh: the venv, and wrk from scripts/debian-packages.txt)
# - PostgreSQL: BENCH_PG_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/postgres) must reach a server
#   where throwaway databases can be created; each benchmark creates its own and drops it afterwards
set -euo pipefail
cd "$(dirname "$0")/.."

backends=(sqlite postgres)
[ "${1:-}" = "--sqlite-only" ] && backends=(sqlite)

# scripts/setup.sh installs the venv and the Debian packages of scripts/debian-packages.txt (wrk among them).
if [ ! -x .venv/bin/centrex ] || ! command -v wrk >/dev/null 2>&1; then
  bash scripts/setup.sh
fi
PY=.venv/bin/python
# The RTP relay benchmark's reference (rtpengine) and its load generator's compiler are for benchmarks only.
bench_pkgs=()
command -v rtpengine >/dev/null 2>&1 || bench_pkgs+=(rtpengine-daemon)
command -v cc >/dev/null 2>&1 || bench_pkgs+=(gcc)
# The SIP benchmarks' load generator (SIPp) and reference (Kamailio: registrar, stateful proxy) are for benchmarks only.
command -v sipp >/dev/null 2>&1 || bench_pkgs+=(sip-tester)
command -v kamailio >/dev/null 2>&1 || [ -x /usr/sbin/kamailio ] || bench_pkgs+=(kamailio)
if [ ${#bench_pkgs[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${bench_pkgs[@]}" >/dev/null
fi
export BENCH_PG_URL="${BENCH_PG_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/postgres}"

if [[ " ${backends[*]} " == *" postgres "* ]]; then
  if ! "$PY" - <<'EOF'
import asyncio, os
from sqlalchemy.ext.asyncio import create_async_engine

async def ping() -> None:
    engine = create_async_engine(os.environ["BENCH_PG_URL"])
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
    finally:
        await engine.dispose()

asyncio.run(ping())
EOF
  then
    echo "run_all: PostgreSQL not reachable at $BENCH_PG_URL (set BENCH_PG_URL or pass --sqlite-only)" >&2
    exit 2
  fi
fi

start=$(date +%s)
for backend in "${backends[@]}"; do
  "$PY" bench/api_list.py --backend "$backend"
  "$PY" bench/create_extensions.py --backend "$backend"
done
# The resolver's reference is a SQLite primary-key lookup, so it runs once, on SQLite.
"$PY" bench/resolver.py
"$PY" bench/sip_parse.py
"$PY" bench/rtp_relay.py
# SIP engine against Kamailio (registrar; stateful proxy), and memory per registration / per call (SQLite).
sip_backends=$(IFS=,; echo "${backends[*]}")
"$PY" bench/sip_register.py --backends "$sip_backends"
"$PY" bench/sip_calls.py --backends "$sip_backends"
"$PY" bench/sip_memory.py
# Event stream fan-out (issue 7): 1,000 WebSocket subscribers over 100 tenants; latency and memory (~2.5 min).
"$PY" bench/event_stream.py
# Webhook delivery (100 endpoints) against a plain httpx POST loop to the same receivers (~75 s per backend).
for backend in "${backends[@]}"; do "$PY" bench/webhooks.py --backend "$backend"; done

"$PY" - "${backends[@]}" <<'EOF'
import json, sys
from pathlib import Path

results = Path("bench/results")
print("\nsummary")
for backend in sys.argv[1:]:
    a = json.loads((results / f"api_list-{backend}.json").read_text())
    c = json.loads((results / f"create_extensions-{backend}.json").read_text())
    print(f"  {backend:8s} api_list: centrex {a['centrex']['rps']:.0f} req/s vs bare {a['bare']['rps']:.0f} req/s"
          f" = {a['ratio']:.3f} (goal {a['goal']}) {'PASS' if a['passed'] else 'FAIL'}")
    print(f"  {backend:8s} create_extensions: {c['created']} in {c['elapsed_seconds']:.1f}s"
          f" = {c['rate_per_second']:.0f}/s, errors {c['errors']} {'PASS' if c['passed'] else 'FAIL'}")
r = json.loads((results / "resolver.json").read_text())
v = r["change_visibility"]
print(f"  resolver: DID -> first step {r['resolver']['time_condition']['mean_us']:.1f} us (worst kind) vs SQLite PK"
      f" lookup {r['reference_pk_lookup']['mean_us']:.0f} us = {r['ratio']:.3f} (goal < {r['goal_ratio']});"
      f" change visible in {v['in_server_ms']['max']:.0f} ms in-server, {v['other_process_ms']['max']:.0f} ms"
      f" elsewhere {'PASS' if r['passed'] else 'FAIL'}")
sr = json.loads((results / "sip_register.json").read_text())
for b, c in sr["centrex"].items():
    print(f"  sip_register [{b}]: {c['registrations_per_second']:.0f} reg/s vs Kamailio"
          f" {sr.get('kamailio', {}).get('registrations_per_second', 0):.0f} = {sr['ratio'][b]} (goal >= {sr['goal_ratio']})")
sc = json.loads((results / "sip_calls.json").read_text())
for t, c in sc["centrex"].items():
    print(f"  sip_calls [{t}]: {c['calls_per_second']:.0f} calls/s vs Kamailio"
          f" {sc.get('kamailio', {}).get('calls_per_second', 0):.0f} = {sc['ratio'][t]} (goal >= {sc['goal_ratio']})")
sm = json.loads((results / "sip_memory.json").read_text())
print(f"  sip_memory: {sm['bytes_per_registration']} B per registration (goal < {sm['goal_bytes_per_registration']}),"
      f" {sm['bytes_per_call']} B per call (goal < {sm['goal_bytes_per_call']}) {'PASS' if sm['passed'] else 'FAIL'}")
es = json.loads((results / "event_stream.json").read_text())["centrex"]
print(f"  event_stream: {es['subscribers']} subscribers, delivery p99 {es['latency_from_occurred_at_ms']['p99']} ms,"
      f" {es['bytes_per_subscriber']} B per subscriber, isolation {'OK' if es['isolation']['passed'] else 'BROKEN'}")
for backend in sys.argv[1:]:
    w = json.loads((results / f"webhooks-{backend}.json").read_text())
    ws = w["sustained"] or {}
    print(f"  {backend:8s} webhooks: {ws.get('deliveries_per_second', 0):.0f} deliveries/s sustained"
          f" (p50 {ws.get('latency_p50_ms')} ms, p99 {ws.get('latency_p99_ms')} ms) vs {w['reference']['rps']:.0f}"
          f" POSTs/s = {w['ratio']:.3f} (goal >= {w['goal']}) {'PASS' if w['passed'] else 'FAIL'}")
EOF
echo "run_all: done in $(( $(date +%s) - start ))s"
