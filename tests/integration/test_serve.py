"""`centrex serve` on a fresh data directory: migrations, the first admin (generated password printed once),
the banner, API/docs/health reachable, a restart that keeps data and prints no password, graceful shutdown."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.support.server import centrex_server

pytestmark = pytest.mark.integration


def test_first_start_prints_generated_admin_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with centrex_server(data, admin_password=None) as server:
        out = server.output()
        assert "/api/v1" in out and "/docs" in out and "SIP:" in out
        match = re.search(r"Admin:\s+admin / (\S+)", out)
        assert match, out
        password = match.group(1)
        r = httpx.get(server.url + "/api/v1/auth/me", auth=("admin", password))
        assert r.status_code == 200 and r.json()["role"] == "platform_admin"
        r = httpx.post(server.url + "/api/v1/tenants", auth=("admin", password), json={"code": "acme", "name": "Acme"})
        assert r.status_code == 201
        assert httpx.get(server.url + "/docs").status_code == 200
        assert httpx.get(server.url + "/openapi.json").json()["openapi"].startswith("3.1")
    assert (data / "centrex.db").exists() and (data / "secret.key").exists()
    with centrex_server(data, admin_password=None) as server:
        out = server.output()
        assert password not in out and "existing account" in out
        r = httpx.get(server.url + "/api/v1/tenants/acme", auth=("admin", password))
        assert r.status_code == 200
    # uvicorn re-raises the SIGTERM it handled after a graceful shutdown
    assert server.process.returncode in (0, -15)
