"""SIP registrar throughput: REGISTER with digest auth against ``centrex serve``, Kamailio's registrar as reference.

Goal (project issue 5): authenticated registrations (REGISTER → 401 → REGISTER with credentials → 200, i.e. two
REGISTER transactions each) per second **≥ 0.3×** Kamailio's registrar (registrar + auth_db) in the same run.

- **Centrex**: a real ``centrex serve`` with SIP on a free UDP port, on SQLite (and PostgreSQL with
  ``--backends sqlite,postgres``); a tenant and ``--users`` extensions (numbers 1000…, known passwords) are created
  through the API by 4 concurrent clients. The SIP edge guard would ban a load generator at 20 requests/s, so the
  benchmark trusts loopback (``CENTREX_SIP_GUARD_TRUSTED=["127.0.0.0/8"]``); OPTIONS keep-alive pings are off
  (``CENTREX_SIP_KEEPALIVE_SECONDS=0``: SIPp does not answer them). Everything else is the default; bindings are
  stored in the database, as Centrex always does.
- **Kamailio** 5.6 (Debian ``kamailio``): ``bench/kamailio/registrar.cfg``, the configuration of
  /work/shared/bench-ref (auth_db over db_text with the same users and passwords, usrloc in memory, 2 UDP workers).
- **Load**: SIPp 3.6 with ``bench/sipp/reg_auth.xml`` (the bench-ref scenario with the domain as a key) and per-user
  credentials from an injection file, no retransmissions (``-nr``), at most ``--limit`` registrations in flight.
  Offered rates step up ×2 (``--rates``), ``--step-seconds`` each; a step's figure is the successful registrations
  per second while SIPp was still starting new ones (from its ``-trace_stat`` CSV, 1 s periods, the first period
  left out), so the tail spent waiting for stragglers does not dilute it. A target stops stepping once it achieves
  < 80 % of the offered rate in two steps in a row, or > 1 % of its registrations fail; its result is its best
  step with ≤ 1 % failures.
  Targets alternate step by step so that load from other work on the machine hits both alike. Before the steps,
  every user registers once at 100/s (warm-up, not counted), so that every step refreshes existing bindings.

Writes bench/results/sip_register.json. Not a test; nothing here fails CI.
This module also holds the plumbing the other SIP benchmarks (sip_calls.py, sip_memory.py) share.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchkit import (
    ADMIN_PASSWORD,
    BACKENDS,
    BENCH_DIR,
    DEFAULT_PG_URL,
    Server,
    backend_database,
    centrex_server,
    log,
    machine_info,
    write_result,
)

HOST = "127.0.0.1"
SIPP_DIR = BENCH_DIR / "sipp"
KAMAILIO_DIR = BENCH_DIR / "kamailio"
FIRST_NUMBER = 1000
KAMAILIO_SHM_MB = 512  # the default 64 MB runs out at a few hundred proxied calls/s (tm transactions linger)
GOAL_RATIO = 0.3
WARMUP_RATE = 100.0
# What the benchmarks change from the defaults, and why (reported in every result file).
SIP_ENV = {
    "CENTREX_SIP_GUARD_TRUSTED": '["127.0.0.0/8"]',  # the flood limiter (20 req/s per IP) would ban the generator
    "CENTREX_SIP_KEEPALIVE_SECONDS": "0",  # no OPTIONS pings to SIPp contacts (SIPp does not answer them)
    "CENTREX_SIP_TLS_LISTEN": "off",
    "CENTREX_SIP_WS_LISTEN": "off",
}


# ---------------------------------------------------------------------------------------------- users and peers
@dataclass(frozen=True)
class User:
    username: str
    password: str


def bench_users(count: int, first: int = FIRST_NUMBER) -> list[User]:
    """Extension numbers ``first``… as SIP usernames, each with its own password (strong enough for the API)."""
    return [User(str(n), f"Bench-pw-{n}") for n in range(first, first + count)]


def write_inf(path: Path, users: list[User]) -> Path:
    """A SIPp injection file: ``user;[authentication username=… password=…]`` (the whole keyword in field 1)."""
    lines = ["SEQUENTIAL"] + [
        f"{u.username};[authentication username={u.username} password={u.password}]" for u in users
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_dbtext(directory: Path, users: list[User], domain: str) -> Path:
    """Kamailio db_text tables (``subscriber`` with plain passwords, ``version``) for ``users`` at ``domain``."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = [f"{i}:{u.username}:{domain}:{u.password}::" for i, u in enumerate(users, 1)]
    header = "id(int,auto) username(str) domain(str) password(str) ha1(str,null) ha1b(str,null)"
    (directory / "subscriber").write_text("\n".join([header, *rows]) + "\n")
    (directory / "version").write_text("table_name(str) table_version(int)\nsubscriber:7\nlocation:9\n")
    return directory


def free_udp_port() -> int:
    """A port on 127.0.0.1 free for both TCP and UDP right now (centrex binds both for SIP)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((HOST, 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((HOST, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port free for both TCP and UDP on 127.0.0.1")


def sip_ping(port: int, timeout: float = 30.0) -> None:
    """Wait until something answers a SIP OPTIONS on 127.0.0.1:``port`` (any response will do)."""
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        me = sock.getsockname()[1]
        sock.settimeout(0.3)
        n = 0
        while time.monotonic() < deadline:
            n += 1
            msg = (
                f"OPTIONS sip:ping@{HOST}:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {HOST}:{me};branch=z9hG4bKping{n}\r\n"
                f"From: <sip:ping@{HOST}>;tag=p{n}\r\nTo: <sip:ping@{HOST}>\r\nCall-ID: ping{n}-{me}\r\n"
                "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            )
            sock.sendto(msg.encode(), (HOST, port))
            with contextlib.suppress(TimeoutError):
                if sock.recvfrom(65535)[0].startswith(b"SIP/2.0 "):
                    return
        raise RuntimeError(f"nothing answers SIP on {HOST}:{port}")


def rss_kb(pid: int) -> int:
    """VmRSS of ``pid`` in kB (/proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def kamailio_bin() -> str | None:
    return shutil.which("kamailio") or (("/usr/sbin/kamailio") if Path("/usr/sbin/kamailio").exists() else None)


def kamailio_version() -> str:
    binary = kamailio_bin()
    if binary is None:
        return ""
    out = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10, check=False).stdout
    return out.splitlines()[0].strip() if out else ""


def sipp_version() -> str:
    out = subprocess.run(["sipp", "-v"], capture_output=True, text=True, timeout=10, check=False)
    for line in (out.stdout + out.stderr).splitlines():
        if "SIPp v" in line:
            return line.strip().split(" ", 1)[-1][:40]
    return ""


@contextlib.contextmanager
def kamailio(config: str, workdir: Path, replacements: dict[str, str]) -> Iterator[Server]:
    """Kamailio in the foreground on a copy of ``bench/kamailio/<config>`` with ``replacements`` applied."""
    binary = kamailio_bin()
    if binary is None:
        raise SystemExit("kamailio not found: apt-get install -y kamailio (bench/run_all.sh installs it)")
    text = (KAMAILIO_DIR / config).read_text()
    for key, value in replacements.items():
        text = text.replace(key, value)
    cfg = workdir / config
    cfg.write_text(text)
    rundir = workdir / "kamailio-run"
    rundir.mkdir(exist_ok=True)
    check = subprocess.run([binary, "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30, check=False)
    if check.returncode != 0:
        raise RuntimeError(f"kamailio -c failed:\n{check.stderr[-2000:]}")
    port = int(replacements["LISTEN"].rsplit(":", 1)[1])
    args = [binary, "-f", str(cfg), "-DD", "-E", "-Y", str(rundir), "-m", str(KAMAILIO_SHM_MB)]
    server = Server("kamailio", args, {}, workdir / "kam.log", port)
    server._log = server.log_path.open("ab")
    server.proc = subprocess.Popen(
        server.args, stdout=server._log, stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True
    )
    try:
        sip_ping(port)
        yield server
    finally:
        server.stop()


def kamailio_pids(server: Server) -> list[int]:
    """The main Kamailio process and its children (the workers)."""
    assert server.proc is not None
    root = server.proc.pid
    pids = [root]
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{root}/task/{root}/children").read_text().split():
            pids.append(int(child))
    return pids


@contextlib.contextmanager
def centrex_sip(data_dir: Path, database_url: str | None, sip_port: int, **env: str) -> Iterator[Server]:
    """``centrex serve`` with SIP (UDP+TCP) on ``sip_port`` and the benchmark settings (``SIP_ENV``, ``env``)."""
    server = centrex_server(
        data_dir, database_url, data_dir / "centrex.log", CENTREX_SIP_LISTEN=f"{HOST}:{sip_port}", **{**SIP_ENV, **env}
    )
    try:
        server.start(ready_path="/readyz", timeout=120)
        sip_ping(sip_port)
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------- provisioning
@dataclass
class Tenant:
    id: str
    domain: str
    headers: dict[str, str]


async def provision(base_url: str, users: list[User], clients: int = 4, code: str = "bench") -> Tenant:
    """A tenant and one extension per user (number = username, the given password), created through the API."""
    admin = httpx.BasicAuth("admin", ADMIN_PASSWORD)
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0) as client:
        r = await client.post(
            "/api/v1/tenants", json={"code": code, "name": "SIP bench", "extension_length": 4}, auth=admin
        )
        r.raise_for_status()
        tenant = Tenant(r.json()["id"], r.json()["sip_domain"], {})
        r = await client.post(f"/api/v1/tenants/{tenant.id}/api-keys", json={"name": "bench"}, auth=admin)
        r.raise_for_status()
        tenant.headers = {"X-API-Key": r.json()["key"]}
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

    await asyncio.gather(*(worker() for _ in range(clients)))
    if errors:
        raise RuntimeError(f"{len(errors)} extensions not created, e.g. {errors[0]}")
    return tenant


def count_registrations(base_url: str, tenant: Tenant) -> int:
    r = httpx.get(f"{base_url}/api/v1/tenants/{tenant.id}/registrations?limit=1", headers=tenant.headers, timeout=30)
    r.raise_for_status()
    return int(r.headers["X-Total-Count"])


# ---------------------------------------------------------------------------------------------- SIPp
@dataclass
class StatRow:
    epoch: float
    created: int
    current: int
    successful: int
    failed: int
    retransmissions: int


def read_stat(path: Path) -> list[StatRow]:
    """SIPp's ``-trace_stat`` CSV (cumulative columns)."""
    rows: list[StatRow] = []
    with contextlib.suppress(FileNotFoundError), path.open(newline="") as f:
        for rec in csv.DictReader(f, delimiter=";"):
            try:
                rows.append(
                    StatRow(
                        epoch=float(rec["CurrentTime"].split()[-1]),
                        created=int(rec["TotalCallCreated"]),
                        current=int(rec["CurrentCall"]),
                        successful=int(rec["SuccessfulCall(C)"]),
                        failed=int(rec["FailedCall(C)"]),
                        retransmissions=int(rec["Retransmissions(C)"]),
                    )
                )
            except (KeyError, ValueError):
                continue
    return rows


def sustained_rate(rows: list[StatRow], total: int) -> float:
    """Successful calls per second while SIPp was still starting new ones (first 1 s period left out); falls back
    to all successes over the whole run when that window is shorter than two periods."""
    if len(rows) < 2:
        return 0.0
    sending = [i for i, row in enumerate(rows) if row.created < total]
    if len(sending) >= 3:
        first, last = rows[sending[1]], rows[sending[-1] + 1] if sending[-1] + 1 < len(rows) else rows[sending[-1]]
        if last.epoch - first.epoch >= 1.5:
            return (last.successful - first.successful) / (last.epoch - first.epoch)
    done = next((r for r in rows if r.successful + r.failed >= total), rows[-1])
    span = done.epoch - rows[0].epoch
    return done.successful / span if span > 0 else 0.0


@dataclass
class Step:
    offered: float
    calls: int
    achieved: float
    successful: int
    failed: int
    retransmissions: int
    seconds: float
    target_cpu_percent: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failed_ratio(self) -> float:
        return self.failed / self.calls if self.calls else 1.0


def run_sipp(
    args: list[str], workdir: Path, name: str, total: int, offered: float, timeout: float, pids: list[int] | None = None
) -> Step:
    """One SIPp run of ``total`` calls (``args`` without the stat options); its figures from the stat CSV."""
    stat = workdir / f"{name}.csv"
    stat.unlink(missing_ok=True)
    full = ["sipp", *args, "-m", str(total), "-nostdin", "-trace_stat", "-stf", str(stat), "-fd", "1"]
    full += ["-trace_err", "-error_file", str(workdir / f"{name}.err")]
    cpu0 = sum(cpu_seconds(p) for p in pids) if pids else 0.0
    t0 = time.monotonic()
    done = subprocess.run(full, capture_output=True, text=True, timeout=timeout, cwd=workdir, check=False)
    elapsed = time.monotonic() - t0
    cpu = sum(cpu_seconds(p) for p in pids) - cpu0 if pids else None
    rows = read_stat(stat)
    if not rows:
        raise RuntimeError(f"SIPp wrote no statistics (exit {done.returncode}):\n{done.stdout[-1500:]}{done.stderr}")
    last = rows[-1]
    return Step(
        offered=offered,
        calls=total,
        achieved=round(sustained_rate(rows, total), 1),
        successful=last.successful,
        failed=total - last.successful,
        retransmissions=last.retransmissions,
        seconds=round(elapsed, 2),
        target_cpu_percent=round(100 * cpu / elapsed, 1) if cpu is not None and elapsed > 0 else None,
    )


def ramp(
    targets: dict[str, Callable[..., Step]], rates: list[float], max_failed: float = 0.01
) -> dict[str, list[Step]]:
    """Step every target through ``rates`` (interleaved) until it falls behind (< 80 % of the offered rate: the
    concurrency limit holds SIPp back) in two steps in a row, or fails more than ``max_failed`` of its calls."""
    steps: dict[str, list[Step]] = {name: [] for name in targets}
    active = set(targets)
    behind_before: dict[str, bool] = {}
    for rate in rates:
        for name, run in targets.items():
            if name not in active:
                continue
            step = run(rate)
            steps[name].append(step)
            log(
                f"  {name:16s} offered {rate:7.0f}/s achieved {step.achieved:8.1f}/s  failed {step.failed}/"
                f"{step.calls}  cpu {step.target_cpu_percent}%"
            )
            behind = step.achieved < 0.8 * rate
            if step.failed_ratio > max_failed or (behind and behind_before.get(name, False)):
                active.discard(name)
            behind_before[name] = behind
        if not active:
            break
    return steps


def best(steps: list[Step], max_failed: float = 0.01) -> Step | None:
    good = [s for s in steps if s.failed_ratio <= max_failed]
    return max(good, key=lambda s: s.achieved) if good else None


def step_dicts(steps: list[Step]) -> list[dict[str, Any]]:
    return [asdict(s) for s in steps]


def parse_rates(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


# ---------------------------------------------------------------------------------------------- the benchmark
def register_step(
    port: int, domain: str, inf: Path, workdir: Path, args: argparse.Namespace, pids: list[int]
) -> Callable[..., Step]:
    """A ``ramp`` step: SIPp's reg_auth scenario at ``rate`` for ``--step-seconds`` (or ``total`` registrations).
    Every step sends from the same port, so that each user keeps one binding that every step refreshes."""
    local_port = free_udp_port()

    def run(rate: float, total: int | None = None) -> Step:
        total = total or max(20, int(rate * args.step_seconds))
        sipp_args = [
            "-sf", str(SIPP_DIR / "reg_auth.xml"), "-inf", str(inf), f"{HOST}:{port}", "-i", HOST,
            "-p", str(local_port), "-key", "domain", domain, "-r", str(int(rate)), "-l", str(args.limit),
            "-nr", "-recv_timeout", "5000", "-timeout", f"{int(args.step_seconds * 3 + 30)}s",
        ]  # fmt: skip
        return run_sipp(sipp_args, workdir, f"reg-{port}-{int(rate)}", total, rate, args.step_seconds * 4 + 60, pids)

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite", help="comma-separated: sqlite,postgres")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--users", type=int, default=1000, help="extensions / subscribers registering in turn")
    parser.add_argument("--rates", default="50,100,200,400,800,1600,3200,6400,12800,25600")
    parser.add_argument("--step-seconds", type=float, default=5.0)
    parser.add_argument("--limit", type=int, default=200, help="SIPp -l: registrations in flight at most")
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
    users = bench_users(args.users)
    rates = parse_rates(args.rates)
    result: dict[str, Any] = {
        "machine": machine_info(),
        "parameters": {
            "users": args.users,
            "scenario": "bench/sipp/reg_auth.xml: REGISTER, 401, REGISTER with digest (MD5), 200; Expires 300",
            "sipp": f"SIPp {sipp_version()}, -nr (no retransmissions), -l {args.limit}, -recv_timeout 5 s",
            "rates": rates,
            "step_seconds": args.step_seconds,
            "figure": "successful registrations/s while SIPp was still starting new ones; 1 registration = "
            "2 REGISTER transactions",
            "centrex_env": SIP_ENV,
            "reference": "Kamailio registrar + auth_db (db_text, plain passwords) + usrloc in memory, 2 UDP workers "
            "(bench/kamailio/registrar.cfg, as /work/shared/bench-ref)",
        },
        "kamailio_version": kamailio_version(),
        "centrex": {},
    }
    with tempfile.TemporaryDirectory(prefix="centrex-sipreg-") as tmp:
        root = Path(tmp)
        inf = write_inf(root / "users.csv", users)
        with contextlib.ExitStack() as stack:
            targets: dict[str, Callable[..., Step]] = {}
            servers: dict[str, tuple[Server, Tenant]] = {}
            for backend in backends:
                data_dir = root / backend
                data_dir.mkdir()
                url = stack.enter_context(backend_database(backend, data_dir, args.pg_url))
                port = free_udp_port()
                server = stack.enter_context(centrex_sip(data_dir, url, port))
                t0 = time.monotonic()
                tenant = asyncio.run(provision(server.base_url, users))
                log(f"centrex ({backend}) SIP :{port}, {len(users)} extensions in {time.monotonic() - t0:.1f}s")
                assert server.proc is not None
                targets[f"centrex-{backend}"] = register_step(
                    port, tenant.domain, inf, data_dir, args, [server.proc.pid]
                )
                servers[backend] = (server, tenant)
            if use_kamailio:
                kdir = root / "kamailio"
                kdir.mkdir()
                kport = free_udp_port()
                reps = {"LISTEN": f"udp:{HOST}:{kport}", "DBDIR": str(write_dbtext(kdir / "dbtext", users, HOST))}
                kam = stack.enter_context(kamailio("registrar.cfg", kdir, reps))
                log(f"kamailio registrar on :{kport}")
                targets["kamailio"] = register_step(kport, HOST, inf, kdir, args, kamailio_pids(kam))
            for name, run in targets.items():  # warm-up, not counted: every user registers once
                warm = run(WARMUP_RATE, total=len(users))
                log(f"  {name:16s} warm-up: {warm.successful}/{warm.calls} registered at {warm.achieved:.0f}/s")
            steps = ramp(targets, rates)
            for backend, (server, tenant) in servers.items():
                registered = count_registrations(server.base_url, tenant)
                top = best(steps[f"centrex-{backend}"])
                result["centrex"][backend] = {
                    "registrations_per_second": top.achieved if top else 0.0,
                    "transactions_per_second": round(2 * top.achieved, 1) if top else 0.0,
                    "bindings_listed_by_api": registered,
                    "steps": step_dicts(steps[f"centrex-{backend}"]),
                }
            if use_kamailio:
                top = best(steps["kamailio"])
                result["kamailio"] = {
                    "registrations_per_second": top.achieved if top else 0.0,
                    "transactions_per_second": round(2 * top.achieved, 1) if top else 0.0,
                    "steps": step_dicts(steps["kamailio"]),
                }
    kam_rate = result.get("kamailio", {}).get("registrations_per_second", 0.0)
    result["goal_ratio"] = GOAL_RATIO
    result["ratio"] = {
        b: round(r["registrations_per_second"] / kam_rate, 3) if kam_rate else None
        for b, r in result["centrex"].items()
    }
    result["passed"] = bool(result["ratio"]) and all(
        v is not None and v >= GOAL_RATIO for v in result["ratio"].values()
    )
    result["total_seconds"] = round(time.monotonic() - started, 1)
    path = write_result("sip_register", result)
    for backend, r in result["centrex"].items():
        ratio = result["ratio"][backend]
        print(
            f"sip_register [{backend}] centrex {r['registrations_per_second']:.0f} reg/s vs kamailio {kam_rate:.0f}"
            f" reg/s = {ratio if ratio is not None else 'n/a'} (goal >= {GOAL_RATIO})"
            f" {'PASS' if ratio is not None and ratio >= GOAL_RATIO else 'FAIL'}"
            f" -> {path.relative_to(BENCH_DIR.parent)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
