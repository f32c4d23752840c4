"""The application's shared objects, built once by ``app.create_app`` and reached through ``request.app.state``."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from centrex.api.auth import Authenticator
from centrex.api.response_cache import ResponseCache
from centrex.api.tenant_directory import TenantDirectory
from centrex.callflow.cache import CallFlowCache
from centrex.config import Settings
from centrex.db.engine import Database
from centrex.security.ratelimit import LoginGuard, TokenBuckets


@dataclass
class AppState:
    settings: Settings
    db: Database
    auth: Authenticator
    tenants: TenantDirectory
    key_buckets: TokenBuckets | None
    login_guard: LoginGuard
    response_cache: ResponseCache
    callflow: CallFlowCache


def app_state(request: Request) -> AppState:
    state = request.app.state.centrex
    assert isinstance(state, AppState)
    return state
