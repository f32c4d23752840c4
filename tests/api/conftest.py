"""Fixtures of the API tests."""

from __future__ import annotations

import pytest_asyncio

from tests.api.harness import Harness, World, make_world


@pytest_asyncio.fixture
async def api(api_app: Harness) -> Harness:
    return api_app


@pytest_asyncio.fixture
async def world(api: Harness) -> World:
    return await make_world(api)
