"""Test configuration: every API test runs against SQLite and against PostgreSQL (a throwaway database per run).

- ``CENTREX_TEST_PG``: server URL (default ``postgresql+asyncpg://postgres@127.0.0.1:5432``).
- ``CENTREX_TEST_BACKENDS``: comma list (default ``sqlite,postgresql``).
- With ``CI=true`` an unreachable PostgreSQL fails the run instead of skipping its half.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

PG_SERVER = os.environ.get("CENTREX_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432")
BACKENDS = [b.strip() for b in os.environ.get("CENTREX_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


async def _pg_admin(sql: str) -> None:
    import asyncpg

    dsn = PG_SERVER.replace("postgresql+asyncpg://", "postgresql://") + "/postgres"
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _pg_reachable() -> bool:
    try:
        asyncio.run(_pg_admin("SELECT 1"))
    except Exception:
        return False
    return True


_PG_OK: bool | None = None


def pg_available() -> bool:
    global _PG_OK
    if _PG_OK is None:
        _PG_OK = _pg_reachable()
        if not _PG_OK and IN_CI and "postgresql" in BACKENDS:
            raise pytest.UsageError(f"PostgreSQL required in CI but unreachable at {PG_SERVER}")
    return _PG_OK


class ThrowawayDatabase:
    """A fresh database URL for one backend; PostgreSQL databases are created and dropped."""

    def __init__(self, backend: str, tmp: Path) -> None:
        self.backend = backend
        self.tmp = tmp
        self.name = f"centrex_test_{secrets.token_hex(6)}"
        if backend == "sqlite":
            self.url = f"sqlite+aiosqlite:///{tmp / 'centrex.db'}"
        else:
            self.url = f"{PG_SERVER}/{self.name}"

    def create(self) -> None:
        if self.backend == "postgresql":
            asyncio.run(_pg_admin(f'CREATE DATABASE "{self.name}"'))

    def drop(self) -> None:
        if self.backend == "postgresql":
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


def backend_params() -> list[object]:
    return [
        pytest.param(
            b,
            marks=pytest.mark.skipif(b == "postgresql" and not pg_available(), reason="PostgreSQL not reachable"),
        )
        for b in BACKENDS
    ]


@pytest.fixture(scope="session", params=backend_params())
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThrowawayDatabase]:
    db = ThrowawayDatabase(backend, tmp_path_factory.mktemp(f"db-{backend}"))
    db.create()
    yield db
    db.drop()


@pytest.fixture
def fresh_database(backend: str, tmp_path: Path) -> Iterator[ThrowawayDatabase]:
    """A database of its own for one test (migration tests)."""
    db = ThrowawayDatabase(backend, tmp_path)
    db.create()
    yield db
    db.drop()


@pytest_asyncio.fixture(scope="session")
async def api_app(database: ThrowawayDatabase) -> AsyncIterator[object]:
    from tests.api.harness import running_app

    async with running_app(database) as harness:
        yield harness
