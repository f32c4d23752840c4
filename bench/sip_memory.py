"""Memory per SIP registration and per active call of ``centrex serve`` (RSS, and tracemalloc where enabled).

Goal (project issue 5): **< 4 KB per registration** and **< 64 KB per active call**. Measured, not asserted:

- **Registrations**: a real ``centrex serve`` (SQLite, SIP on a free UDP port, ``sip_register.SIP_ENV``: the edge
  guard trusts loopback, no keep-alive pings) with ``--registrations`` extensions created through the API, then a
  warm-up of 5 calls (imports, the tenant's call-flow snapshot with every extension loaded). VmRSS of the server
  (/proc/<pid>/status) before and after every extension registers once (SIPp ``reg_auth.xml``, digest auth,
  200/s), divided by the count: once right after (transient state included: the 32 s REGISTER response cache, the
  nonce-count tracker) and once more after ``--settle`` seconds and one more registration (the response cache
  drops expired entries when a new one comes). The bindings are counted through the API.
- **Active calls**: in a fresh server (RSS does not shrink when Python frees memory, so what the registration phase
  frees would be reused by the calls), ``--calls`` calls from one caller extension to one callee (a SIPp UAS on the
  port it registered from) are set up at 20/s through the B2BUA and held; VmRSS once all of them are up (counted as
  ``in_progress`` CDRs through the API) minus VmRSS before, divided by the count; then SIPp and the server are
  stopped (the calls are not waited for). Media relay on (default; no RTP flows, but each call holds its relay
  ports) and, in a third server, off (``CENTREX_MEDIA_RELAY=false``).
- **tracemalloc** (live Python heap only: no allocator slack, no SQLite page cache): a fourth server doing both
  phases with ``--tm-registrations`` extensions, the relay on, started with ``PYTHONTRACEMALLOC=1`` through a small
  bootstrap that runs the same ``centrex.cli.main serve`` entry point and, next to it, a thread that reads
  ``tracemalloc.get_traced_memory()`` (after ``gc.collect()``) and saves the allocation sites when the benchmark
  asks (a request file); the engine is not changed. tracemalloc slows the server down, so its RSS is not used.

Writes bench/results/sip_memory.json. Not a test; nothing here fails CI.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from benchkit import BENCH_DIR, Server, centrex_server, log, machine_info, write_result
from sip_calls import call_step, count_cdrs, register_from, uas
from sip_register import (
    HOST,
    SIP_ENV,
    SIPP_DIR,
    Tenant,
    User,
    bench_users,
    count_registrations,
    free_udp_port,
    provision,
    rss_kb,
    run_sipp,
    sip_ping,
    sipp_version,
    write_inf,
)

GOAL_REG_BYTES = 4 * 1024
GOAL_CALL_BYTES = 64 * 1024
CALL_RATE = 20
WARM_CALLS = 5

# Runs ``centrex.cli.main`` as ``centrex serve`` would, plus a thread answering tracemalloc requests: a line
# "LABEL [top]" written to $BENCH_TM_DIR/req is answered in $BENCH_TM_DIR/out with "LABEL current peak" (traced
# bytes after gc.collect()); with "top", the traced bytes and blocks per allocation site (file:line) are then written
# to $BENCH_TM_DIR/LABEL.sites and dropped, so that nothing of it stays in the process for the next reading.
TRACEMALLOC_BOOT = r"""
import gc, os, runpy, sys, threading, time, tracemalloc
from pathlib import Path
folder = Path(os.environ["BENCH_TM_DIR"])
req, out = folder / "req", folder / "out"
def sites(label):
    snap = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    with (folder / f"{label}.sites").open("w") as f:
        for s in snap.statistics("lineno"):
            f.write(f"{s.size} {s.count} {s.traceback[0].filename}:{s.traceback[0].lineno}\n")
def watch():
    while True:
        if req.exists():
            label, *flags = req.read_text().split()
            req.unlink()
            gc.collect()
            current, peak = tracemalloc.get_traced_memory()
            if "top" in flags:
                sites(label)
                gc.collect()
            with out.open("a") as f:
                f.write(f"{label} {current} {peak}\n")
        time.sleep(0.05)
threading.Thread(target=watch, daemon=True, name="bench-tracemalloc").start()
sys.argv = ["centrex", *sys.argv[1:]]
runpy.run_module("centrex.cli.main", run_name="__main__", alter_sys=True)
"""


class Tracemalloc:
    """Talks to the bootstrap's thread through files in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def read(self, label: str, top: bool = False, timeout: float = 120.0) -> int:
        """Traced bytes now (after a full collection); with ``top``, the allocation sites are saved too."""
        out = self.folder / "out"
        (self.folder / "req").write_text(f"{label}{' top' if top else ''}\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in out.read_text().splitlines() if out.exists() else []:
                if line.startswith(f"{label} "):
                    return int(line.split()[1])
            time.sleep(0.1)
        raise RuntimeError(f"no tracemalloc answer for {label}")

    def grown(self, before: str, after: str, count: int = 12) -> list[str]:
        """The ``count`` allocation sites that grew most from reading ``before`` to ``after``."""

        def load(label: str) -> dict[str, tuple[int, int]]:
            table: dict[str, tuple[int, int]] = {}
            for line in (self.folder / f"{label}.sites").read_text().splitlines():
                size, blocks, site = line.split(" ", 2)
                table[site] = (int(size), int(blocks))
            return table

        old, new = load(before), load(after)
        diffs = [
            (size - old.get(site, (0, 0))[0], blocks - old.get(site, (0, 0))[1], site)
            for site, (size, blocks) in new.items()
        ]
        return [f"{size} B {blocks} blocks {site}" for size, blocks, site in sorted(diffs, reverse=True)[:count]]


@contextlib.contextmanager
def server(root: Path, name: str, sip_port: int, tracemalloc_dir: Path | None = None, **env: str) -> Iterator[Server]:
    """``centrex serve`` (SQLite) with SIP on ``sip_port``; with ``tracemalloc_dir``, through the bootstrap."""
    data_dir = root / name
    data_dir.mkdir()
    srv = centrex_server(
        data_dir, None, data_dir / "centrex.log", CENTREX_SIP_LISTEN=f"{HOST}:{sip_port}", **{**SIP_ENV, **env}
    )
    if tracemalloc_dir is not None:
        srv.args = [sys.executable, "-c", TRACEMALLOC_BOOT, *srv.args[1:]]
        srv.env = {**srv.env, "PYTHONTRACEMALLOC": "1", "BENCH_TM_DIR": str(tracemalloc_dir)}
    try:
        srv.start(ready_path="/readyz", timeout=180)
        sip_ping(sip_port)
        yield srv
    finally:
        srv.stop()


def settle_rss(pid: int, seconds: float = 2.0) -> int:
    time.sleep(seconds)
    return rss_kb(pid)


def register_all(port: int, tenant: Tenant, users: list[User], workdir: Path, pid: int) -> dict[str, Any]:
    inf = write_inf(workdir / "reg-all-users.csv", users)
    args = [
        "-sf", str(SIPP_DIR / "reg_auth.xml"), "-inf", str(inf), f"{HOST}:{port}", "-i", HOST,
        "-p", str(free_udp_port()), "-key", "domain", tenant.domain, "-r", "200", "-l", "200",
        "-recv_timeout", "10000", "-timeout", f"{len(users) // 20 + 120}s",
    ]  # fmt: skip
    step = run_sipp(args, workdir, "reg-all", len(users), 200, len(users) / 20 + 180, [pid])
    return {"registered": step.successful, "failed": step.failed, "rate": step.achieved, "seconds": step.seconds}


@contextlib.contextmanager
def held_calls(
    port: int, base_url: str, tenant: Tenant, caller: User, callee: User, count: int, hold_ms: int, workdir: Path
) -> Iterator[Callable[[], dict[str, Any]]]:
    """``count`` calls set up at 20/s and held ``hold_ms``; yields a function that waits until they are all up
    (``in_progress`` CDRs) and returns what it saw; SIPp is killed on the way out (the server stops next)."""
    inf = write_inf(workdir / "caller.csv", [caller])
    stat = workdir / "held.csv"
    args = [
        "sipp", "-sf", str(SIPP_DIR / "call_uac.xml"), "-inf", str(inf), f"{HOST}:{port}", "-i", HOST,
        "-p", str(free_udp_port()), "-key", "domain", tenant.domain, "-key", "dialled", callee.username,
        "-r", str(CALL_RATE), "-l", str(count), "-m", str(count), "-d", str(hold_ms), "-recv_timeout", "20000",
        "-timeout", f"{hold_ms // 1000 + count // CALL_RATE + 60}s", "-nostdin", "-trace_stat", "-stf", str(stat),
        "-fd", "1", "-trace_err", "-error_file", str(workdir / "held.err"),
    ]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir)
    started = time.monotonic()

    def wait_up() -> dict[str, Any]:
        deadline = started + count / CALL_RATE + hold_ms / 2000
        live = 0
        while time.monotonic() < deadline:
            live = count_cdrs(base_url, tenant, disposition="in_progress")
            if live >= count:
                break
            time.sleep(0.5)
        return {"in_progress_cdrs": live, "seconds_to_set_up": round(time.monotonic() - started, 1)}

    try:
        yield wait_up  # the calls are not waited for: the server stops next
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def measure(
    root: Path,
    name: str,
    registrations: int,
    calls: int,
    hold_ms: int,
    settle: float,
    env: dict[str, str],
    tracemalloc: bool = False,
) -> dict[str, Any]:
    """One server: optional registration phase, then the held-calls phase; RSS (or tracemalloc) readings."""
    tm_dir = root / f"{name}-tm" if tracemalloc else None
    if tm_dir is not None:
        tm_dir.mkdir()
    tm = Tracemalloc(tm_dir) if tm_dir is not None else None
    port = free_udp_port()
    out: dict[str, Any] = {"env": env}
    with server(root, name, port, tm_dir, **env) as srv:
        assert srv.proc is not None
        pid = srv.proc.pid
        workdir = srv.log_path.parent
        caller, callee = bench_users(2, first=9000)
        tenant = asyncio.run(provision(srv.base_url, [caller, callee], code=f"mem{name.replace('-', '')}"[:20]))
        uas_port = free_udp_port()
        register_from(uas_port, port, tenant.domain, callee, workdir)
        with uas(uas_port, workdir):
            users = bench_users(registrations)
            if registrations:
                t0 = time.monotonic()
                asyncio.run(provision_more(srv.base_url, tenant, users))
                log(f"{name}: {registrations} extensions created in {time.monotonic() - t0:.0f}s")
            # Warm-up (imports, the tenant's call-flow snapshot with every extension): a few calls, whose state
            # lingers 32 s (a negligible part of what the registrations add).
            ns = argparse.Namespace(step_seconds=5.0, limit=50)
            warm_inf = write_inf(workdir / "warm.csv", [caller])
            w = call_step(port, tenant.domain, callee.username, warm_inf, workdir, ns, [pid])(10.0, total=WARM_CALLS)
            log(f"{name}: warm-up {w.successful}/{WARM_CALLS} calls")
            if registrations:
                before = reading(pid, tm, "reg0", settle=2.0, top=tm is not None)
                reg = register_all(port, tenant, users, workdir, pid)
                after = reading(pid, tm, "reg1", settle=2.0, top=tm is not None)
                log(f"{name}: {reg['registered']} registered at {reg['rate']:.0f}/s; waiting {settle:.0f}s")
                time.sleep(settle)
                # Expired entries of the REGISTER response cache are dropped when a new one comes: one more
                # registration (the caller's, from another port: the callee's binding must stay the only one).
                register_from(free_udp_port(), port, tenant.domain, caller, workdir)
                later = reading(pid, tm, "reg2", settle=1.0)
                n = reg["registered"]
                out["registrations"] = {
                    **reg,
                    "bindings_listed_by_api": count_registrations(srv.base_url, tenant),
                    "before": before,
                    "after": after,
                    "after_settle": later,
                    "settle_seconds": settle,
                    "bytes_per_registration": round((after - before) / n) if n else None,
                    "bytes_per_registration_after_settle": round((later - before) / n) if n else None,
                }
            if calls:
                out["calls"] = held_phase(port, srv.base_url, tenant, caller, callee, calls, hold_ms, workdir, pid, tm)
    if tm is not None:
        out["top_allocation_sites"] = {"calls": tm.grown("call0", "call1")} if calls else {}
        if registrations:
            out["top_allocation_sites"]["registrations"] = tm.grown("reg0", "reg1")
    out["unit"] = "bytes of tracemalloc'd Python heap" if tm is not None else "bytes of VmRSS"
    return out


def held_phase(
    port: int,
    base_url: str,
    tenant: Tenant,
    caller: User,
    callee: User,
    calls: int,
    hold_ms: int,
    workdir: Path,
    pid: int,
    tm: Tracemalloc | None,
) -> dict[str, Any]:
    before = reading(pid, tm, "call0", settle=2.0, top=tm is not None)
    with held_calls(port, base_url, tenant, caller, callee, calls, hold_ms, workdir) as wait_up:
        seen = wait_up()
        after = reading(pid, tm, "call1", settle=1.0, top=tm is not None)
        log(f"{seen['in_progress_cdrs']} calls up after {seen['seconds_to_set_up']}s")
    live = seen["in_progress_cdrs"]
    return {
        "held": calls,
        **seen,
        "hold_ms": hold_ms,
        "before": before,
        "after": after,
        "bytes_per_call": round((after - before) / live) if live else None,
    }


def reading(pid: int, tm: Tracemalloc | None, label: str, settle: float, top: bool = False) -> int:
    """Bytes now: VmRSS, or the tracemalloc'd heap when ``tm`` is given."""
    time.sleep(settle)
    if tm is not None:
        return tm.read(label, top=top)
    return rss_kb(pid) * 1024


async def provision_more(base_url: str, tenant: Tenant, users: list[User]) -> None:
    """Extensions for ``users`` in an existing tenant (4 concurrent clients)."""
    queue = list(reversed(users))
    errors: list[str] = []

    async def worker() -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60.0, headers=tenant.headers) as c:
            while queue:
                user = queue.pop()
                body = {"number": user.username, "name": f"Bench {user.username}", "sip_password": user.password}
                r = await c.post(f"/api/v1/tenants/{tenant.id}/extensions", json=body)
                if r.status_code != 201:
                    errors.append(f"{r.status_code} {r.text[:200]}")

    await asyncio.gather(*(worker() for _ in range(4)))
    if errors:
        raise RuntimeError(f"{len(errors)} extensions not created, e.g. {errors[0]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registrations", type=int, default=5000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--hold", type=float, default=50.0, help="seconds each held call would last (< 60 s)")
    parser.add_argument("--settle", type=float, default=35.0, help="seconds to wait for transient state to expire")
    parser.add_argument("--tm-registrations", type=int, default=1000, help="registrations in the tracemalloc run")
    parser.add_argument("--no-relay-off", action="store_true")
    parser.add_argument("--no-tracemalloc", action="store_true")
    args = parser.parse_args()
    if shutil.which("sipp") is None:
        raise SystemExit("sipp not found: apt-get install -y sip-tester")
    if args.registrations + 1000 > 9000:
        parser.error("at most 8000 registrations (4-digit extension numbers 1000-8999)")
    started = time.monotonic()
    hold_ms = int(args.hold * 1000)
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="centrex-sipmem-") as tmp:
        root = Path(tmp)
        # RSS does not shrink when Python frees memory, and what a phase frees is reused by the next one: each RSS
        # figure gets a fresh server (tracemalloc counts live bytes exactly, so one server does both phases there).
        runs["rss_registrations"] = measure(root, "rss-reg", args.registrations, 0, hold_ms, args.settle, {})
        runs["rss_calls_relay_on"] = measure(root, "rss-calls-on", 0, args.calls, hold_ms, args.settle, {})
        if not args.no_relay_off:
            runs["rss_calls_relay_off"] = measure(
                root, "rss-calls-off", 0, args.calls, hold_ms, args.settle, {"CENTREX_MEDIA_RELAY": "false"}
            )
        if not args.no_tracemalloc:
            runs["tracemalloc_relay_on"] = measure(
                root, "tm-relay-on", args.tm_registrations, args.calls, hold_ms, args.settle, {}, tracemalloc=True
            )
    per_reg = runs["rss_registrations"]["registrations"]["bytes_per_registration"]
    per_reg_settled = runs["rss_registrations"]["registrations"]["bytes_per_registration_after_settle"]
    per_call = runs["rss_calls_relay_on"]["calls"]["bytes_per_call"]
    tm_run = runs.get("tracemalloc_relay_on")
    result = {
        "machine": machine_info(),
        "parameters": {
            "registrations": args.registrations,
            "calls": args.calls,
            "hold_seconds": args.hold,
            "settle_seconds": args.settle,
            "call_rate": CALL_RATE,
            "sipp": f"SIPp {sipp_version()}",
            "centrex_env": SIP_ENV,
            "database": "SQLite (bindings and CDRs are stored there; its page cache is part of the RSS)",
        },
        "runs": runs,
        "goal_bytes_per_registration": GOAL_REG_BYTES,
        "goal_bytes_per_call": GOAL_CALL_BYTES,
        "bytes_per_registration": per_reg,
        "bytes_per_registration_after_settle": per_reg_settled,
        "bytes_per_call": per_call,
        "tracemalloc_bytes_per_registration": tm_run["registrations"]["bytes_per_registration"] if tm_run else None,
        "tracemalloc_bytes_per_registration_after_settle": (
            tm_run["registrations"]["bytes_per_registration_after_settle"] if tm_run else None
        ),
        "tracemalloc_bytes_per_call": tm_run["calls"]["bytes_per_call"] if tm_run else None,
        "passed": per_reg is not None
        and per_call is not None
        and per_reg < GOAL_REG_BYTES
        and per_call < GOAL_CALL_BYTES,
        "total_seconds": round(time.monotonic() - started, 1),
    }
    path = write_result("sip_memory", result)
    print(
        f"sip_memory  RSS per registration {per_reg} B (after {args.settle:.0f}s: {per_reg_settled} B; goal < "
        f"{GOAL_REG_BYTES}), per active call {per_call} B (goal < {GOAL_CALL_BYTES})"
        f"  {'PASS' if result['passed'] else 'FAIL'} -> {path.relative_to(BENCH_DIR.parent)}"
    )
    for name, run in runs.items():
        reg, call = run.get("registrations", {}), run.get("calls", {})
        print(
            f"  {name}: per registration {reg.get('bytes_per_registration', '-')} B (after settle "
            f"{reg.get('bytes_per_registration_after_settle', '-')} B), per call {call.get('bytes_per_call', '-')} B"
            f" ({run['unit']})"
        )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
