"""A headless baresip (Debian ``baresip``) softphone for integration tests: writes its config directory (G.711
only, loopback, audio from a WAV file, every call's decoded audio dumped to WAV by the ``sndfile`` module, a
``ctrl_tcp`` control socket) and runs it as a subprocess. It registers one account through the server's address
as outbound proxy and answers calls by itself (``answermode=auto``)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

MODULES = ["g711.so", "aufile.so", "aubridge.so", "sndfile.so", "ctrl_tcp.so"]


def write_config(
    confdir: Path,
    *,
    sip_port: int,
    ctrl_port: int,
    server: str,
    domain: str,
    user: str,
    password: str,
    play: Path,
    dump_dir: Path,
) -> None:
    confdir.mkdir(parents=True, exist_ok=True)
    dump_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        "poll_method epoll",
        f"sip_listen 127.0.0.1:{sip_port}",
        "net_interface 127.0.0.1",  # else the SDP names eth0's address
        f"audio_source aufile,{play}",
        "audio_player aubridge,nil",
        "audio_alert aubridge,nil",
        "rtcp_mux no",
        "jitter_buffer_delay 1-10",
        "module_path /usr/lib/baresip/modules",
        *(f"module {m}" for m in MODULES),
        "module_app account.so",
        "module_app menu.so",
        f"snd_path {dump_dir}",
        f"ctrl_tcp_listen 127.0.0.1:{ctrl_port}",
    ]
    (confdir / "config").write_text("\n".join(lines) + "\n")
    account = (
        f"<sip:{user}@{domain};transport=udp>;auth_pass={password};"
        f'outbound="sip:{server};transport=udp";regint=300;answermode=auto;audio_codecs=PCMU,PCMA'
    )
    (confdir / "accounts").write_text(account + "\n")
    (confdir / "contacts").write_text("")


class Baresip:
    """One baresip process with its control socket (netstring-framed JSON, ``len:{...},``)."""

    def __init__(self, confdir: Path, ctrl_port: int, log: Path, seconds: int = 90) -> None:
        self.ctrl_port, self.log = ctrl_port, log
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                ["baresip", "-f", str(confdir), "-s", "-t", str(seconds)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.sock: socket.socket | None = None
        self.buffer = b""

    def connect(self, seconds: float = 20) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=2)
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise AssertionError(f"baresip control socket not up:\n{self.output()}") from None
                time.sleep(0.2)

    def command(self, command: str, params: str = "") -> None:
        assert self.sock is not None
        body = json.dumps({"command": command, "params": params, "token": command}).encode()
        self.sock.sendall(str(len(body)).encode() + b":" + body + b",")

    def events(self, seconds: float) -> list[dict[str, Any]]:
        """Messages received on the control socket within ``seconds``."""
        assert self.sock is not None
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                break
            if not data:
                break
            self.buffer += data
            while b":" in self.buffer:
                size, _, rest = self.buffer.partition(b":")
                if len(rest) < int(size) + 1:
                    break
                out.append(json.loads(rest[: int(size)]))
                self.buffer = rest[int(size) + 1 :]
        return out

    def wait_event(self, kind: str, seconds: float) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            for event in self.events(min(left, 1.0)):
                if event.get("type") == kind:
                    return event
        raise AssertionError(f"baresip: no {kind} within {seconds}s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:] if self.log.exists() else ""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
