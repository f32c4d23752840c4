"""One tenant on a running ``centrex serve``, as the SIP integration tests drive it: the tenant's API (admin Basic
auth), extensions with fresh numbers, the registrations of an extension and the closed CDR of a call. Each test
module adds its own SIP peers (SIPp, softphones, raw sockets) in a subclass."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.server import ADMIN_PASSWORD

ADMIN = ("admin", ADMIN_PASSWORD)
# Extension numbers 200…899: never an emergency number (911, 933) and unique on a server (one per module).
_NUMBERS = itertools.cycle(range(200, 900))


@dataclass
class TenantPbx:
    url: str
    tenant: dict[str, Any]

    def platform_api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """``/api/v1{path}`` as the platform admin."""
        return httpx.request(method, f"{self.url}/api/v1{path}", auth=ADMIN, timeout=10, **kw)

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """``/api/v1/tenants/{tenant}{path}`` as the platform admin."""
        return self.platform_api(method, f"/tenants/{self.tenant['id']}{path}", **kw)

    def extension(self, **fields: Any) -> dict[str, Any]:
        body = {"number": str(next(_NUMBERS)), "name": "Phone", **fields}
        r = self.api("POST", "/extensions", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def registrations(self, ext: dict[str, Any]) -> list[dict[str, Any]]:
        r = self.api("GET", "/registrations", params={"extension_id": ext["id"]})
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    def cdr(self, callee: dict[str, Any], timeout: float = 15.0) -> dict[str, Any]:
        """The callee's one CDR once it is closed (polled for at most ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.api("GET", "/cdrs", params={"extension_id": callee["id"]})
            assert r.status_code == 200, r.text
            items = r.json()["items"]
            if (items and items[0]["disposition"] != "in_progress") or time.monotonic() > deadline:
                assert len(items) == 1, items
                return dict(items[0])
            time.sleep(0.2)
