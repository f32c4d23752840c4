"""Start a real ``centrex serve`` process on a free port for integration tests, and stop it."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ADMIN_PASSWORD = "Integration-admin-1"


def free_port() -> int:
    """A port on 127.0.0.1 that is free for both TCP and UDP right now (the SIP listener and SIPp bind both)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port free for both TCP and UDP on 127.0.0.1")


@dataclass
class Server:
    url: str
    data_dir: Path
    process: subprocess.Popen[str]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def centrex_server(
    data_dir: Path,
    *,
    database_url: str | None = None,
    env: dict[str, str] | None = None,
    admin_password: str | None = ADMIN_PASSWORD,
    timeout: float = 60.0,
    base_env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """Run ``centrex serve``; ``base_env`` replaces this process's environment, ``env`` adds settings on top."""
    port = free_port()
    environ = {
        **(os.environ if base_env is None else base_env),
        "CENTREX_RATE_LIMIT_PER_KEY": "0",
        "CENTREX_RATE_LIMIT_PER_IP": "0",
        # No SIP listener unless a test asks for one on a free port (5060 would collide between parallel servers).
        "CENTREX_SIP_LISTEN": "off",
        # Nor TLS/WebSocket listeners on their fixed default ports (5061, 5066, 7443): tests give free ports.
        "CENTREX_SIP_TLS_LISTEN": "off",
        "CENTREX_SIP_WS_LISTEN": "off",
        "CENTREX_SIP_KEEPALIVE_SECONDS": "0",  # a module-wide server must not ping SIPp callees waiting for INVITEs
        "CENTREX_LOG_LEVEL": "warning",
        **(env or {}),
    }
    environ.pop("CENTREX_ADMIN_PASSWORD", None)
    if admin_password is not None:
        environ["CENTREX_ADMIN_PASSWORD"] = admin_password
    args = [
        sys.executable,
        "-m",
        "centrex.cli.main",
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
    log = data_dir.parent / f"server-{port}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=environ, text=True)
    server = Server(f"http://127.0.0.1:{port}", data_dir, proc, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n{server.output()}")
            try:
                if httpx.get(server.url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready after {timeout}s:\n{server.output()}")
            time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
