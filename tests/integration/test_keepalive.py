"""NAT keep-alive end to end: a real ``centrex serve`` pinging every second (``CENTREX_SIP_KEEPALIVE_SECONDS=1``);
a SIPp phone registers (digest) from a port, then a SIPp UAS on that port answers the OPTIONS: the binding stays;
once nothing answers there any more, the binding disappears from ``GET /registrations`` within a bounded time
(docs/sip.md "Keep-alive")."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
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


@pytest.fixture
def pbx(backend: str, tmp_path: Path) -> Iterator[tuple[str, int, Path]]:
    db = ThrowawayDatabase(backend, tmp_path)
    db.create()
    sip_port = free_port()
    env = {"CENTREX_SIP_LISTEN": f"127.0.0.1:{sip_port}", "CENTREX_SIP_KEEPALIVE_SECONDS": "1"}
    try:
        with centrex_server(tmp_path / "data", database_url=db.url, env=env) as srv:
            yield srv.url, sip_port, tmp_path
    finally:
        db.drop()


def test_answering_phone_keeps_its_binding_a_silent_one_loses_it(pbx: tuple[str, int, Path]) -> None:
    url, sip_port, root = pbx
    r = httpx.post(f"{url}/api/v1/tenants", auth=ADMIN, json={"code": "ka", "name": "Keepalive"}, timeout=10)
    assert r.status_code == 201, r.text
    tenant = r.json()
    api = f"{url}/api/v1/tenants/{tenant['id']}"
    r = httpx.post(f"{api}/extensions", auth=ADMIN, json={"number": "301", "name": "Phone"}, timeout=10)
    assert r.status_code == 201, r.text
    ext = r.json()

    def bindings() -> list[dict[str, Any]]:
        r = httpx.get(f"{api}/registrations", params={"extension_id": ext["id"]}, auth=ADMIN, timeout=10)
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    port = free_port()
    common = ["-t", "u1", "-i", "127.0.0.1", "-p", str(port), "-nostdin", "-trace_err"]
    args = [
        "sipp", f"127.0.0.1:{sip_port}", "-sf", str(SCENARIOS / "register.xml"), *common, "-m", "1",
        "-timeout", "20s", "-timeout_error", "-recv_timeout", "5000", "-error_file", str(root / "register.err"),
        "-au", ext["sip_username"], "-ap", ext["sip_password"], "-key", "user", ext["sip_username"],
        "-key", "domain", tenant["sip_domain"], "-key", "expires", "300",
    ]  # fmt: skip
    register = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=root)
    assert register.returncode == 0, register.stdout[-2000:]
    assert len(bindings()) == 1

    messages = root / "phone.msg"
    args = [
        "sipp", "-sf", str(SCENARIOS / "keepalive_uas.xml"), *common, "-timeout", "60s",
        "-error_file", str(root / "phone.err"), "-trace_msg", "-message_file", str(messages),
    ]  # fmt: skip
    phone = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, cwd=root)
    try:
        # Pinged once a second and answering: after 6 s (twice the three missed pings that would drop it) it stays.
        time.sleep(6)
        assert phone.poll() is None
        pings = len(re.findall(r"^OPTIONS sip:", messages.read_text(errors="replace"), re.M))
        assert pings >= 3, messages.read_text(errors="replace")[-2000:]
        (binding,) = bindings()
        assert binding["source_port"] == port
    finally:
        phone.kill()
        phone.wait(timeout=10)
    # Nothing answers on that port any more: three missed pings, the binding goes (bounded: 20 s on a loaded box).
    deadline = time.monotonic() + 20
    while bindings() and time.monotonic() < deadline:
        time.sleep(0.25)
    assert bindings() == []
