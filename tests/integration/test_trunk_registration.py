"""Trunk registration end to end: a real ``centrex serve`` whose registration trunk points at a SIPp UAS acting as
the carrier's registrar (``sipp/trunk_registrar.xml``): the REGISTER is challenged (digest, qop=auth), comes again
with a digest SIPp verifies (``verifyauth``; a wrong one gets 403, shown as ``failed``), gets 200 with a shorter
expiry than asked; the API shows the trunk registered with the granted expiry; disabling the trunk through the API
sends ``Expires: 0`` (docs/sip.md "Trunk registration")."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ThrowawayDatabase
from tests.support.server import ADMIN_PASSWORD, centrex_server, free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="SIPp (Debian sip-tester) is not installed"),
]
SCENARIOS = Path(__file__).parent / "sipp"
ADMIN = ("admin", ADMIN_PASSWORD)
USER, PASSWORD = "trunkuser", "Trunk-pw-1"


@contextlib.contextmanager
def carrier(root: Path, port: int, password: str) -> Iterator[subprocess.Popen[str]]:
    """The SIPp registrar on ``port`` (killed on the way out if still running)."""
    args = [
        "sipp", "-sf", str(SCENARIOS / "trunk_registrar.xml"), "-t", "u1", "-i", "127.0.0.1", "-p", str(port),
        "-m", "1", "-nostdin", "-timeout", "60s", "-timeout_error",
        "-key", "user", USER, "-key", "password", password, "-key", "expires", "120",
        "-trace_err", "-error_file", str(root / f"sipp-{port}.err"),
        "-trace_msg", "-message_file", str(root / f"sipp-{port}.msg"),
    ]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, cwd=root)
    try:
        time.sleep(0.3)  # let it bind
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def _wait(check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


@pytest.fixture
def server(backend: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    db = ThrowawayDatabase(backend, tmp_path)
    db.create()
    env = {
        "CENTREX_SIP_LISTEN": f"127.0.0.1:{free_port()}",
        "CENTREX_TRUNK_PRIVATE_ADDRESSES": "true",  # the carrier is on 127.0.0.1
        "CENTREX_SIP_KEEPALIVE_SECONDS": "0",
    }
    try:
        with centrex_server(tmp_path / "data", database_url=db.url, env=env) as srv:
            yield srv.url, tmp_path
    finally:
        db.drop()


def test_trunk_registers_with_digest_and_unregisters_when_disabled(server: tuple[str, Path]) -> None:
    url, root = server
    port = free_port()
    with carrier(root, port, PASSWORD) as sipp:
        r = httpx.post(f"{url}/api/v1/tenants", auth=ADMIN, json={"code": "trk", "name": "Trunks"}, timeout=10)
        assert r.status_code == 201, r.text
        base = f"{url}/api/v1/tenants/{r.json()['id']}/trunks"
        body = {
            "name": "carrier",
            "kind": "registration",
            "host": "127.0.0.1",
            "port": port,
            "username": USER,
            "password": PASSWORD,
            "register": True,
            "registration_expiry": 300,
            "from_domain": "carrier.test",
        }
        r = httpx.post(base, auth=ADMIN, json=body, timeout=10)
        assert r.status_code == 201, r.text
        trunk_id = r.json()["id"]

        def state() -> dict[str, Any]:
            r = httpx.get(f"{base}/{trunk_id}/registration", auth=ADMIN, timeout=10)
            assert r.status_code == 200, r.text
            return dict(r.json())

        reg = _wait(lambda: (s := state())["state"] == "registered" and s, 30)
        assert reg, state()
        assert reg["status_code"] == 200 and reg["last_error"] is None
        left = (datetime.fromisoformat(reg["expires_at"]) - datetime.now(UTC)).total_seconds()
        assert 60 < left <= 121  # the 120 s the carrier granted to our contact, not the 300 asked
        assert sipp.poll() is None  # still waiting for the un-REGISTER

        r = httpx.patch(f"{base}/{trunk_id}", auth=ADMIN, json={"enabled": False}, timeout=10)
        assert r.status_code == 200, r.text
        with contextlib.suppress(subprocess.TimeoutExpired):
            sipp.wait(timeout=30)
        messages = (root / f"sipp-{port}.msg").read_text(errors="replace")
        errors = root / f"sipp-{port}.err"
        assert sipp.returncode == 0, (errors.read_text(errors="replace") if errors.exists() else "") + messages[-3000:]
        blocks = [b.split("\n\n", 1)[-1] for b in re.split(r"-{20,}", messages)]
        registers = [b for b in blocks if b.startswith("REGISTER ")]
        assert len(registers) == 3, messages
        assert "Authorization" not in registers[0] and "Authorization: Digest" in registers[1]
        assert 'realm="carrier.test"' in registers[1] and "qop=auth" in registers[1]
        assert all(f"From: <sip:{USER}@carrier.test>" in m for m in registers)
        assert "Expires: 300" in registers[1] and "Expires: 0" in registers[2]  # the un-REGISTER (not challenged)
        assert (
            "REGISTER sip:carrier.test SIP/2.0" in registers[0] and f"Contact: <sip:{USER}@127.0.0.1:" in registers[0]
        )
        assert _wait(lambda: state()["state"] == "unregistered", 10)


def test_wrong_password_fails_and_is_shown(server: tuple[str, Path]) -> None:
    url, root = server
    port = free_port()
    with carrier(root, port, "other-password") as sipp:
        r = httpx.post(f"{url}/api/v1/tenants", auth=ADMIN, json={"code": "trk2", "name": "Trunks"}, timeout=10)
        assert r.status_code == 201, r.text
        base = f"{url}/api/v1/tenants/{r.json()['id']}/trunks"
        body = {
            "name": "carrier",
            "kind": "registration",
            "host": "127.0.0.1",
            "port": port,
            "username": USER,
            "password": PASSWORD,
            "register": True,
        }
        r = httpx.post(base, auth=ADMIN, json=body, timeout=10)
        assert r.status_code == 201, r.text
        trunk_id = r.json()["id"]
        reg = _wait(
            lambda: (
                (s := httpx.get(f"{base}/{trunk_id}/registration", auth=ADMIN, timeout=10).json())["state"] == "failed"
                and s
            ),
            30,
        )
        assert reg, "not failed"
        assert reg["status_code"] == 403 and reg["reason"] == "Forbidden" and "403" in reg["last_error"]
        assert reg["next_attempt_at"] is not None and reg["expires_at"] is None
        messages = (root / f"sipp-{port}.msg").read_text(errors="replace")
        assert messages.count("Authorization: Digest") == 1  # answered once: a refused digest is not retried at once
        assert sipp.poll() is None  # no REGISTER before the backoff
