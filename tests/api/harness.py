"""The API test harness: a running app over a throwaway database, an HTTP client, and object factories."""

from __future__ import annotations

import contextlib
import itertools
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import event

ADMIN = ("admin", "Platform-admin-pw-1")
_seq = itertools.count(1)


def next_ext() -> str:
    """A 3-digit extension number (200–899: clear of emergency numbers such as 112 and 911)."""
    return str(200 + next(_seq) % 700)


def unique(prefix: str = "t") -> str:
    return f"{prefix}{next(_seq)}{secrets.token_hex(3)}"


@dataclass
class QueryCounter:
    """Statements run while counting, except those of the app's periodic jobs (the call-flow cache polling the
    outbox every 0.5 s, the API-key last-used flush), which may land inside any measured window."""

    count: int = 0
    statements: list[str] = field(default_factory=list)

    BACKGROUND = (
        "SELECT outbox_events.seq, outbox_events.tenant_id, outbox_events.resource_type",
        "UPDATE api_keys",
        "UPDATE outbox_events",
        "SELECT pg_try_advisory_xact_lock",
    )

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().startswith(self.BACKGROUND):
            return
        self.count += 1
        self.statements.append(statement)


@dataclass
class Harness:
    app: Any
    client: httpx.AsyncClient
    backend: str

    @property
    def state(self) -> Any:
        return self.app.state.centrex

    @contextlib.contextmanager
    def count_queries(self) -> Any:
        counter = QueryCounter()
        engine = self.state.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", counter)

    # ---------------------------------------------------------------- factories (as the platform admin)
    async def tenant(
        self,
        kind: str = "tenant",
        parent: str | None = None,
        auth: Any = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        body = {"code": unique(kind[0]), "name": f"{kind} test", "kind": kind, **extra}
        if parent:
            body["parent_id"] = parent
        r = await self.client.post(
            "/api/v1/tenants", json=body, auth=auth if auth or headers else ADMIN, headers=headers
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def key(self, tenant_id: str, read_only: bool = False, auth: Any = None) -> dict[str, str]:
        r = await self.client.post(
            f"/api/v1/tenants/{tenant_id}/api-keys",
            json={"name": unique("key"), "read_only": read_only},
            auth=auth or ADMIN,
        )
        assert r.status_code == 201, r.text
        return {"X-API-Key": r.json()["key"]}

    async def extension(
        self, tenant_id: str, headers: dict[str, str], number: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        body = {"number": number or next_ext(), "name": "Test ext", **extra}
        r = await self.client.post(f"/api/v1/tenants/{tenant_id}/extensions", json=body, headers=headers)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def user(
        self, tenant_id: str, role: str, headers: dict[str, str] | None = None, **extra: Any
    ) -> tuple[str, str, dict[str, Any]]:
        username = unique("user")
        password = "Passw0rd-" + secrets.token_hex(4)
        body = {"username": username, "role": role, "password": password, **extra}
        r = await self.client.post(
            f"/api/v1/tenants/{tenant_id}/users", json=body, headers=headers, auth=None if headers else ADMIN
        )
        assert r.status_code == 201, r.text
        return username, password, dict(r.json())


@contextlib.asynccontextmanager
async def running_app(database: Any, **overrides: Any) -> AsyncIterator[Harness]:
    from centrex.app import create_app
    from centrex.config import Settings

    settings = Settings(
        data_dir=database.tmp,
        database_url=database.url,
        admin_username=ADMIN[0],
        admin_password=ADMIN[1],
        rate_limit_per_key=overrides.pop("rate_limit_per_key", 0),
        rate_limit_per_ip=overrides.pop("rate_limit_per_ip", 0),
        log_level="warning",
        **overrides,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Harness(app, client, database.backend)


@dataclass
class World:
    """Two tenants under one reseller, with admin and read-only keys; the usual cast of the two-tenant tests."""

    api: Harness
    reseller: dict[str, Any]
    reseller_key: dict[str, str]
    a: dict[str, Any]
    b: dict[str, Any]
    a_key: dict[str, str]
    b_key: dict[str, str]
    a_ro: dict[str, str]

    @property
    def client(self) -> httpx.AsyncClient:
        return self.api.client


async def make_world(api: Harness) -> World:
    reseller = await api.tenant("reseller")
    reseller_key = await api.key(reseller["id"])
    a = await api.tenant(parent=reseller["id"])
    b = await api.tenant(parent=reseller["id"])
    return World(
        api=api,
        reseller=reseller,
        reseller_key=reseller_key,
        a=a,
        b=b,
        a_key=await api.key(a["id"]),
        b_key=await api.key(b["id"]),
        a_ro=await api.key(a["id"], read_only=True),
    )
