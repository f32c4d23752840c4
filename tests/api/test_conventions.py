"""API conventions: request ids, problem documents, body limits, rate limits, OpenAPI, docs, health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.api.harness import ADMIN, Harness, World, running_app
from tests.conftest import ThrowawayDatabase


async def test_request_id_is_echoed_and_in_problems(world: World) -> None:
    c = world.client
    r = await c.get(
        f"/api/v1/tenants/{world.a['id']}/extensions/ext_missing",
        headers={**world.a_key, "X-Request-ID": "trace-42"},
    )
    assert r.status_code == 404 and r.headers["X-Request-ID"] == "trace-42"
    assert r.json()["request_id"] == "trace-42" and r.json()["code"] == "not_found"
    r = await c.get("/healthz")
    assert r.headers["X-Request-ID"].startswith("req_")


async def test_a_repeated_query_parameter_is_refused(world: World) -> None:
    url = f"/api/v1/tenants/{world.a['id']}/time-conditions"
    r = await world.client.get(url, params=[("q", "a"), ("q", "b")], headers=world.a_key)
    assert r.status_code == 422 and r.json()["errors"] == [
        {"field": "q", "message": "given more than once", "code": "repeated"}
    ]
    assert (await world.client.get(url, params={"q": "a", "limit": 5}, headers=world.a_key)).status_code == 200


async def test_oversized_body_is_413_and_changes_nothing(world: World) -> None:
    w, c = world, world.client
    url = f"/api/v1/tenants/{w.a['id']}/extensions"
    huge = {"number": "701", "name": "x" * 2_000_000}
    r = await c.post(url, json=huge, headers=w.a_key)
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
    assert (await c.get(url, headers=w.a_key)).json()["total"] == 0


async def test_openapi_and_docs(api: Harness) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    assert {"apiKey", "basic", "bearer", "session"} <= set(spec["components"]["securitySchemes"])
    ops = [op for path in spec["paths"].values() for op in path.values()]
    assert len(ops) > 30
    assert all("422" in op["responses"] for op in ops if op.get("requestBody"))
    assert spec["paths"]["/api/v1/auth/login"]["post"]["security"] == []
    docs = await api.client.get("/docs")
    assert docs.status_code == 200 and "openapi.json" in docs.text


async def test_readyz_reports_database_and_migration(api: Harness) -> None:
    r = await api.client.get("/readyz")
    from centrex.db.migrate import head_revision

    assert r.status_code == 200 and r.json()["status"] == "ready" and r.json()["migration"] == head_revision()


@pytest_asyncio.fixture
async def throttled(backend: str, tmp_path: Path) -> AsyncIterator[Harness]:
    if backend != "sqlite":
        pytest.skip("rate limiting is in memory; one backend is enough")
    db = ThrowawayDatabase("sqlite", tmp_path)
    async with running_app(db, rate_limit_per_key=1.0, rate_limit_key_burst=3) as harness:
        yield harness


async def test_per_credential_rate_limit(throttled: Harness) -> None:
    codes = [(await throttled.client.get("/api/v1/auth/me", auth=ADMIN)).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[-1] == 429
    r = await throttled.client.get("/api/v1/auth/me", auth=ADMIN)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1 and r.json()["code"] == "rate_limited"
