"""Shared plumbing for the benchmarks: servers in subprocesses, throwaway PostgreSQL databases, wrk, results.

Not a benchmark itself. Every helper that starts something stops it in a ``finally`` (servers are terminated and
waited for; PostgreSQL databases created here are dropped), so an interrupted run leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import httpx

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
BIN_DIR = Path(sys.executable).parent
ADMIN_PASSWORD = "Bench-admin-pw-1"
DEFAULT_PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
BACKENDS = ("sqlite", "postgres")


def log(message: str) -> None:
    """Progress on stderr (results go to JSON files and a summary on stdout)."""
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def centrex_bin() -> str:
    candidate = BIN_DIR / "centrex"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("centrex")
    if found is None:
        raise SystemExit("centrex executable not found: run scripts/setup.sh first")
    return found


def machine_info() -> dict[str, Any]:
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    versions: dict[str, str] = {}
    for dist in (
        "centrex",
        "fastapi",
        "starlette",
        "pydantic",
        "sqlalchemy",
        "uvicorn",
        "uvloop",
        "httptools",
        "aiosqlite",
        "asyncpg",
        "httpx",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[dist] = metadata.version(dist)
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "load_average_at_start": list(os.getloadavg()),
        "packages": versions,
    }


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    data = {"benchmark": name, "when": datetime.now(UTC).isoformat(timespec="seconds"), **data}
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0–100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# ---------------------------------------------------------------------------------------------- servers
class Server:
    """A server in a subprocess (own process group), its output in a log file; ``stop()`` always reaps it."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_path: Path, port: int) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log_path = log_path
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_path: str = "/healthz", timeout: float = 60.0) -> Server:
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.args,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=REPO_DIR,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get(self.base_url + ready_path).status_code == 200:
                        return self
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f}s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self, timeout: float = 15.0) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def server_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENTREX_")}
    env.update(
        CENTREX_ADMIN_PASSWORD=ADMIN_PASSWORD,
        CENTREX_RATE_LIMIT_PER_KEY="0",
        CENTREX_RATE_LIMIT_PER_IP="0",
        CENTREX_SIP_LISTEN="off",  # the HTTP benchmarks need no SIP listener
        CENTREX_LOG_LEVEL="warning",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def centrex_server(data_dir: Path, database_url: str | None, log_path: Path, **env: str) -> Server:
    """``centrex serve`` on a free port (not started yet); ``env`` adds ``CENTREX_*`` settings."""
    port = free_port()
    args = [
        centrex_bin(),
        "serve",
        "--data-dir",
        str(data_dir),
        "--http",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]
    if database_url:
        args += ["--database-url", database_url]
    return Server("centrex", args, server_env(**env), log_path, port)


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{(data_dir / 'centrex.db').resolve()}"


# ---------------------------------------------------------------------------------------------- PostgreSQL
async def _pg_admin(base_url: str, statement: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


@contextlib.contextmanager
def postgres_database(base_url: str = DEFAULT_PG_URL, prefix: str = "centrex_bench") -> Iterator[str]:
    """Create a throwaway database next to ``base_url``'s; yield its URL; drop it afterwards."""
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{secrets.token_hex(4)}"
    url = make_url(base_url)
    asyncio.run(_pg_admin(base_url, f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg_admin(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def backend_database(backend: str, data_dir: Path, pg_url: str) -> Iterator[str | None]:
    """``None`` for SQLite (the server's default under ``data_dir``), else a throwaway PostgreSQL URL."""
    if backend == "sqlite":
        yield None
        return
    with postgres_database(pg_url) as url:
        yield url


# ---------------------------------------------------------------------------------------------- wrk
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(value: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", value.strip())
    if match is None:
        raise ValueError(f"unexpected wrk duration {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass
class WrkResult:
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    socket_errors: int
    non_2xx: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_wrk(output: str) -> WrkResult:
    """Requests/sec, the ``--latency`` percentiles and the error counts from wrk's text output."""
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    total = re.search(r"(\d+) requests in ([0-9.]+\w+),", output)
    if rps is None or total is None:
        raise ValueError(f"cannot parse wrk output:\n{output}")
    pcts = {m.group(1): _ms(m.group(2)) for m in re.finditer(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", output, re.M)}
    if set(pcts) != {"50", "75", "90", "99"}:
        raise ValueError(f"no latency distribution in wrk output (needs --latency):\n{output}")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        requests=int(total.group(1)),
        duration_s=_ms(total.group(2)) / 1000,
        rps=float(rps.group(1)),
        p50_ms=pcts["50"],
        p75_ms=pcts["75"],
        p90_ms=pcts["90"],
        p99_ms=pcts["99"],
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk not found: apt-get install -y wrk (it is listed in scripts/debian-packages.txt)")
    return found


def run_wrk(url: str, *, threads: int, connections: int, duration: int, headers: dict[str, str]) -> WrkResult:
    """One wrk run (``duration`` in whole seconds: wrk takes no fractions) with ``--latency``."""
    if duration < 1:
        raise ValueError("wrk durations are whole seconds (>= 1)")
    args = [wrk_path(), f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    args.append(url)
    done = subprocess.run(args, capture_output=True, text=True, timeout=duration + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr}{done.stdout}")
    return parse_wrk(done.stdout)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))
