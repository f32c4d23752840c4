"""Call set-up and tear-down rate through the B2BUA, Kamailio as a stateful proxy as reference.

Goal (project issue 5): calls per second completed (INVITE → 407 → ACK → INVITE with credentials → 200 → ACK →
BYE → 200, no media sent) **≥ 0.2×** Kamailio proxying the same calls statefully, in the same run.

- **Centrex**: a real ``centrex serve`` with SIP on a free UDP port (SQLite; ``--backends sqlite,postgres`` for
  both). A tenant with ``--callers`` caller extensions and one callee extension, created through the API. The
  callee registers (``reg_auth.xml``) from the port where a SIPp UAS (``bench/sipp/call_uas.xml``) then answers
  every call at once. The caller, a SIPp UAC (``bench/sipp/call_uac.xml``), authenticates each INVITE (407, proxy
  digest, per-caller credentials from an injection file) and hangs up right after the ACK (``-d 0``). Every call is
  a full B2BUA call: two legs, call-flow resolution, a CDR written as it starts, is answered and ends. Two Centrex
  targets: media relay on (the default: a relay session and SDP rewriting per call) and off
  (``CENTREX_MEDIA_RELAY=false``). Benchmark settings: ``sip_register.SIP_ENV`` (the edge guard trusts loopback, as
  its flood limit would ban the load generator; no OPTIONS keep-alive pings); tenants have no call caps by default.
- **Kamailio** 5.6 (``bench/kamailio/proxy.cfg``): the same scenario, the same callers and passwords; Kamailio
  challenges each initial INVITE itself (auth_db over db_text, like its registrar reference), record-routes, and
  relays statefully (``t_relay``) to its own SIPp UAS. So the reference does the same authentication work but keeps
  no dialog state, no CDR and no second leg: it is the "B2BUA-less" reference the issue names.
- **Load and figure**: as ``sip_register.py`` (``ramp``): offered rates step up ×2, ``--step-seconds`` each, no
  retransmissions, at most ``--limit`` calls in flight; a step's figure is the completed calls per second while SIPp
  was still starting new ones; a target stops after two steps in a row under 80 % of the offered rate or > 1 %
  failed calls; its result is its best step with ≤ 1 % failures. Afterwards the CDRs are counted through the API.

Writes bench/results/sip_calls.json. Not a test; nothing here fails CI.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from benchkit import BACKENDS, BENCH_DIR, DEFAULT_PG_URL, Server, backend_database, log, machine_info, write_result
from sip_register import (
    HOST,
    SIP_ENV,
    SIPP_DIR,
    Step,
    Tenant,
    User,
    bench_users,
    best,
    centrex_sip,
    free_udp_port,
    kamailio,
    kamailio_bin,
    kamailio_pids,
    kamailio_version,
    parse_rates,
    provision,
    ramp,
    run_sipp,
    sipp_version,
    step_dicts,
    write_dbtext,
    write_inf,
)

GOAL_RATIO = 0.2


def register_from(port: int, sip_port: int, domain: str, user: User, workdir: Path) -> None:
    """Register ``user`` at 127.0.0.1:``sip_port`` from UDP ``port`` (where its UAS will answer)."""
    inf = write_inf(workdir / f"reg-{user.username}.csv", [user])
    args = [
        "sipp", "-sf", str(SIPP_DIR / "reg_auth.xml"), "-inf", str(inf), f"{HOST}:{sip_port}", "-i", HOST,
        "-p", str(port), "-key", "domain", domain, "-m", "1", "-nostdin", "-timeout", "20s", "-timeout_error",
        "-recv_timeout", "10000",
    ]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=workdir, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"callee registration failed ({done.returncode}):\n{done.stdout[-1500:]}")


@contextlib.contextmanager
def uas(port: int, workdir: Path, extra: list[str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """A SIPp UAS (``call_uas.xml``) on UDP ``port`` until the block ends (then terminated)."""
    args = [
        "sipp", "-sf", str(SIPP_DIR / "call_uas.xml"), "-i", HOST, "-p", str(port), "-nostdin", "-nr",
        "-trace_err", "-error_file", str(workdir / f"uas-{port}.err"), *(extra or []),
    ]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir)
    try:
        time.sleep(0.5)
        if proc.poll() is not None:
            raise RuntimeError(f"SIPp UAS on :{port} exited with {proc.returncode}")
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def call_step(
    port: int,
    domain: str,
    dialled: str,
    inf: Path,
    workdir: Path,
    args: argparse.Namespace,
    pids: list[int],
    hold_ms: int = 0,
) -> Callable[..., Step]:
    """A ``ramp`` step: ``call_uac.xml`` at ``rate`` for ``--step-seconds`` (or ``total`` calls)."""

    def run(rate: float, total: int | None = None) -> Step:
        total = total or max(20, int(rate * args.step_seconds))
        sipp_args = [
            "-sf", str(SIPP_DIR / "call_uac.xml"), "-inf", str(inf), f"{HOST}:{port}", "-i", HOST,
            "-p", str(free_udp_port()), "-key", "domain", domain, "-key", "dialled", dialled,
            "-r", str(int(rate)), "-l", str(args.limit), "-d", str(hold_ms), "-nr", "-recv_timeout", "5000",
            "-timeout", f"{int(args.step_seconds * 3 + 30 + hold_ms / 1000)}s",
        ]  # fmt: skip
        name = f"call-{port}-{int(rate)}-{total}"
        return run_sipp(sipp_args, workdir, name, total, rate, args.step_seconds * 4 + 60 + hold_ms / 1000, pids)

    return run


def count_cdrs(base_url: str, tenant: Tenant, **filters: str) -> int:
    r = httpx.get(
        f"{base_url}/api/v1/tenants/{tenant.id}/cdrs",
        params={"limit": 1, **filters},
        headers=tenant.headers,
        timeout=30,
    )
    r.raise_for_status()
    return int(r.headers["X-Total-Count"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite", help="comma-separated: sqlite,postgres")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--callers", type=int, default=100, help="caller extensions taking turns")
    parser.add_argument("--rates", default="10,20,40,80,160,320,640,1280,2560")
    parser.add_argument("--step-seconds", type=float, default=5.0)
    parser.add_argument("--limit", type=int, default=200, help="SIPp -l: calls in flight at most")
    parser.add_argument("--no-relay-off", action="store_true", help="skip the target with the media relay off")
    parser.add_argument("--no-kamailio", action="store_true")
    args = parser.parse_args()
    backends = [b for b in args.backends.split(",") if b]
    for b in backends:
        if b not in BACKENDS:
            parser.error(f"unknown backend {b}")
    if shutil.which("sipp") is None:
        raise SystemExit("sipp not found: apt-get install -y sip-tester")
    use_kamailio = not args.no_kamailio and kamailio_bin() is not None
    started = time.monotonic()
    users = bench_users(args.callers + 1)
    callers, callee = users[:-1], users[-1]
    rates = parse_rates(args.rates)
    variants: list[tuple[str, dict[str, str]]] = [("relay-on", {})] + (
        [] if args.no_relay_off else [("relay-off", {"CENTREX_MEDIA_RELAY": "false"})]
    )
    result: dict[str, Any] = {
        "machine": machine_info(),
        "parameters": {
            "callers": args.callers,
            "callee": "one extension, registered from the SIPp UAS's port; the UAS answers at once (200, no 180)",
            "scenario": "bench/sipp/call_uac.xml: INVITE (SDP), 407, ACK, INVITE with proxy digest (MD5), 200, "
            "ACK, BYE, 200; no RTP sent; bench/sipp/call_uas.xml on the callee side",
            "sipp": f"SIPp {sipp_version()}, -nr (no retransmissions), -l {args.limit}, -d 0, -recv_timeout 5 s",
            "rates": rates,
            "step_seconds": args.step_seconds,
            "figure": "completed calls/s while SIPp was still starting new ones",
            "centrex_env": SIP_ENV,
            "centrex_variants": dict(variants),
            "reference": "Kamailio stateful proxy (tm t_relay, record_route) with proxy digest auth of the initial "
            "INVITE (auth_db over db_text), no dialog module, forwarding to a SIPp UAS (bench/kamailio/proxy.cfg)",
        },
        "kamailio_version": kamailio_version(),
        "centrex": {},
    }
    with tempfile.TemporaryDirectory(prefix="centrex-sipcalls-") as tmp:
        root = Path(tmp)
        inf = write_inf(root / "callers.csv", callers)
        with contextlib.ExitStack() as stack:
            targets: dict[str, Callable[..., Step]] = {}
            servers: dict[str, tuple[Server, Tenant]] = {}
            for backend in backends:
                for variant, env in variants:
                    name = f"centrex-{backend}-{variant}"
                    data_dir = root / name
                    data_dir.mkdir()
                    url = stack.enter_context(backend_database(backend, data_dir, args.pg_url))
                    port = free_udp_port()
                    server = stack.enter_context(centrex_sip(data_dir, url, port, **env))
                    tenant = asyncio.run(provision(server.base_url, users))
                    uas_port = free_udp_port()
                    register_from(uas_port, port, tenant.domain, callee, data_dir)
                    stack.enter_context(uas(uas_port, data_dir))
                    assert server.proc is not None
                    log(f"{name}: SIP :{port}, callee {callee.username} at :{uas_port}")
                    targets[name] = call_step(
                        port, tenant.domain, callee.username, inf, data_dir, args, [server.proc.pid]
                    )
                    servers[name] = (server, tenant)
            if use_kamailio:
                kdir = root / "kamailio"
                kdir.mkdir()
                kport, kuas = free_udp_port(), free_udp_port()
                stack.enter_context(uas(kuas, kdir))
                reps = {
                    "LISTEN": f"udp:{HOST}:{kport}",
                    "DBDIR": str(write_dbtext(kdir / "dbtext", callers, HOST)),
                    "CALLEE": f"sip:{HOST}:{kuas}",
                }
                kam = stack.enter_context(kamailio("proxy.cfg", kdir, reps))
                log(f"kamailio proxy on :{kport} -> callee at :{kuas}")
                targets["kamailio"] = call_step(kport, HOST, callee.username, inf, kdir, args, kamailio_pids(kam))
            for name, run in targets.items():  # warm-up, not counted
                warm = run(10.0, total=50)
                log(f"  {name:24s} warm-up: {warm.successful}/{warm.calls} calls")
            steps = ramp(targets, rates)
            for name, (server, tenant) in servers.items():
                top = best(steps[name])
                time.sleep(1.0)  # the last CDRs close
                result["centrex"][name.removeprefix("centrex-")] = {
                    "calls_per_second": top.achieved if top else 0.0,
                    "cdrs_answered": count_cdrs(server.base_url, tenant, disposition="answered"),
                    "cdrs_total": count_cdrs(server.base_url, tenant),
                    "calls_completed_by_sipp": sum(s.successful for s in steps[name]) + 50,
                    "steps": step_dicts(steps[name]),
                }
            if use_kamailio:
                top = best(steps["kamailio"])
                result["kamailio"] = {
                    "calls_per_second": top.achieved if top else 0.0,
                    "steps": step_dicts(steps["kamailio"]),
                }
    kam_rate = result.get("kamailio", {}).get("calls_per_second", 0.0)
    result["goal_ratio"] = GOAL_RATIO
    result["ratio"] = {
        name: round(r["calls_per_second"] / kam_rate, 3) if kam_rate else None for name, r in result["centrex"].items()
    }
    result["passed"] = bool(result["ratio"]) and all(
        v is not None and v >= GOAL_RATIO for k, v in result["ratio"].items() if k.endswith("relay-on")
    )
    result["total_seconds"] = round(time.monotonic() - started, 1)
    path = write_result("sip_calls", result)
    for name, r in result["centrex"].items():
        ratio = result["ratio"][name]
        print(
            f"sip_calls [{name}] centrex {r['calls_per_second']:.0f} calls/s vs kamailio {kam_rate:.0f} calls/s"
            f" = {ratio if ratio is not None else 'n/a'} (goal >= {GOAL_RATIO})"
            f" {'PASS' if ratio is not None and ratio >= GOAL_RATIO else 'FAIL'}"
            f" -> {path.relative_to(BENCH_DIR.parent)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
